// A clip's comments: newest or top first (pinned first either way) with cursor pages, posting,
// replies one level deep, @mentions as links to the creator's profile, editing and deleting your
// own; the clip's creator pins, hides and deletes.
import { ApiError, api, currentUser, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { dateTime, t } from "../../core/i18n";
import type { Comment } from "../../core/types";
import { reportDialog } from "./actions";

export interface ClipRef {
  id: string;
  creatorId: string;
}

function fail(error: unknown): void {
  if (error instanceof ApiError && error.code === "blocked_word") toast(t("comments.blockedWord"), "error");
  else if (error instanceof ApiError && error.code === "blocked_by_creator") toast(t("comments.blockedByCreator"), "error");
  else toast(t("common.error", { detail: problemText(error) }), "error");
}

/** The body with each mention turned into a link (offsets count code points, as the API does). */
export function commentBody(comment: Pick<Comment, "body" | "mentions">): (Node | string)[] {
  const chars = Array.from(comment.body || "");
  const out: (Node | string)[] = [];
  let at = 0;
  for (const m of [...comment.mentions].sort((a, b) => a.start - b.start)) {
    if (m.start < at || m.end > chars.length) continue;
    out.push(chars.slice(at, m.start).join(""));
    out.push(h("a", { href: `/app/creators/${encodeURIComponent(m.handle)}`, "data-nav": "", class: "mention" }, chars.slice(m.start, m.end).join("")));
    at = m.end;
  }
  out.push(chars.slice(at).join(""));
  return out;
}

const registered = () => {
  const user = currentUser();
  return !!user && !user.is_guest;
};

export function commentsPanel(clip: ClipRef, headingId: string | null): HTMLElement {
  let sort: "newest" | "top" = "newest";
  let cursor: string | null = null;
  let seq = 0;
  const me = currentUser();
  const isCreator = !!me && me.id === clip.creatorId;
  const count = h("span", { class: "count" }, "");
  const list = h("ul", { class: "comments", "aria-live": "polite", "aria-busy": "true" });
  const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, t("common.more"));
  const sortButtons = (["newest", "top"] as const).map((s) =>
    h(
      "button",
      {
        type: "button",
        class: "chip",
        "aria-pressed": String(s === sort),
        onclick: () => {
          sort = s;
          sortButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(["newest", "top"][i] === sort)));
          void load(true);
        },
      },
      t(s === "newest" ? "comments.newest" : "comments.top"),
    ),
  );

  function composer(parent: Comment | null, onDone: (c: Comment) => void, onCancel?: () => void): HTMLElement {
    const id = `cm-${parent ? parent.id : clip.id}`;
    const text = h("textarea", { id, rows: 2, maxLength: 2000, required: true, "aria-describedby": `${id}-hint` });
    if (parent?.author?.handle) text.value = `@${parent.author.handle} `;
    const send = h("button", { type: "submit", class: "primary" }, parent ? t("comments.reply") : t("comments.post"));
    const form = h(
      "form",
      {
        class: parent ? "comment-form reply-form" : "comment-form",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const body = text.value.trim();
          if (!body) return;
          send.disabled = true;
          try {
            const created = await api.postComment(clip.id, body, parent?.id);
            text.value = "";
            onDone(created);
            announce(t("comments.posted"));
          } catch (error) {
            fail(error);
          } finally {
            send.disabled = false;
          }
        },
      },
      h("label", { for: id }, parent ? t("comments.replyTo", { who: who(parent) }) : t("comments.add")),
      text,
      h("p", { class: "muted small", id: `${id}-hint` }, t("comments.mentionHint")),
      h("div", { class: "row" }, send, onCancel ? h("button", { type: "button", class: "ghost", onclick: onCancel }, t("common.cancel")) : null),
    );
    return form;
  }

  function who(c: Comment): string {
    return c.author?.handle ? `@${c.author.handle}` : c.author?.display_name || t("comments.someone");
  }

  function item(c: Comment): HTMLElement {
    const li = h("li", { class: `comment ${c.status}${c.pinned ? " pinned" : ""}`, "data-comment": c.id });
    const mine = !!me && c.author?.id === me.id;
    const replies = h("ul", { class: "replies", hidden: true });
    let repliesCursor: string | null = null;
    let repliesLoaded = false;
    const bodyEl = h("p", { class: "comment-body" });
    if (c.status === "deleted") bodyEl.append(h("em", null, t("comments.deleted")));
    else bodyEl.append(...commentBody(c));
    const author = c.author?.handle
      ? h("a", { href: `/app/creators/${encodeURIComponent(c.author.handle)}`, "data-nav": "", class: "author" }, `@${c.author.handle}`)
      : h("strong", { class: "author" }, c.author?.display_name || t("comments.someone"));
    const head = h(
      "p",
      { class: "comment-head" },
      author,
      " ",
      h("time", { datetime: c.created_at, class: "muted small" }, dateTime(c.created_at)),
      c.edited_at ? h("span", { class: "muted small" }, ` · ${t("comments.edited")}`) : null,
      c.pinned ? h("span", { class: "badge" }, t("comments.pinned")) : null,
      c.status === "hidden" ? h("span", { class: "badge muted-badge" }, t("comments.hidden")) : null,
    );
    const actions = h("div", { class: "comment-actions" });
    const refresh = (next: Comment) => {
      const fresh = item(next);
      li.replaceWith(fresh);
    };
    const act = async (run: () => Promise<Comment>, message: string) => {
      try {
        const next = await run();
        refresh(next);
        announce(message);
      } catch (error) {
        fail(error);
      }
    };
    const button = (label: string, onclick: () => void, extra: Record<string, unknown> = {}) =>
      h("button", { type: "button", class: "link small", onclick, ...extra }, label);

    if (c.status !== "deleted") {
      if (!c.parent_id && registered()) {
        actions.append(
          button(t("comments.reply"), () => {
            const existing = li.querySelector(":scope > .reply-form");
            if (existing) {
              (existing.querySelector("textarea") as HTMLTextAreaElement).focus();
              return;
            }
            const form = composer(
              c,
              (created) => {
                form.remove();
                c.reply_count += 1;
                replyToggle.textContent = t("comments.showReplies", { n: c.reply_count });
                replyToggle.hidden = false;
                replies.hidden = false;
                replies.append(item(created));
              },
              () => form.remove(),
            );
            li.insertBefore(form, replies);
            (form.querySelector("textarea") as HTMLTextAreaElement).focus();
          }),
        );
      }
      if (mine) {
        actions.append(
          button(t("comments.edit"), () => {
            const id = `edit-${c.id}`;
            const text = h("textarea", { id, rows: 2, maxLength: 2000 });
            text.value = c.body || "";
            const form = h(
              "form",
              {
                class: "comment-form",
                onsubmit: (e: Event) => {
                  e.preventDefault();
                  void act(() => api.editComment(c.id, text.value.trim()), t("comments.saved"));
                },
              },
              h("label", { for: id }, t("comments.editLabel")),
              text,
              h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("common.save")), h("button", { type: "button", class: "ghost", onclick: () => form.replaceWith(bodyEl) }, t("common.cancel"))),
            );
            bodyEl.replaceWith(form);
            text.focus();
          }),
        );
      }
      if (isCreator && !c.parent_id && c.status === "visible") {
        actions.append(button(c.pinned ? t("comments.unpin") : t("comments.pin"), () => void act(() => api.moderateComment(c.id, c.pinned ? "unpin" : "pin"), c.pinned ? t("comments.unpinned") : t("comments.pinnedDone"))));
      }
      if (isCreator && !mine) {
        actions.append(button(c.status === "hidden" ? t("comments.unhide") : t("comments.hide"), () => void act(() => api.moderateComment(c.id, c.status === "hidden" ? "unhide" : "hide"), c.status === "hidden" ? t("comments.unhidden") : t("comments.hiddenDone"))));
      }
      if (mine || isCreator) {
        actions.append(
          button(t("comments.delete"), async () => {
            if (!window.confirm(t("comments.confirmDelete"))) return;
            try {
              await api.deleteComment(c.id);
              refresh({ ...c, status: "deleted", body: null, mentions: [], pinned: false });
              announce(t("comments.deletedDone"));
            } catch (error) {
              fail(error);
            }
          }),
        );
      }
      if (registered() && !mine) {
        actions.append(button(t("report.comment"), () => reportDialog("comment", c.id)));
      }
    }
    const replyToggle = button(t("comments.showReplies", { n: c.reply_count }), async () => {
      if (!replies.hidden && repliesLoaded) {
        replies.hidden = true;
        replyToggle.setAttribute("aria-expanded", "false");
        return;
      }
      replies.hidden = false;
      replyToggle.setAttribute("aria-expanded", "true");
      if (!repliesLoaded) await loadReplies();
    }, { "aria-expanded": "false", hidden: c.parent_id !== null || c.reply_count === 0 });
    const moreReplies = button(t("comments.moreReplies"), () => void loadReplies(), { hidden: true });
    async function loadReplies(): Promise<void> {
      try {
        const page = await api.replies(c.id, repliesCursor);
        if (!repliesLoaded) replace(replies);
        repliesLoaded = true;
        page.items.forEach((r) => replies.append(item(r)));
        repliesCursor = page.next_cursor;
        moreReplies.hidden = !page.next_cursor;
      } catch (error) {
        fail(error);
      }
    }
    actions.append(replyToggle);
    li.append(head, bodyEl, actions, replies, moreReplies);
    return li;
  }

  async function load(reset: boolean): Promise<void> {
    const mine = ++seq;
    if (reset) cursor = null;
    list.setAttribute("aria-busy", "true");
    try {
      const page = await api.comments(clip.id, sort, cursor);
      if (mine !== seq) return;
      if (reset) replace(list);
      page.items.forEach((c) => list.append(item(c)));
      if (reset && !page.items.length) list.append(h("li", { class: "muted empty" }, t("comments.none")));
      cursor = page.next_cursor;
      more.hidden = !page.next_cursor;
      count.textContent = `(${page.comment_count})`;
    } catch (error) {
      fail(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  const form = registered()
    ? composer(null, (created) => {
        list.querySelector(".empty")?.remove();
        const firstUnpinned = [...list.children].find((el) => !el.classList.contains("pinned"));
        list.insertBefore(item(created), firstUnpinned ?? null);
        const n = Number((count.textContent || "0").replace(/\D/g, "")) + 1;
        count.textContent = `(${n})`;
      })
    : h(
        "p",
        { class: "notice" },
        h("a", { href: `/app/login?next=${encodeURIComponent(location.pathname + location.search)}`, "data-nav": "" }, t("comments.signIn")),
      );
  void load(true);
  return h(
    "section",
    { class: "comments-panel", "aria-labelledby": headingId || undefined, "aria-label": headingId ? undefined : t("comments.title") },
    h(
      "div",
      { class: "row spread" },
      headingId ? h("h2", { id: headingId }, t("comments.title"), " ", count) : h("p", { class: "muted" }, t("comments.count"), " ", count),
      h("div", { class: "row", role: "group", "aria-label": t("comments.sort") }, sortButtons),
    ),
    form,
    list,
    more,
  );
}
