// The moderation queue (escalated first, with context), deciding each report with a reason
// (hide / restore / dismiss for clips and comments, suspend / unsuspend for users), and the
// decision log: who did what, when and why; the blocked words comments may not contain.
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { dateTime, t, type Key } from "../../core/i18n";
import type { BlockedWord, ModerationAction, ModerationVerb, ReportItem } from "../../core/types";

const VERBS: Record<string, ModerationVerb[]> = {
  clip: ["hide", "restore", "dismiss"],
  comment: ["hide", "restore", "dismiss"],
  user: ["suspend", "unsuspend", "dismiss"],
};

function contextOf(r: ReportItem): HTMLElement {
  const c = r.context as Record<string, string | number | boolean | null>;
  const bits: (Node | string)[] = [];
  if (typeof c.poster_url === "string") bits.push(h("img", { src: c.poster_url, alt: "", width: 54, height: 96, class: "thumb-img" }));
  const text = (c.caption ?? c.body ?? c.display_name ?? c.email ?? "") as string;
  return h(
    "div",
    { class: "report-context" },
    bits,
    h(
      "div",
      null,
      text ? h("p", { class: "quote" }, text) : null,
      h(
        "p",
        { class: "muted small" },
        c.creator_handle ? `@${c.creator_handle} · ` : c.author_handle ? `@${c.author_handle} · ` : "",
        t("mod.onTarget", { n: Number(c.reports_on_target ?? 1) }),
        c.subject_strikes != null ? ` · ${t("mod.strikes", { n: Number(c.subject_strikes) })}` : "",
        c.hidden ? ` · ${t("mod.currentlyHidden")}` : "",
      ),
      r.target_type === "clip" ? h("a", { href: `/app/clips/${r.target_id}`, "data-nav": "" }, t("more.openClip")) : null,
    ),
  );
}

function actionRow(a: ModerationAction): HTMLElement {
  return h(
    "li",
    { class: "decision", "data-target": a.target_id },
    h("p", null, h("strong", null, t(`mod.verb.${a.action}` as Key)), ` · ${t(`mod.target.${a.target_type}` as Key)} ${a.target_id.slice(0, 8)} · ${dateTime(a.created_at)}`),
    h("p", { class: "small" }, `${t("mod.reason")}: ${a.reason}`, h("span", { class: "muted" }, ` · ${t("mod.by", { who: a.actor_role })}`)),
  );
}

