// Search: as-you-type suggestions (an ARIA combobox over /v1/search/suggest), then results as
// clips, products, creators or hashtags (/v1/search, cursor pages). The query and the kind are in
// the address, so a search can be shared and the back button returns to it.
import { api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { money, num, t, type Key } from "../../core/i18n";
import { go } from "../../core/nav";
import type { SearchHit, SearchType, Suggestion } from "../../core/types";
import type { Screen } from "../../main";
import { stockText } from "../feed/cards";

const TYPES: [SearchType, Key][] = [
  ["clips", "search.clips"],
  ["products", "search.products"],
  ["creators", "search.creators"],
  ["hashtags", "search.hashtags"],
];

export function clipLink(hit: { id?: string | null; handle?: string | null }): string {
  return `/app/clips/${hit.id}${hit.handle ? `?by=${encodeURIComponent(hit.handle)}` : ""}`;
}

export function hitItem(hit: SearchHit): HTMLElement {
  if (hit.type === "creator" && hit.handle) {
    return h(
      "li",
      { class: "hit creator-hit" },
      h("a", { href: `/app/creators/${encodeURIComponent(hit.handle)}`, "data-nav": "" }, hit.title),
      h("span", { class: "muted small" }, ` @${hit.handle} · ${t("profile.followers", { n: num(hit.followers ?? 0) })}`),
    );
  }
  if (hit.type === "hashtag" && hit.tag) {
    return h(
      "li",
      { class: "hit" },
      h("a", { href: `/app/hashtags/${encodeURIComponent(hit.tag)}`, "data-nav": "" }, `#${hit.tag}`),
      h("span", { class: "muted small" }, ` · ${t("hashtag.clips", { n: num(hit.clips ?? 0) })}`),
    );
  }
  if (hit.type === "product") {
    return h(
      "li",
      { class: "hit" },
      h("strong", null, hit.title),
      hit.brand ? h("span", { class: "muted small" }, ` · ${hit.brand}`) : null,
      h(
        "p",
        { class: "small" },
        hit.price_minor != null && hit.currency ? money(hit.price_minor, hit.currency) : "",
        hit.available != null ? ` · ${stockText({ available: hit.available, availability: (hit.availability || "in_stock") as "in_stock" })}` : "",
      ),
    );
  }
  return h(
    "li",
    { class: "hit" },
    h("a", { href: clipLink(hit), "data-nav": "" }, hit.title || t("clip.title")),
    h(
      "p",
      { class: "muted small" },
      hit.handle ? `@${hit.handle}` : "",
      hit.likes != null ? ` · ${t("clip.likes", { n: num(hit.likes) })}` : "",
      hit.comments != null ? ` · ${t("clip.comments", { n: num(hit.comments) })}` : "",
    ),
  );
}

const screen: Screen = {
  async mount(root, params) {
    let type: SearchType = TYPES.some(([k]) => k === params.type) ? (params.type as SearchType) : "clips";
    let query = params.q || "";
    let cursor: string | null = null;
    let suggestions: Suggestion[] = [];
    let active = -1;
    let timer = 0;
    let seq = 0;
    const input = h("input", {
      id: "search-q",
      type: "search",
      autocomplete: "off",
      value: query,
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": "search-suggestions",
      "aria-describedby": "search-hint",
      placeholder: t("search.placeholder"),
    });
    const listbox = h("ul", { id: "search-suggestions", role: "listbox", class: "suggestions", hidden: true, "aria-label": t("search.suggestions") });
    const results = h("ul", { class: "hits", "aria-live": "polite" });
    const status = h("p", { class: "muted", role: "status" });
    const more = h("button", { type: "button", hidden: true, onclick: () => void run(false) }, t("common.more"));
    const typeButtons = TYPES.map(([k, key]) =>
      h(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": String(k === type),
          onclick: () => {
            type = k;
            typeButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(TYPES[i][0] === type)));
            void run(true);
          },
        },
        t(key),
      ),
    );

    function close(): void {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(i: number): void {
      active = i;
      [...listbox.children].forEach((el, j) => el.setAttribute("aria-selected", String(j === i)));
      if (i >= 0) input.setAttribute("aria-activedescendant", `sugg-${i}`);
      else input.removeAttribute("aria-activedescendant");
    }
    function pick(s: Suggestion): void {
      close();
      if (s.type === "creator" && s.handle) return go(`/app/creators/${encodeURIComponent(s.handle)}`);
      if (s.type === "hashtag" && s.tag) return go(`/app/hashtags/${encodeURIComponent(s.tag)}`);
      input.value = s.text;
      if (s.type === "product" || s.type === "brand") {
        type = "products";
        typeButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(TYPES[i][0] === type)));
      }
      void run(true);
    }
    const kindLabel: Record<string, Key> = { creator: "search.kindCreator", hashtag: "search.kindHashtag", product: "search.kindProduct", brand: "search.kindBrand" };
    async function suggest(): Promise<void> {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q) return close();
      try {
        const page = await api.suggest(q);
        if (mine !== seq || input.value.trim() !== q) return;
        suggestions = page.items;
        replace(
          listbox,
          suggestions.map((s, i) =>
            h(
              "li",
              {
                id: `sugg-${i}`,
                role: "option",
                "aria-selected": "false",
                class: "suggestion",
                onmousedown: (e: Event) => e.preventDefault(), // keep the focus in the box
                onclick: () => pick(s),
              },
              h("span", null, s.type === "hashtag" ? `#${s.tag ?? s.text}` : s.text),
              h("span", { class: "muted small" }, ` ${t(kindLabel[s.type] ?? "search.kindOther")}${s.handle ? ` · @${s.handle}` : ""}`),
            ),
          ),
        );
        listbox.hidden = !suggestions.length;
        input.setAttribute("aria-expanded", String(!!suggestions.length));
        active = -1;
        if (suggestions.length) announce(t("search.suggestionCount", { n: suggestions.length }));
      } catch {
        close();
      }
    }
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void suggest(), 150);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && suggestions.length) {
        e.preventDefault();
        if (listbox.hidden) {
          listbox.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        highlight((active + 1) % suggestions.length);
      } else if (e.key === "ArrowUp" && suggestions.length && !listbox.hidden) {
        e.preventDefault();
        highlight((active - 1 + suggestions.length) % suggestions.length);
      } else if (e.key === "Escape") {
        close();
      } else if (e.key === "Enter" && active >= 0 && !listbox.hidden) {
        e.preventDefault();
        pick(suggestions[active]);
      }
    });
    input.addEventListener("blur", () => window.setTimeout(close, 150));

    async function run(reset: boolean): Promise<void> {
      query = input.value.trim();
      close();
      if (reset) {
        cursor = null;
        history.replaceState(null, "", `/app/search?${new URLSearchParams({ q: query, type })}`);
      }
      if (!query) {
        replace(results);
        status.textContent = "";
        more.hidden = true;
        return;
      }
      try {
        const page = await api.search(query, type, cursor);
        if (reset) replace(results);
        page.items.forEach((hit) => results.append(hitItem(hit)));
        cursor = page.next_cursor ?? null;
        more.hidden = !cursor;
        if (reset) status.textContent = page.items.length ? t("search.found", { q: query }) : t("search.nothing", { q: query });
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    }

    const form = h(
      "form",
      {
        role: "search",
        class: "search-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void run(true);
        },
      },
      h("label", { for: "search-q" }, t("search.label")),
      h("div", { class: "combo" }, input, listbox),
      h("p", { class: "muted small", id: "search-hint" }, t("search.hint")),
      h("button", { type: "submit", class: "primary" }, t("common.search")),
    );
    replace(
      root,
      h("h1", null, t("search.title")),
      form,
      h("div", { class: "row", role: "group", "aria-label": t("search.kind") }, typeButtons),
      status,
      results,
      more,
    );
    if (query) await run(true);
    else input.focus();
  },
};

export default screen;
