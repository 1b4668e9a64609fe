// One clip on its own page (search results, hashtags, profiles and notifications link here): the
// player with its product cards, polls, share, report and the comments. A share link's page
// (/s/{code}) opens it with ?share_code=: the view and purchases are counted to that share.
import { ApiError, api, currentUser, problemText } from "../../core/api";
import { h, linkify, replace } from "../../core/dom";
import { track } from "../../core/events";
import { t } from "../../core/i18n";
import { attach, type Attached } from "../../core/player";
import type { Clip } from "../../core/types";
import type { Screen } from "../../main";
import { cardDeck } from "../feed/cards";
import { moreDialog, shareDialog } from "../social/actions";
import { commentsPanel } from "../social/comments";
import { mountPolls } from "../social/polls";

const screen: Screen = {
  async mount(root, params) {
    let clip: Clip;
    try {
      await api.ensureSession();
      clip = await api.clip(params.clip);
    } catch (error) {
      replace(root, h("h1", null, t("clip.title")), h("p", { role: "alert" }, error instanceof ApiError && error.status === 404 ? t("clip.notFound") : t("common.error", { detail: problemText(error) })));
      return;
    }
    const handle = params.by || null;
    const video = h("video", {
      playsInline: true,
      controls: true,
      preload: "metadata",
      poster: clip.playback.poster || undefined,
      "aria-label": clip.caption || t("clip.title"),
    });
    const shareCode = params.share_code?.slice(0, 32) || undefined;
    const deck = cardDeck(clip.id, () => void refreshTags(), shareCode);
    let seen = false;
    video.addEventListener("playing", () => {
      if (seen) return;
      seen = true;
      track("impression", { clip_id: clip.id, creator_id: clip.creator_id, share_code: shareCode });
    });
    deck.update(clip.tags);
    async function refreshTags(): Promise<void> {
      try {
        deck.update((await api.clipTags(clip.id)).items);
        deck.show(video.currentTime * 1000);
      } catch {
        /* keep the cards */
      }
    }
    video.addEventListener("timeupdate", () => deck.show(video.currentTime * 1000));
    const polls = h("div", { class: "polls" });
    const me = currentUser();
    replace(
      root,
      h(
        "div",
        { class: "clip-page" },
        h("div", { class: "clip-player" }, h("div", { class: "editor-frame plain" }, video, deck.dots), deck.element),
        h(
          "div",
          null,
          h("h1", { class: "clip-heading" }, clip.caption ? linkify(clip.caption) : t("clip.title")),
          handle ? h("p", null, h("a", { href: `/app/creators/${encodeURIComponent(handle)}`, "data-nav": "" }, `@${handle}`)) : null,
          h(
            "div",
            { class: "row" },
            h("button", { type: "button", onclick: () => shareDialog(clip.id) }, t("feed.share")),
            me ? h("button", { type: "button", onclick: () => moreDialog({ id: clip.id, handle, creatorId: clip.creator_id }) }, t("feed.more")) : null,
          ),
          polls,
          commentsPanel({ id: clip.id, creatorId: clip.creator_id }, "clip-comments"),
        ),
      ),
    );
    void mountPolls(polls, clip.id);
    let attached: Attached | null = null;
    if (clip.status === "ready") attached = await attach(video, { hls_url: clip.playback.hls, mp4_url: clip.playback.mp4 }, false, () => undefined);
    return () => attached?.detach();
  },
};

export default screen;
