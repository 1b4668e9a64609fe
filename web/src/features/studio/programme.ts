// The creator programme: the caller's admission status and every criterion's reason in plain
// words (what is missing and what to do about it), and applying or asking to be evaluated again.
import { ApiError, api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { dateTime, num, pct, t, type Key } from "../../core/i18n";
import type { Admission } from "../../core/types";

const KNOWN = ["followers", "clips", "engagement_rate", "completion_rate"];

/** A criterion in the reader's language (the API's English text for criteria this client does not know). */
export function criterionText(c: Admission["evaluation"][number]): { reason: string; improve: string | null } {
  if (!KNOWN.includes(c.criterion)) return { reason: c.reason, improve: c.improve };
  const ratio = c.criterion.endsWith("_rate");
  const fmt = (v: number) => (ratio ? pct(v) : num(Math.trunc(v)));
  const reason = t(`criterion.${c.criterion}` as Key, { value: fmt(c.value), threshold: fmt(c.threshold) });
  const improve = c.passed ? null : t(`criterion.${c.criterion}.improve` as Key, { n: Math.max(0, Math.trunc(c.threshold) - Math.trunc(c.value)) });
  return { reason, improve };
}

export function admissionStatus(status: string): string {
  return t(`admission.${status}` as Key);
}

export async function mountProgramme(panel: HTMLElement): Promise<void> {
  const status = h("section", { class: "card-form", "aria-labelledby": "prog-status" });
  const category = h("select", null, h("option", { value: "" }, t("programme.anyCategory")));
  const submit = h("button", { type: "submit", class: "primary" }, t("programme.apply"));
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const admission = await api.apply(category.value || null);
          show(admission);
          announce(`${t("programme.status")}: ${admissionStatus(admission.status)}`);
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("h2", null, t("programme.applyTitle")),
    h("p", { class: "muted" }, t("programme.applyHint")),
    field("prog-category", t("programme.category"), category),
    submit,
  );
  replace(panel, status, form);

  function show(a: Admission | null): void {
    if (!a) {
      replace(status, h("h2", { id: "prog-status" }, t("programme.status")), h("p", { class: "programme-status", "data-status": "none" }, t("programme.notApplied")));
      return;
    }
    submit.textContent = t("programme.again");
    if (a.category) category.value = a.category;
    replace(
      status,
      h("h2", { id: "prog-status" }, t("programme.status")),
      h("p", { class: `programme-status status-${a.status}`, "data-status": a.status }, h("strong", null, admissionStatus(a.status))),
      h("p", null, t(`admission.${a.status}.explain` as Key)),
      a.decided_by_operator ? h("p", { class: "notice" }, t("programme.operator"), a.note ? ` “${a.note}”` : "") : null,
      h(
        "ul",
        { class: "criteria" },
        a.evaluation.map((c) => {
          const text = criterionText(c);
          return h(
            "li",
            { class: c.passed ? "passed" : "missed", "data-criterion": c.criterion },
            h("span", { class: "mark", "aria-hidden": "true" }, c.passed ? "✓" : "✗"),
            h("div", null, h("p", null, h("span", { class: "sr-only" }, `${c.passed ? t("programme.met") : t("programme.notMet")}: `), text.reason), text.improve ? h("p", { class: "muted small" }, `${t("programme.improve")} ${text.improve}`) : null),
          );
        }),
      ),
      h("p", { class: "muted small" }, t("programme.evaluated", { when: dateTime(a.evaluated_at) }), a.next_evaluation_at ? ` · ${t("programme.next", { when: dateTime(a.next_evaluation_at, false) })}` : ""),
    );
  }

  void api.interests().then((tree) => {
    for (const node of tree.items) category.append(h("option", { value: node.slug }, node.name));
  });
  try {
    show(await api.admission());
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) show(null);
    else replace(status, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
  }
}
