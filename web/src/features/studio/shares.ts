// Share statistics: every share link the signed-in account made, with what came through each
// (opens, views, purchases, revenue) and the totals.
import { api, problemText } from "../../core/api";
import { h, replace, toast } from "../../core/dom";
import { dateTime, num, t } from "../../core/i18n";
import { statCards } from "../../core/charts";
import type { Share } from "../../core/types";

// Revenue is summed over orders in their own currencies: shown as an amount without a symbol.
const amount = (minor: number) => num(Math.round(minor) / 100);

export async function mountShares(panel: HTMLElement): Promise<void> {
  const totals = h("div", { "aria-live": "polite" }, t("common.loading"));
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  let cursor: string | null = null;
  replace(
    panel,
    h("h2", null, t("shares.title")),
    h("p", { class: "muted" }, t("shares.hint")),
    totals,
    h(
      "div",
      { class: "table-wrap", tabindex: 0 },
      h(
        "table",
        { class: "shares" },
        h("caption", { class: "sr-only" }, t("shares.title")),
        h("thead", null, h("tr", null, [t("shares.link"), t("shares.clip"), t("shares.channel"), t("shares.opens"), t("analytics.views"), t("shares.purchases"), t("shares.revenue"), t("shares.created")].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
    more,
  );
  const row = (s: Share) =>
    h(
      "tr",
      { "data-share": s.code },
      h("th", { scope: "row" }, h("a", { href: s.url }, `/s/${s.code}`)),
      h("td", null, h("a", { href: `/app/clips/${s.clip_id}`, "data-nav": "" }, t("shares.openClip"))),
      h("td", null, s.channel || "—"),
      h("td", { class: "num" }, num(s.opens)),
      h("td", { class: "num" }, num(s.views)),
      h("td", { class: "num" }, num(s.purchases)),
      h("td", { class: "num" }, amount(s.revenue_minor)),
      h("td", null, dateTime(s.created_at)),
    );
  async function load(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.myShares(cursor);
      if (reset) {
        const x = page.totals;
        replace(
          totals,
          statCards([
            [t("shares.count"), num(x.shares)],
            [t("shares.opens"), num(x.opens)],
            [t("analytics.views"), num(x.views)],
            [t("shares.purchases"), num(x.purchases)],
            [t("shares.revenue"), amount(x.revenue_minor)],
          ]),
        );
        replace(body);
        if (!page.items.length) body.append(h("tr", null, h("td", { colspan: 8, class: "muted" }, t("shares.none"))));
      }
      page.items.forEach((s) => body.append(row(s)));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  more.addEventListener("click", () => void load(false));
  await load(true);
}
