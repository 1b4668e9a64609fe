// Merchant console: products and SKUs with stock editing (If-Match on the stock version), catalogue
// import with progress and a readable error report, orders and refunds, tags on clips.
import { ApiError, api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { money, t, type Key } from "../../core/i18n";
import { focusSelectedTab, tabBar } from "../../core/tabs";
import type { ImportJob, Order, Product, Sku } from "../../core/types";
import type { Screen } from "../../main";

const TABS: [string, Key][] = [
  ["products", "merchant.products"],
  ["import", "merchant.import"],
  ["orders", "merchant.orders"],
  ["tags", "merchant.tags"],
  ["collaborations", "collab.title"],
  ["creators", "discover.title"],
  ["analytics", "analytics.title"],
  ["polls", "poll.title"],
  ["webhooks", "hooks.title"],
];

function fail(error: unknown): void {
  toast(t("common.error", { detail: problemText(error) }), "error");
}

function stockEditor(sku: Sku): HTMLElement {
  const id = `stock-${sku.id}`;
  let etag = `"${sku.version ?? 0}"`;
  const input = h("input", { id, type: "number", min: 0, step: 1, value: String(sku.quantity ?? 0), class: "qty" });
  const figures = h("span", { class: "muted small" }, `${t("merchant.available")}: ${sku.available} · ${t("merchant.reserved")}: ${sku.reserved ?? 0}`);
  const save = h("button", { type: "button" }, t("common.save"));
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      const answer = await api.setStock(sku.id, Number(input.value), etag);
      const s = answer.data;
      etag = answer.headers.get("ETag") || `"${s.version}"`;
      figures.textContent = `${t("merchant.available")}: ${s.available} · ${t("merchant.reserved")}: ${s.reserved}`;
      toast(t("merchant.stockSaved"));
      announce(t("merchant.stockSaved"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        const latest = await api.stock(sku.id);
        etag = latest.etag;
        input.value = String(latest.stock.quantity);
        figures.textContent = `${t("merchant.available")}: ${latest.stock.available} · ${t("merchant.reserved")}: ${latest.stock.reserved}`;
        toast(t("merchant.stockMoved"), "error");
      } else fail(error);
    } finally {
      save.disabled = false;
    }
  });
  return h("div", { class: "stock-edit" }, h("label", { for: id, class: "sr-only" }, t("merchant.setStock", { sku: sku.sku })), input, save, figures);
}

function productCard(p: Product): HTMLElement {
  return h(
    "article",
    { class: "product", "data-product": p.id },
    h(
      "header",
      { class: "row" },
      p.images[0] ? h("img", { src: p.images[0].url, alt: "", width: 56, height: 56 }) : null,
      h("div", null, h("h3", null, p.title), h("p", { class: "muted small" }, [p.brand, p.category].filter(Boolean).join(" · "))),
    ),
    h(
      "table",
      null,
      h("caption", { class: "sr-only" }, p.title),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "SKU"), h("th", { scope: "col" }, t("merchant.price")), h("th", { scope: "col" }, t("merchant.stock")))),
      h(
        "tbody",
        null,
        p.skus.map((s) =>
          h(
            "tr",
            { "data-sku": s.sku },
            h("th", { scope: "row" }, s.sku, " ", h("span", { class: "muted small" }, Object.values(s.options).join(" / "))),
            h("td", null, money(s.price_minor, s.currency)),
            h("td", null, stockEditor(s)),
          ),
        ),
      ),
    ),
  );
}

