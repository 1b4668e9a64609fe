// Commission rates (default, per category, per product; product beats category beats default)
// and collaborations: open to every admitted creator, or targeted at invited creators.
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { bps, dateTime, t, type Key } from "../../core/i18n";
import type { Collaboration, Product, Rates } from "../../core/types";

const toBps = (v: string) => Math.round(parseFloat(v) * 100);
const toPct = (b: number | null | undefined) => (b === null || b === undefined ? "" : String(b / 100));

function fail(error: unknown): void {
  toast(t("common.error", { detail: problemText(error) }), "error");
}

function rateRows(kind: "category" | "product", initial: Record<string, number>, products: Product[]): { el: HTMLElement; read(): Record<string, number> } {
  const rows = h("ul", { class: "plain rate-rows" });
  let n = 0;
  const add = (key = "", value?: number) => {
    const i = n++;
    const keyInput =
      kind === "product"
        ? h("select", null, products.map((p) => h("option", { value: p.id, selected: p.id === key }, p.title)))
        : h("input", { value: key, placeholder: "Clothing > Hoodies" });
    const rate = h("input", { type: "number", min: 0, max: 100, step: 0.01, value: toPct(value), class: "rate" });
    const li = h(
      "li",
      { class: "row" },
      field(`${kind}-key-${i}`, t(kind === "product" ? "rates.product" : "merchant.category"), keyInput),
      field(`${kind}-rate-${i}`, t("rates.percent"), rate),
      h("button", { type: "button", class: "ghost", onclick: () => li.remove(), "aria-label": t("rates.removeRow", { n: i + 1 }) }, t("tag.remove")),
    );
    rows.append(li);
  };
  for (const [k, v] of Object.entries(initial)) add(k, v);
  const addButton = h("button", { type: "button", onclick: () => add() }, t(kind === "product" ? "rates.addProduct" : "rates.addCategory"));
  if (kind === "product" && !products.length) addButton.disabled = true;
  return {
    el: h("fieldset", null, h("legend", null, t(kind === "product" ? "rates.products" : "rates.categories")), rows, addButton),
    read() {
      const out: Record<string, number> = {};
      for (const li of rows.children) {
        const [key, rate] = [...li.querySelectorAll("input, select")] as (HTMLInputElement | HTMLSelectElement)[];
        if (key.value.trim() && rate.value !== "") out[key.value.trim()] = toBps(rate.value);
      }
      return out;
    },
  };
}

function collaborationItem(c: Collaboration, productName: (id: string | null) => string, reload: () => void): HTMLElement {
  return h(
    "li",
    { class: "collab", "data-collaboration": c.id },
    h("p", null, h("strong", null, t(c.kind === "open" ? "collab.kindOpen" : "collab.kindTargeted")), ` · ${productName(c.product_id)} · ${t("collab.rate", { rate: bps(c.rate_bps) })} · `, c.live ? t("collab.live") : t("collab.ended")),
    c.brief ? h("p", null, c.brief) : null,
    h("p", { class: "muted small" }, t("collab.created", { when: dateTime(c.created_at, false) }), c.ends_at ? ` · ${t("collab.until", { when: dateTime(c.ends_at, false) })}` : ""),
    c.invitations.length
      ? h("ul", { class: "plain small" }, c.invitations.map((i) => h("li", null, `@${i.handle}: ${t(`invite.${i.status}` as Key)}`)))
      : null,
    c.live
      ? h("button", {
          type: "button",
          onclick: async () => {
            if (!window.confirm(t("collab.confirmEnd"))) return;
            try {
              await api.endCollaboration(c.id);
              announce(t("collab.endedDone"));
              reload();
            } catch (error) {
              fail(error);
            }
          },
        }, t("collab.end"))
      : null,
  );
}

