// Builds the web client into ../app/web/dist: hashed bundles (code-split per screen), index.html
// and a gzip copy of each (the server sends it to browsers that accept gzip).
import * as esbuild from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.env.CLIPSHOP_WEB_OUT || join(here, "..", "app", "web", "dist"));
const assets = join(out, "assets");
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.ts")],
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  outdir: assets,
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

let mainJs = "";
let mainCss = "";
let feedJs = "";
const outputs = result.metafile.outputs;
let hlsJs = "";
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint?.endsWith("src/main.ts") && file.endsWith(".js")) mainJs = file;
  if (/^hls[.-]/.test(file.split("/").pop()) && file.endsWith(".js")) hlsJs = file.split("/").pop();
  if (meta.entryPoint?.endsWith("features/feed/feed.ts") && file.endsWith(".js")) feedJs = file;
  if (file.endsWith(".css")) mainCss = file.split("/").pop();
}
if (!hlsJs) throw new Error("no hls.js chunk in the build");
// The feed is the home page: its chunk and everything it imports statically are preloaded with
// the shell, so they download in parallel instead of one after the other.
const preload = new Set();
const walk = (file) => {
  if (!file || preload.has(file)) return;
  preload.add(file);
  for (const imported of outputs[file]?.imports ?? []) if (imported.kind === "import-statement") walk(imported.path);
};
walk(mainJs);
walk(feedJs);
const base = (file) => file.split("/").pop();
const preloadLinks = [...preload].map((file) => `<link rel="modulepreload" href="/app/assets/${base(file)}">`).join("\n");
mainJs = base(mainJs);
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0d0d12">
<title>ClipShop</title>
<link rel="icon" href="data:,">
<script>
// On the feed: a returning viewer's first feed page starts downloading with the page itself, then
// the start of its first clip (the master, the lowest rung's playlist and first segment together,
// not one after the other: the player finds them in the HTTP cache) and its poster; hls.js starts
// downloading at once where the browser has no native HLS. Before the stylesheet, which would hold
// this script back until it has loaded; the feed is asked for before the media checks, which can
// take a while on their first call.
(function () {
  try {
    if (!/^\\/(app\\/?(feed\\/?)?)?$/.test(location.pathname)) return;
    var s = JSON.parse(localStorage.getItem("clipshop.auth") || "null");
    var feed = s && localStorage.getItem("clipshop.onboarded." + s.user.id)
      ? (window.__clipshopFeed = fetch("/v1/feed?limit=3", { headers: { Authorization: "Bearer " + s.access, "X-Device-Id": localStorage.getItem("clipshop.device") || "" } })
          .then(function (r) { return r.ok ? r.json() : null; }))
      : null;
    var forced = new URLSearchParams(location.search).get("player");
    var native = forced !== "hlsjs" && forced !== "mp4" && document.createElement("video").canPlayType("application/vnd.apple.mpegurl") !== "";
    var mse = !native && forced !== "mp4" && !!window.MediaSource && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"');
    if (mse) {
      var hls = document.createElement("link");
      hls.rel = "modulepreload";
      hls.href = "/app/assets/${hlsJs}";
      document.head.appendChild(hls);
    }
    if (!feed) return;
    var warmed = (window.__clipshopWarmed = []);
    var get = function (url, read) {
      warmed.push(url);
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r[read](); }).catch(function () {});
    };
    feed.then(function (page) {
      var clip = page && page.items && page.items[0] && page.items[0].clip;
      var p = clip && clip.playback;
      if (p && (native || mse) && p.hls_url && p.hls_start_playlist_url && p.hls_start_segment_url) {
        get(p.hls_url, "text");
        get(p.hls_start_playlist_url, "text");
        get(p.hls_start_segment_url, "arrayBuffer");
      }
      if (clip && clip.poster_url) new Image().src = clip.poster_url;
    }, function () {});
  } catch (e) {}
})();
</script>
<link rel="stylesheet" href="/app/assets/${mainCss}">
${preloadLinks}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div id="root"><noscript>ClipShop needs JavaScript.</noscript></div>
<script type="module" src="/app/assets/${mainJs}"></script>
</body>
</html>
`;
writeFileSync(join(out, "index.html"), html);
writeFileSync(join(out, "index.html.gz"), gzipSync(html, { level: 9 }));

let total = 0;
for (const name of readdirSync(assets)) {
  const data = readFileSync(join(assets, name));
  const gz = gzipSync(data, { level: 9 });
  writeFileSync(join(assets, name + ".gz"), gz);
  total += gz.length;
}
console.log(`web client built in ${out} (${readdirSync(assets).length / 2} files, ${Math.round(total / 1024)} KiB gzip)`);
