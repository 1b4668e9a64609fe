// Merchant analytics: revenue, orders, conversion, commission and ROI over a period, revenue per
// day (inline SVG), the clips and creators that sell, per SKU; CSV exports of each table.
import { api, problemText } from "../../core/api";
import { h, replace } from "../../core/dom";
import { money, num, pct, t } from "../../core/i18n";
import { barList, lineChart, statCards } from "../../core/charts";
import { csvButtons, periodPicker, range, revenueText } from "../studio/analytics";

export async function mountAnalytics(panel: HTMLElement): Promise<void> {
  let days = 28;
  const body = h("div", { "aria-live": "polite" }, t("common.loading"));
  replace(
    panel,
    h("h2", null, t("analytics.title")),
    h(
      "div",
      { class: "row spread" },
      periodPicker((d) => {
        days = d;
        void load();
      }),
      csvButtons("/v1/merchant/analytics/export", [["daily", t("analytics.daily")], ["skus", "SKU"], ["top_clips", t("analytics.topClips")], ["top_creators", t("analytics.topCreators")]], "clipshop-merchant", () => days),
    ),
    body,
  );
  async function load(): Promise<void> {
    const { start, end } = range(days);
    try {
      const d = await api.merchantDashboard(start, end);
      const f = d.totals;
      const currency = f.currency || f.revenue_by_currency[0]?.currency || "EUR";
      const cash = (n: number) => money(n, currency);
      replace(
        body,
        statCards([
          [t("analytics.revenue"), revenueText(f)],
          [t("analytics.orders"), num(f.orders)],
          [t("analytics.units"), num(f.units)],
          [t("analytics.conversion"), pct(f.conversion_rate)],
          [t("analytics.tapThrough"), pct(f.tap_through_rate)],
          [t("analytics.commission"), f.commission_minor !== null ? cash(f.commission_minor) : "—"],
          [t("analytics.roi"), f.roi !== null ? `${num(Math.round(f.roi * 10) / 10)}×` : "—"],
          [t("analytics.impressions"), num(f.impressions)],
        ]),
        h(
          "div",
          { class: "charts" },
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.revenue_minor })), t("analytics.revenuePerDay"), cash),
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.orders })), t("analytics.ordersPerDay"), num),
        ),
        h(
          "div",
          { class: "charts" },
          d.top_clips.length
            ? barList(d.top_clips.slice(0, 8).map((c) => ({ label: h("a", { href: `/app/clips/${c.clip_id}`, "data-nav": "" }, c.clip_id.slice(0, 8)), value: c.revenue_minor, text: `${cash(c.revenue_minor)} · ${num(c.orders)}` })), t("analytics.topClips"), cash)
            : h("p", { class: "muted" }, `${t("analytics.topClips")}: ${t("analytics.noData")}`),
          d.top_creators.length
            ? barList(d.top_creators.slice(0, 8).map((c) => ({ label: c.handle ? h("a", { href: `/app/creators/${encodeURIComponent(c.handle)}`, "data-nav": "" }, `@${c.handle}`) : c.creator_id.slice(0, 8), value: c.revenue_minor, text: `${cash(c.revenue_minor)} · ${t("analytics.roi")} ${c.roi !== null ? `${num(Math.round(c.roi * 10) / 10)}×` : "—"}` })), t("analytics.topCreators"), cash)
            : h("p", { class: "muted" }, `${t("analytics.topCreators")}: ${t("analytics.noData")}`),
        ),
        h(
          "div",
          { class: "table-wrap", tabindex: 0 },
          h(
            "table",
            { class: "sku-table" },
            h("caption", null, t("analytics.perSku")),
            h("thead", null, h("tr", null, ["SKU", t("analytics.impressions"), t("analytics.taps"), t("analytics.orders"), t("analytics.revenue"), t("analytics.conversion")].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              null,
              d.skus.length
                ? d.skus.map((s) => h("tr", null, h("th", { scope: "row" }, `${s.title} · ${s.code}`), h("td", null, num(s.impressions)), h("td", null, num(s.product_taps)), h("td", null, num(s.orders)), h("td", null, revenueText(s)), h("td", null, pct(s.conversion_rate))))
                : h("tr", null, h("td", { colspan: 6, class: "muted" }, t("analytics.noData"))),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(body, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  await load();
}
