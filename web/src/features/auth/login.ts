// Sign in (email + password); a guest's session is replaced by the account's.
import { ApiError, api, problemText } from "../../core/api";
import { h, replace } from "../../core/dom";
import { t } from "../../core/i18n";
import { go } from "../../core/nav";
import type { Screen } from "../../main";

const screen: Screen = {
  mount(root, params) {
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const email = h("input", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true });
    const password = h("input", {
      id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true,
    });
    const form = h(
      "form",
      {
        class: "card-form narrow",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          error.hidden = true;
          try {
            const user = await api.login(email.value.trim(), password.value);
            const next = params.next && params.next.startsWith("/") ? params.next : null;
            const home: Record<string, string> = { creator: "/app/studio", merchant: "/app/merchant", admin: "/app/admin" };
            go(next && !next.startsWith("/app/login") ? next : home[user.role] ?? "/", true);
          } catch (err) {
            error.hidden = false;
            error.textContent = err instanceof ApiError && err.status === 401 ? t("auth.failed") : problemText(err);
          }
        },
      },
      h("h1", null, t("auth.title")),
      params.need ? h("p", { class: "notice" }, t("auth.needed", { role: params.need })) : null,
      h("label", { for: "login-email" }, t("auth.email")),
      email,
      h("label", { for: "login-password" }, t("auth.password")),
      password,
      error,
      h("button", { type: "submit", class: "primary" }, t("auth.submit")),
      h("p", { class: "muted small" }, t("auth.demo")),
    );
    replace(root, form);
    email.focus();
  },
};

export default screen;
