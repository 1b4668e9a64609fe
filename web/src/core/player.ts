// Attaches a clip's media to a <video>: native HLS where the browser has it, hls.js (loaded on
// demand) where Media Source Extensions exist, the MP4 rendition otherwise.
import type HlsType from "hls.js";

type HlsCtor = typeof HlsType;

/** `?player=hlsjs` (or `mp4`) forces a player, e.g. to try hls.js in a browser with native HLS. */
const forced = new URLSearchParams(location.search).get("player");

export function nativeHls(): boolean {
  return forced !== "hlsjs" && forced !== "mp4" && document.createElement("video").canPlayType("application/vnd.apple.mpegurl") !== "";
}
let hlsModule: Promise<HlsCtor | null> | null = null;

export function loadHls(): Promise<HlsCtor | null> {
  hlsModule ??= import("hls.js/light")
    .then((m) => (m.default.isSupported() ? m.default : null))
    .catch(() => null);
  return hlsModule;
}

/** Whether this browser plays HLS at all (natively, or with hls.js over Media Source Extensions). */
function playsHls(): boolean {
  if (forced === "mp4") return false;
  const mse = (window as { MediaSource?: { isTypeSupported(type: string): boolean } }).MediaSource;
  return nativeHls() || !!mse?.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"');
}

/** What was requested already: here, or by the shell's inline script while the code downloaded. */
const warmed = new Set<string>();
const warmedByShell = () => (window as { __clipshopWarmed?: string[] }).__clipshopWarmed ?? [];

/**
 * Starts downloading what a player of the master playlist fetches first (the master, the lowest
 * rung's media playlist and its first segment) all at once, instead of one after the other as the
 * player discovers them: the player then finds them in the HTTP cache (public media is cacheable).
 * Without a start segment in the feed item (older clips), it is read from the media playlist.
 */
export function warmStart(playback: Playback): void {
  const { hls_url: master, hls_start_playlist_url: start, hls_start_segment_url: segment } = playback;
  if (!master || !start || !playsHls()) return;
  const get = (url: string) => {
    if (warmed.has(url) || warmedByShell().includes(url)) return null;
    warmed.add(url);
    return fetch(url, { credentials: "same-origin" });
  };
  const read = (url: string, as: "text" | "arrayBuffer") =>
    get(url)?.then((r): Promise<unknown> => (as === "text" ? r.text() : r.arrayBuffer())).catch(() => undefined);
  void read(master, "text");
  if (segment) {
    void read(start, "text");
    void read(segment, "arrayBuffer");
    return;
  }
  void get(start)
    ?.then((r) => (r.ok ? r.text() : ""))
    .then((text) => {
      const first = text.split("\n").find((line) => line.trim() && !line.startsWith("#"));
      if (first) void read(new URL(first.trim(), start).href, "arrayBuffer");
    })
    .catch(() => undefined);
}

export interface Playback {
  hls_url: string | null;
  mp4_url: string | null;
  hls_start_playlist_url?: string | null;
  hls_start_segment_url?: string | null;
}

export interface Attached {
  detach(): void;
  kind: "native-hls" | "hls.js" | "mp4" | "none";
}

/** ``first``: the first clip of a page load, started on the lowest rung (what was warmed). */
export async function attach(
  video: HTMLVideoElement,
  sources: Playback,
  preload: boolean,
  onFatal: () => void,
  first = false,
): Promise<Attached> {
  video.preload = preload ? "auto" : "metadata";
  const { hls_url: hls, mp4_url: mp4 } = sources;
  if (forced === "mp4" && mp4) {
    video.src = mp4;
    return { kind: "mp4", detach: () => unload(video) };
  }
  if (hls && nativeHls()) {
    video.src = hls;
    return { kind: "native-hls", detach: () => unload(video) };
  }
  const Hls = hls ? await loadHls() : null;
  if (hls && Hls) {
    const player = new Hls({
      capLevelToPlayerSize: true,
      startLevel: first ? 0 : -1, // after the start, adaptive as usual
      maxBufferLength: preload ? 6 : 10,
      autoStartLoad: true,
    });
    let fellBack = false;
    player.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal || fellBack) return;
      fellBack = true;
      player.destroy();
      if (mp4) video.src = mp4;
      else onFatal();
    });
    player.loadSource(hls);
    player.attachMedia(video);
    return {
      kind: "hls.js",
      detach: () => {
        player.destroy();
        unload(video);
      },
    };
  }
  if (mp4) {
    video.src = mp4;
    return { kind: "mp4", detach: () => unload(video) };
  }
  onFatal();
  return { kind: "none", detach: () => undefined };
}

function unload(video: HTMLVideoElement): void {
  video.pause();
  video.removeAttribute("src");
  video.load();
}
