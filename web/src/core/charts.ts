// Small inline-SVG charts (no chart library): a line chart over days and horizontal bars. Each
// chart has a text alternative, and the figures it draws are in a table next to it.
import { h } from "./dom";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export interface Point {
  label: string;
  value: number;
}

/** A line chart of `points` (oldest first) with its smallest and largest values marked. */
export function lineChart(points: Point[], title: string, format: (n: number) => string): HTMLElement {
  const width = 600;
  const height = 180;
  const pad = { left: 8, right: 8, top: 16, bottom: 22 };
  const max = Math.max(0, ...points.map((p) => p.value));
  const min = Math.min(0, ...points.map((p) => p.value));
  const span = max - min || 1;
  const x = (i: number) => pad.left + (points.length > 1 ? (i / (points.length - 1)) * (width - pad.left - pad.right) : (width - pad.left - pad.right) / 2);
  const y = (v: number) => pad.top + (1 - (v - min) / span) * (height - pad.top - pad.bottom);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const area = points.length ? `${path} L${x(points.length - 1).toFixed(1)},${y(min)} L${x(0).toFixed(1)},${y(min)} Z` : "";
  const total = points.reduce((s, p) => s + p.value, 0);
  const peak = points.reduce<Point | null>((best, p) => (!best || p.value > best.value ? p : best), null);
  const summary = `${title}: ${format(total)}${peak ? ` (max ${format(peak.value)}, ${peak.label})` : ""}`;
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, class: "chart-svg", preserveAspectRatio: "none" },
    svg("line", { x1: pad.left, x2: width - pad.right, y1: y(min), y2: y(min), class: "axis" }),
    svg("path", { d: area, class: "area" }),
    svg("path", { d: path, class: "line", fill: "none" }),
    ...points.map((p, i) => svg("circle", { cx: x(i).toFixed(1), cy: y(p.value).toFixed(1), r: 3, class: "point" }, svg("title", {}, `${p.label}: ${format(p.value)}`))),
  );
  const first = points[0]?.label ?? "";
  const last = points[points.length - 1]?.label ?? "";
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", null, h("span", null, title), h("strong", null, format(total))),
    chart,
    h("div", { class: "chart-axis muted small", "aria-hidden": "true" }, h("span", null, first), h("span", null, `max ${format(max)}`), h("span", null, last)),
  );
}

/** Horizontal bars: one row per item, the bar's length relative to the largest. */
export function barList(rows: { label: string | Node; value: number; text?: string }[], title: string, format: (n: number) => string): HTMLElement {
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  return h(
    "figure",
    { class: "chart bars" },
    h("figcaption", null, title),
    h(
      "ul",
      { class: "bar-list" },
      rows.map((r) =>
        h(
          "li",
          null,
          h("span", { class: "bar-label" }, r.label),
          h("span", { class: "bar-track", "aria-hidden": "true" }, h("span", { class: "bar-fill", style: { width: `${Math.max(1, (r.value / max) * 100)}%` } })),
          h("span", { class: "bar-value" }, r.text ?? format(r.value)),
        ),
      ),
    ),
  );
}

/** A row of headline figures. */
export function statCards(items: [string, string][]): HTMLElement {
  return h(
    "dl",
    { class: "stats" },
    items.map(([label, value]) => h("div", { class: "stat" }, h("dt", null, label), h("dd", null, value))),
  );
}
