// Programme admissions: an operator admits, waitlists, rejects or suspends a creator (or hands
// them back to the thresholds) with a note; the creator's evaluation is shown after.
import { api, problemText } from "../../core/api";
import { announce, field, h, replace, toast } from "../../core/dom";
import { t, type Key } from "../../core/i18n";
import type { User } from "../../core/types";
import { admissionStatus, criterionText } from "../studio/programme";

export async function mountAdmissions(panel: HTMLElement): Promise<void> {
  const creator = h("select", { required: true });
  const status = h("select", null, (["admitted", "waitlisted", "rejected", "suspended", "automatic"] as const).map((s) => h("option", { value: s }, t(`admission.${s}` as Key))));
  const note = h("textarea", { rows: 2, maxLength: 500 });
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const a = await api.setAdmission(creator.value, status.value, note.value.trim());
          const who = creator.selectedOptions[0]?.textContent || "";
          announce(t("admissions.saved", { who, status: admissionStatus(a.status) }));
          replace(
            result,
            h("p", { class: "notice", role: "status" }, t("admissions.saved", { who, status: admissionStatus(a.status) })),
            h("ul", { class: "criteria" }, a.evaluation.map((c) => h("li", { class: c.passed ? "passed" : "missed" }, h("span", { class: "mark", "aria-hidden": "true" }, c.passed ? "✓" : "✗"), h("p", null, criterionText(c).reason)))),
          );
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      },
    },
    h("h2", null, t("admissions.title")),
    h("p", { class: "muted" }, t("admissions.hint")),
    h("div", { class: "grid" }, field("adm-creator", t("admissions.creator"), creator), field("adm-status", t("admissions.status"), status)),
    field("adm-note", t("admissions.note"), note),
    h("button", { type: "submit", class: "primary" }, t("common.save")),
  );
  replace(panel, form, result);
  try {
    const creators: User[] = [];
    for (let offset: number | null | undefined = 0; offset !== null && offset !== undefined; ) {
      const page = await api.users(offset);
      creators.push(...page.items.filter((u) => u.role === "creator" && u.creator));
      offset = page.next_offset;
    }
    replace(creator, creators.map((u) => h("option", { value: u.id }, `@${u.creator?.handle} (${u.email ?? u.id.slice(0, 8)})`)));
  } catch (error) {
    toast(t("common.error", { detail: problemText(error) }), "error");
  }
}
