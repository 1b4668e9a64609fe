// Collaborations for a creator: invitations to accept or decline, and products open to
// collaboration with the rate the creator would earn (filters: interest, rate, price, stock).
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { bps, dateTime, money, t } from "../../core/i18n";
import type { MyCollaboration, OpenProduct } from "../../core/types";

function invitation(c: MyCollaboration, reload: () => void): HTMLElement {
  const decide = async (accept: boolean) => {
    try {
      await api.decideCollaboration(c.collaboration_id, accept);
      announce(accept ? t("collab.accepted") : t("collab.declined"));
      toast(accept ? t("collab.accepted") : t("collab.declined"));
      reload();
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  };
  return h(
    "li",
    { class: "collab", "data-collaboration": c.collaboration_id, "data-status": c.status },
    h("p", null, h("strong", null, t("collab.rate", { rate: bps(c.rate_bps) })), " · ", t(`invite.${c.status}`), c.live ? "" : ` · ${t("collab.ended")}`),
    c.brief ? h("p", null, c.brief) : null,
    c.ends_at ? h("p", { class: "muted small" }, t("collab.until", { when: dateTime(c.ends_at, false) })) : null,
    c.status === "invited" && c.live
      ? h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "primary", onclick: () => void decide(true) }, t("collab.accept")),
          h("button", { type: "button", onclick: () => void decide(false) }, t("collab.decline")),
        )
      : null,
  );
}

function openProduct(p: OpenProduct): HTMLElement {
  const low = p.skus.length ? Math.min(...p.skus.map((s) => s.price_minor)) : null;
  const stock = p.skus.reduce((n, s) => n + s.available, 0);
  return h(
    "li",
    { class: "shop-item", "data-product": p.product_id },
    p.image_url ? h("img", { src: p.image_url, alt: "", width: 56, height: 56, loading: "lazy" }) : null,
    h(
      "div",
      null,
      h("p", { class: "card-title" }, p.title),
      h("p", { class: "small" }, [p.brand, low !== null ? money(low, p.skus[0].currency) : null, t("product.inStock", { n: stock })].filter(Boolean).join(" · ")),
      h("p", { class: "small" }, h("strong", null, t("collab.youEarn", { rate: bps(p.rate_bps) })), ` (${t(p.rate_source.startsWith("collab") ? "collab.sourceCollab" : "collab.sourceRate")})`),
    ),
  );
}

export async function mountCollaborations(panel: HTMLElement): Promise<void> {
  const invites = h("ul", { class: "plain" }, h("li", { class: "muted" }, t("common.loading")));
  const results = h("ul", { class: "shop" });
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  let cursor: string | null = null;
  const interest = h("select", null, h("option", { value: "" }, t("collab.anyInterest")));
  const minRate = h("input", { type: "number", min: 0, max: 100, step: 0.5, inputMode: "decimal" });
  const minPrice = h("input", { type: "number", min: 0, step: 1, inputMode: "decimal" });
  const maxPrice = h("input", { type: "number", min: 0, step: 1, inputMode: "decimal" });
  const inStock = h("input", { type: "checkbox", id: "cf-stock" });
  const filters = h(
    "form",
    {
      class: "card-form filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void search(true);
      },
    },
    h("h3", null, t("collab.filters")),
    h(
      "div",
      { class: "grid" },
      field("cf-interest", t("collab.interest"), interest),
      field("cf-rate", t("collab.minRate"), minRate),
      field("cf-min", t("collab.minPrice"), minPrice),
      field("cf-max", t("collab.maxPrice"), maxPrice),
    ),
    h("div", { class: "check" }, inStock, h("label", { for: "cf-stock" }, t("collab.inStock"))),
    h("button", { type: "submit", class: "primary" }, t("collab.search")),
  );
  more.addEventListener("click", () => void search(false));
  replace(
    panel,
    h("section", { "aria-labelledby": "inv-title" }, h("h2", { id: "inv-title" }, t("collab.invitations")), invites),
    h("section", { "aria-labelledby": "open-title" }, h("h2", { id: "open-title" }, t("collab.open")), h("p", { class: "muted" }, t("collab.openHint")), filters, h("div", { "aria-live": "polite" }, results), more),
  );
  const minor = (v: string) => (v === "" ? null : Math.round(parseFloat(v) * 100));
  async function search(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.openProducts({
        interest: interest.value || null,
        min_rate_bps: minRate.value === "" ? null : Math.round(parseFloat(minRate.value) * 100),
        min_price_minor: minor(minPrice.value),
        max_price_minor: minor(maxPrice.value),
        in_stock: inStock.checked ? "true" : null,
        cursor,
      });
      if (reset) replace(results);
      page.items.forEach((p) => results.append(openProduct(p)));
      if (reset && !page.items.length) results.append(h("li", { class: "muted" }, t("common.none")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  async function loadInvites(): Promise<void> {
    try {
      const page = await api.myCollaborations();
      replace(invites, page.items.length ? page.items.map((c) => invitation(c, () => void loadInvites())) : h("li", { class: "muted" }, t("collab.noInvitations")));
    } catch (error) {
      replace(invites, h("li", { role: "alert" }, problemText(error)));
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
  await Promise.all([loadInvites(), search(true)]);
}
