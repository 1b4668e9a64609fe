// Outbound webhooks, for a creator's own systems (/v1/me/webhooks) or a merchant organisation's
// (/v1/merchant/webhooks): register endpoints with the events they want, pause, rotate the signing
// secret, send a test event, delete; each endpoint's delivery log with every attempt, and sending a
// delivery again.
import { api, problemText } from "../../core/api";
import { announce, field, h, modal, replace, toast } from "../../core/dom";
import { dateTime, num, t } from "../../core/i18n";
import type { WebhookDelivery, WebhookEndpoint } from "../../core/types";

function fail(error: unknown): void {
  toast(t("common.error", { detail: problemText(error) }), "error");
}

function statusText(d: Pick<WebhookDelivery, "status">): string {
  return t(d.status === "succeeded" ? "hooks.status.succeeded" : d.status === "failed" ? "hooks.status.failed" : "hooks.status.pending");
}

function outcome(d: WebhookDelivery): string {
  if (d.last_status_code !== null) return `HTTP ${d.last_status_code}`;
  return d.last_error || "—";
}

async function showDelivery(base: string, endpoint: WebhookEndpoint, id: string): Promise<void> {
  try {
    const d = await api.delivery(base, endpoint.id, id);
    const m = modal(t("hooks.deliveryOf", { type: d.event_type }), t("common.close"), undefined, "sheet");
    replace(
      m.body,
      h(
        "dl",
        { class: "facts" },
        h("dt", null, t("hooks.message")), h("dd", null, h("code", null, d.message_id)),
        h("dt", null, t("hooks.statusLabel")), h("dd", null, statusText(d)),
        h("dt", null, t("hooks.created")), h("dd", null, dateTime(d.created_at)),
        d.next_attempt_at ? [h("dt", null, t("hooks.nextAttempt")), h("dd", null, dateTime(d.next_attempt_at))] : null,
      ),
      h(
        "div",
        { class: "table-wrap", tabindex: 0 },
        h(
          "table",
          null,
          h("caption", null, t("hooks.attempts")),
          h("thead", null, h("tr", null, [t("hooks.when"), t("hooks.response"), t("hooks.duration"), t("hooks.body")].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            null,
            d.log.length
              ? d.log.map((a) =>
                  h(
                    "tr",
                    null,
                    h("th", { scope: "row" }, dateTime(a.attempted_at)),
                    h("td", null, a.status_code !== null ? `HTTP ${a.status_code}` : a.error || "—"),
                    h("td", null, `${num(a.duration_ms)} ms`),
                    h("td", null, a.response_body ? h("code", { class: "excerpt" }, a.response_body.slice(0, 200)) : "—"),
                  ),
                )
              : h("tr", null, h("td", { colspan: 4, class: "muted" }, t("hooks.noAttempt"))),
          ),
        ),
      ),
      h("h3", null, t("hooks.payload")),
      h("pre", { class: "payload", tabindex: 0 }, JSON.stringify(d.payload, null, 2)),
    );
  } catch (error) {
    fail(error);
  }
}

function deliveryLog(base: string, endpoint: WebhookEndpoint): HTMLElement {
  let cursor: string | null = null;
  let status = "";
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  const caption = t("hooks.log", { url: endpoint.url });
  const filter = h(
    "select",
    { onchange: () => { status = filter.value; void load(true); } },
    ["", "pending", "succeeded", "failed"].map((s) => h("option", { value: s }, s ? statusText({ status: s as WebhookDelivery["status"] }) : t("hooks.all"))),
  );
  const row = (d: WebhookDelivery): HTMLElement => {
    const again = h("button", { type: "button", class: "small-button" }, t("hooks.redeliver"));
    again.addEventListener("click", async () => {
      again.disabled = true;
      try {
        const fresh = await api.redeliver(base, endpoint.id, d.id);
        tr.replaceWith(row(fresh));
        toast(t("hooks.redelivered"));
        announce(t("hooks.redelivered"));
      } catch (error) {
        again.disabled = false;
        fail(error);
      }
    });
    const tr = h(
      "tr",
      { "data-delivery": d.id },
      h("th", { scope: "row" }, dateTime(d.created_at)),
      h("td", null, h("code", null, d.event_type)),
      h("td", { class: `delivery-${d.status}` }, statusText(d)),
      h("td", null, num(d.attempts)),
      h("td", null, outcome(d)),
      h(
        "td",
        null,
        h("div", { class: "row" }, h("button", { type: "button", class: "small-button", onclick: () => void showDelivery(base, endpoint, d.id) }, t("hooks.details")), again),
      ),
    );
    return tr;
  };
  async function load(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.deliveries(base, endpoint.id, status || null, cursor);
      if (reset) replace(body);
      page.items.forEach((d) => body.append(row(d)));
      if (reset && !page.items.length) body.append(h("tr", null, h("td", { colspan: 6, class: "muted" }, t("hooks.noDelivery"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      fail(error);
    }
  }
  more.addEventListener("click", () => void load(false));
  const section = h(
    "section",
    { class: "delivery-log", "aria-label": caption },
    h(
      "div",
      { class: "row spread" },
      field(`dl-status-${endpoint.id}`, t("hooks.statusFilter"), filter),
      h("button", { type: "button", onclick: () => void load(true) }, t("hooks.refresh")),
    ),
    h(
      "div",
      { class: "table-wrap", tabindex: 0 },
      h(
        "table",
        { class: "deliveries" },
        h("caption", null, caption),
        h("thead", null, h("tr", null, [t("hooks.when"), t("hooks.event"), t("hooks.statusLabel"), t("hooks.attemptCount"), t("hooks.response"), h("span", { class: "sr-only" }, t("common.actions"))].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
    more,
  );
  void load(true);
  return section;
}

function endpointCard(base: string, endpoint: WebhookEndpoint, types: string[], onChanged: () => void, canManage: boolean): HTMLElement {
  const logSlot = h("div");
  let logShown = false;
  const logButton = h("button", { type: "button", "aria-expanded": "false" }, t("hooks.showLog"));
  logButton.addEventListener("click", () => {
    logShown = !logShown;
    logButton.setAttribute("aria-expanded", String(logShown));
    logButton.textContent = logShown ? t("hooks.hideLog") : t("hooks.showLog");
    replace(logSlot, logShown ? deliveryLog(base, endpoint) : null);
  });
  const secret = h("code", { class: "secret" }, endpoint.secret);
  const active = h("input", { type: "checkbox", checked: endpoint.active, disabled: !canManage });
  active.addEventListener("change", async () => {
    try {
      endpoint = await api.updateWebhook(base, endpoint.id, { active: active.checked });
      announce(endpoint.active ? t("hooks.resumed") : t("hooks.paused"));
    } catch (error) {
      active.checked = !active.checked;
      fail(error);
    }
  });
  const test = h("button", { type: "button" }, t("hooks.test"));
  test.addEventListener("click", async () => {
    try {
      await api.testWebhook(base, endpoint.id);
      toast(t("hooks.testSent"));
      announce(t("hooks.testSent"));
      if (logShown) replace(logSlot, deliveryLog(base, endpoint));
      else logButton.click();
    } catch (error) {
      fail(error);
    }
  });
  const rotate = h("button", { type: "button" }, t("hooks.rotate"));
  rotate.addEventListener("click", async () => {
    try {
      endpoint = await api.updateWebhook(base, endpoint.id, { rotate_secret: true });
      secret.textContent = endpoint.secret;
      toast(t("hooks.rotated"));
    } catch (error) {
      fail(error);
    }
  });
  let armed = false;
  const remove = h("button", { type: "button", class: "danger" }, t("hooks.delete"));
  remove.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      remove.textContent = t("hooks.confirmDelete");
      window.setTimeout(() => {
        armed = false;
        remove.textContent = t("hooks.delete");
      }, 5000);
      return;
    }
    try {
      await api.removeWebhook(base, endpoint.id);
      toast(t("hooks.deleted"));
      announce(t("hooks.deleted"));
      onChanged();
    } catch (error) {
      fail(error);
    }
  });
  // editing the address, description and events of the endpoint (PATCH); the list is redrawn after
  const editUrl = h("input", { type: "url", required: true, maxLength: 2000, value: endpoint.url, autocomplete: "off" });
  const editDescription = h("input", { type: "text", maxLength: 200, value: endpoint.description ?? "" });
  const editBoxes = h(
    "div",
    { class: "checks" },
    types.map((type) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", value: type, checked: endpoint.event_types.includes(type) }), ` ${type}`),
    ),
  );
  const edit = h(
    "details",
    { class: "edit" },
    h("summary", null, t("hooks.edit")),
    h(
      "form",
      {
        class: "card-form",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const chosen = [...editBoxes.querySelectorAll<HTMLInputElement>("input:checked")].map((b) => b.value);
          try {
            await api.updateWebhook(base, endpoint.id, {
              url: (editUrl as HTMLInputElement).value.trim(),
              description: (editDescription as HTMLInputElement).value.trim() || null,
              event_types: chosen,
            });
            toast(t("hooks.saved"));
            announce(t("hooks.saved"));
            onChanged();
          } catch (error) {
            fail(error);
          }
        },
      },
      h("div", { class: "grid" }, field(`hook-url-${endpoint.id}`, t("hooks.url"), editUrl), field(`hook-description-${endpoint.id}`, t("hooks.description"), editDescription)),
      h("fieldset", null, h("legend", null, t("hooks.chooseEvents")), editBoxes),
      h("button", { type: "submit" }, t("hooks.save")),
    ),
  );
  const events = endpoint.event_types.length ? endpoint.event_types : [t("hooks.allEvents")];
  const id = `hook-${endpoint.id}`;
  return h(
    "article",
    { class: "webhook", "data-endpoint": endpoint.id, "aria-labelledby": id },
    h("h3", { id, class: "url" }, endpoint.url),
    endpoint.description ? h("p", null, endpoint.description) : null,
    h("p", { class: "muted small" }, `${t("hooks.events")}: `, events.join(", ")),
    h(
      "div",
      { class: "row" },
      h("label", { class: "check" }, active, ` ${t("hooks.active")}`),
      h("details", null, h("summary", null, t("hooks.secret")), secret, h("p", { class: "muted small" }, t("hooks.secretHint"))),
    ),
    h("div", { class: "row" }, canManage ? [test, rotate, remove] : null, logButton),
    canManage ? edit : null,
    logSlot,
  );
}

/** The webhooks screen under `base` (`/v1/me/webhooks` or `/v1/merchant/webhooks`). `canManage`:
 * whether the caller may add and change endpoints (a merchant organisation's viewers may not). */
export async function mountWebhooks(panel: HTMLElement, base: string, canManage = true): Promise<void> {
  const list = h("div", { class: "webhooks", "aria-live": "polite" }, t("common.loading"));
  let types: string[] = [];
  const url = h("input", { type: "url", required: true, maxLength: 2000, placeholder: "https://", autocomplete: "off" });
  const description = h("input", { type: "text", maxLength: 200 });
  const boxes = h("div", { class: "checks" });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = [...boxes.querySelectorAll<HTMLInputElement>("input:checked")].map((b) => b.value);
        try {
          await api.addWebhook(base, { url: url.value.trim(), description: description.value.trim() || null, event_types: chosen });
          toast(t("hooks.added"));
          announce(t("hooks.added"));
          form.reset();
          await load();
        } catch (error) {
          fail(error);
        }
      },
    },
    h("h3", null, t("hooks.add")),
    h("div", { class: "grid" }, field("hook-url", t("hooks.url"), url), field("hook-description", t("hooks.description"), description)),
    h("fieldset", null, h("legend", null, t("hooks.chooseEvents")), boxes),
    h("button", { type: "submit", class: "primary" }, t("hooks.addButton")),
  );
  replace(panel, h("h2", null, t("hooks.title")), h("p", { class: "muted" }, t("hooks.hint")), canManage ? form : null, list);
  async function load(): Promise<void> {
    try {
      const endpoints = await api.webhooks(base);
      replace(list, endpoints.length ? endpoints.map((ep) => endpointCard(base, ep, types, () => void load(), canManage)) : h("p", { class: "muted" }, t("hooks.none")));
    } catch (error) {
      replace(list, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
    }
  }
  try {
    types = (await api.webhookTypes(base)).filter((type) => type !== "webhook.test");
    replace(boxes, types.map((type) => h("label", { class: "check" }, h("input", { type: "checkbox", value: type }), ` ${type}`)));
  } catch (error) {
    fail(error);
  }
  await load();
}