export async function mountCollaborations(panel: HTMLElement): Promise<void> {
  replace(panel, h("p", { class: "muted" }, t("common.loading")));
  let rates: Rates;
  let products: Product[] = [];
  try {
    [rates, products] = await Promise.all([api.rates(), api.merchantProducts().then((p) => p.items)]);
  } catch (error) {
    replace(panel, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    return;
  }
  const productName = (id: string | null) => (id ? products.find((p) => p.id === id)?.title ?? id.slice(0, 8) : t("collab.allProducts"));

  // rates
  const defaultRate = h("input", { type: "number", min: 0, max: 100, step: 0.01, value: toPct(rates.default_rate_bps) });
  const window_ = h("input", { type: "number", min: 0, max: 365, step: 1, value: rates.return_window_days ?? "" });
  const categories = rateRows("category", rates.category_rates ?? {}, products);
  const productRates = rateRows("product", rates.product_rates ?? {}, products);
  const ratesForm = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          rates = await api.setRates({
            default_rate_bps: defaultRate.value === "" ? null : toBps(defaultRate.value),
            return_window_days: window_.value === "" ? null : Number(window_.value),
            category_rates: categories.read(),
            product_rates: productRates.read(),
          });
          toast(t("rates.saved"));
          announce(t("rates.saved"));
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h2", null, t("rates.title")),
    h("p", { class: "muted small" }, t("rates.hint", { rate: bps(rates.platform_default_rate_bps ?? 0), days: rates.platform_return_window_days ?? 0 })),
    h("div", { class: "grid" }, field("rates-default", t("rates.default"), defaultRate), field("rates-window", t("rates.window"), window_)),
    categories.el,
    productRates.el,
    h("button", { type: "submit", class: "primary" }, t("rates.save")),
  );

  // collaborations
  const list = h("ul", { class: "plain" });
  const kindOpen = h("input", { type: "radio", name: "collab-kind", value: "open", id: "ck-open", checked: true });
  const kindTargeted = h("input", { type: "radio", name: "collab-kind", value: "targeted", id: "ck-targeted" });
  const product = h("select", null, h("option", { value: "" }, t("collab.allProducts")), products.map((p) => h("option", { value: p.id }, p.title)));
  const rate = h("input", { type: "number", min: 0, max: 100, step: 0.01, required: true, value: "10" });
  const brief = h("textarea", { rows: 2, maxLength: 2000 });
  const ends = h("input", { type: "date" });
  const handles = h("input", { placeholder: "lea.style, sam.brews" });
  const handlesField = field("collab-handles", t("collab.handles"), handles, t("collab.handlesHint"));
  handlesField.hidden = true;
  const syncKind = () => {
    handlesField.hidden = !kindTargeted.checked;
    handles.required = kindTargeted.checked;
  };
  kindOpen.addEventListener("change", syncKind);
  kindTargeted.addEventListener("change", syncKind);
  const createForm = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api.createCollaboration({
            kind: kindTargeted.checked ? "targeted" : "open",
            product_id: product.value || null,
            rate_bps: toBps(rate.value),
            brief: brief.value.trim() || null,
            ends_at: ends.value ? new Date(`${ends.value}T23:59:59`).toISOString() : null,
            creator_handles: kindTargeted.checked ? handles.value.split(/[\s,]+/).map((x) => x.replace(/^@/, "")).filter(Boolean) : [],
          });
          toast(t("collab.createdDone"));
          announce(t("collab.createdDone"));
          createForm.reset();
          syncKind();
          await load();
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h2", null, t("collab.new")),
    h(
      "fieldset",
      { class: "row" },
      h("legend", null, t("collab.kind")),
      h("div", { class: "radio" }, kindOpen, h("label", { for: "ck-open" }, t("collab.kindOpen"))),
      h("div", { class: "radio" }, kindTargeted, h("label", { for: "ck-targeted" }, t("collab.kindTargeted"))),
    ),
    h("div", { class: "grid" }, field("collab-product", t("rates.product"), product), field("collab-rate", t("rates.percent"), rate), field("collab-ends", t("collab.ends"), ends)),
    handlesField,
    field("collab-brief", t("collab.brief"), brief),
    h("button", { type: "submit", class: "primary" }, t("collab.create")),
  );
  async function load(): Promise<void> {
    try {
      const page = await api.collaborations();
      replace(list, page.items.length ? page.items.map((c) => collaborationItem(c, productName, () => void load())) : h("li", { class: "muted" }, t("common.none")));
    } catch (error) {
      fail(error);
    }
  }
  replace(panel, ratesForm, createForm, h("section", { "aria-labelledby": "collab-list" }, h("h2", { id: "collab-list" }, t("collab.list")), list));
  await load();
}
