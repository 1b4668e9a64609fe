// Admin analytics: the whole service's figures over a period (views, engagement, orders, revenue),
// per day (inline SVG), the creators that sell, and the accounts whose engagement was flagged by
// the authenticity checks (not counted in any figure); CSV exports of each table.
import { api, problemText } from "../../core/api";
import { h, replace, toast } from "../../core/dom";
import { dateTime, money, num, pct, t, type Key } from "../../core/i18n";
import { barList, lineChart, statCards } from "../../core/charts";
import type { FlaggedAccount } from "../../core/types";
import { csvButtons, figuresCurrency, periodPicker, range, revenueText } from "../studio/analytics";

function flagText(code: string): string {
  const key = `flagged.code.${code}` as Key;
  const text = t(key);
  return text === key ? code : text;
}

export async function mountAdminAnalytics(panel: HTMLElement): Promise<void> {
  let days = 28;
  const body = h("div", { "aria-live": "polite" }, t("common.loading"));
  const flaggedBody = h("tbody");
  let flaggedCursor: string | null = null;
  const moreFlagged = h("button", { type: "button", hidden: true }, t("common.more"));
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
      csvButtons("/v1/admin/analytics/export", [["daily", t("analytics.daily")], ["top_creators", t("analytics.topCreators")], ["flagged_accounts", t("flagged.title")]], "clipshop-admin", () => days),
    ),
    body,
    h(
      "section",
      { "aria-labelledby": "flagged-title" },
      h("h2", { id: "flagged-title" }, t("flagged.title")),
      h("p", { class: "muted" }, t("flagged.hint")),
      h(
        "div",
        { class: "table-wrap", tabindex: 0 },
        h(
          "table",
          { class: "flagged" },
          h("caption", { class: "sr-only" }, t("flagged.title")),
          h("thead", null, h("tr", null, [t("flagged.account"), t("flagged.flags"), t("flagged.reasons"), t("flagged.engagements"), t("flagged.lastSeen")].map((c) => h("th", { scope: "col" }, c)))),
          flaggedBody,
        ),
      ),
      moreFlagged,
    ),
  );
  async function load(): Promise<void> {
    const { start, end } = range(days);
    try {
      const d = await api.adminOverview(start, end);
      const f = d.totals;
      const currency = figuresCurrency(f);
      const cash = (n: number) => money(n, currency);
      replace(
        body,
        statCards([
          [t("analytics.impressions"), num(f.impressions)],
          [t("analytics.views"), num(f.views)],
          [t("analytics.completion"), pct(f.completion_rate)],
          [t("analytics.engagement"), pct(f.engagement_rate)],
          [t("analytics.orders"), num(f.orders)],
          [t("analytics.revenue"), revenueText(f)],
          [t("analytics.conversion"), pct(f.conversion_rate)],
          [t("flagged.title"), num(d.flagged_accounts)],
        ]),
        h(
          "div",
          { class: "charts" },
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.views })), t("analytics.viewsPerDay"), num),
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.revenue_minor })), t("analytics.revenuePerDay"), cash),
        ),
        d.top_creators.length
          ? barList(d.top_creators.slice(0, 10).map((c) => ({ label: c.handle ? h("a", { href: `/app/creators/${encodeURIComponent(c.handle)}`, "data-nav": "" }, `@${c.handle}`) : c.creator_id.slice(0, 8), value: c.revenue_minor, text: `${revenueText(c)} · ${num(c.views)} ${t("analytics.views").toLowerCase()}` })), t("analytics.topCreators"), cash)
          : h("p", { class: "muted" }, `${t("analytics.topCreators")}: ${t("analytics.noData")}`),
      );
    } catch (error) {
      replace(body, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  const flaggedRow = (a: FlaggedAccount) =>
    h(
      "tr",
      null,
      h("th", { scope: "row" }, h("code", null, a.user_id.slice(0, 8))),
      h("td", null, num(a.flags)),
      h("td", null, a.codes.map(flagText).join(", ") || "—", a.detail ? h("p", { class: "muted small" }, a.detail) : null),
      h("td", null, num(a.engagements)),
      h("td", null, dateTime(a.last_seen_at)),
    );
  async function loadFlagged(reset: boolean): Promise<void> {
    if (reset) flaggedCursor = null;
    try {
      const page = await api.flaggedAccounts(flaggedCursor);
      if (reset) replace(flaggedBody);
      page.items.forEach((a) => flaggedBody.append(flaggedRow(a)));
      if (reset && !page.items.length) flaggedBody.append(h("tr", null, h("td", { colspan: 5, class: "muted" }, t("flagged.none"))));
      flaggedCursor = page.next_cursor;
      moreFlagged.hidden = !flaggedCursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  moreFlagged.addEventListener("click", () => void loadFlagged(false));
  await Promise.all([load(), loadFlagged(true)]);
}
