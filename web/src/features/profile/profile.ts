// A creator's public profile: who they are, follow, their clips (cursor pages), their storefront
// (products featured in their clips, bought with the creator credited) and their idea lists.
import { ApiError, api, currentUser, problemText } from "../../core/api";
import { announce, h, replace, toast, uuid } from "../../core/dom";
import { money, num, t } from "../../core/i18n";
import type { ClipCard, CreatorProfile, IdeaList, ProductCard, StorefrontItem } from "../../core/types";
import type { Screen } from "../../main";
import { stockText } from "../feed/cards";

function clipTile(clip: ClipCard, handle: string): HTMLElement {
  return h(
    "li",
    { class: "tile" },
    h(
      "a",
      { href: `/app/clips/${clip.id}?by=${encodeURIComponent(handle)}`, "data-nav": "" },
      clip.playback.poster ? h("img", { src: clip.playback.poster, alt: "", width: 108, height: 192, loading: "lazy" }) : h("span", { class: "thumb" }),
      h("span", { class: "tile-caption" }, clip.caption || t("clip.title")),
    ),
  );
}

function offers(p: ProductCard): string {
  const prices = p.skus.map((s) => s.price_minor);
  if (!prices.length) return "";
  const low = Math.min(...prices);
  return money(low, p.skus[0].currency);
}

async function buy(item: StorefrontItem, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    await api.ensureSession();
    const order = (await api.checkout({ lines: [{ sku_id: item.buy.sku_id, quantity: 1 }], clip_id: item.buy.clip_id, tag_id: item.buy.tag_id }, uuid())).data;
    try {
      const paid = await api.demoPay(order.id);
      toast(paid.outcome === "paid" ? t("product.bought") : t("product.payPending"));
    } catch (error) {
      if (error instanceof ApiError && error.code === "demo_disabled") toast(t("product.payPending"));
      else throw error;
    }
    announce(t("product.bought"));
  } catch (error) {
    if (error instanceof ApiError && error.code === "insufficient_stock") toast(t("product.insufficient"), "error");
    else toast(t("common.error", { detail: problemText(error) }), "error");
  } finally {
    button.disabled = false;
  }
}

function storefrontItem(item: StorefrontItem): HTMLElement {
  const price = money(item.price_minor, item.currency);
  const sku = item.skus.find((s) => s.sku_id === item.buy.sku_id) ?? item.skus[0];
  const b = h(
    "button",
    {
      type: "button",
      class: "buy",
      disabled: !item.in_stock,
      "aria-label": item.in_stock ? t("product.buyFor", { title: item.title, price }) : `${item.title}: ${t("product.soldOut")}`,
    },
    item.in_stock ? t("product.buy") : t("product.soldOut"),
  );
  b.addEventListener("click", () => void buy(item, b));
  return h(
    "li",
    { class: "shop-item", "data-product": item.product_id },
    item.image_url ? h("img", { src: item.image_url, alt: "", width: 64, height: 64, loading: "lazy" }) : null,
    h(
      "div",
      null,
      h("p", { class: "card-title" }, item.title, item.pinned ? h("span", { class: "badge" }, t("profile.pinned")) : null),
      h("p", { class: "muted small" }, [item.brand, price, sku ? stockText({ available: sku.available, availability: sku.availability as "in_stock" }) : ""].filter(Boolean).join(" · ")),
    ),
    b,
  );
}

function ideaList(list: IdeaList): HTMLElement {
  return h(
    "article",
    { class: "idea-list" },
    h("h3", null, list.name),
    list.description ? h("p", null, list.description) : null,
    h(
      "ul",
      { class: "plain" },
      list.items.map((p) => h("li", null, h("strong", null, p.title), h("span", { class: "muted small" }, ` · ${[p.brand, offers(p)].filter(Boolean).join(" · ")}`))),
    ),
  );
}

