// A row of tabs that are links (each tab is its own address): arrow keys move between them, the
// panel is labelled by the selected one.
import { h } from "./dom";
import { t, type Key } from "./i18n";
import { go } from "./nav";

let movedByKey = false;

export function tabBar(base: string, tabs: [string, Key][], current: string, label: string, panelId: string): HTMLElement {
  const index = Math.max(0, tabs.findIndex(([n]) => n === current));
  const to = (i: number) => `${base}/${tabs[(i + tabs.length) % tabs.length][0]}`;
  return h(
    "div",
    { role: "tablist", class: "tabs", "aria-label": label },
    tabs.map(([name, key], i) =>
      h(
        "a",
        {
          role: "tab",
          id: `tab-${name}`,
          href: `${base}/${name}`,
          "aria-selected": String(i === index),
          "aria-controls": panelId,
          tabindex: i === index ? 0 : -1,
          onclick: (e: Event) => {
            e.preventDefault();
            go(`${base}/${name}`);
          },
          onkeydown: (e: KeyboardEvent) => {
            if (["ArrowRight", "ArrowLeft", "Home", "End"].includes(e.key)) {
              e.preventDefault();
              movedByKey = true;
            }
            if (e.key === "ArrowRight") go(to(index + 1));
            if (e.key === "ArrowLeft") go(to(index - 1));
            if (e.key === "Home") go(to(0));
            if (e.key === "End") go(to(tabs.length - 1));
          },
        },
        t(key),
      ),
    ),
  );
}

/** After a tab change by keyboard the new tab (rendered afresh) gets the focus back. */
export function focusSelectedTab(root: HTMLElement): void {
  if (!movedByKey) return;
  movedByKey = false;
  (root.querySelector('[role="tab"][aria-selected="true"]') as HTMLElement | null)?.focus();
}
