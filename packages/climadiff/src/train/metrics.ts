// The metrics log (metrics.jsonl: one JSON object per line) and the loss curve drawn from it: an SVG made
// with vega-lite + vega (headless, renderer 'none') and a PNG raster plot drawn here with pngjs and the
// bitmap font of src/viz.
import { CheckpointError } from './checkpoint.js';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { drawText, textWidth, GLYPH_HEIGHT } from '../viz/font.js';
import { niceTicks, formatTick } from '../viz/render.js';

/** One line of metrics.jsonl. Training lines have loss / lr / samples_per_s; validation lines val_loss / bpd. */
export interface MetricsRecord {
  step: number;
  loss?: number | null;
  lr?: number;
  samples_per_s?: number;
  val_loss?: number;
  bpd?: number;
  skipped?: number;
  elapsed_s?: number;
  [extra: string]: unknown;
}

export function appendMetrics(path: string, record: MetricsRecord): void {
  try {
    appendFileSync(path, `${JSON.stringify(record)}\n`);
  } catch (e) {
    throw new CheckpointError(`could not append to ${path}: ${(e as Error).message} (the checkpoints are unaffected; free space and --resume)`);
  }
}

/** Every record of a metrics file; lines that are not (a torn last line after a kill) are skipped and reported to `onSkipped`. */
export function readMetrics(path: string, onSkipped: ((message: string) => void) | null = (m) => process.stderr.write(`warning: ${m}\n`)): MetricsRecord[] {
  if (!existsSync(path)) return [];
  const out: MetricsRecord[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i, lines) => {
    if (line.trim() === '') return;
    let r: MetricsRecord | null = null;
    try { r = JSON.parse(line) as MetricsRecord; } catch { /* below */ }
    if (r !== null && typeof r === 'object' && typeof r.step === 'number') { out.push(r); return; }
    // a process killed while appending leaves a torn last line: skipped, and said (a resumed run rewrites the file)
    const last = lines.slice(i + 1).every((l) => l.trim() === '');
    onSkipped?.(`${path}: line ${i + 1} is not a metrics record${last ? ' (a torn last line: the writer was killed while appending)' : ''}; skipped`);
  });
  return out;
}

/** On resume: drops lines logged after the checkpoint's step (they will be logged again). Atomic rewrite. */
export function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const keep = readMetrics(path, null).filter((r) => r.step <= step);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
  renameSync(tmp, path);
}

function curves(records: MetricsRecord[]): { series: string; step: number; value: number }[] {
  const rows: { series: string; step: number; value: number }[] = [];
  for (const r of records) {
    if (typeof r.loss === 'number' && Number.isFinite(r.loss)) rows.push({ series: 'train loss', step: r.step, value: r.loss });
    if (typeof r.val_loss === 'number' && Number.isFinite(r.val_loss)) rows.push({ series: 'validation loss (EMA)', step: r.step, value: r.val_loss });
  }
  return rows;
}

/** The loss curve as SVG text (vega-lite spec compiled by vega-lite, rendered by vega without a browser). */
export async function lossCurveSVG(records: MetricsRecord[], title = 'loss'): Promise<string> {
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: 560, height: 300,
    data: { values: curves(records) },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try { return await view.toSVG(); } finally { view.finalize(); }
}

