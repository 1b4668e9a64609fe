// A creator's own storefront and idea lists: pin or hide each product featured in their clips;
// create, edit (name, description, products in order) and delete the idea lists on their profile.
import { api, currentUser, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { money, num, t } from "../../core/i18n";
import type { IdeaList, ProductCard, StorefrontItem } from "../../core/types";

function fail(error: unknown): void {
  toast(t("common.error", { detail: problemText(error) }), "error");
}

interface Pick {
  product_id: string;
  title: string;
  brand: string | null;
}

function storefrontRow(item: StorefrontItem): HTMLElement {
  const id = item.product_id.slice(0, 8);
  const toggle = (kind: "pinned" | "hidden") => {
    const box = h("input", { type: "checkbox", id: `sf-${kind}-${id}`, checked: item[kind] });
    box.addEventListener("change", async () => {
      try {
        const saved = await api.curate(item.product_id, { [kind]: box.checked });
        item.pinned = saved.pinned;
        item.hidden = saved.hidden;
        announce(t(kind === "pinned" ? (saved.pinned ? "shopfront.pinnedNow" : "shopfront.unpinnedNow") : saved.hidden ? "shopfront.hiddenNow" : "shopfront.shownNow", { title: item.title }));
      } catch (error) {
        box.checked = !box.checked;
        fail(error);
      }
    });
    return h("label", { class: "check", for: `sf-${kind}-${id}` }, box, ` ${t(kind === "pinned" ? "shopfront.pin" : "shopfront.hide")}`, h("span", { class: "sr-only" }, `: ${item.title}`));
  };
  return h(
    "li",
    { class: "shop-item", "data-product": item.product_id },
    item.image_url ? h("img", { src: item.image_url, alt: "", width: 48, height: 48, loading: "lazy" }) : null,
    h(
      "div",
      null,
      h("p", { class: "card-title" }, item.title),
      h("p", { class: "muted small" }, [item.brand, money(item.price_minor, item.currency), t("shopfront.sold", { n: num(item.units_sold) })].filter(Boolean).join(" · ")),
    ),
    h("div", { class: "row" }, toggle("pinned"), toggle("hidden")),
  );
}

/** The form that creates (list null) or edits an idea list. */
function ideaListForm(list: IdeaList | null, storefront: StorefrontItem[], onSaved: () => void, onCancel: () => void): HTMLElement {
  const key = list ? list.id.slice(0, 8) : "new";
  const name = h("input", { type: "text", required: true, maxLength: 80, value: list?.name ?? "" });
  const description = h("textarea", { rows: 2, maxLength: 2000 }, list?.description ?? "");
  let chosen: Pick[] = (list?.items ?? []).map((p: ProductCard) => ({ product_id: p.product_id, title: p.title, brand: p.brand }));
  const chosenList = h("ol", { class: "picked" });
  const render = () => {
    replace(
      chosenList,
      chosen.length
        ? chosen.map((p, i) =>
            h(
              "li",
              { "data-product": p.product_id },
              h("span", null, p.title, p.brand ? h("span", { class: "muted small" }, ` · ${p.brand}`) : null),
              h(
                "span",
                { class: "row" },
                i > 0 ? h("button", { type: "button", class: "small-button", "aria-label": t("ideas.moveUp", { title: p.title }), onclick: () => { [chosen[i - 1], chosen[i]] = [chosen[i], chosen[i - 1]]; render(); } }, "↑") : null,
                h("button", { type: "button", class: "small-button", "aria-label": t("ideas.removeProduct", { title: p.title }), onclick: () => { chosen = chosen.filter((x) => x.product_id !== p.product_id); render(); } }, "✕"),
              ),
            ),
          )
        : h("li", { class: "muted" }, t("ideas.noProducts")),
    );
  };
  const add = (p: Pick) => {
    if (!chosen.some((x) => x.product_id === p.product_id)) chosen.push(p);
    render();
    announce(t("ideas.productAdded", { title: p.title }));
  };
  render();
  // products to add: the storefront's, and a search of the public catalogue
  const quick = h(
    "div",
    { class: "chips" },
    storefront.map((s) => h("button", { type: "button", class: "chip", onclick: () => add({ product_id: s.product_id, title: s.title, brand: s.brand }) }, `+ ${s.title}`)),
  );
  const query = h("input", { type: "search", maxLength: 100, autocomplete: "off" });
  const results = h("ul", { class: "plain results", "aria-live": "polite" });
  const search = async () => {
    const q = query.value.trim();
    if (!q) return replace(results);
    try {
      const page = await api.browseProducts(q);
      replace(
        results,
        page.items.length
          ? page.items.map((p) => h("li", null, h("button", { type: "button", class: "link", onclick: () => add({ product_id: p.id, title: p.title, brand: p.brand }) }, t("ideas.addProduct", { title: p.title }))))
          : h("li", { class: "muted" }, t("common.none")),
      );
    } catch (error) {
      fail(error);
    }
  };
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void search();
    }
  });
  return h(
    "form",
    {
      class: "card-form idea-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api.saveIdeaList(list?.id ?? null, { name: name.value.trim(), description: description.value.trim() || null, product_ids: chosen.map((p) => p.product_id) });
          toast(t("ideas.saved", { name: name.value.trim() }));
          announce(t("ideas.saved", { name: name.value.trim() }));
          onSaved();
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h3", null, list ? t("ideas.editing", { name: list.name }) : t("ideas.new")),
    field(`il-name-${key}`, t("ideas.name"), name),
    field(`il-description-${key}`, t("ideas.description"), description),
    h("h4", null, t("ideas.products")),
    chosenList,
    storefront.length ? h("div", null, h("p", { class: "small" }, t("ideas.fromStorefront")), quick) : null,
    h("div", { class: "row" }, field(`il-search-${key}`, t("ideas.searchCatalogue"), query), h("button", { type: "button", onclick: () => void search() }, t("common.search"))),
    results,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("common.save")), h("button", { type: "button", onclick: onCancel }, t("common.cancel"))),
  );
}

