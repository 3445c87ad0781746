// Small raster charts as PNG bytes, drawn here with pngjs and the bitmap font of src/viz (the way the loss curve of
// train/metrics.ts is drawn): vega renders SVG headless, but rasterising SVG would need a canvas library, so the
// scorecard's PNGs are drawn directly from the same numbers as its vega-lite specs. Pure: returns bytes, no I/O.
//  - lineChartPNG: one line per series (x ascending), optional interval bars per point and a dashed reference line;
//  - barPanelsPNG: small multiples of bar charts (e.g. one rank histogram per arm) with a dashed expected level.
import { PNG } from 'pngjs';
import { drawText, textWidth, GLYPH_HEIGHT } from '../viz/font.js';
import { niceTicks, formatTick } from '../viz/render.js';

type RGB = readonly [number, number, number];

/** Tableau 10 (vega's default category scheme), so PNG and SVG charts use the same colour for an arm. */
export const CATEGORY_COLOURS: readonly RGB[] = [
  [76, 120, 168], [245, 133, 24], [228, 87, 86], [114, 183, 178], [84, 162, 75],
  [238, 202, 59], [178, 121, 162], [255, 157, 166], [157, 117, 93], [186, 176, 172],
];
/** The same colours as CSS hex strings (for vega-lite colour scales). */
export const CATEGORY_HEX: readonly string[] = CATEGORY_COLOURS.map((c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`);

const INK: RGB = [40, 40, 40], GRID: RGB = [228, 228, 228], REF: RGB = [120, 120, 120];

class Canvas {
  readonly png: PNG;
  constructor(readonly width: number, readonly height: number) {
    this.png = new PNG({ width, height });
    this.png.data.fill(255);
  }
  set(x: number, y: number, c: RGB): void {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4, d = this.png.data;
    d[i] = c[0]; d[i + 1] = c[1]; d[i + 2] = c[2]; d[i + 3] = 255;
  }
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, dash = 0): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let j = 0; j <= n; j++) if (!dash || Math.floor(j / dash) % 2 === 0) this.set(x0 + ((x1 - x0) * j) / n, y0 + ((y1 - y0) * j) / n, c);
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    for (let y = Math.round(Math.min(y0, y1)); y <= Math.round(Math.max(y0, y1)); y++) for (let x = Math.round(Math.min(x0, x1)); x <= Math.round(Math.max(x0, x1)); x++) this.set(x, y, c);
  }
  text(s: string, x: number, y: number, c: RGB = INK): void { drawText(s, Math.round(x), Math.round(y), (px, py) => this.set(px, py, c)); }
  encode(): Buffer { return PNG.sync.write(this.png); }
}

const lighter = (c: RGB, t = 0.55): RGB => [c[0] + (255 - c[0]) * t, c[1] + (255 - c[1]) * t, c[2] + (255 - c[2]) * t].map(Math.round) as unknown as RGB;

/** A value range [lo, hi] covering the finite values (padded when degenerate). */
function range(values: number[]): [number, number] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v), hi = Math.max(...v);
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  return [lo, hi];
}

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  /** Interval per point (drawn as a vertical bar), e.g. a bootstrap confidence interval. */
  lower?: number[];
  upper?: number[];
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  series: LineSeries[];
  /** A dashed horizontal reference line (e.g. 1 for spread/skill, 0 for a skill score). */
  hline?: number;
  /** Start the y axis at 0 (default: when every value is >= 0). */
  zero?: boolean;
  width?: number;
  height?: number;
}

/** A line chart (one colour per series, points marked, NaN values leave gaps) as PNG bytes. */
export function lineChartPNG(o: LineChartOptions): Buffer {
  const legendRows = Math.max(1, Math.ceil(o.series.length / 3));
  const W = o.width ?? 640, H = (o.height ?? 360) + legendRows * 11;
  const c = new Canvas(W, H);
  const left = 64, right = W - 16, top = 34 + legendRows * 11, bottom = H - 34;
  c.text(o.title, left, 5);
  const ys = o.series.flatMap((s) => [...s.y, ...(s.lower ?? []), ...(s.upper ?? [])]);
  if (o.hline !== undefined) ys.push(o.hline);
  let [y0, y1] = range(ys);
  if (o.zero ?? ys.filter(Number.isFinite).every((v) => v >= 0)) y0 = Math.min(0, y0);
  const [x0r, x1r] = range(o.series.flatMap((s) => s.x));
  const padX = o.series.every((s) => s.x.length <= 1) ? 1 : (x1r - x0r) * 0.04;
  const x0 = x0r - padX, x1 = x1r + padX;
  const yt = niceTicks(y0, y1, 6);
  y0 = Math.min(y0, yt[0] ?? y0); y1 = Math.max(y1, yt[yt.length - 1] ?? y1);
  const X = (v: number): number => left + ((v - x0) / (x1 - x0)) * (right - left);
  const Y = (v: number): number => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  for (const t of yt) {
    c.line(left, Y(t), right, Y(t), GRID);
    const s = formatTick(t, yt);
    c.text(s, left - 5 - textWidth(s), Y(t) - GLYPH_HEIGHT / 2);
  }
  const xt = niceTicks(x0r, x1r, 7).filter((t) => t >= x0 && t <= x1);
  for (const t of xt) {
    c.line(X(t), top, X(t), bottom, GRID);
    const s = formatTick(t, xt);
    c.text(s, X(t) - textWidth(s) / 2, bottom + 6);
  }
  c.text(o.xTitle, (left + right) / 2 - textWidth(o.xTitle) / 2, bottom + 19);
  c.text(o.yTitle, 4, top - 13);
  if (o.hline !== undefined && o.hline >= y0 && o.hline <= y1) c.line(left, Y(o.hline), right, Y(o.hline), REF, 4);
  o.series.forEach((s, k) => {
    const col = CATEGORY_COLOURS[k % CATEGORY_COLOURS.length]!, light = lighter(col);
    const off = (k - (o.series.length - 1) / 2) * 3; // dodge the interval bars of different series
    s.x.forEach((x, i) => {
      const lo = s.lower?.[i], hi = s.upper?.[i];
      if (lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi)) {
        c.line(X(x) + off, Y(lo), X(x) + off, Y(hi), light);
        c.line(X(x) + off - 2, Y(lo), X(x) + off + 2, Y(lo), light);
        c.line(X(x) + off - 2, Y(hi), X(x) + off + 2, Y(hi), light);
      }
    });
    for (let i = 1; i < s.x.length; i++) {
      const a = s.y[i - 1]!, b = s.y[i]!;
      if (Number.isFinite(a) && Number.isFinite(b)) c.line(X(s.x[i - 1]!), Y(a), X(s.x[i]!), Y(b), col);
    }
    s.x.forEach((x, i) => { const v = s.y[i]!; if (Number.isFinite(v)) c.rect(X(x) - 2, Y(v) - 2, X(x) + 2, Y(v) + 2, col); });
    const lx = left + (k % 3) * Math.floor((right - left) / 3), ly = 17 + Math.floor(k / 3) * 11;
    c.rect(lx, ly + 2, lx + 10, ly + 4, col);
    c.text(s.name, lx + 14, ly);
  });
  c.line(left, bottom, right, bottom, INK);
  c.line(left, top, left, bottom, INK);
  return c.encode();
}

export interface BarPanel {
  name: string;
  values: number[];
  /** A dashed horizontal line (e.g. the flat-histogram frequency 1/(M+1)). */
  expected?: number;
}

/** Small multiples of bar charts (three panels a row, one y scale for all) as PNG bytes. */
export function barPanelsPNG(o: { title: string; xTitle: string; yTitle: string; panels: BarPanel[]; panelWidth?: number; panelHeight?: number }): Buffer {
  const P = Math.max(1, o.panels.length), cols = Math.min(3, P), rows = Math.ceil(P / cols);
  const pw = o.panelWidth ?? 200, ph = o.panelHeight ?? 130, left = 56, gapX = 24, gapY = 40, top = 36;
  const W = left + cols * pw + (cols - 1) * gapX + 16, H = top + rows * (ph + gapY) + 8;
  const c = new Canvas(W, H);
  c.text(o.title, left, 5);
  const all = o.panels.flatMap((p) => [...p.values, ...(p.expected !== undefined ? [p.expected] : [])]);
  let [, hi] = range([0, ...all]);
  const yt = niceTicks(0, hi, 4);
  hi = Math.max(hi, yt[yt.length - 1] ?? hi);
  if (o.panels.length === 0) c.text('no ensemble to show', left, top + 20);
  o.panels.forEach((p, k) => {
    const px = left + (k % cols) * (pw + gapX), py = top + Math.floor(k / cols) * (ph + gapY) + 12;
    const Y = (v: number): number => py + ph - (v / hi) * ph;
    c.text(p.name, px, py - 11);
    for (const t of yt) {
      c.line(px, Y(t), px + pw, Y(t), GRID);
      if (k % cols === 0) { const s = formatTick(t, yt); c.text(s, px - 5 - textWidth(s), Y(t) - GLYPH_HEIGHT / 2); }
    }
    const n = Math.max(1, p.values.length), bw = pw / n, col = CATEGORY_COLOURS[k % CATEGORY_COLOURS.length]!;
    p.values.forEach((v, i) => { if (Number.isFinite(v) && v > 0) c.rect(px + i * bw + (bw > 3 ? 1 : 0), Y(v), px + (i + 1) * bw - (bw > 3 ? 1 : 0), py + ph, col); });
    if (p.expected !== undefined && Number.isFinite(p.expected)) c.line(px, Y(p.expected), px + pw, Y(p.expected), REF, 4);
    c.line(px, py + ph, px + pw, py + ph, INK);
    c.line(px, py, px, py + ph, INK);
    const first = '0', last = String(n - 1);
    c.text(first, px + bw / 2 - 2, py + ph + 4);
    if (n > 1) c.text(last, px + pw - bw / 2 - textWidth(last) / 2, py + ph + 4);
    c.text(o.xTitle, px + pw / 2 - textWidth(o.xTitle) / 2, py + ph + 14);
  });
  c.text(o.yTitle, 4, 18);
  return c.encode();
}

export interface ScatterOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  x: number[];
  y: number[];
  /** Category (index into `categories`) of every point. */
  category: number[];
  categories: string[];
  /** One colour per category (default CATEGORY_COLOURS, cycled). */
  colours?: readonly RGB[];
  width?: number;
  height?: number;
}

/** A scatter plot, one colour per category with a legend (e.g. embeddings projected on two components, by month). */
export function scatterChartPNG(o: ScatterOptions): Buffer {
  if (o.x.length !== o.y.length || o.x.length !== o.category.length) throw new Error(`scatterChartPNG: x, y and category differ in length (${o.x.length}, ${o.y.length}, ${o.category.length})`);
  const colours = o.colours ?? CATEGORY_COLOURS;
  const perRow = 6, legendRows = Math.max(1, Math.ceil(o.categories.length / perRow));
  const W = o.width ?? 640, H = (o.height ?? 480) + legendRows * 11;
  const c = new Canvas(W, H);
  const left = 64, right = W - 16, top = 34 + legendRows * 11, bottom = H - 34;
  c.text(o.title, left, 5);
  const [x0, x1] = range(o.x), [y0, y1] = range(o.y);
  const xt = niceTicks(x0, x1, 7), yt = niceTicks(y0, y1, 6);
  const lo = [Math.min(x0, xt[0] ?? x0), Math.min(y0, yt[0] ?? y0)], hi = [Math.max(x1, xt[xt.length - 1] ?? x1), Math.max(y1, yt[yt.length - 1] ?? y1)];
  const X = (v: number): number => left + ((v - lo[0]!) / (hi[0]! - lo[0]!)) * (right - left);
  const Y = (v: number): number => bottom - ((v - lo[1]!) / (hi[1]! - lo[1]!)) * (bottom - top);
  for (const t of yt) { c.line(left, Y(t), right, Y(t), GRID); const s = formatTick(t, yt); c.text(s, left - 5 - textWidth(s), Y(t) - GLYPH_HEIGHT / 2); }
  for (const t of xt) { c.line(X(t), top, X(t), bottom, GRID); const s = formatTick(t, xt); c.text(s, X(t) - textWidth(s) / 2, bottom + 6); }
  c.text(o.xTitle, (left + right) / 2 - textWidth(o.xTitle) / 2, bottom + 19);
  c.text(o.yTitle, 4, top - 13);
  o.x.forEach((x, i) => {
    const y = o.y[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const col = colours[o.category[i]! % colours.length]!;
    c.rect(X(x) - 1.5, Y(y) - 1.5, X(x) + 1.5, Y(y) + 1.5, col);
  });
  o.categories.forEach((name, k) => {
    const col = colours[k % colours.length]!;
    const lx = left + (k % perRow) * Math.floor((right - left) / perRow), ly = 17 + Math.floor(k / perRow) * 11;
    c.rect(lx, ly + 1, lx + 6, ly + 6, col);
    c.text(name, lx + 10, ly);
  });
  c.line(left, bottom, right, bottom, INK);
  c.line(left, top, left, bottom, INK);
  return c.encode();
}

/** Twelve colours around the hue circle, one per month (cyclic: January blue, May red, July yellow, September green). */
export const MONTH_COLOURS: readonly RGB[] = Array.from({ length: 12 }, (_, m) => {
  const h = (240 + 30 * m) % 360, v = 0.8, s = 0.8;
  const f = (n: number): number => { const k = (n + h / 60) % 6; return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1)))); };
  return [f(5), f(3), f(1)] as const;
});
