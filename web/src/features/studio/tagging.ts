// Tagging editor: scrub the clip, search the catalogue, place a product from time A to B and at
// a point on the frame; accept or reject the tags merchants proposed.
import { api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { money, t } from "../../core/i18n";
import { attach, type Attached } from "../../core/player";
import type { Clip, Product, Tag } from "../../core/types";
import type { Screen } from "../../main";
import { stockText } from "../feed/cards";
import { failureText } from "./studio";

const seconds = (ms: number) => (ms / 1000).toFixed(1);

const screen: Screen = {
  async mount(root, params) {
    let clip: Clip;
    try {
      clip = await api.clip(params.clip);
    } catch (error) {
      replace(root, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
      return;
    }
    const durationMs = clip.duration_ms ?? 0;
    let chosenProduct: Product | null = null;
    let point: { x: number; y: number } | null = null;
    let attached: Attached | null = null;

    const video = h("video", { playsInline: true, muted: true, controls: true, preload: "auto", poster: clip.playback.poster || undefined, "aria-label": clip.caption || t("tag.title") });
    const marker = h("span", { class: "dot", hidden: true, "aria-hidden": "true" });
    const frame = h("div", { class: "editor-frame" }, video, marker);
    const scrub = h("input", { id: "tag-scrub", type: "range", min: 0, max: durationMs, step: 100, value: 0 });
    const scrubOut = h("output", { for: "tag-scrub" }, "0.0 s");
    const search = h("input", { id: "tag-search", type: "search", autocomplete: "off", placeholder: "hoodie, serum…" });
    const results = h("ul", { class: "results", "aria-live": "polite" });
    const chosen = h("p", { class: "chosen", "aria-live": "polite" });
    const skuSelect = h("select", { id: "tag-sku", required: true });
    const start = h("input", { id: "tag-start", type: "number", min: 0, step: 0.1, value: "0", max: seconds(durationMs) });
    const end = h("input", { id: "tag-end", type: "number", min: 0.1, step: 0.1, value: seconds(durationMs), max: seconds(durationMs) });
    const x = h("input", { id: "tag-x", type: "number", min: 0, max: 1, step: 0.01, placeholder: "0–1" });
    const y = h("input", { id: "tag-y", type: "number", min: 0, max: 1, step: 0.01, placeholder: "0–1" });
    const pointHint = h("p", { class: "muted small" }, t("tag.noPoint"));
    const label = h("input", { id: "tag-label", maxLength: 80 });
    const tagList = h("ul", { class: "tag-list" });

    function setPoint(p: { x: number; y: number } | null): void {
      point = p;
      marker.hidden = !p;
      if (p) {
        Object.assign(marker.style, { left: `${p.x * 100}%`, top: `${p.y * 100}%` });
        x.value = p.x.toFixed(2);
        y.value = p.y.toFixed(2);
        pointHint.textContent = t("tag.point", { x: p.x.toFixed(2), y: p.y.toFixed(2) });
      } else pointHint.textContent = t("tag.noPoint");
    }

    frame.addEventListener("click", (e) => {
      const box = video.getBoundingClientRect();
      if (!video.videoWidth) return;
      const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
      const w = video.videoWidth * scale;
      const hh = video.videoHeight * scale;
      const left = box.left + (box.width - w) / 2;
      const top = box.top + (box.height - hh) / 2;
      const px = (e.clientX - left) / w;
      const py = (e.clientY - top) / hh;
      if (px < 0 || px > 1 || py < 0 || py > 1 || e.clientY > box.bottom - 40) return; // not on the picture or on the controls
      setPoint({ x: Math.round(px * 100) / 100, y: Math.round(py * 100) / 100 });
    });
    const fromInputs = () => {
      const px = parseFloat(x.value);
      const py = parseFloat(y.value);
      if (px >= 0 && px <= 1 && py >= 0 && py <= 1) setPoint({ x: px, y: py });
    };
    x.addEventListener("change", fromInputs);
    y.addEventListener("change", fromInputs);

    scrub.addEventListener("input", () => {
      video.currentTime = Number(scrub.value) / 1000;
      scrubOut.textContent = `${seconds(Number(scrub.value))} s`;
    });
    video.addEventListener("timeupdate", () => {
      scrub.value = String(Math.round(video.currentTime * 1000));
      scrubOut.textContent = `${seconds(video.currentTime * 1000)} s`;
      // keep the marker positioned on the picture
    });

    function choose(product: Product): void {
      chosenProduct = product;
      chosen.textContent = t("tag.chosen", { title: product.title });
      replace(
        skuSelect,
        product.skus.map((s) =>
          h(
            "option",
            { value: s.id, disabled: !s.active },
            [s.sku, Object.values(s.options).join(" / "), money(s.price_minor, s.currency), stockText(s)].filter(Boolean).join(" · "),
          ),
        ),
      );
      if (!label.value) label.value = product.title.slice(0, 80);
      skuSelect.focus();
    }

    let searchTimer = 0;
    let searchSeq = 0;
    async function runSearch(): Promise<void> {
      const seq = ++searchSeq;
      try {
        const page = await api.browseProducts(search.value.trim());
        if (seq !== searchSeq) return;
        replace(
          results,
          page.items.length
            ? page.items.map((p) =>
                h(
                  "li",
                  null,
                  p.images[0] ? h("img", { src: p.images[0].url, alt: "", width: 40, height: 40 }) : null,
                  h("span", null, p.title, p.brand ? h("small", null, ` · ${p.brand}`) : null),
                  h("button", { type: "button", onclick: () => choose(p), "aria-label": `${t("tag.pick")}: ${p.title}` }, t("tag.pick")),
                ),
              )
            : h("li", { class: "muted" }, t("common.none")),
        );
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    }
    search.addEventListener("input", () => {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(() => void runSearch(), 200);
    });

    async function loadTags(): Promise<void> {
      const tags = (await api.clipTags(clip.id)).items;
      replace(
        tagList,
        tags.length
          ? tags.map((tag: Tag) =>
              h(
                "li",
                { class: `tag-row ${tag.status}`, "data-tag": tag.id },
                h("p", null, h("strong", null, tag.label || tag.title), ` · ${tag.sku} · ${seconds(tag.start_ms)}–${seconds(tag.end_ms)} s`,
                  tag.x !== null && tag.y !== null ? ` · (${tag.x.toFixed(2)}, ${tag.y.toFixed(2)})` : "",
                  ` · ${money(tag.price_minor, tag.currency)} · ${stockText(tag)}`),
                tag.status === "pending" ? h("p", { class: "notice" }, t("tag.pending")) : null,
                h(
                  "div",
                  { class: "row" },
                  tag.status === "pending"
                    ? [
                        h("button", { type: "button", onclick: () => act(() => api.acceptTag(clip.id, tag.id)) }, t("tag.accept")),
                        h("button", { type: "button", onclick: () => act(() => api.rejectTag(clip.id, tag.id)) }, t("tag.reject")),
                      ]
                    : h("button", { type: "button", class: "ghost", onclick: () => act(() => api.removeTag(clip.id, tag.id)) }, t("tag.remove")),
                ),
              ),
            )
          : h("li", { class: "muted" }, t("common.none")),
      );
    }
    async function act(run: () => Promise<unknown>): Promise<void> {
      try {
        await run();
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
      await loadTags();
    }

    const form = h(
      "form",
      {
        class: "card-form",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          if (!chosenProduct || !skuSelect.value) {
            search.focus();
            return;
          }
          const body: Record<string, unknown> = {
            sku_id: skuSelect.value,
            start_ms: Math.round(parseFloat(start.value) * 1000),
            end_ms: Math.min(durationMs, Math.round(parseFloat(end.value) * 1000)),
            label: label.value || null,
          };
          if (point) Object.assign(body, point);
          try {
            await api.addTag(clip.id, body);
            toast(t("tag.added"));
            announce(t("tag.added"));
            await loadTags();
          } catch (error) {
            toast(t("common.error", { detail: problemText(error) }), "error");
          }
        },
      },
      h("label", { for: "tag-search" }, t("tag.search")),
      search,
      results,
      chosen,
      h("label", { for: "tag-sku" }, t("tag.sku")),
      skuSelect,
      h(
        "div",
        { class: "row" },
        h("div", null, h("label", { for: "tag-start" }, t("tag.start")), start),
        h("button", { type: "button", onclick: () => (start.value = seconds(video.currentTime * 1000)) }, t("tag.setStart")),
      ),
      h(
        "div",
        { class: "row" },
        h("div", null, h("label", { for: "tag-end" }, t("tag.end")), end),
        h("button", { type: "button", onclick: () => (end.value = seconds(video.currentTime * 1000)) }, t("tag.setEnd")),
      ),
      h("fieldset", { class: "row" }, h("legend", null, pointHint), h("div", null, h("label", { for: "tag-x" }, "x"), x), h("div", null, h("label", { for: "tag-y" }, "y"), y)),
      h("label", { for: "tag-label" }, t("tag.label")),
      label,
      h("button", { type: "submit", class: "primary" }, t("tag.add")),
    );

    replace(
      root,
      h("p", null, h("a", { href: "/app/studio", "data-nav": "" }, `← ${t("studio.title")}`)),
      h("h1", null, t("tag.title"), ": ", clip.caption || clip.id.slice(0, 8)),
      clip.status === "failed" ? h("p", { role: "alert" }, failureText(clip)) : null,
      h(
        "div",
        { class: "editor" },
        h("div", { class: "editor-player" }, frame, h("label", { for: "tag-scrub" }, t("tag.scrub")), h("div", { class: "row" }, scrub, scrubOut)),
        h("div", null, form, h("h2", null, t("tag.list")), tagList),
      ),
    );
    const board = clip.playback.storyboard;
    if (board && board.count > 0) {
      // scrub with the storyboard: a preview over the slider while it moves, a strip to jump from
      const ui = await (await import("./storyboard")).storyboard(board, (s) => {
        video.currentTime = s;
        scrub.value = String(Math.round(s * 1000));
        scrubOut.textContent = `${seconds(s * 1000)} s`;
      });
      const track = scrub.parentElement as HTMLElement;
      track.classList.add("scrub-track");
      track.append(ui.preview);
      track.after(ui.strip);
      let dragging = false;
      const at = (e: PointerEvent) => {
        const box = scrub.getBoundingClientRect();
        const ratio = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
        return { ratio, ms: ratio * durationMs };
      };
      scrub.addEventListener("pointermove", (e) => {
        const { ratio, ms } = at(e);
        ui.show(ms, ratio);
      });
      scrub.addEventListener("pointerdown", () => (dragging = true));
      scrub.addEventListener("pointerleave", () => !dragging && ui.show(null));
      scrub.addEventListener("pointerup", () => {
        dragging = false;
        ui.show(null);
      });
      scrub.addEventListener("input", () => ui.show(Number(scrub.value), durationMs ? Number(scrub.value) / durationMs : 0));
      scrub.addEventListener("blur", () => ui.show(null));
      scrub.addEventListener("change", () => window.setTimeout(() => ui.show(null), 800));
    }
    attached = await attach(video, { hls_url: clip.playback.hls, mp4_url: clip.playback.mp4 }, true, () => undefined);
    void runSearch();
    await loadTags();
    return () => attached?.detach();
  },
};

export default screen;