/** The loss curve as a PNG: log-scale y axis, train loss in blue, validation loss in orange. */
export function lossCurvePNG(records: MetricsRecord[], options: { width?: number; height?: number } = {}): Buffer {
  const W = options.width ?? 640, H = options.height ?? 360;
  const png = new PNG({ width: W, height: H });
  png.data.fill(255);
  const set = (x: number, y: number, rgb: readonly number[]): void => {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const i = (y * W + x) * 4;
    png.data[i] = rgb[0]!; png.data[i + 1] = rgb[1]!; png.data[i + 2] = rgb[2]!; png.data[i + 3] = 255;
  };
  const ink = [40, 40, 40], grid = [225, 225, 225];
  const left = 60, right = W - 16, top = 24, bottom = H - 36;
  const rows = curves(records).filter((r) => r.value > 0);
  const text = (s: string, x: number, y: number): void => drawText(s, x, y, (px, py) => set(px, py, ink));
  text('loss (log scale) vs step', left, 6);
  if (rows.length > 0) {
    const steps = rows.map((r) => r.step), logs = rows.map((r) => Math.log10(r.value));
    let x0 = Math.min(...steps), x1 = Math.max(...steps), y0 = Math.min(...logs), y1 = Math.max(...logs);
    if (x1 === x0) x1 = x0 + 1;
    if (y1 - y0 < 1e-6) { y0 -= 0.5; y1 += 0.5; }
    const X = (s: number): number => left + ((s - x0) / (x1 - x0)) * (right - left);
    const Y = (l: number): number => bottom - ((l - y0) / (y1 - y0)) * (bottom - top);
    // y ticks at 1, 2, 5 x 10^e (only 1 x 10^e when the range spans many decades)
    const mantissas = y1 - y0 > 3 ? [1] : [1, 2, 5];
    for (let e = Math.floor(y0); e <= Math.ceil(y1); e++) {
      for (const m of mantissas) {
        const l = e + Math.log10(m);
        if (l < y0 || l > y1) continue;
        for (let x = left; x <= right; x++) set(x, Y(l), grid);
        const v = m * 10 ** e;
        const label = v >= 1e-3 && v < 1e4 ? String(Number(v.toPrecision(2))) : `${m}e${e}`;
        text(label, left - 4 - textWidth(label), Y(l) - GLYPH_HEIGHT / 2);
      }
    }
    const ticks = niceTicks(x0, x1, 6);
    for (const t of ticks) {
      if (t < x0 || t > x1) continue;
      for (let y = top; y <= bottom; y++) set(X(t), y, grid);
      const label = formatTick(t, ticks);
      text(label, X(t) - textWidth(label) / 2, bottom + 6);
    }
    text('step', (left + right) / 2 - 10, bottom + 20);
    const colours: Record<string, number[]> = { 'train loss': [31, 119, 180], 'validation loss (EMA)': [255, 127, 14] };
    for (const [series, rgb] of Object.entries(colours)) {
      const pts = rows.filter((r) => r.series === series);
      for (let k = 0; k < pts.length; k++) {
        const a = pts[k]!, b = pts[Math.max(0, k - 1)]!;
        const ax = X(a.step), ay = Y(Math.log10(a.value)), bx = X(b.step), by = Y(Math.log10(b.value));
        const n = Math.max(1, Math.ceil(Math.hypot(ax - bx, ay - by)));
        for (let j = 0; j <= n; j++) set(bx + ((ax - bx) * j) / n, by + ((ay - by) * j) / n, rgb);
        if (series !== 'train loss') for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) set(ax + dx, ay + dy, rgb);
      }
      const lx = series === 'train loss' ? right - 230 : right - 110;
      for (let d = 0; d < 14; d++) set(lx + d, 10, rgb);
      text(series === 'train loss' ? 'train' : 'validation (EMA)', lx + 18, 7);
    }
  } else text('no finite losses yet', left + 20, (top + bottom) / 2);
  for (let x = left; x <= right; x++) set(x, bottom, ink);
  for (let y = top; y <= bottom; y++) set(left, y, ink);
  return PNG.sync.write(png);
}

/** Writes loss_curve.svg and loss_curve.png (atomically) from a metrics file. */
export async function writeLossCurve(metricsPath: string, svgPath: string, pngPath: string): Promise<void> {
  const records = readMetrics(metricsPath);
  const svg = await lossCurveSVG(records);
  writeFileSync(`${svgPath}.tmp`, svg); renameSync(`${svgPath}.tmp`, svgPath);
  writeFileSync(`${pngPath}.tmp`, lossCurvePNG(records)); renameSync(`${pngPath}.tmp`, pngPath);
}
