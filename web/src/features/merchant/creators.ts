// Creator discovery: creators ranked for the merchant's products (audience match, organic
// engagement, conversion, authenticity) with the evidence, and a shortlist.
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { money, num, pct, t } from "../../core/i18n";
import type { DiscoveredCreator, ShortlistEntry } from "../../core/types";

export async function mountCreators(panel: HTMLElement): Promise<void> {
  let cursor: string | null = null;
  let shortlisted = new Set<string>();
  const interest = h("select", null, h("option", { value: "" }, t("discover.myProducts")));
  const minAuth = h("input", { type: "number", min: 0, max: 100, step: 1 });
  const minFollowers = h("input", { type: "number", min: 0, step: 1 });
  const sort = h(
    "select",
    null,
    (["relevance", "engagement_rate", "conversion_rate", "followers", "authenticity"] as const).map((s) => h("option", { value: s }, t(`discover.sort.${s}`))),
  );
  const results = h("ul", { class: "plain discover", "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true, onclick: () => void search(false) }, t("common.more"));
  const shortlist = h("ul", { class: "plain" });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void search(true);
      },
    },
    h("h2", null, t("discover.title")),
    h("div", { class: "grid" }, field("dc-interest", t("collab.interest"), interest), field("dc-auth", t("discover.minAuth"), minAuth), field("dc-followers", t("discover.minFollowers"), minFollowers), field("dc-sort", t("discover.sortBy"), sort)),
    h("button", { type: "submit", class: "primary" }, t("collab.search")),
  );
  replace(panel, form, results, more, h("section", { "aria-labelledby": "sl-title" }, h("h2", { id: "sl-title" }, t("discover.shortlist")), shortlist));

  function creatorCard(c: DiscoveredCreator): HTMLElement {
    const on = shortlisted.has(c.handle);
    const toggle = h("button", { type: "button", "aria-pressed": String(on) }, on ? t("discover.shortlisted") : t("discover.addShortlist"));
    toggle.addEventListener("click", async () => {
      const next = !shortlisted.has(c.handle);
      try {
        await api.setShortlisted(c.handle, next);
        if (next) shortlisted.add(c.handle);
        else shortlisted.delete(c.handle);
        toggle.setAttribute("aria-pressed", String(next));
        toggle.textContent = next ? t("discover.shortlisted") : t("discover.addShortlist");
        announce(next ? t("discover.shortlisted") : t("discover.removed"));
        await loadShortlist();
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    });
    const e = c.evidence;
    return h(
      "li",
      { class: "creator-card", "data-handle": c.handle },
      h("h3", null, h("a", { href: `/app/creators/${encodeURIComponent(c.handle)}`, "data-nav": "" }, c.display_name), h("span", { class: "muted small" }, ` @${c.handle}`)),
      h(
        "dl",
        { class: "stats compact" },
        [
          [t("discover.followers"), num(c.followers)],
          [t("discover.match"), pct(c.audience_match)],
          [t("analytics.engagement"), pct(c.engagement_rate)],
          [t("analytics.conversion"), pct(c.conversion_rate)],
          [t("analytics.authenticity"), `${c.authenticity.score}/100`],
        ].map(([k, v]) => h("div", { class: "stat" }, h("dt", null, k), h("dd", null, v))),
      ),
      h(
        "p",
        { class: "small" },
        t("discover.evidence", {
          impressions: num(e.impressions),
          taps: num(e.product_taps),
          orders: num(e.orders),
          revenue: money(e.revenue_minor, e.currency || "EUR"),
        }),
        c.authenticity.flagged_share > 0 ? ` ${t("analytics.flaggedShare", { share: pct(c.authenticity.flagged_share) })}` : "",
      ),
      c.authenticity.flags.length ? h("ul", { class: "small" }, c.authenticity.flags.map((f) => h("li", null, `${f.detail} (${pct(f.share)})`))) : null,
      e.top_audience_interests.length ? h("p", { class: "muted small" }, `${t("analytics.interests")}: ${e.top_audience_interests.map((i) => `${i.interest} ${pct(i.share, 0)}`).join(", ")}`) : null,
      toggle,
    );
  }

  async function search(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.discoverCreators({
        interest: interest.value || null,
        min_authenticity: minAuth.value || null,
        min_followers: minFollowers.value || null,
        sort: sort.value,
        cursor,
      });
      if (reset) replace(results);
      page.items.forEach((c) => results.append(creatorCard(c)));
      if (reset && !page.items.length) results.append(h("li", { class: "muted" }, t("discover.none")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  async function loadShortlist(): Promise<void> {
    try {
      const page = await api.shortlist();
      shortlisted = new Set(page.items.map((s) => s.handle || ""));
      replace(
        shortlist,
        page.items.length
          ? page.items.map((s: ShortlistEntry) =>
              h("li", null, s.handle ? h("a", { href: `/app/creators/${encodeURIComponent(s.handle)}`, "data-nav": "" }, `@${s.handle}`) : s.creator_id.slice(0, 8), s.authenticity != null ? ` · ${t("analytics.authenticity")} ${s.authenticity}/100` : "", s.note ? ` · ${s.note}` : ""),
            )
          : h("li", { class: "muted" }, t("common.none")),
      );
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  void api.interests().then((tree) => {
    for (const node of tree.items) {
      const group = h("optgroup", { label: node.name });
      group.append(h("option", { value: node.slug }, node.name));
      for (const child of node.children) group.append(h("option", { value: child.slug }, child.name));
      interest.append(group);
    }
  });
  await loadShortlist();
  await search(true);
}