async function productsTab(panel: HTMLElement): Promise<void> {
  const list = h("div", { class: "products" }, t("common.loading"));
  const title = h("input", { id: "np-title", required: true, maxLength: 200 });
  const category = h("input", { id: "np-category", placeholder: "Clothing > Hoodies" });
  const code = h("input", { id: "np-sku", required: true, maxLength: 64 });
  const price = h("input", { id: "np-price", type: "number", min: 0, step: 0.01, required: true });
  const currency = h("input", { id: "np-currency", value: "EUR", maxLength: 3, required: true, size: 4 });
  const qty = h("input", { id: "np-qty", type: "number", min: 0, step: 1, value: "0" });
  const form = h(
    "form",
    {
      class: "card-form inline-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api.createProduct({
            title: title.value,
            category: category.value || null,
            skus: [{ sku: code.value, price_minor: Math.round(parseFloat(price.value) * 100), currency: currency.value.toUpperCase(), quantity: Number(qty.value) }],
          });
          form.reset();
          currency.value = "EUR";
          await load();
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h2", null, t("merchant.newProduct")),
    h("div", { class: "grid" },
      h("div", null, h("label", { for: "np-title" }, t("merchant.productTitle")), title),
      h("div", null, h("label", { for: "np-category" }, t("merchant.category")), category),
      h("div", null, h("label", { for: "np-sku" }, t("merchant.skuCode")), code),
      h("div", null, h("label", { for: "np-price" }, t("merchant.price")), price),
      h("div", null, h("label", { for: "np-currency" }, t("merchant.currency")), currency),
      h("div", null, h("label", { for: "np-qty" }, t("merchant.quantity")), qty),
    ),
    h("button", { type: "submit", class: "primary" }, t("merchant.create")),
  );
  replace(panel, form, list);
  async function load(): Promise<void> {
    try {
      const page = await api.merchantProducts();
      replace(list, page.items.length ? page.items.map(productCard) : h("p", { class: "muted" }, t("common.none")));
    } catch (error) {
      fail(error);
    }
  }
  await load();
}

export function importReport(job: ImportJob): HTMLElement {
  return h(
    "section",
    { class: "import-report", "aria-labelledby": "import-errors" },
    h("h3", { id: "import-errors" }, t("merchant.importErrors", { n: job.errors.length })),
    h(
      "table",
      null,
      h("thead", null, h("tr", null, h("th", { scope: "col" }, t("merchant.row")), h("th", { scope: "col" }, "SKU"), h("th", { scope: "col" }, t("merchant.field")), h("th", { scope: "col" }, t("merchant.problem")))),
      h(
        "tbody",
        null,
        job.errors.map((e) => h("tr", null, h("td", null, String(e.row)), h("td", null, e.sku || "—"), h("td", null, e.field || "—"), h("td", null, e.message))),
      ),
    ),
  );
}

function importTab(panel: HTMLElement): () => void {
  let timer = 0;
  const file = h("input", { id: "imp-file", type: "file", required: true, accept: ".csv,.jsonl,.json,text/csv,application/json" });
  const format = h(
    "select",
    { id: "imp-format" },
    h("option", { value: "" }, t("merchant.guess")),
    ["native_csv", "native_jsonl", "shopify_csv", "woocommerce_csv", "saleor_json"].map((f) => h("option", { value: f }, f)),
  );
  const currency = h("input", { id: "imp-currency", value: "EUR", maxLength: 3, size: 4 });
  const bar = h("progress", { id: "imp-progress", max: 1, value: 0 });
  const barLabel = h("label", { for: "imp-progress" }, "");
  const progress = h("div", { class: "upload-progress", hidden: true }, barLabel, bar);
  const result = h("div", { class: "import-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, t("merchant.importStart"));
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = file.files?.[0];
        if (!chosen) return;
        const data = new FormData();
        data.set("file", chosen);
        if (format.value) data.set("format", format.value);
        data.set("currency", currency.value.toUpperCase());
        submit.disabled = true;
        replace(result);
        try {
          const job = await api.startImport(data);
          progress.hidden = false;
          poll(job.id);
        } catch (error) {
          submit.disabled = false;
          replace(result, h("p", { class: "error", role: "alert" }, problemText(error)));
        }
      },
    },
    h("h2", null, t("merchant.import")),
    h("label", { for: "imp-file" }, t("merchant.importFile")),
    file,
    h("div", { class: "row" },
      h("div", null, h("label", { for: "imp-format" }, t("merchant.importFormat")), format),
      h("div", null, h("label", { for: "imp-currency" }, t("merchant.currency")), currency)),
    submit,
    progress,
  );
  function show(job: ImportJob): void {
    bar.max = Math.max(1, job.total_rows);
    bar.value = job.done_rows;
    barLabel.textContent = t("merchant.importProgress", { done: job.done_rows, total: job.total_rows || "?" });
  }
  function poll(id: string): void {
    void api.importJob(id).then(
      (job) => {
        show(job);
        if (job.status === "queued" || job.status === "running" || job.status === "pending") {
          timer = window.setTimeout(() => poll(id), 500);
          return;
        }
        submit.disabled = false;
        const summary = h("p", { class: "notice", role: "status" }, t("merchant.importDone", { products: job.products_written, skus: job.skus_written }));
        replace(result, summary, job.errors.length ? importReport(job) : null);
        announce(summary.textContent || "");
      },
      (error) => {
        submit.disabled = false;
        fail(error);
      },
    );
  }
  replace(panel, form, result);
  return () => window.clearTimeout(timer);
}

