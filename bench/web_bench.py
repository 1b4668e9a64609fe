"""Web client: the feed page's first-load weight and the time to the first frame of the first clip.

Starts the service on a free loopback port (its own SQLite file and media folder, the demo data
from ``clipshop seed-demo``, the client built by ``web/build.mjs``) unless ``--base-url`` points
at a running one, then loads the feed in Debian's headless Chromium (Playwright), each run with a
cold HTTP cache:

- **first-load bytes**: the encoded (compressed, on-the-wire) size of every request made before the
  first frame, except the video itself (playlists, segments, MP4);
- **time to first frame**: navigation start -> the first clip's first decoded frame presented
  (``requestVideoFrameCallback``);
- the same with ``/?player=hlsjs`` (hls.js, as in browsers without native HLS);
- **baseline** in the same run: a blank page with a bare ``<video>`` of the same clip's MP4
  rendition (the floor any client pays for that clip on this machine).

Runs as a returning guest (the onboarding dialog was answered on the first visit). ``--latency``
adds that many ms to each request the browser sends (DevTools network emulation; what the browser
answers from its cache is not delayed): the shape of the request waterfall, which loopback hides.
``--waterfall`` prints one cold load's requests and the video's milestones in order.

    .venv/bin/python -m bench.web_bench [--runs 5] [--base-url http://127.0.0.1:8000] [--latency 50] [--waterfall]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
VIDEO_SUFFIXES = (".m3u8", ".ts", ".m4s", ".mp4", ".aac", ".m4a")

FIRST_FRAME_PROBE = """
(() => {
  window.__firstFrame = null;
  window.__milestones = [];
  const mark = (what) => window.__milestones.push([performance.now(), what]);
  document.addEventListener("DOMContentLoaded", () => mark("DOMContentLoaded"));
  const watch = (video) => {
    if (video.__watched) return;
    video.__watched = true;
    mark("first <video> in the page");
    for (const type of ["loadstart", "loadedmetadata", "loadeddata", "canplay", "play", "playing"])
      video.addEventListener(type, () => mark("video " + type), { once: true });
    video.requestVideoFrameCallback(() => { if (window.__firstFrame === null) window.__firstFrame = performance.now(); });
  };
  new MutationObserver(() => { const v = document.querySelector('video'); if (v) watch(v); })
    .observe(document, {childList: true, subtree: true});
})();
"""


@contextmanager
def served(base_url: str | None) -> Iterator[str]:
    if base_url:
        yield base_url.rstrip("/")
        return
    root = Path(tempfile.mkdtemp(prefix="clipshop-web-bench-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    dist = root / "dist"
    subprocess.run(["node", "build.mjs"], cwd=ROOT / "web", check=True, env={**os.environ, "CLIPSHOP_WEB_OUT": str(dist)})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOP_")} | {
        "CLIPSHOP_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
        "CLIPSHOP_MEDIA_ROOT": str(root / "media"),
        "CLIPSHOP_PUBLIC_BASE_URL": url,
        "CLIPSHOP_WEB_DIST_DIR": str(dist),
        "CLIPSHOP_LOG_LEVEL": "WARNING",
    }
    print("seeding the demo data (transcodes a few clips)...", flush=True)
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "app", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def measure(page: Any, cdp: Any, url: str) -> tuple[float, int, int]:
    """(ms to first frame, bytes without video, bytes of video) for one cold load of ``url``."""
    cdp.send("Network.clearBrowserCache")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    sent: dict[str, float] = {}  # epoch ms
    cdp.on("Network.requestWillBeSent", lambda e: sent.setdefault(e["requestId"], e["wallTime"] * 1000))
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url)
    try:
        page.wait_for_function("() => window.__firstFrame !== null", timeout=60_000)
    except Exception:
        state = page.evaluate(
            "() => [location.href, [...document.querySelectorAll('.slide')].map(s => [s.dataset.player,"
            " s.querySelector('video').readyState, s.querySelector('video').paused])]"
        )
        raise RuntimeError(f"no first frame on {url}: {state}") from None
    first_frame = float(page.evaluate("() => window.__firstFrame"))
    frame_at = float(page.evaluate("() => performance.timeOrigin + window.__firstFrame"))
    page.wait_for_timeout(300)  # let the responses of the first frame finish
    video = other = 0
    for request_id, size in sizes.items():
        if sent.get(request_id, 0.0) > frame_at:
            continue  # asked for after the first frame (the next clip, polls...): not the first load
        address = urls.get(request_id, "").split("?")[0]
        if address.endswith(VIDEO_SUFFIXES):
            video += size
        else:
            other += size
    return first_frame, other, video


def waterfall(page: Any, cdp: Any, url: str) -> list[tuple[float, float, float, int, str]]:
    """One cold load of ``url``: (start, first byte, end, bytes, address) of each request in ms from
    navigation start (``(cache)`` after the address: answered by the browser's HTTP cache), and a
    last row for the first frame."""
    cdp.send("Network.clearBrowserCache")
    rows: dict[str, dict[str, Any]] = {}

    def sent(e: dict[str, Any]) -> None:
        rows.setdefault(e["requestId"], {"url": e["request"]["url"], "t0": e["timestamp"]})

    def answered(e: dict[str, Any]) -> None:
        row = rows.get(e["requestId"], {})
        row["t1"] = e["timestamp"]
        row["cache"] = bool(e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache"))

    def finished(e: dict[str, Any]) -> None:
        rows.get(e["requestId"], {}).update(t2=e["timestamp"], size=int(e["encodedDataLength"]))

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", answered)
    cdp.on("Network.loadingFinished", finished)
    page.goto(url)
    page.wait_for_function("() => window.__firstFrame !== null", timeout=60_000)
    page.wait_for_timeout(300)
    first_frame = float(page.evaluate("() => window.__firstFrame"))
    document = url.split("?")[0]
    navigation = min((r["t0"] for r in rows.values() if r["url"].split("?")[0] == document), default=0.0)
    origin = document.rsplit("/", 1)[0]
    out = []
    for row in sorted(rows.values(), key=lambda r: r["t0"]):
        at = [(row[k] - navigation) * 1000 if k in row else float("nan") for k in ("t0", "t1", "t2")]
        address = row["url"].removeprefix(origin)[:100] + (" (cache)" if row.get("cache") else "")
        out.append((at[0], at[1], at[2], int(row.get("size", 0)), address))
    for at, what in page.evaluate("() => window.__milestones"):
        if at <= first_frame:
            out.append((at, at, at, 0, f"({what})"))
    out.append((first_frame, first_frame, first_frame, 0, "(first frame presented)"))
    return sorted(out, key=lambda row: row[0])


def baseline(page: Any, cdp: Any, url: str, mp4_url: str) -> float:
    """ms from inserting a bare autoplaying <video> of the MP4 to its first frame (cold cache)."""
    cdp.send("Network.clearBrowserCache")
    page.goto(f"{url}/healthz")
    return float(
        page.evaluate(
            """(src) => new Promise(done => { const v = document.createElement('video');
                 v.muted = true; v.autoplay = true; v.playsInline = true; const t0 = performance.now();
                 v.requestVideoFrameCallback(() => done(performance.now() - t0));
                 v.src = src; document.body.appendChild(v); })""",
            mp4_url,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-url", default=None, help="a running ClipShop (default: start one)")
    parser.add_argument("--waterfall", action="store_true", help="also print one cold load's requests, in order")
    parser.add_argument(
        "--latency", type=float, default=0.0,
        help="ms added to each request by the browser (DevTools network emulation; cache hits are not delayed)",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with served(args.base_url) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"]
        )
        def returning_guest() -> tuple[Any, Any]:
            """A new guest who answered the onboarding on a first visit (each run has its own:
            the feed never shows a viewer the same clip twice, and the demo has few clips)."""
            context = browser.new_context(viewport={"width": 390, "height": 844})
            context.add_init_script(FIRST_FRAME_PROBE)
            page = context.new_page()
            page.goto(f"{url}/")
            page.get_by_role("button", name="Skip").click()
            page.wait_for_function("() => window.__firstFrame !== null", timeout=60_000)
            return context, page

        def slow(cdp: Any) -> None:
            if args.latency:
                cdp.send(
                    "Network.emulateNetworkConditions",
                    {"offline": False, "latency": args.latency, "downloadThroughput": -1, "uploadThroughput": -1},
                )

        def cold(path: str) -> tuple[float, int, int]:
            context, page = returning_guest()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            slow(cdp)
            try:
                return measure(page, cdp, f"{url}{path}")
            finally:
                context.close()

        context, page = returning_guest()
        clip_id = page.evaluate("() => document.querySelector('.slide').dataset.clip")
        item = page.evaluate(
            "async (id) => { const s = JSON.parse(localStorage.getItem('clipshop.auth'));"
            " const r = await fetch('/v1/clips/' + id, {headers: {Authorization: 'Bearer ' + s.access}}); return r.json(); }",
            clip_id,
        )
        mp4_url = item["playback"]["mp4"]
        if args.waterfall:
            for path in ("/", "/?player=hlsjs"):
                wf_context, wf_page = returning_guest()
                wf_cdp = wf_context.new_cdp_session(wf_page)
                wf_cdp.send("Network.enable")
                slow(wf_cdp)
                print(f"\nrequests of one cold load of {path} (ms from navigation start)")
                print(f"{'start':>7} {'1st byte':>8} {'end':>7} {'bytes':>8}  address")
                for start, first_byte, end, size, address in waterfall(wf_page, wf_cdp, f"{url}{path}"):
                    print(f"{start:>7.0f} {first_byte:>8.0f} {end:>7.0f} {size:>8}  {address}")
                wf_context.close()
        app_runs: list[tuple[float, int, int]] = []
        hlsjs_runs: list[tuple[float, int, int]] = []
        base_runs: list[float] = []
        for _ in range(args.runs):
            app_runs.append(cold("/"))
            hlsjs_runs.append(cold("/?player=hlsjs"))
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            slow(cdp)
            base_runs.append(baseline(page, cdp, url, mp4_url))
            cdp.detach()
        browser.close()

    def med(runs: list[tuple[float, int, int]], i: int) -> float:
        return statistics.median(r[i] for r in runs)

    added = f", {args.latency:.0f} ms added to each request" if args.latency else ""
    print(f"\nfeed page, {args.runs} cold loads each (medians){added}")
    print(f"{'':38} {'first frame':>12} {'bytes (no video)':>17} {'video bytes':>12}")
    print(f"{'web client feed (/)':38} {med(app_runs, 0):>9.0f} ms {med(app_runs, 1) / 1024:>13.1f} KiB {med(app_runs, 2) / 1024:>8.1f} KiB")
    print(f"{'web client feed, hls.js (/?player=hlsjs)':38} {med(hlsjs_runs, 0):>9.0f} ms {med(hlsjs_runs, 1) / 1024:>13.1f} KiB {med(hlsjs_runs, 2) / 1024:>8.1f} KiB")
    print(f"{'baseline: bare <video> of the same MP4':38} {statistics.median(base_runs):>9.0f} ms")
    print("goals: first load <= 200 KiB compressed without video; first frame <= 1500 ms")


if __name__ == "__main__":
    main()
