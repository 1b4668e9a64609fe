// Admin: users (role, guest or not, active), with enabling and disabling accounts; the other tabs
// (moderation and blocked words, programme admissions and thresholds, payout runs, analytics and
// flagged accounts) are chunks of their own.
import { api, problemText } from "../../core/api";
import { h, replace, toast } from "../../core/dom";
import { t, type Key } from "../../core/i18n";
import { focusSelectedTab, tabBar } from "../../core/tabs";
import type { User } from "../../core/types";
import type { Screen } from "../../main";

const TABS: [string, Key][] = [
  ["users", "admin.users"],
  ["moderation", "mod.title"],
  ["programme", "programme.title"],
  ["payouts", "earnings.payouts"],
  ["analytics", "analytics.title"],
];

const screen: Screen = {
  async mount(root, params) {
    const tab = TABS.some(([n]) => n === params.tab) ? params.tab : "users";
    const panel = h("div", { id: "admin-panel", role: "tabpanel", "aria-labelledby": `tab-${tab}` });
    replace(root, h("h1", null, t("admin.title")), tabBar("/app/admin", TABS, tab, t("admin.title"), "admin-panel"), panel);
    focusSelectedTab(root);
    if (tab === "moderation") return (await import("./moderation")).mountModeration(panel);
    if (tab === "programme") return (await import("./programme")).mountAdmissions(panel);
    if (tab === "payouts") return (await import("./payouts")).mountPayouts(panel);
    if (tab === "analytics") return (await import("./analytics")).mountAdminAnalytics(panel);
    return usersTab(panel);
  },
};

async function usersTab(root: HTMLElement): Promise<void> {
  {
    const body = h("tbody");
    let offset = 0;
    const more = h("button", { type: "button", hidden: true }, t("common.more"));
    replace(
      root,
      h("h2", null, t("admin.users")),
      h(
        "table",
        { class: "users" },
        h("thead", null, h("tr", null, [t("auth.email"), t("admin.role"), t("admin.created"), t("admin.active")].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
      more,
    );
    const row = (u: User) => {
      const box = h("input", { type: "checkbox", checked: u.is_active !== false, id: `active-${u.id}` });
      box.addEventListener("change", async () => {
        try {
          await api.setUserActive(u.id, box.checked);
        } catch (error) {
          box.checked = !box.checked;
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      });
      return h(
        "tr",
        null,
        h("th", { scope: "row" }, u.email || (u.is_guest ? "guest" : u.id.slice(0, 8))),
        h("td", null, u.role, u.creator ? ` (@${u.creator.handle})` : "", u.merchant ? ` (${u.merchant.organisation_name})` : ""),
        h("td", null, new Date(u.created_at).toLocaleDateString()),
        h("td", null, box, h("label", { for: `active-${u.id}`, class: "sr-only" }, `${t("admin.active")}: ${u.email || u.id}`)),
      );
    };
    async function load(): Promise<void> {
      try {
        const page = await api.users(offset);
        page.items.forEach((u) => body.appendChild(row(u)));
        offset = page.next_offset ?? offset;
        more.hidden = !page.next_offset;
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    }
    more.addEventListener("click", () => void load());
    await load();
  }
}

export default screen;
