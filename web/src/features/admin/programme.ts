// Programme admissions: an operator admits, waitlists, rejects or suspends a creator (or hands
// them back to the thresholds) with a note; the creator's evaluation is shown after. The admission
// thresholds of each interest category (and the default for the others), edited in place.
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
  const thresholds = h("section", { "aria-labelledby": "thr-title" }, h("h2", { id: "thr-title" }, t("thresholds.title")), h("p", { class: "muted" }, t("common.loading")));
  replace(panel, form, result, thresholds);
  void mountThresholds(thresholds);
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

// Ratios (criteria named *_rate) are edited as percentages.
const isRatio = (criterion: string) => criterion.endsWith("_rate");

function criterionLabel(criterion: string): string {
  const key = `thresholds.criterion.${criterion}` as Key;
  const text = t(key);
  return text === key ? criterion : text;
}

async function mountThresholds(section: HTMLElement): Promise<void> {
  const heading = section.firstElementChild as HTMLElement;
  try {
    const { items, criteria } = await api.thresholds();
    const rows = items.map((row) => {
      const inputs = new Map<string, HTMLInputElement>();
      const label = row.category === "default" ? t("thresholds.default") : row.category;
      const save = h("button", { type: "submit", "aria-label": t("thresholds.saveFor", { category: label }) }, t("common.save"));
      const cells = criteria.map((c) => {
        const value = row.thresholds[c] ?? 0;
        const input = h("input", {
          type: "number",
          min: 0,
          step: isRatio(c) ? 0.1 : 1,
          max: isRatio(c) ? 100 : undefined,
          value: String(isRatio(c) ? Math.round(value * 1000) / 10 : value),
          class: "qty",
          required: true,
          "aria-label": `${label}: ${criterionLabel(c)}`,
          form: `thr-${row.category}`,
        });
        inputs.set(c, input);
        return h("td", null, input);
      });
      const form = h("form", {
        id: `thr-${row.category}`,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const values: Record<string, number> = {};
          inputs.forEach((input, c) => {
            values[c] = isRatio(c) ? Number(input.value) / 100 : Number(input.value);
          });
          save.disabled = true;
          try {
            await api.setThresholds(row.category, values);
            toast(t("thresholds.saved", { category: label }));
            announce(t("thresholds.saved", { category: label }));
          } catch (error) {
            toast(t("common.error", { detail: problemText(error) }), "error");
          } finally {
            save.disabled = false;
          }
        },
      });
      return h("tr", { "data-category": row.category }, h("th", { scope: "row" }, label), cells, h("td", null, form, save));
    });
    // the save button sits in its row, outside the form element: tie it to the form
    rows.forEach((tr) => {
      const form = tr.querySelector("form");
      const button = tr.querySelector("button[type=submit]");
      if (form && button) button.setAttribute("form", form.id);
    });
    replace(
      section,
      heading,
      h("p", { class: "muted" }, t("thresholds.hint")),
      h(
        "div",
        { class: "table-wrap", tabindex: 0 },
        h(
          "table",
          { class: "thresholds" },
          h("caption", { class: "sr-only" }, t("thresholds.title")),
          h("thead", null, h("tr", null, h("th", { scope: "col" }, t("thresholds.category")), criteria.map((c) => h("th", { scope: "col" }, criterionLabel(c), isRatio(c) ? " (%)" : "")), h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("common.actions"))))),
          h("tbody", null, rows),
        ),
      ),
    );
  } catch (error) {
    replace(section, heading, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
  }
}
