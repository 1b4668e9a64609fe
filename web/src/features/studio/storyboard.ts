// Storyboard scrubbing for the tagging editor: the clip's WebVTT sprite (thumbnails every few
// seconds on one image) shown as a strip of frames to jump to, and as a preview above the playhead
// slider while it moves.
import { h } from "../../core/dom";
import { t } from "../../core/i18n";
import type { Storyboard } from "../../core/types";

export interface Tile {
  start: number; // seconds
  end: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(stamp: string): number {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** The cues of a storyboard VTT (`start --> end` then `sprite.jpg#xywh=x,y,w,h`). */
export function parseStoryboard(vtt: string, base: string): Tile[] {
  const tiles: Tile[] = [];
  const lines = vtt.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^\s*([\d:.]+)\s+-->\s+([\d:.]+)/);
    if (!m) continue;
    const target = (lines[i + 1] || "").trim();
    const hash = target.match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/);
    if (!hash) continue;
    tiles.push({
      start: seconds(m[1]),
      end: seconds(m[2]),
      url: new URL(hash[1], base).href,
      x: Number(hash[2]),
      y: Number(hash[3]),
      w: Number(hash[4]),
      h: Number(hash[5]),
    });
  }
  return tiles;
}

/** The tiles from the grid description alone (when the VTT cannot be read). */
export function gridTiles(board: Storyboard): Tile[] {
  return Array.from({ length: board.count }, (_, i) => ({
    start: i * board.interval_s,
    end: (i + 1) * board.interval_s,
    url: board.sprite,
    x: (i % board.columns) * board.tile_width,
    y: Math.floor(i / board.columns) * board.tile_height,
    w: board.tile_width,
    h: board.tile_height,
  }));
}

function paint(el: HTMLElement, tile: Tile, board: Storyboard, width: number): void {
  const scale = width / tile.w;
  Object.assign(el.style, {
    width: `${width}px`,
    height: `${Math.round(tile.h * scale)}px`,
    backgroundImage: `url("${tile.url}")`,
    backgroundPosition: `-${tile.x * scale}px -${tile.y * scale}px`,
    backgroundSize: `${board.columns * board.tile_width * scale}px ${board.rows * board.tile_height * scale}px`,
  });
}

export interface StoryboardUi {
  strip: HTMLElement;
  preview: HTMLElement;
  /** Shows the frame at `ms` above the slider (`ratio` of its width), or hides it. */
  show(ms: number | null, ratio?: number): void;
}

export async function storyboard(board: Storyboard, jump: (seconds: number) => void): Promise<StoryboardUi> {
  let tiles: Tile[] = [];
  try {
    const res = await fetch(board.vtt);
    if (res.ok) tiles = parseStoryboard(await res.text(), board.vtt);
  } catch {
    /* the grid below */
  }
  if (!tiles.length) tiles = gridTiles(board);
  const preview = h("div", { class: "storyboard-preview", hidden: true, "aria-hidden": "true" }, h("span", { class: "sb-frame" }), h("span", { class: "sb-time" }));
  const strip = h(
    "ul",
    { class: "storyboard", "aria-label": t("tag.storyboard") },
    tiles.map((tile) => {
      const frame = h("span", { class: "sb-frame", "aria-hidden": "true" });
      paint(frame, tile, board, 64);
      return h(
        "li",
        null,
        h("button", { type: "button", class: "sb-tile", "aria-label": t("tag.jumpTo", { s: tile.start.toFixed(1) }), onclick: () => jump(tile.start) }, frame, h("span", { class: "sb-label", "aria-hidden": "true" }, `${tile.start.toFixed(0)} s`)),
      );
    }),
  );
  return {
    strip,
    preview,
    show(ms, ratio = 0) {
      if (ms === null) {
        preview.hidden = true;
        return;
      }
      const s = ms / 1000;
      const tile = tiles.find((x) => s >= x.start && s < x.end) ?? tiles[tiles.length - 1];
      if (!tile) return;
      paint(preview.firstElementChild as HTMLElement, tile, board, 96);
      (preview.lastElementChild as HTMLElement).textContent = `${s.toFixed(1)} s`;
      preview.style.left = `${Math.min(100, Math.max(0, ratio * 100))}%`;
      preview.hidden = false;
    },
  };
}
