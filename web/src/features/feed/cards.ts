// Product cards shown while a clip plays: at the tag's time window, with live price and stock,
// a point on the frame when the tag has one, and a buy button that runs the real checkout.
import { ApiError, api, problemText } from "../../core/api";
import { announce, h, toast, uuid } from "../../core/dom";
import { money, t } from "../../core/i18n";
import { track } from "../../core/events";
import type { Tag } from "../../core/types";

export function stockText(tag: Pick<Tag, "available" | "availability">): string {
  if (tag.availability === "out_of_stock" || tag.available <= 0) return t("product.soldOut");
  if (tag.availability === "low_stock") return t("product.lowStock", { n: tag.available });
  return t("product.inStock", { n: tag.available });
}

export interface CardDeck {
  update(tags: Tag[]): void;
  show(ms: number): void;
  element: HTMLElement;
  dots: HTMLElement;
}

// shareCode: the share link the viewer came through (/s/{code}): purchases are counted to it.
export function cardDeck(clipId: string, onBought: () => void, shareCode?: string): CardDeck {
  let tags: Tag[] = [];
  const cards = new Map<string, HTMLElement>();
  const dots = new Map<string, HTMLElement>();
  const element = h("ul", { class: "cards", "aria-label": t("feed.products") });
  const dotLayer = h("div", { class: "dots", "aria-hidden": "true" });

  function render(tag: Tag): HTMLElement {
    const price = money(tag.price_minor, tag.currency);
    const soldOut = tag.availability === "out_of_stock" || tag.available <= 0;
    const buy = h(
      "button",
      {
        type: "button",
        class: "buy",
        disabled: soldOut,
        "aria-label": soldOut ? `${tag.title}: ${t("product.soldOut")}` : t("product.buyFor", { title: tag.title, price }),
        onclick: () => void purchase(tag, buy),
      },
      soldOut ? t("product.soldOut") : t("product.buy"),
    );
    return h(
      "li",
      { class: soldOut ? "card sold-out" : "card", "data-tag": tag.id, "data-sku": tag.sku_id },
      tag.image ? h("img", { src: tag.image, alt: "", width: 48, height: 48, loading: "lazy" }) : null,
      h(
        "div",
        { class: "card-body" },
        h("p", { class: "card-title" }, tag.label || tag.title),
        h(
          "p",
          { class: "card-price" },
          h("span", { class: "price" }, price),
          tag.compare_at_minor && tag.compare_at_minor > tag.price_minor
            ? h("s", { class: "compare" }, money(tag.compare_at_minor, tag.currency))
            : null,
        ),
        h("p", { class: "stock", "data-stock": String(tag.available) }, stockText(tag)),
      ),
      buy,
    );
  }

  async function purchase(tag: Tag, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = t("product.buying");
    track("product_tap", { clip_id: clipId });
    track("add_to_cart", { clip_id: clipId });
    try {
      const body = shareCode ? { ...tag.buy.body, share_code: shareCode } : tag.buy.body;
      const order = (await api.checkout(body, uuid())).data;
      try {
        const paid = await api.demoPay(order.id);
        if (paid.outcome === "paid") {
          track("purchase", { clip_id: clipId });
          toast(t("product.bought"));
          announce(t("product.bought"));
        } else toast(t("product.payPending"));
      } catch (error) {
        if (error instanceof ApiError && error.code === "demo_disabled") toast(t("product.payPending"));
        else throw error;
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === "insufficient_stock") toast(t("product.insufficient"), "error");
      else toast(t("common.error", { detail: problemText(error) }), "error");
    } finally {
      onBought();
    }
  }

  return {
    element,
    dots: dotLayer,
    update(next: Tag[]) {
      tags = next.filter((tag) => tag.status === "active");
      for (const tag of tags) {
        const fresh = render(tag);
        const old = cards.get(tag.id);
        if (old) {
          fresh.hidden = old.hidden;
          old.replaceWith(fresh);
        } else {
          fresh.hidden = true;
          element.appendChild(fresh);
        }
        cards.set(tag.id, fresh);
        if (tag.x !== null && tag.y !== null && !dots.has(tag.id)) {
          const dot = h("span", { class: "dot", style: { left: `${tag.x * 100}%`, top: `${tag.y * 100}%` } });
          dot.hidden = true;
          dots.set(tag.id, dot);
          dotLayer.appendChild(dot);
        }
      }
    },
    show(ms: number) {
      for (const tag of tags) {
        const on = ms >= tag.start_ms && ms < tag.end_ms;
        const card = cards.get(tag.id);
        if (card && card.hidden === on) card.hidden = !on;
        const dot = dots.get(tag.id);
        if (dot && dot.hidden === on) dot.hidden = !on;
      }
    },
  };
}
