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

export interface Attached {
  detach(): void;
  kind: "native-hls" | "hls.js" | "mp4" | "none";
}

export async function attach(
  video: HTMLVideoElement,
  sources: { hls_url: string | null; mp4_url: string | null },
  preload: boolean,
  onFatal: () => void,
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
      startLevel: -1,
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
