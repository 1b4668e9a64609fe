// Interest onboarding for a new viewer (guests included): pick a few interests, or skip.
import { api, problemText } from "../../core/api";
import { h, toast } from "../../core/dom";
import { t } from "../../core/i18n";

export function onboardedKey(userId: string): string {
  return `clipshop.onboarded.${userId}`;
}

export async function needsOnboarding(userId: string): Promise<boolean> {
  if (localStorage.getItem(onboardedKey(userId))) return false;
  try {
    const mine = await api.myInterests();
    if (mine.items.some((i) => i.selected)) {
      localStorage.setItem(onboardedKey(userId), "1");
      return false;
    }
  } catch {
    return false;
  }
  return true;
}

export function onboarding(userId: string): Promise<void> {
  return new Promise((resolve) => {
    const picked = new Set<string>();
    const count = h("p", { class: "muted", "aria-live": "polite" }, t("onboard.picked", { n: 0 }));
    const groups = h("div", { class: "chips-groups" }, t("common.loading"));
    const done = () => {
      localStorage.setItem(onboardedKey(userId), "1");
      dialog.close();
      dialog.remove();
      resolve();
    };
    const start = h(
      "button",
      {
        type: "button",
        class: "primary",
        onclick: async () => {
          try {
            if (picked.size) await api.setInterests([...picked]);
          } catch (error) {
            toast(t("common.error", { detail: problemText(error) }), "error");
          }
          done();
        },
      },
      t("onboard.start"),
    );
    const dialog = h(
      "dialog",
      { class: "onboarding", "aria-labelledby": "onboard-title", "aria-describedby": "onboard-hint" },
      h("h2", { id: "onboard-title" }, t("onboard.title")),
      h("p", { id: "onboard-hint" }, t("onboard.hint")),
      groups,
      count,
      h(
        "div",
        { class: "row end" },
        h("button", { type: "button", class: "ghost", onclick: done }, t("onboard.skip")),
        start,
      ),
    );
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    void api.interests().then(
      (tree) => {
        groups.textContent = "";
        for (const node of tree.items) {
          const chips = (node.children.length ? node.children : [{ slug: node.slug, name: node.name }]).map((child) =>
            h(
              "button",
              {
                type: "button",
                class: "chip",
                "aria-pressed": "false",
                "data-slug": child.slug,
                onclick: (e: Event) => {
                  const b = e.currentTarget as HTMLButtonElement;
                  if (picked.has(child.slug)) picked.delete(child.slug);
                  else picked.add(child.slug);
                  b.setAttribute("aria-pressed", String(picked.has(child.slug)));
                  count.textContent = t("onboard.picked", { n: picked.size });
                },
              },
              child.name,
            ),
          );
          groups.appendChild(
            h("fieldset", { class: "chips" }, h("legend", null, node.name), h("div", { class: "chip-row" }, chips)),
          );
        }
      },
      () => {
        groups.textContent = t("common.offline");
      },
    );
  });
}
