// A creator's analytics: headline figures over a period, views and revenue per day (inline SVG),
// the clips that perform, the audience and how much of the engagement looks real; CSV exports.
import { api, download, problemText } from "../../core/api";
import { field, h, replace, toast } from "../../core/dom";
import { money, num, pct, t } from "../../core/i18n";
import { barList, lineChart, statCards } from "../../core/charts";
import type { Clip, Figures } from "../../core/types";

export function periodPicker(onChange: (days: number) => void): HTMLElement {
  const select = h(
    "select",
    { onchange: (e: Event) => onChange(Number((e.target as HTMLSelectElement).value)) },
    [7, 28, 90].map((d) => h("option", { value: d, selected: d === 28 }, t("analytics.lastDays", { n: d }))),
  );
  return field("an-period", t("analytics.period"), select);
}

export function range(days: number): { start: string; end: string } {
  const end = new Date();
  const start = new Date(end.getTime() - (days - 1) * 86_400_000);
  const iso = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return { start: iso(start), end: iso(end) };
}

/** The currency a set of figures is shown in: its own, else its first revenue's, else EUR. */
export function figuresCurrency(f: Pick<Figures, "currency" | "revenue_by_currency">): string {
  return f.currency || f.revenue_by_currency?.[0]?.currency || "EUR";
}

export function revenueText(f: Pick<Figures, "revenue_minor" | "currency" | "revenue_by_currency">): string {
  if (f.revenue_by_currency?.length > 1) return f.revenue_by_currency.map((r) => money(r.revenue_minor, r.currency)).join(" + ");
  return money(f.revenue_minor, figuresCurrency(f));
}

export function csvButtons(path: string, tables: [string, string][], prefix: string, days: () => number): HTMLElement {
  return h(
    "div",
    { class: "row exports", role: "group", "aria-label": t("analytics.export") },
    h("span", { class: "muted" }, `${t("analytics.export")}:`),
    tables.map(([table, label]) =>
      h(
        "button",
        {
          type: "button",
          class: "small-button",
          onclick: () => {
            const { start, end } = range(days());
            void download(`${path}?${new URLSearchParams({ table, start, end, tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" })}`, `${prefix}-${table}-${start}-${end}.csv`).catch((e) =>
              toast(t("common.error", { detail: problemText(e) }), "error"),
            );
          },
        },
        `${label} (CSV)`,
      ),
    ),
  );
}

export async function mountAnalytics(panel: HTMLElement): Promise<void> {
  let days = 28;
  const body = h("div", { "aria-live": "polite" }, t("common.loading"));
  let captions = new Map<string, string>();
  replace(
    panel,
    h("div", { class: "row spread" }, periodPicker((d) => { days = d; void load(); }), csvButtons("/v1/me/analytics/export", [["daily", t("analytics.daily")], ["clips", t("analytics.clips")]], "clipshop-creator", () => days)),
    body,
  );
  async function load(): Promise<void> {
    const { start, end } = range(days);
    try {
      const [d, clips] = await Promise.all([api.creatorDashboard(start, end), captions.size ? null : api.myClips().catch(() => null)]);
      if (clips) captions = new Map(clips.items.map((c: Clip) => [c.id, c.caption || c.id.slice(0, 8)]));
      const f = d.totals;
      const topClips = [...d.clips].sort((a, b) => b.views - a.views).slice(0, 8);
      replace(
        body,
        statCards([
          [t("analytics.impressions"), num(f.impressions)],
          [t("analytics.views"), num(f.views)],
          [t("analytics.completion"), pct(f.completion_rate)],
          [t("analytics.engagement"), pct(f.engagement_rate)],
          [t("analytics.orders"), num(f.orders)],
          [t("analytics.revenue"), revenueText(f)],
          [t("analytics.commission"), f.commission_minor !== null ? money(f.commission_minor, f.currency || "EUR") : "—"],
          [t("analytics.followers"), num(d.audience.followers)],
        ]),
        h(
          "div",
          { class: "charts" },
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.views })), t("analytics.viewsPerDay"), num),
          lineChart(d.daily.map((x) => ({ label: x.day, value: x.revenue_minor })), t("analytics.revenuePerDay"), (n) => money(n, f.currency || "EUR")),
        ),
        topClips.length
          ? barList(topClips.map((c) => ({ label: captions.get(c.clip_id) ?? c.clip_id.slice(0, 8), value: c.views, text: `${num(c.views)} · ${pct(c.engagement_rate)}` })), t("analytics.topClips"), num)
          : h("p", { class: "muted" }, t("analytics.noData")),
        h(
          "section",
          { "aria-labelledby": "an-audience" },
          h("h2", { id: "an-audience" }, t("analytics.audience")),
          statCards([
            [t("analytics.engaged"), num(d.audience.engaged_viewers)],
            [t("analytics.newViewers"), num(d.audience.new_viewers)],
            [t("analytics.returning"), num(d.audience.returning_viewers)],
          ]),
          d.audience.viewer_interests.length ? barList(d.audience.viewer_interests.map((i) => ({ label: i.interest, value: i.share, text: pct(i.share) })), t("analytics.interests"), (n) => pct(n)) : null,
        ),
        h(
          "section",
          { "aria-labelledby": "an-auth" },
          h("h2", { id: "an-auth" }, t("analytics.authenticity")),
          h("p", { class: "score" }, h("strong", null, `${d.authenticity.score}/100`), ` · ${t("analytics.flaggedShare", { share: pct(d.authenticity.flagged_share) })}`),
          d.authenticity.flags.length ? h("ul", null, d.authenticity.flags.map((fl) => h("li", null, `${fl.detail} (${pct(fl.share)})`))) : h("p", { class: "muted" }, t("analytics.noFlags")),
        ),
      );
    } catch (error) {
      replace(body, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  await load();
}
