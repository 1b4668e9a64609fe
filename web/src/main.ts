// The shell: header navigation, language switch and a small router. Each screen is a feature
// folder loaded on demand (the feed's first load stays small).
import "./styles.css";
import { api, currentUser, onAuthChange, prefetchFeed } from "./core/api";
import { h, replace } from "./core/dom";
import { lang, setLang, t, type Lang } from "./core/i18n";
import type { Role } from "./core/types";

export type Cleanup = (() => void) | void;
export interface Screen {
  mount(root: HTMLElement, params: Record<string, string>): Cleanup | Promise<Cleanup>;
}

interface Route {
  pattern: RegExp;
  load: () => Promise<Screen>;
  role?: Role;
  signedIn?: boolean; // any account, not a guest
  full?: boolean; // full-bleed (the feed)
  title: () => string;
}

const lazy = (load: () => Promise<{ default: Screen }>) => () => load().then((m) => m.default);

const routes: Route[] = [
  { pattern: /^\/(?:app\/?|app\/feed\/?)?$/, load: lazy(() => import("./features/feed/feed")), full: true, title: () => t("nav.feed") },
  { pattern: /^\/app\/login\/?$/, load: lazy(() => import("./features/auth/login")), title: () => t("nav.login") },
  { pattern: /^\/app\/search\/?$/, load: lazy(() => import("./features/search/search")), title: () => t("search.title") },
  { pattern: /^\/app\/hashtags\/(?<tag>[^/]+)\/?$/, load: lazy(() => import("./features/search/hashtag")), title: () => t("hashtag.title") },
  { pattern: /^\/app\/creators\/(?<handle>[^/]+)\/?$/, load: lazy(() => import("./features/profile/profile")), title: () => t("profile.title") },
  { pattern: /^\/app\/clips\/(?<clip>[0-9a-f-]{36})\/?$/, load: lazy(() => import("./features/clip/clip")), title: () => t("clip.title") },
  { pattern: /^\/app\/notifications\/?$/, load: lazy(() => import("./features/notifications/inbox")), signedIn: true, title: () => t("inbox.title") },
  { pattern: /^\/app\/studio\/clips\/(?<clip>[0-9a-f-]{36})\/?$/, load: lazy(() => import("./features/studio/tagging")), role: "creator", title: () => t("tag.title") },
  { pattern: /^\/app\/studio(?:\/(?<tab>clips|programme|collaborations|earnings|analytics|storefront|shares|webhooks))?\/?$/, load: lazy(() => import("./features/studio/studio")), role: "creator", title: () => t("studio.title") },
  { pattern: /^\/app\/merchant(?:\/(?<tab>products|import|orders|tags|collaborations|creators|analytics|polls|webhooks))?\/?$/, load: lazy(() => import("./features/merchant/merchant")), role: "merchant", title: () => t("merchant.title") },
  { pattern: /^\/app\/admin(?:\/(?<tab>users|moderation|programme|payouts|analytics))?\/?$/, load: lazy(() => import("./features/admin/admin")), role: "admin", title: () => t("admin.title") },
];

let cleanup: Cleanup = undefined;
const root = document.getElementById("root") as HTMLElement;

function link(href: string, label: string, current: boolean): HTMLElement {
  return h("a", { href, "aria-current": current ? "page" : undefined, "data-nav": "" }, label);
}

function header(path: string, full: boolean): HTMLElement {
  const user = currentUser();
  const signedIn = user && !user.is_guest;
  const items: HTMLElement[] = [
    link("/", t("nav.feed"), path === "/" || path.startsWith("/app/feed")),
    link("/app/search", t("nav.search"), path.startsWith("/app/search") || path.startsWith("/app/hashtags")),
  ];
  if (user?.role === "creator") items.push(link("/app/studio", t("nav.studio"), path.startsWith("/app/studio")));
  if (user?.role === "merchant") items.push(link("/app/merchant", t("nav.merchant"), path.startsWith("/app/merchant")));
  if (user?.role === "admin") items.push(link("/app/admin", t("nav.admin"), path.startsWith("/app/admin")));
  if (signedIn) {
    const inbox = link("/app/notifications", t("nav.inbox"), path.startsWith("/app/notifications"));
    inbox.classList.add("inbox");
    inbox.append(h("span", { class: "badge", id: "unread-badge", hidden: true }));
    items.push(inbox);
  }
  const langSelect = h(
    "select",
    {
      "aria-label": t("nav.language"),
      class: "lang",
      onchange: (e: Event) => {
        setLang((e.target as HTMLSelectElement).value as Lang);
        show();
      },
    },
    h("option", { value: "en", selected: lang === "en" }, "English"),
    h("option", { value: "fr", selected: lang === "fr" }, "Français"),
  );
  const account = signedIn
    ? h(
        "button",
        {
          class: "link",
          type: "button",
          title: t("auth.signedInAs", { who: user.email || "" }),
          onclick: async () => {
            await api.logout();
            navigate("/");
          },
        },
        t("nav.logout"),
      )
    : link(`/app/login?next=${encodeURIComponent(path)}`, t("nav.login"), path.startsWith("/app/login"));
  return h(
    "header",
    { class: full ? "top overlay" : "top" },
    h("a", { href: "/", class: "brand", "data-nav": "" }, "ClipShop"),
    h("nav", { "aria-label": t("nav.main") }, h("ul", null, items.map((i) => h("li", null, i)))),
    h("div", { class: "top-tools" }, langSelect, account),
  );
}

