// Polls on a clip: vote with one tap (guests too); the results show once you voted or the poll
// closed, and you can change your vote while it is open.
import { ApiError, api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { num, pct, t } from "../../core/i18n";
import type { Poll } from "../../core/types";

export function pollView(poll: Poll): HTMLElement {
  const box = h("section", { class: "poll", "data-poll": poll.id, "aria-labelledby": `poll-${poll.id}` });
  const render = (p: Poll) => {
    const total = p.total_votes ?? 0;
    replace(
      box,
      h("p", { class: "poll-question", id: `poll-${p.id}` }, p.question),
      h(
        "ul",
        { class: "poll-options" },
        p.options.map((o) => {
          const share = p.results_visible && total ? (o.votes ?? 0) / total : 0;
          const chosen = p.my_vote === o.id;
          const label = p.results_visible ? `${o.label} — ${pct(share, 0)} (${t("poll.votes", { n: num(o.votes ?? 0) })})` : o.label;
          return h(
            "li",
            null,
            h(
              "button",
              {
                type: "button",
                class: `poll-option${chosen ? " chosen" : ""}`,
                "aria-pressed": String(chosen),
                "aria-label": chosen ? `${label} · ${t("poll.yourVote")}` : label,
                disabled: !p.open,
                onclick: () => void vote(p, o.id),
              },
              p.results_visible ? h("span", { class: "poll-bar", style: { width: `${Math.round(share * 100)}%` }, "aria-hidden": "true" }) : null,
              h("span", { class: "poll-label", "aria-hidden": "true" }, o.label),
              p.results_visible ? h("span", { class: "poll-share", "aria-hidden": "true" }, pct(share, 0)) : null,
            ),
          );
        }),
      ),
      h(
        "p",
        { class: "poll-meta small" },
        p.results_visible ? t("poll.total", { n: num(total) }) : t("poll.voteToSee"),
        p.open ? "" : ` · ${t("poll.closed")}`,
      ),
    );
  };
  async function vote(p: Poll, optionId: string): Promise<void> {
    try {
      const next = await api.vote(p.id, optionId);
      render(next);
      announce(t("poll.voted"));
      (box.querySelector(".poll-option.chosen") as HTMLElement | null)?.focus();
    } catch (error) {
      if (error instanceof ApiError && error.code === "poll_closed") toast(t("poll.closed"), "error");
      else toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  render(poll);
  return box;
}

/** Fills `slot` with the clip's polls (nothing when it has none). */
export async function mountPolls(slot: HTMLElement, clipId: string): Promise<number> {
  try {
    const polls = await api.polls(clipId);
    replace(slot, polls.map(pollView));
    return polls.length;
  } catch {
    return 0;
  }
}
