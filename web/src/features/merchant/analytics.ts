// Merchant analytics: revenue, orders, conversion, commission and ROI over a period, revenue per
// day (inline SVG), the clips and creators that sell, per SKU; CSV exports of each table. One
// product or SKU on its own: its figures and its days.
import { api, problemText } from "../../core/api";
import { field, h, replace } from "../../core/dom";
import { money, num, pct, t } from "../../core/i18n";
import { barList, lineChart, statCards } from "../../core/charts";
import { csvButtons, figuresCurrency, periodPicker, range, revenueText } from "../studio/analytics";

export async function mountAnalytics(panel: HTMLElement): Promise<void> {
  let days = 28;
  const body = h("div", { "aria-live": "polite" }, t("common.loading"));
  const detail = entityDetail(() => days);
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
    detail.element,
  );
  async function load(): Promise<void> {
    const { start, end } = range(days);
    try {
      const d = await api.merchantDashboard(start, end);
      const f = d.totals;
      const currency = figuresCurrency(f);
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
            ? barList(d.top_clips.slice(0, 8).map((c) => { const sold = c.merchant_sales ?? c; return { label: h("a", { href: `/app/clips/${c.clip_id}`, "data-nav": "" }, c.clip_id.slice(0, 8)), value: sold.revenue_minor, text: `${cash(sold.revenue_minor)} · ${num(sold.orders)}` }; }), t("analytics.topClips"), cash)
            : h("p", { class: "muted" }, `${t("analytics.topClips")}: ${t("analytics.noData")}`),
          d.top_creators.length
            ? barList(d.top_creators.slice(0, 8).map((c) => { const sold = c.merchant_sales ?? c; return { label: c.handle ? h("a", { href: `/app/creators/${encodeURIComponent(c.handle)}`, "data-nav": "" }, `@${c.handle}`) : c.creator_id.slice(0, 8), value: sold.revenue_minor, text: `${cash(sold.revenue_minor)} · ${t("analytics.roi")} ${c.roi !== null ? `${num(Math.round(c.roi * 10) / 10)}×` : "—"}` }; }), t("analytics.topCreators"), cash)
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
                ? d.skus.map((s) => h("tr", null, h("th", { scope: "row" }, h("button", { type: "button", class: "link", "aria-label": t("entity.showSku", { sku: `${s.title} · ${s.code}` }), onclick: () => detail.show(`skus:${s.sku_id}`, `${s.title} · ${s.code}`) }, `${s.title} · ${s.code}`)), h("td", null, num(s.impressions)), h("td", null, num(s.product_taps)), h("td", null, num(s.orders)), h("td", null, revenueText(s)), h("td", null, pct(s.conversion_rate))))
                : h("tr", null, h("td", { colspan: 6, class: "muted" }, t("analytics.noData"))),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(body, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
    detail.reload();
  }
  await Promise.all([load(), detail.fill()]);
}

/** One product's or SKU's report (`GET /v1/merchant/analytics/products|skus/{id}`), picked from
 * the organisation's catalogue or from the per-SKU table. */
function entityDetail(days: () => number): { element: HTMLElement; show(value: string, label: string): void; reload(): void; fill(): Promise<void> } {
  const picker = h("select", { onchange: () => void load() }, h("option", { value: "" }, t("entity.choose")));
  const out = h("div", { "aria-live": "polite" });
  const element = h(
    "section",
    { "aria-labelledby": "entity-title", class: "entity-report" },
    h("h3", { id: "entity-title" }, t("entity.title")),
    field("entity-pick", t("entity.pick"), picker),
    out,
  );
  async function load(): Promise<void> {
    const [kind, id] = picker.value.split(":") as ["products" | "skus", string];
    if (!id) return replace(out);
    const name = picker.selectedOptions[0]?.textContent || id;
    const { start, end } = range(days());
    replace(out, h("p", { class: "muted" }, t("common.loading")));
    try {
      const r = await api.entityReport(kind, id, start, end);
      const f = r.totals;
      const currency = figuresCurrency(f);
      const cash = (n: number) => money(n, currency);
      replace(
        out,
        h("h4", null, name),
        statCards([
          [t("analytics.impressions"), num(f.impressions)],
          [t("analytics.taps"), num(f.product_taps)],
          [t("analytics.tapThrough"), pct(f.tap_through_rate)],
          [t("analytics.orders"), num(f.orders)],
          [t("analytics.units"), num(f.units)],
          [t("analytics.revenue"), revenueText(f)],
          [t("analytics.conversion"), pct(f.conversion_rate)],
        ]),
        h(
          "div",
          { class: "charts" },
          lineChart(r.daily.map((x) => ({ label: x.day, value: x.revenue_minor })), t("analytics.revenuePerDay"), cash),
          lineChart(r.daily.map((x) => ({ label: x.day, value: x.product_taps })), t("entity.tapsPerDay"), num),
        ),
      );
    } catch (error) {
      replace(out, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  return {
    element,
    show(value: string, label: string) {
      // the catalogue may still be loading: the option is added if it is not there yet
      if (![...picker.options].some((o) => o.value === value)) picker.append(h("option", { value }, label));
      picker.value = value;
      void load();
      element.scrollIntoView({ block: "start" });
      picker.focus({ preventScroll: true });
    },
    reload() {
      if (picker.value) void load();
    },
    async fill() {
      try {
        for (let offset: number | null | undefined = 0; offset !== null && offset !== undefined && offset < 500; ) {
          const page = await api.merchantProducts(offset);
          const present = new Set([...picker.options].map((o) => o.value));
          for (const p of page.items) {
            if (p.skus.some((s) => present.has(`skus:${s.id}`))) continue;
            picker.append(
              h(
                "optgroup",
                { label: p.title },
                h("option", { value: `products:${p.id}` }, t("entity.wholeProduct", { title: p.title })),
                p.skus.map((s) => h("option", { value: `skus:${s.id}` }, `${p.title} · ${s.sku}`)),
              ),
            );
          }
          offset = page.next_offset;
        }
      } catch {
        /* the per-SKU table's links still work */
      }
    },
  };
}