// A refund of chosen units per line (the rest of the order stays paid), under one idempotency key
// per confirmation: a retried click does not refund twice.
function partialRefund(o: Order, reload: () => Promise<void>): HTMLElement {
  const open = h("button", { type: "button", "aria-expanded": "false" }, t("merchant.partialRefund"));
  const inputs = o.lines.map((l) => {
    const left = l.quantity - (l.refunded_quantity ?? 0);
    const id = `pr-${o.id}-${l.id}`;
    const input = h("input", { id, type: "number", min: 0, max: left, step: 1, value: "0", disabled: left === 0 }) as HTMLInputElement;
    return { line: l, input, row: h("div", { class: "field" }, h("label", { for: id }, t("merchant.refundUnits", { title: l.title, left: String(left) })), input) };
  });
  const restock = h("input", { type: "checkbox", checked: true, id: `prs-${o.id}` }) as HTMLInputElement;
  const reason = h("input", { id: `prr-${o.id}`, maxlength: 500 }) as HTMLInputElement;
  let key = crypto.randomUUID();
  const form = h(
    "form",
    {
      class: "card-form",
      hidden: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const lines = inputs
          .map(({ line, input }) => ({ line_id: line.id, quantity: Number(input.value) || 0 }))
          .filter((l) => l.quantity > 0);
        if (!lines.length) return;
        try {
          await api.refundLines(o.id, lines, restock.checked, reason.value.trim(), key);
          key = crypto.randomUUID();
          toast(t("merchant.refunded"));
          await reload();
        } catch (error) {
          fail(error);
        }
      },
    },
    inputs.map((i) => i.row),
    h("div", { class: "row" }, restock, h("label", { for: `prs-${o.id}` }, t("merchant.restock"))),
    h("div", { class: "field" }, h("label", { for: `prr-${o.id}` }, t("merchant.refundReason")), reason),
    h("button", { type: "submit" }, t("merchant.refundConfirm")),
  );
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
  });
  return h("div", null, open, form);
}