export function navigate(to: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  show();
}

/** Renders the current path; a returning viewer's first feed page is fetched meanwhile, while
 * the feed's code downloads. */
function show(): void {
  const onboarded = currentUser() && localStorage.getItem(`clipshop.onboarded.${currentUser()?.id}`);
  if (onboarded && routes[0].pattern.test(location.pathname)) prefetchFeed();
  void render();
}

async function render(): Promise<void> {
  document.documentElement.lang = lang;
  if (typeof cleanup === "function") cleanup();
  cleanup = undefined;
  const path = location.pathname;
  const route = routes.find((r) => r.pattern.test(path));
  const main = h("main", { id: "main", tabindex: -1, class: route?.full ? "full" : "page" });
  replace(root, header(path, !!route?.full), main);
  watchHeader();
  showUnread();
  void pollUnread();
  if (!route) {
    replace(main, h("h1", null, "404"), h("p", null, h("a", { href: "/", "data-nav": "" }, t("nav.feed"))));
    return;
  }
  document.title = `${route.title()} · ClipShop`;
  const params = { ...(path.match(route.pattern)?.groups ?? {}), ...Object.fromEntries(new URLSearchParams(location.search)) };
  if ((route.role && !api.hasRole(route.role)) || (route.signedIn && (!currentUser() || currentUser()?.is_guest))) {
    const login = await import("./features/auth/login");
    cleanup = await login.default.mount(main, { next: path, need: route.role ?? "" });
    return;
  }
  replace(main, h("p", { class: "muted" }, t("common.loading")));
  const screen = await route.load();
  cleanup = await screen.mount(main, params as Record<string, string>);
}

// The header's height (it wraps on narrow screens) for what sits under the feed's overlay header.
const headerSize = new ResizeObserver((entries) => {
  for (const entry of entries) {
    document.documentElement.style.setProperty("--header-h", `${Math.ceil((entry.target as HTMLElement).offsetHeight)}px`);
  }
});
function watchHeader(): void {
  headerSize.disconnect();
  const top = root.querySelector("header.top");
  if (top) headerSize.observe(top);
}

// The inbox's unread count in the header, for every signed-in account: read on each page and
// every minute; the inbox announces changes itself (the "clipshop:unread" event).
let unread = 0;
function showUnread(): void {
  const badge = document.getElementById("unread-badge");
  const inbox = badge?.parentElement;
  if (!badge || !inbox) return;
  badge.hidden = unread <= 0;
  badge.textContent = unread > 99 ? "99+" : String(unread);
  inbox.setAttribute("aria-label", unread > 0 ? t("nav.inboxUnread", { n: unread }) : t("nav.inbox"));
}
async function pollUnread(): Promise<void> {
  const user = currentUser();
  if (!user || user.is_guest || document.visibilityState === "hidden") return;
  try {
    unread = await api.unreadCount();
    showUnread();
  } catch {
    /* the badge just keeps its last figure */
  }
}
window.addEventListener("clipshop:unread", (e) => {
  unread = (e as CustomEvent<number>).detail;
  showUnread();
});
window.setInterval(() => void pollUnread(), 60_000);

document.addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a[data-nav]") as HTMLAnchorElement | null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  navigate(a.getAttribute("href") || "/");
});
window.addEventListener("popstate", () => void render());
onAuthChange(() => {
  const nav = root.querySelector("header.top");
  if (nav) nav.replaceWith(header(location.pathname, nav.classList.contains("overlay")));
  watchHeader();
  unread = 0;
  void pollUnread();
});

show();