export async function mountModeration(panel: HTMLElement): Promise<void> {
  let status = "open";
  let cursor: string | null = null;
  let logCursor: string | null = null;
  const queue = h("ul", { class: "plain queue", "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, t("common.more"));
  const log = h("ul", { class: "plain log" });
  const moreLog = h("button", { type: "button", hidden: true, onclick: () => void loadLog(false) }, t("common.more"));
  const filters = (["open", "actioned", "dismissed"] as const).map((s) =>
    h(
      "button",
      {
        type: "button",
        class: "chip",
        "aria-pressed": String(s === status),
        onclick: () => {
          status = s;
          filters.forEach((b, i) => b.setAttribute("aria-pressed", String(["open", "actioned", "dismissed"][i] === status)));
          void load(true);
        },
      },
      t(`mod.status.${s}` as Key),
    ),
  );

  function reportItem(r: ReportItem): HTMLElement {
    const id = r.id.slice(0, 8);
    const verb = h("select", { id: `verb-${id}` }, VERBS[r.target_type].map((v) => h("option", { value: v }, t(`mod.verb.${v}` as Key))));
    const reason = h("textarea", { id: `why-${id}`, rows: 2, required: true, maxLength: 500 });
    const form = h(
      "form",
      {
        class: "decide",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          if (!reason.value.trim()) return reason.focus();
          try {
            await api.decide(r.id, verb.value as ModerationVerb, reason.value.trim());
            toast(t("mod.decided"));
            announce(t("mod.decided"));
            await Promise.all([load(true), loadLog(true)]);
          } catch (error) {
            toast(t("common.error", { detail: problemText(error) }), "error");
          }
        },
      },
      h("div", null, h("label", { for: `verb-${id}` }, t("mod.action")), verb),
      h("div", { class: "grow" }, h("label", { for: `why-${id}` }, t("mod.reasonLabel")), reason),
      h("button", { type: "submit", class: "primary" }, t("mod.decide")),
    );
    return h(
      "li",
      { class: `report${r.escalated ? " escalated" : ""}`, "data-report": r.id, "data-target": r.target_id },
      h(
        "p",
        null,
        h("strong", null, t(`mod.target.${r.target_type}` as Key)),
        ` · ${t(`reason.${r.reason}` as Key)} · ${dateTime(r.created_at)}`,
        r.escalated ? h("span", { class: "badge warn" }, t("mod.escalated")) : null,
      ),
      r.note ? h("p", { class: "small" }, `“${r.note}”`) : null,
      contextOf(r),
      r.status === "open" ? form : h("p", { class: "muted small" }, `${t(`mod.status.${r.status}` as Key)} · ${dateTime(r.resolved_at)}`),
    );
  }

  async function load(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.reports(status, cursor);
      if (reset) replace(queue);
      page.items.forEach((r) => queue.append(reportItem(r)));
      if (reset && !page.items.length) queue.append(h("li", { class: "muted" }, t("mod.empty")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  async function loadLog(reset: boolean): Promise<void> {
    if (reset) logCursor = null;
    try {
      const page = await api.decisions(logCursor);
      if (reset) replace(log);
      page.items.forEach((a) => log.append(actionRow(a)));
      if (reset && !page.items.length) log.append(h("li", { class: "muted" }, t("common.none")));
      logCursor = page.next_cursor;
      moreLog.hidden = !logCursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  replace(
    panel,
    h("section", { "aria-labelledby": "mod-queue" }, h("h2", { id: "mod-queue" }, t("mod.queue")), h("div", { class: "row", role: "group", "aria-label": t("mod.filter") }, filters), queue, more),
    h("section", { "aria-labelledby": "mod-log" }, h("h2", { id: "mod-log" }, t("mod.log")), log, moreLog),
    blockedWords(),
  );
  await Promise.all([load(true), loadLog(true)]);
}

/** The blocked words: a comment containing one is refused. Listed, added, removed. */
function blockedWords(): HTMLElement {
  const list = h("ul", { class: "chips words", "aria-live": "polite" }, h("li", { class: "muted" }, t("common.loading")));
  const input = h("input", { type: "text", required: true, maxLength: 100, autocomplete: "off" });
  const chip = (w: BlockedWord): HTMLElement => {
    const li = h(
      "li",
      { class: "chip word", "data-word": w.word },
      h("span", null, w.word),
      h(
        "button",
        {
          type: "button",
          class: "ghost",
          "aria-label": t("words.remove", { word: w.word }),
          onclick: async () => {
            try {
              await api.removeBlockedWord(w.id);
              li.remove();
              if (!list.children.length) list.append(h("li", { class: "muted" }, t("words.none")));
              announce(t("words.removed", { word: w.word }));
            } catch (error) {
              toast(t("common.error", { detail: problemText(error) }), "error");
            }
          },
        },
        "✕",
      ),
    );
    return li;
  };
  void api.blockedWords().then(
    (words) => replace(list, words.length ? words.map(chip) : h("li", { class: "muted" }, t("words.none"))),
    (error) => replace(list, h("li", { role: "alert" }, problemText(error))),
  );
  const form = h(
    "form",
    {
      class: "row",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const w = await api.addBlockedWord(input.value.trim());
          list.querySelector("li.muted")?.remove();
          list.querySelector(`[data-word="${CSS.escape(w.word)}"]`)?.remove();
          list.append(chip(w));
          input.value = "";
          announce(t("words.added", { word: w.word }));
          toast(t("words.added", { word: w.word }));
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      },
    },
    field("word-new", t("words.word"), input),
    h("button", { type: "submit" }, t("words.add")),
  );
  return h("section", { "aria-labelledby": "mod-words" }, h("h2", { id: "mod-words" }, t("words.title")), h("p", { class: "muted" }, t("words.hint")), form, list);
}
