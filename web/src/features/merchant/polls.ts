// The organisation's polls with their results, closing one, and asking a new one on a clip that
// carries the merchant's products.
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { dateTime, num, pct, t } from "../../core/i18n";
import type { Poll } from "../../core/types";

function results(p: Poll, reload: () => void): HTMLElement {
  const total = p.total_votes ?? 0;
  return h(
    "li",
    { class: "poll-result", "data-poll": p.id },
    h("h3", null, p.question),
    h("p", { class: "muted small" }, h("a", { href: `/app/clips/${p.clip_id}`, "data-nav": "" }, t("poll.onClip")), ` · ${dateTime(p.created_at, false)} · ${p.open ? t("poll.open") : t("poll.closed")} · ${t("poll.total", { n: num(total) })}`),
    h(
      "ul",
      { class: "bar-list" },
      p.options.map((o) => {
        const share = total ? (o.votes ?? 0) / total : 0;
        return h(
          "li",
          null,
          h("span", { class: "bar-label" }, o.label),
          h("span", { class: "bar-track", "aria-hidden": "true" }, h("span", { class: "bar-fill", style: { width: `${Math.max(1, share * 100)}%` } })),
          h("span", { class: "bar-value" }, `${num(o.votes ?? 0)} (${pct(share, 0)})`),
        );
      }),
    ),
    p.open
      ? h("button", {
          type: "button",
          onclick: async () => {
            try {
              await api.closePoll(p.id);
              announce(t("poll.closedDone"));
              reload();
            } catch (error) {
              toast(t("common.error", { detail: problemText(error) }), "error");
            }
          },
        }, t("poll.close"))
      : null,
  );
}

export async function mountPolls(panel: HTMLElement): Promise<void> {
  const list = h("ul", { class: "plain" });
  let cursor: string | null = null;
  const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, t("common.more"));
  const clip = h("input", { required: true, pattern: "[0-9a-fA-F-]{36}" });
  const question = h("input", { required: true, maxLength: 200 });
  const options = h("textarea", { rows: 4, required: true });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const labels = options.value.split("\n").map((x) => x.trim()).filter(Boolean);
        if (labels.length < 2 || labels.length > 4) {
          toast(t("poll.optionsCount"), "error");
          return;
        }
        try {
          await api.createPoll(clip.value.trim(), { question: question.value.trim(), options: labels.map((label) => ({ label })) });
          toast(t("poll.created"));
          form.reset();
          await load(true);
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      },
    },
    h("h2", null, t("poll.new")),
    field("poll-clip", t("merchant.clipId"), clip),
    field("poll-question", t("poll.question"), question),
    field("poll-options", t("poll.options"), options, t("poll.optionsHint")),
    h("button", { type: "submit", class: "primary" }, t("poll.ask")),
  );
  replace(panel, h("section", { "aria-labelledby": "polls-title" }, h("h2", { id: "polls-title" }, t("poll.results")), list, more), form);
  async function load(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.merchantPolls(cursor);
      if (reset) replace(list);
      page.items.forEach((p) => list.append(results(p, () => void load(true))));
      if (reset && !page.items.length) list.append(h("li", { class: "muted" }, t("common.none")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  await load(true);
}
