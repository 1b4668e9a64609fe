// A tiny DOM builder: h("button", { class: "x", onclick: f }, "Label").
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value as EventListener);
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "style" && typeof value === "object") {
        Object.assign(el.style, value);
      } else if (key in el && !key.includes("-") && key !== "list" && key !== "form") {
        (el as unknown as Record<string, unknown>)[key] = value;
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

/** A polite live region: screen readers announce status changes written here. */
let live: HTMLElement | null = null;
export function announce(text: string): void {
  if (!live) {
    live = h("div", { class: "sr-only", "aria-live": "polite", role: "status" });
    document.body.appendChild(live);
  }
  live.textContent = "";
  window.setTimeout(() => {
    if (live) live.textContent = text;
  }, 30);
}

let toastTimer = 0;
export function toast(text: string, kind: "info" | "error" = "info"): void {
  let el = document.getElementById("toast");
  if (!el) {
    el = h("div", { id: "toast", role: kind === "error" ? "alert" : "status" });
    document.body.appendChild(el);
  }
  el.className = `toast toast-${kind} show`;
  el.textContent = text;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => el?.classList.remove("show"), 4000);
}

export function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export interface Modal {
  dialog: HTMLDialogElement;
  body: HTMLElement;
  close(): void;
}

/** A modal dialog (native <dialog>: focus is trapped, Escape closes) titled `title`; focus goes
 * back to whatever opened it. `onClose` runs once it is gone. */
export function modal(title: string, closeLabel: string, onClose?: () => void, className = "sheet"): Modal {
  const opener = document.activeElement as HTMLElement | null;
  const id = `dlg-${uuid().slice(0, 8)}`;
  const body = h("div", { class: "sheet-body" });
  const dialog = h(
    "dialog",
    { class: className, "aria-labelledby": id },
    h(
      "div",
      { class: "sheet-head" },
      h("h2", { id }, title),
      h("button", { type: "button", class: "ghost close", "aria-label": closeLabel, onclick: () => close() }, "✕"),
    ),
    body,
  );
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    onClose?.();
    opener?.focus?.({ preventScroll: true });
  };
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    close();
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close(); // a click on the backdrop
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, body, close };
}

/** A field: label + control (+ optional hint), the label tied to the control's id. */
export function field(id: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id = id;
  if (hint) control.setAttribute("aria-describedby", `${id}-hint`);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "muted small", id: `${id}-hint` }, hint) : null,
  );
}

/** Text with #hashtags and @handles as links to their pages. */
export function linkify(text: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  const pattern = /(^|[^\w#@])([#@])([\p{L}\p{N}_][\p{L}\p{N}_.]*[\p{L}\p{N}_]|[\p{L}\p{N}_])/gu;
  let at = 0;
  for (const m of text.matchAll(pattern)) {
    const start = (m.index ?? 0) + m[1].length;
    out.push(text.slice(at, start));
    const [sigil, word] = [m[2], m[3]];
    const href = sigil === "#" ? `/app/hashtags/${encodeURIComponent(word)}` : `/app/creators/${encodeURIComponent(word)}`;
    out.push(h("a", { href, "data-nav": "" }, `${sigil}${word}`));
    at = start + sigil.length + word.length;
  }
  out.push(text.slice(at));
  return out;
}
