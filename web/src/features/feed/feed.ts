// The swipe feed: one full-height clip at a time; swipe, wheel or arrow keys move; the next clip
// is preloaded; autoplay muted with tap to unmute; product cards at their tag times.
import { api, problemText, takePrefetchedFeed } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { t } from "../../core/i18n";
import { flush, track } from "../../core/events";
import type { FeedItem } from "../../core/types";
import type { Screen } from "../../main";
import { cardDeck, type CardDeck } from "./cards";
import { needsOnboarding, onboarding } from "./onboarding";
import { attach, loadHls, nativeHls, warmStart, type Attached } from "../../core/player";

interface Slide {
  item: FeedItem;
  el: HTMLElement;
  video: HTMLVideoElement;
  deck: CardDeck;
  attached: Attached | null;
  attaching: Promise<void> | null;
  shownAt: number;
  watchedMs: number;
  completed: boolean;
  liked: boolean;
  tagsAt: number;
  polls?: HTMLElement;
  pollsLoaded?: boolean;
}

let muted = true;

// 24×24 outline icons drawn inline (no icon font, no emoji font needed)
const ICONS = {
  comments: "M4 5h16v11H9l-5 4z",
  share: "M14 4l6 6-6 6M20 10H9a5 5 0 0 0-5 5v4",
  more: "M5 12h.01M12 12h.01M19 12h.01",
};