export async function mountStorefront(panel: HTMLElement): Promise<void> {
  const shop = h("ul", { class: "shop" }, h("li", { class: "muted" }, t("common.loading")));
  const lists = h("div", { class: "idea-lists" }, t("common.loading"));
  const editor = h("div");
  let storefront: StorefrontItem[] = [];
  const handle = currentUser()?.creator?.handle;
  const newButton = h("button", { type: "button", class: "primary" }, t("ideas.new"));
  newButton.addEventListener("click", () => {
    replace(editor, ideaListForm(null, storefront, () => { replace(editor); void loadLists(); }, () => replace(editor)));
    (editor.querySelector("input") as HTMLInputElement | null)?.focus();
  });
  replace(
    panel,
    h(
      "section",
      { "aria-labelledby": "sf-title" },
      h("h2", { id: "sf-title" }, t("profile.storefront")),
      h("p", { class: "muted" }, t("shopfront.hint"), " ", handle ? h("a", { href: `/app/creators/${encodeURIComponent(handle)}`, "data-nav": "" }, t("shopfront.seeProfile")) : null),
      shop,
    ),
    h("section", { "aria-labelledby": "il-title" }, h("h2", { id: "il-title" }, t("profile.ideaLists")), newButton, editor, lists),
  );
  async function loadLists(): Promise<void> {
    try {
      const page = await api.myIdeaLists();
      replace(
        lists,
        page.items.length
          ? page.items.map((list) => {
              const slot = h("div");
              const remove = h("button", { type: "button", class: "danger" }, t("ideas.delete"));
              let armed = false;
              remove.addEventListener("click", async () => {
                if (!armed) {
                  armed = true;
                  remove.textContent = t("ideas.confirmDelete");
                  return;
                }
                try {
                  await api.removeIdeaList(list.id);
                  toast(t("ideas.deleted", { name: list.name }));
                  await loadLists();
                } catch (error) {
                  fail(error);
                }
              });
              const edit = h("button", { type: "button" }, t("ideas.edit"));
              edit.addEventListener("click", () => {
                replace(slot, ideaListForm(list, storefront, () => void loadLists(), () => replace(slot)));
                (slot.querySelector("input") as HTMLInputElement | null)?.focus();
              });
              return h(
                "article",
                { class: "idea-list", "data-list": list.id },
                h("h3", null, list.name),
                list.description ? h("p", null, list.description) : null,
                h("ul", { class: "plain" }, list.items.map((p) => h("li", null, p.title, p.brand ? h("span", { class: "muted small" }, ` · ${p.brand}`) : null))),
                h("p", { class: "muted small" }, t("ideas.count", { n: list.items.length }), " · ", h("a", { href: list.share_url }, t("ideas.link"))),
                h("div", { class: "row" }, edit, remove),
                slot,
              );
            })
          : h("p", { class: "muted" }, t("ideas.none")),
      );
    } catch (error) {
      replace(lists, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  try {
    const page = await api.myStorefront();
    storefront = page.items;
    replace(shop, storefront.length ? storefront.map(storefrontRow) : h("li", { class: "muted" }, t("shopfront.empty")));
  } catch (error) {
    replace(shop, h("li", { role: "alert" }, problemText(error)));
  }
  await loadLists();
}
