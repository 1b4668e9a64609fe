// Builds the web client into ../app/web/dist: hashed bundles (code-split per screen), a gzip
// copy of each (the server sends it to browsers that accept gzip) and index.html.
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
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint?.endsWith("src/main.ts") && file.endsWith(".js")) mainJs = file;
  if (meta.entryPoint?.endsWith("features/feed/feed.ts") && file.endsWith(".js")) feedJs = file;
  if (file.endsWith(".css")) mainCss = file.split("/").pop();
}
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
<link rel="stylesheet" href="/app/assets/${mainCss}">
${preloadLinks}
<script>
// a returning viewer's first feed page starts downloading with the page itself
try {
  var s = JSON.parse(localStorage.getItem("clipshop.auth") || "null");
  if (s && /^\\/(app\\/?(feed\\/?)?)?$/.test(location.pathname) && localStorage.getItem("clipshop.onboarded." + s.user.id)) {
    window.__clipshopFeed = fetch("/v1/feed?limit=3", { headers: { Authorization: "Bearer " + s.access, "X-Device-Id": localStorage.getItem("clipshop.device") || "" } });
  }
} catch (e) {}
</script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div id="root"><noscript>ClipShop needs JavaScript.</noscript></div>
<script type="module" src="/app/assets/${mainJs}"></script>
</body>
</html>
`;
writeFileSync(join(out, "index.html"), html);

let total = 0;
for (const name of readdirSync(assets)) {
  const data = readFileSync(join(assets, name));
  const gz = gzipSync(data, { level: 9 });
  writeFileSync(join(assets, name + ".gz"), gz);
  total += gz.length;
}
console.log(`web client built in ${out} (${readdirSync(assets).length / 2} files, ${Math.round(total / 1024)} KiB gzip)`);