function svgIcon(d: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon-svg");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}
// comments, share, report, block and polls: loaded once the viewer reaches for them
const social = () => import("../social/index");

const screen: Screen = {
  async mount(root) {
    if (!nativeHls()) void loadHls(); // in parallel with the session and the first page
    const user = await api.ensureSession().catch((error) => {
      replace(root, h("p", { class: "feed-message", role: "alert" }, t("common.error", { detail: problemText(error) })));
      return null;
    });
    if (!user) return;
    let prefetched = takePrefetchedFeed();
    if ((user.is_guest || user.role === "viewer") && (await needsOnboarding(user.id))) {
      prefetched = null; // ranked before the interests were picked
      await onboarding(user.id);
    }

    const slides: Slide[] = [];
    let current = -1;
    let cursor: string | null = null;
    let exhausted = false;
    let loading: Promise<void> | null = null;
    let disposed = false;
    const list = h("div", { class: "feed", role: "feed", "aria-label": t("feed.label"), "aria-busy": "true" });
    const help = h("p", { class: "sr-only", id: "feed-help" }, t("feed.help"));
    const status = h("p", { class: "feed-message", hidden: true });
    replace(root, help, list, status);

    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting && entry.intersectionRatio >= 0.6) {
            const index = slides.findIndex((s) => s.el === entry.target);
            if (index >= 0 && index !== current) activate(index);
          }
        }
      },
      { root: list, threshold: [0.6] },
    );

    async function loadMore(): Promise<void> {
      if (exhausted || disposed) return;
      loading ??= (async () => {
        try {
          const first = !slides.length && !cursor ? prefetched : null;
          prefetched = null;
          const page = await (first ?? api.feed(cursor, slides.length ? 5 : 3));
          // the first clip's start is fetched all at once (no-op for what the shell fetched already)
          if (!slides.length && page.items[0]) warmStart(page.items[0].clip.playback);
          cursor = page.next_cursor;
          if (!page.next_cursor || !page.items.length) exhausted = true;
          for (const item of page.items) addSlide(item);
          list.setAttribute("aria-busy", "false");
          if (!slides.length) {
            status.hidden = false;
            status.textContent = t("feed.empty");
          } else if (exhausted) {
            list.appendChild(h("p", { class: "feed-end" }, t("feed.end")));
          }
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        } finally {
          loading = null;
        }
      })();
      return loading;
    }

    function addSlide(item: FeedItem): void {
      const index = slides.length;
      const video = h("video", {
        playsInline: true,
        muted: true,
        poster: index === 0 ? item.clip.poster_url || undefined : undefined,
        preload: "none",
        "aria-label": item.clip.caption || t("feed.label"),
        "webkit-playsinline": "",
      });
      video.muted = true;
      const slide: Slide = {
        item, el: h("article"), video, deck: cardDeck(item.clip.id, () => void refreshTags(slide)),
        attached: null, attaching: null, shownAt: 0, watchedMs: 0, completed: false, liked: false, tagsAt: performance.now(),
      };
      slide.deck.update(item.tags);
      const unmute = h("button", { type: "button", class: "unmute", onclick: () => setMuted(!muted) }, muted ? t("feed.unmute") : t("feed.mute"));
      const like = h(
        "button",
        {
          type: "button",
          class: "action like",
          "aria-pressed": "false",
          onclick: () => {
            slide.liked = !slide.liked;
            like.setAttribute("aria-pressed", String(slide.liked));
            likeLabel.textContent = slide.liked ? t("feed.liked") : t("feed.like");
            likeCount.textContent = String(item.clip.counts.likes + (slide.liked ? 1 : 0));
            track(slide.liked ? "like" : "unlike", { clip_id: item.clip.id });
          },
        },
        h("span", { class: "icon", "aria-hidden": "true" }, "♥"),
      );
      const likeLabel = h("span", { class: "sr-only" }, t("feed.like"));
      const likeCount = h("span", { class: "count", "aria-hidden": "true" }, String(item.clip.counts.likes));
      like.append(likeLabel, likeCount);
      const handle = item.clip.creator.handle;
      let following = false;
      const follow = handle
        ? h(
            "button",
            {
              type: "button",
              class: "follow",
              "aria-pressed": "false",
              onclick: async () => {
                following = !following;
                follow!.setAttribute("aria-pressed", String(following));
                follow!.textContent = following ? t("feed.following") : t("feed.follow");
                try {
                  await api.follow(handle, following);
                } catch (error) {
                  following = !following;
                  follow!.setAttribute("aria-pressed", String(following));
                  follow!.textContent = following ? t("feed.following") : t("feed.follow");
                  toast(t("common.error", { detail: problemText(error) }), "error");
                }
              },
            },
            t("feed.follow"),
          )
        : null;
      const clipRef = { id: item.clip.id, creatorId: item.clip.creator.id };
      const sideButton = (cls: string, icon: string, label: string, onclick: () => void, count?: number) =>
        h(
          "button",
          { type: "button", class: `action ${cls}`, "aria-label": label, onclick },
          svgIcon(icon),
          count !== undefined ? h("span", { class: "count", "aria-hidden": "true" }, String(count)) : null,
        );
      const comments = sideButton("comments", ICONS.comments, t("feed.comments"), () => void social().then((m) => m.commentsDialog(clipRef)));
      const share = sideButton("share", ICONS.share, t("feed.share"), () => void social().then((m) => m.shareDialog(item.clip.id)), item.clip.counts.shares);
      const more = sideButton("more", ICONS.more, t("feed.more"), () =>
        void social().then((m) => m.moreDialog({ id: item.clip.id, handle, creatorId: item.clip.creator.id })),
      );
      const polls = h("div", { class: "polls" });
      slide.polls = polls;
      const frame = h("div", { class: "frame" }, video, slide.deck.dots);
      frame.addEventListener("click", () => setMuted(!muted));
      slide.el = h(
        "article",
        {
          class: "slide",
          "aria-posinset": index + 1,
          "aria-setsize": -1,
          "aria-label": t("feed.clip", { n: index + 1, total: "…", caption: item.clip.caption || "" }),
          "aria-describedby": "feed-help",
          tabindex: 0,
          "data-clip": item.clip.id,
        },
        frame,
        unmute,
        h(
          "div",
          { class: "meta" },
          h(
            "p",
            { class: "creator" },
            handle
              ? h("a", { href: `/app/creators/${encodeURIComponent(handle)}`, "data-nav": "" }, `@${handle}`)
              : item.clip.creator.display_name || "",
            " ",
            follow,
          ),
          h("p", { class: "caption" }, item.clip.caption || ""),
          h("p", { class: "reason" }, item.reason.text),
          polls,
          slide.deck.element,
        ),
        h("div", { class: "side" }, like, comments, share, more),
      );
      video.addEventListener("timeupdate", () => {
        slide.deck.show(video.currentTime * 1000);
        if (slides[current] === slide) slide.watchedMs = Math.max(slide.watchedMs, video.currentTime * 1000);
      });
      video.addEventListener("loadedmetadata", () => placeDots(slide));
      video.addEventListener("ended", () => {
        if (!slide.completed) track("complete", { clip_id: item.clip.id, watch_ms: Math.round(video.duration * 1000), progress: 1 });
        else track("replay", { clip_id: item.clip.id });
        slide.completed = true;
        video.currentTime = 0;
        void video.play().catch(() => undefined);
      });
      slides.push(slide);
      list.appendChild(slide.el);
      observer.observe(slide.el);
      if (index === 0) activate(0);
      else if (index === current + 1 && slides[current]?.attached) void prepare(slide, true);
    }

    function placeDots(slide: Slide): void {
      const { video } = slide;
      const box = video.getBoundingClientRect();
      if (!video.videoWidth || !box.width) return;
      const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
      const w = video.videoWidth * scale;
      const hgt = video.videoHeight * scale;
      Object.assign(slide.deck.dots.style, {
        left: `${(box.width - w) / 2}px`, top: `${(box.height - hgt) / 2}px`, width: `${w}px`, height: `${hgt}px`,
      });
    }

    function prepare(slide: Slide, preload: boolean): Promise<void> {
      if (slide.attached) return Promise.resolve();
      if (!slide.video.poster && slide.item.clip.poster_url) slide.video.poster = slide.item.clip.poster_url;
      slide.attaching ??= attach(slide.video, slide.item.clip.playback, preload, () => {
        slide.el.querySelector(".frame")?.appendChild(h("p", { class: "feed-message" }, t("feed.playFailed")));
      }, slide === slides[0]).then((a) => {
        slide.attached = a;
        slide.el.dataset.player = a.kind;
      });
      return slide.attaching;
    }

    function release(slide: Slide): void {
      slide.attached?.detach();
      slide.attached = null;
      slide.attaching = null;
    }

    function leave(slide: Slide): void {
      slide.video.pause();
      const duration = slide.video.duration || (slide.item.clip.duration_ms ?? 0) / 1000;
      const watched = Math.round(slide.watchedMs);
      const progress = duration ? Math.min(1, watched / 1000 / duration) : 0;
      if (!slide.completed) {
        if (watched < 2000 && progress < 0.25) track("skip", { clip_id: slide.item.clip.id, watch_ms: watched, progress });
        else track("view_progress", { clip_id: slide.item.clip.id, watch_ms: watched, progress });
      }
    }

    function activate(index: number): void {
      if (index === current || !slides[index]) return;
      if (current >= 0 && slides[current]) leave(slides[current]);
      current = index;
      const slide = slides[index];
      slide.shownAt = performance.now();
      slide.watchedMs = 0;
      slide.completed = false;
      track("impression", { clip_id: slide.item.clip.id });
      announce(t("feed.clip", { n: index + 1, total: slides.length, caption: slide.item.clip.caption || "" }));
      void prepare(slide, true).then(() => {
        if (slides[current] !== slide) return;
        slide.video.muted = muted;
        void slide.video.play().catch(() => {
          // autoplay with sound refused: fall back to muted
          slide.video.muted = true;
          setMuted(true);
          void slide.video.play().catch(() => undefined);
        });
      });
      // the next clip is preloaded once this one plays (not competing with its first frame)
      const preloadNext = () => {
        if (slides[current] === slide && slides[index + 1]) void prepare(slides[index + 1], true);
      };
      slide.video.addEventListener("playing", preloadNext, { once: true });
      window.setTimeout(preloadNext, 1500);
      slides.forEach((other, i) => {
        if (Math.abs(i - index) > 2 && other.attached) release(other);
      });
      if (performance.now() - slide.tagsAt > 4000) void refreshTags(slide);
      if (!slide.pollsLoaded && slide.polls) {
        slide.pollsLoaded = true;
        const slot = slide.polls;
        // after the clip has started: polls never compete with its first frame
        window.setTimeout(() => void social().then((m) => m.mountPolls(slot, slide.item.clip.id)), 600);
      }
      if (slides.length - index <= 2) void loadMore();
    }

    function setMuted(next: boolean): void {
      muted = next;
      for (const s of slides) {
        s.video.muted = muted;
        const b = s.el.querySelector(".unmute");
        if (b) b.textContent = muted ? t("feed.unmute") : t("feed.mute");
      }
      if (!muted) announce(t("feed.soundOn"));
    }

    async function refreshTags(slide: Slide): Promise<void> {
      try {
        const tags = await api.clipTags(slide.item.clip.id);
        slide.tagsAt = performance.now();
        slide.deck.update(tags.items);
        slide.deck.show(slide.video.currentTime * 1000);
      } catch {
        /* keep the cards we have */
      }
    }

    function move(delta: number): void {
      const target = Math.max(0, Math.min(slides.length - 1, current + delta));
      slides[target]?.el.scrollIntoView({ behavior: "smooth", block: "start" });
      slides[target]?.el.focus({ preventScroll: true });
    }

    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, dialog")) return;
      if (["ArrowDown", "PageDown", "j"].includes(e.key)) {
        e.preventDefault();
        move(1);
      } else if (["ArrowUp", "PageUp", "k"].includes(e.key)) {
        e.preventDefault();
        move(-1);
      } else if (e.key === "m") setMuted(!muted);
    };
    document.addEventListener("keydown", onKey);
    const onResize = () => slides[current] && placeDots(slides[current]);
    window.addEventListener("resize", onResize);
    // live stock for the clip on screen
    const poll = window.setInterval(() => {
      if (document.visibilityState === "visible" && slides[current]) void refreshTags(slides[current]);
    }, 5000);

    await loadMore();
    return () => {
      disposed = true;
      if (current >= 0 && slides[current]) leave(slides[current]);
      void flush();
      window.clearInterval(poll);
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("resize", onResize);
      observer.disconnect();
      slides.forEach(release);
    };
  },
};

export default screen;