async function ordersTab(panel: HTMLElement): Promise<void> {
  const list = h("div", null, t("common.loading"));
  replace(panel, h("h2", null, t("merchant.orders")), list);
  async function load(): Promise<void> {
    try {
      const page = await api.merchantOrders();
      replace(
        list,
        page.items.length
          ? h(
              "table",
              null,
              h("thead", null, h("tr", null, ["#", t("merchant.status"), t("merchant.products"), t("merchant.total"), ""].map((c) => h("th", { scope: "col" }, c)))),
              h(
                "tbody",
                null,
                page.items.map((o) => {
                  const restock = h("input", { type: "checkbox", checked: true, id: `rs-${o.id}` });
                  return h(
                    "tr",
                    { "data-order": o.id },
                    h("td", null, o.id.slice(0, 8)),
                    h("td", null, o.status),
                    h("td", null, o.lines.map((l) => `${l.quantity} × ${l.title} (${l.sku})`).join(", ")),
                    h(
                      "td",
                      null,
                      money(o.total_minor, o.currency),
                      o.refunded_minor ? h("div", { class: "muted" }, t("merchant.refundedSoFar", { amount: money(o.refunded_minor, o.currency) })) : null,
                    ),
                    h(
                      "td",
                      null,
                      o.status === "paid" || o.status === "refund_required" || o.status === "partially_refunded"
                        ? h("div", { class: "row" },
                            o.status !== "refund_required" ? partialRefund(o, load) : null,
                            restock, h("label", { for: `rs-${o.id}` }, t("merchant.restock")),
                            h("button", {
                              type: "button",
                              onclick: async () => {
                                try {
                                  await api.refund(o.id, restock.checked);
                                  toast(t("merchant.refunded"));
                                  await load();
                                } catch (error) {
                                  fail(error);
                                }
                              },
                            }, t("merchant.refund")))
                        : null,
                    ),
                  );
                }),
              ),
            )
          : h("p", { class: "muted" }, t("common.none")),
      );
    } catch (error) {
      fail(error);
    }
  }
  await load();
}

async function tagsTab(panel: HTMLElement): Promise<void> {
  const clipId = h("input", { id: "mt-clip", required: true, pattern: "[0-9a-fA-F-]{36}" });
  const sku = h("select", { id: "mt-sku", required: true });
  const startS = h("input", { id: "mt-start", type: "number", min: 0, step: 0.1, value: "0" });
  const endS = h("input", { id: "mt-end", type: "number", min: 0.1, step: 0.1, value: "3" });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api.addTag(clipId.value.trim(), {
            sku_id: sku.value,
            start_ms: Math.round(parseFloat(startS.value) * 1000),
            end_ms: Math.round(parseFloat(endS.value) * 1000),
          });
          toast(t("merchant.proposed"));
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h2", null, t("merchant.attach")),
    h("label", { for: "mt-clip" }, t("merchant.clipId")), clipId,
    h("label", { for: "mt-sku" }, "SKU"), sku,
    h("div", { class: "row" },
      h("div", null, h("label", { for: "mt-start" }, t("tag.start")), startS),
      h("div", null, h("label", { for: "mt-end" }, t("tag.end")), endS)),
    h("button", { type: "submit", class: "primary" }, t("tag.add")),
  );
  replace(panel, form);
  try {
    const page = await api.merchantProducts();
    for (const p of page.items) for (const s of p.skus) sku.appendChild(h("option", { value: s.id }, `${p.title} · ${s.sku}`));
  } catch (error) {
    fail(error);
  }
}

const screen: Screen = {
  async mount(root, params) {
    const tab = TABS.some(([n]) => n === params.tab) ? params.tab : "products";
    const panel = h("div", { id: "merchant-panel", role: "tabpanel", "aria-labelledby": `tab-${tab}` });
    replace(root, h("h1", null, t("merchant.title")), tabBar("/app/merchant", TABS, tab, t("merchant.title"), "merchant-panel"), panel);
    focusSelectedTab(root);
    if (tab === "import") return importTab(panel);
    if (tab === "orders") return ordersTab(panel);
    if (tab === "tags") return tagsTab(panel);
    if (tab === "collaborations") return (await import("./collaborations")).mountCollaborations(panel);
    if (tab === "creators") return (await import("./creators")).mountCreators(panel);
    if (tab === "analytics") return (await import("./analytics")).mountAnalytics(panel);
    if (tab === "polls") return (await import("./polls")).mountPolls(panel);
    if (tab === "webhooks") return (await import("../webhooks/webhooks")).mountWebhooks(panel, "/v1/merchant/webhooks");
    return productsTab(panel);
  },
};

export default screen;
