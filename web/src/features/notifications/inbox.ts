// The inbox, for every signed-in account: newest first with cursor pages, all or unread only,
// marking one read or unread again, or everything read; the header's badge follows.
import { api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { dateTime, t, type Key } from "../../core/i18n";
import type { Notification, NotificationKind } from "../../core/types";
import type { Screen } from "../../main";

// Every kind the API sends (its NotificationRead.kind enum); an unknown one reads "Notification".
const KINDS: Record<NotificationKind, Key> = {
  new_follower: "inbox.kind.new_follower",
  reply: "inbox.kind.reply",
  mention: "inbox.kind.mention",
  moderation: "inbox.kind.moderation",
  clip_ready: "inbox.kind.clip_ready",
  clip_failed: "inbox.kind.clip_failed",
  collaboration_invited: "inbox.kind.collaboration_invitation",
  creator_admission_changed: "inbox.kind.creator_admission_changed",
  commission_pending: "inbox.kind.commission",
  commission_payable: "inbox.kind.commission",
  payout_created: "inbox.kind.payout",
  payout_paid: "inbox.kind.payout",
  payout_failed: "inbox.kind.payout",
};

function publish(unread: number): void {
  window.dispatchEvent(new CustomEvent("clipshop:unread", { detail: unread }));
}

function target(n: Notification): string | null {
  const clip = typeof n.data.clip_id === "string" ? n.data.clip_id : null;
  if (n.kind.startsWith("collaboration_")) return "/app/studio/collaborations";
  if (n.kind === "creator_admission_changed") return "/app/studio/programme";
  if (n.kind.startsWith("commission_") || n.kind.startsWith("payout_")) return "/app/studio/earnings";
  if (n.kind === "new_follower" && typeof n.data.handle === "string") return `/app/creators/${encodeURIComponent(n.data.handle)}`;
  if (n.kind === "clip_failed" && clip) return "/app/studio";
  return clip ? `/app/clips/${clip}` : null;
}

const screen: Screen = {
  async mount(root) {
    let unreadOnly = false;
    let cursor: string | null = null;
    let unread = 0;
    const count = h("p", { class: "muted", role: "status" });
    const list = h("ul", { class: "inbox", "aria-busy": "true" });
    const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, t("common.more"));
    const setUnread = (n: number) => {
      unread = Math.max(0, n);
      count.textContent = t("inbox.unread", { n: unread });
      publish(unread);
    };
    const filters = (["all", "unread"] as const).map((f) =>
      h(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": String((f === "unread") === unreadOnly),
          onclick: () => {
            unreadOnly = f === "unread";
            filters.forEach((b, i) => b.setAttribute("aria-pressed", String((i === 1) === unreadOnly)));
            void load(true);
          },
        },
        t(f === "all" ? "inbox.all" : "inbox.unreadOnly"),
      ),
    );
    const readAll = h("button", { type: "button" }, t("inbox.markAll"));
    readAll.addEventListener("click", async () => {
      try {
        await api.markAllRead();
        setUnread(0);
        announce(t("inbox.allRead"));
        await load(true);
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    });

    function item(n: Notification): HTMLElement {
      const href = target(n);
      const toggle = h("button", { type: "button", class: "link small" }, n.read ? t("inbox.markUnread") : t("inbox.markRead"));
      const li = h(
        "li",
        { class: n.read ? "note read" : "note unread", "data-kind": n.kind },
        h("p", { class: "note-kind small" }, n.read ? "" : h("span", { class: "dot-unread", "aria-hidden": "true" }), t((KINDS as Record<string, Key | undefined>)[n.kind] ?? "inbox.kind.other"), n.read ? "" : h("span", { class: "sr-only" }, ` (${t("inbox.new")})`)),
        h("p", { class: "note-title" }, href ? h("a", { href, "data-nav": "" }, n.title) : n.title),
        n.body ? h("p", { class: "note-body" }, n.body) : null,
        h("p", { class: "muted small" }, h("time", { datetime: n.created_at }, dateTime(n.created_at)), " ", toggle),
      );
      toggle.addEventListener("click", async () => {
        try {
          const next = await api.markRead(n.id, !n.read);
          setUnread(unread + (next.read ? -1 : 1));
          const fresh = item(next);
          li.replaceWith(fresh);
          (fresh.querySelector("button") as HTMLElement).focus();
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      });
      return li;
    }

    async function load(reset: boolean): Promise<void> {
      if (reset) cursor = null;
      list.setAttribute("aria-busy", "true");
      try {
        const page = await api.notifications(cursor, unreadOnly);
        if (reset) replace(list);
        page.items.forEach((n) => list.append(item(n)));
        if (reset && !page.items.length) list.append(h("li", { class: "muted" }, t("inbox.empty")));
        cursor = page.next_cursor;
        more.hidden = !cursor;
        setUnread(page.unread_count);
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      } finally {
        list.setAttribute("aria-busy", "false");
      }
    }
    replace(
      root,
      h("h1", null, t("inbox.title")),
      h("div", { class: "row spread" }, h("div", { class: "row", role: "group", "aria-label": t("inbox.filter") }, filters), readAll),
      count,
      list,
      more,
    );
    await load(true);
  },
};

export default screen;
