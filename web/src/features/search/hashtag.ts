// A hashtag's page: its clips ranked like search, with cursor pages.
import { api, problemText } from "../../core/api";
import { h, replace } from "../../core/dom";
import { num, t } from "../../core/i18n";
import type { Screen } from "../../main";
import { hitItem } from "./search";

const screen: Screen = {
  async mount(root, params) {
    const tag = decodeURIComponent(params.tag || "").replace(/^#/, "");
    let cursor: string | null = null;
    const count = h("p", { class: "muted" });
    const list = h("ul", { class: "hits" });
    const more = h("button", { type: "button", hidden: true, onclick: () => void load() }, t("common.more"));
    replace(root, h("p", null, h("a", { href: "/app/search", "data-nav": "" }, `← ${t("search.title")}`)), h("h1", null, `#${tag}`), count, list, more);
    document.title = `#${tag} · ClipShop`;
    async function load(): Promise<void> {
      try {
        const page = await api.hashtag(tag, cursor);
        count.textContent = t("hashtag.clips", { n: num(page.clips) });
        page.items.forEach((hit) => list.append(hitItem(hit)));
        if (!list.children.length) list.append(h("li", { class: "muted" }, t("common.none")));
        cursor = page.next_cursor ?? null;
        more.hidden = !cursor;
      } catch (error) {
        replace(list, h("li", { role: "alert" }, t("common.error", { detail: problemText(error) })));
      }
    }
    await load();
  },
};

export default screen;