const screen: Screen = {
  async mount(root, params) {
    const handle = decodeURIComponent(params.handle || "");
    let profile: CreatorProfile;
    try {
      profile = await api.creator(handle);
    } catch (error) {
      replace(root, h("h1", null, `@${handle}`), h("p", { role: "alert" }, error instanceof ApiError && error.status === 404 ? t("profile.notFound") : t("common.error", { detail: problemText(error) })));
      return;
    }
    document.title = `${profile.display_name} · ClipShop`;
    const me = currentUser();
    let followers = profile.follower_count;
    // the API says whether a signed-in viewer follows (null without a session: not yet)
    let following = profile.following === true;
    const followerText = h("span", null, t("profile.followers", { n: num(followers) }));
    const follow = h("button", { type: "button", class: "primary follow-button", "aria-pressed": String(following) }, following ? t("feed.following") : t("feed.follow"));
    follow.addEventListener("click", async () => {
      follow.disabled = true;
      try {
        await api.ensureSession();
        const answer = await api.follow(profile.handle, !following);
        const now = (answer.data as { following?: boolean } | undefined)?.following ?? !following;
        if (now !== following) followers += now ? 1 : -1;
        following = now;
        follow.setAttribute("aria-pressed", String(following));
        follow.textContent = following ? t("feed.following") : t("feed.follow");
        followerText.textContent = t("profile.followers", { n: num(followers) });
        announce(following ? t("profile.nowFollowing", { handle: profile.handle }) : t("profile.unfollowed", { handle: profile.handle }));
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      } finally {
        follow.disabled = false;
      }
    });
    const avatar = profile.avatar?.webp?.["256"] || profile.avatar?.jpeg?.["256"] || Object.values(profile.avatar?.jpeg ?? {})[0];
    const grid = h("ul", { class: "tiles" }, profile.clips.items.map((c) => clipTile(c, profile.handle)));
    let clipCursor = profile.clips.next_cursor;
    const moreClips = h("button", { type: "button", hidden: !clipCursor }, t("common.more"));
    moreClips.addEventListener("click", async () => {
      if (!clipCursor) return;
      try {
        const page = await api.creatorClips(profile.handle, clipCursor);
        page.items.forEach((c) => grid.append(clipTile(c, profile.handle)));
        clipCursor = page.next_cursor;
        moreClips.hidden = !clipCursor;
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    });
    const shop = h("ul", { class: "shop" }, h("li", { class: "muted" }, t("common.loading")));
    const lists = h("div", { class: "idea-lists" }, t("common.loading"));
    const own = me?.id === profile.user_id;
    const social = () => import("../social/actions");
    replace(
      root,
      h(
        "header",
        { class: "profile-head" },
        avatar ? h("img", { src: avatar, alt: "", width: 96, height: 96, class: "avatar" }) : h("span", { class: "avatar placeholder", "aria-hidden": "true" }, profile.display_name.slice(0, 1)),
        h(
          "div",
          null,
          h("h1", null, profile.display_name),
          h("p", { class: "muted" }, `@${profile.handle}`, profile.programme_member ? h("span", { class: "badge" }, t("profile.member")) : null),
          profile.bio ? h("p", null, profile.bio) : null,
          h("p", { class: "profile-figures" }, followerText, " · ", t("profile.clips", { n: num(profile.clip_count) })),
          own
            ? null
            : h(
                "div",
                { class: "row" },
                follow,
                me && !me.is_guest ? h("button", { type: "button", onclick: () => void social().then((m) => m.reportDialog("user", profile.user_id)) }, t("report.user")) : null,
                me ? h("button", { type: "button", onclick: () => void social().then((m) => m.blockCreator(profile.handle)) }, t("block.creator", { handle: profile.handle })) : null,
              ),
        ),
      ),
      h("section", { "aria-labelledby": "p-clips" }, h("h2", { id: "p-clips" }, t("profile.clipsTitle")), profile.clips.items.length ? grid : h("p", { class: "muted" }, t("common.none")), moreClips),
      h("section", { "aria-labelledby": "p-shop" }, h("h2", { id: "p-shop" }, t("profile.storefront")), shop),
      h("section", { "aria-labelledby": "p-lists" }, h("h2", { id: "p-lists" }, t("profile.ideaLists")), lists),
    );
    void api.storefront(profile.handle).then(
      (page) => replace(shop, page.items.length ? page.items.filter((i) => !i.hidden).map(storefrontItem) : h("li", { class: "muted" }, t("common.none"))),
      (error) => replace(shop, h("li", { role: "alert" }, problemText(error))),
    );
    void api.ideaLists(profile.handle).then(
      (page) => replace(lists, page.items.length ? page.items.map(ideaList) : h("p", { class: "muted" }, t("common.none"))),
      (error) => replace(lists, h("p", { role: "alert" }, problemText(error))),
    );
  },
};

export default screen;
