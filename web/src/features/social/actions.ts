// Share (a /s/{code} link made by the API, shown and copied), report (a clip, a comment or a user,
// with a reason) and block (a creator), each in a small dialog.
import { ApiError, api, currentUser, problemText } from "../../core/api";
import { announce, h, modal, replace, toast } from "../../core/dom";
import { t, type Key } from "../../core/i18n";
import { REPORT_REASONS, type ReportTarget } from "../../core/types";

const registered = () => {
  const user = currentUser();
  return !!user && !user.is_guest;
};

export async function copyText(text: string, input?: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand("copy");
      } catch {
        return false;
      }
    }
    return false;
  }
}

export function shareDialog(clipId: string): void {
  const { body } = modal(t("share.title"), t("common.close"));
  replace(body, h("p", { class: "muted" }, t("share.creating")));
  void api.share(clipId).then(
    (share) => {
      const input = h("input", { id: "share-url", readOnly: true, value: share.url, class: "share-url" });
      const status = h("p", { class: "muted small", role: "status" });
      const copy = h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: async () => {
            const ok = await copyText(share.url, input);
            status.textContent = ok ? t("share.copied") : t("share.copyFailed");
          },
        },
        t("share.copy"),
      );
      const native =
        typeof navigator.share === "function"
          ? h("button", { type: "button", onclick: () => void navigator.share({ url: share.url }).catch(() => undefined) }, t("share.more"))
          : null;
      replace(
        body,
        h("label", { for: "share-url" }, t("share.link")),
        input,
        h("div", { class: "row" }, copy, native),
        status,
        h("p", { class: "muted small" }, t("share.hint")),
      );
      input.focus();
      input.select();
    },
    (error) => replace(body, h("p", { class: "error", role: "alert" }, t("common.error", { detail: problemText(error) }))),
  );
}

export function reportDialog(target: ReportTarget, targetId: string, onDone?: () => void): void {
  if (!registered()) {
    toast(t("report.signIn"), "error");
    return;
  }
  const title: Record<ReportTarget, Key> = { clip: "report.clip", comment: "report.comment", user: "report.user" };
  const { body, close } = modal(t(title[target]), t("common.close"));
  const note = h("textarea", { id: "report-note", rows: 2, maxLength: 500 });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const send = h("button", { type: "submit", class: "primary" }, t("report.send"));
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const picked = form.querySelector<HTMLInputElement>('input[name="reason"]:checked');
        if (!picked) {
          error.hidden = false;
          error.textContent = t("report.pick");
          return;
        }
        send.disabled = true;
        try {
          await api.report(target, targetId, picked.value as (typeof REPORT_REASONS)[number], note.value.trim());
          close();
          toast(t("report.sent"));
          announce(t("report.sent"));
          onDone?.();
        } catch (err) {
          error.hidden = false;
          error.textContent = err instanceof ApiError && err.code === "already_reported" ? t("report.already") : problemText(err);
        } finally {
          send.disabled = false;
        }
      },
    },
    h(
      "fieldset",
      { class: "reasons" },
      h("legend", null, t("report.why")),
      REPORT_REASONS.map((reason) =>
        h(
          "div",
          { class: "radio" },
          h("input", { type: "radio", name: "reason", value: reason, id: `reason-${reason}`, required: true }),
          h("label", { for: `reason-${reason}` }, t(`reason.${reason}` as Key)),
        ),
      ),
    ),
    h("label", { for: "report-note" }, t("report.note")),
    note,
    error,
    h("div", { class: "row end" }, h("button", { type: "button", class: "ghost", onclick: () => close() }, t("common.cancel")), send),
  );
  replace(body, form);
  form.querySelector<HTMLInputElement>("input")?.focus();
}

export async function blockCreator(handle: string, onDone?: () => void): Promise<void> {
  if (!window.confirm(t("block.confirm", { handle }))) return;
  try {
    await api.block({ handle });
    toast(t("block.done", { handle }));
    announce(t("block.done", { handle }));
    onDone?.();
  } catch (error) {
    toast(t("common.error", { detail: problemText(error) }), "error");
  }
}

/** The "more" menu of a clip: open its page, report it, block its creator. */
export function moreDialog(clip: { id: string; handle: string | null; creatorId: string }, onBlocked?: () => void): void {
  const me = currentUser();
  const { body, close } = modal(t("more.title"), t("common.close"));
  const own = me?.id === clip.creatorId;
  replace(
    body,
    h(
      "ul",
      { class: "menu" },
      h("li", null, h("a", { href: `/app/clips/${clip.id}${clip.handle ? `?by=${encodeURIComponent(clip.handle)}` : ""}`, "data-nav": "", class: "button", onclick: () => close() }, t("more.openClip"))),
      clip.handle ? h("li", null, h("a", { href: `/app/creators/${encodeURIComponent(clip.handle)}`, "data-nav": "", class: "button", onclick: () => close() }, t("more.profile", { handle: clip.handle }))) : null,
      !own ? h("li", null, h("button", { type: "button", onclick: () => { close(); reportDialog("clip", clip.id); } }, t("report.clip"))) : null,
      !own && clip.handle && me
        ? h("li", null, h("button", { type: "button", onclick: () => { close(); void blockCreator(clip.handle as string, onBlocked); } }, t("block.creator", { handle: clip.handle })))
        : null,
    ),
  );
  (body.querySelector("a, button") as HTMLElement | null)?.focus();
}
