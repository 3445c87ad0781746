// A grid of small maps animated together: rows of clips (e.g. held-out data above, samples below), each clip
// drawn as its own panel at several pixels per grid cell, north-up, with coastlines when the grid is
// geographic, over ONE colour range and ONE colour bar shared by every panel, so panels compare by colour.
// Layout, top to bottom: a line with the title and the frame label; then per row a label line and its
// panels (wrapping after `maxColumns` panels); the colour bar with its ticks and units right of the panels.
// The palette, colour levels, missing-cell hatching, font, coastlines and encoders are render.ts's, so the
// result is an IndexedAnimation for encodeGIF / encodePNG, looking like renderFrames' single maps.
import { COLORMAPS, type Colormap, type ColormapName } from './colormaps.js';
import { coastlineSegments } from './coastlines.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import {
  BACKGROUND, formatTick, FRAME, INK, LEVELS, MISSING, MISSING_HATCH, niceTicks, palette, percentile, type IndexedAnimation,
} from './render.js';

export interface PanelRow {
  /** Drawn above the row. */
  label: string;
  /** Clip values laid out [count, channels, F, H, W] (channels defaults to 1: [count, F, H, W]); NaN = missing. */
  data: Float32Array;
  /** Number of clips (panels) in the row. */
  count: number;
  /** Channels per clip in `data` (default 1) and the one drawn (default 0). */
  channels?: number;
  channel?: number;
}

export interface PanelOptions {
  rows: PanelRow[];
  /** Grid cells per panel, and frames per clip. */
  height: number;
  width: number;
  frames: number;
  /** Cell-centre latitudes (length H) and longitudes (length W), degrees: north-up panels and coastlines. */
  lat?: ArrayLike<number>;
  lon?: ArrayLike<number>;
  title?: string;
  units?: string;
  /** One label per frame (e.g. 'frame 3/8'), drawn after the title. */
  labels?: string[];
  colormap?: ColormapName | Colormap;
  /** Common colour range (default: the 0.5%..99.5% quantiles of every valid value in every panel and frame). */
  vmin?: number;
  vmax?: number;
  /** Diverging maps are centred here (default 0) when the range is not given in full. */
  centre?: number;
  /** Pixels per grid cell (default: panels at least ~256 pixels wide, at most 8 per cell). */
  scale?: number;
  /** Pixels between neighbouring panels (default 6). */
  gap?: number;
  /** Panels per line before a row wraps onto the next (default 4). */
  maxColumns?: number;
  /** Draw coastlines when lat and lon are geographic (default true). */
  coastlines?: boolean;
}

export interface PanelPlacement {
  /** Index of the row in `rows`, and of the clip within it. */
  row: number;
  index: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PanelAnimation extends IndexedAnimation {
  /** Where each panel lies (`map` is the first panel's place). */
  panels: PanelPlacement[];
  /** The shared colour bar's rectangle (top = vmax, bottom = vmin). */
  colourBar: { x: number; y: number; width: number; height: number };
}

/** Lengths and ranges that make lat/lon a geographic grid of H x W cells (degrees). */
function geographic(lat: ArrayLike<number>, lon: ArrayLike<number>): boolean {
  const la = Array.from(lat), lo = Array.from(lon);
  if (la.length < 2 || lo.length < 2) return false;
  if (!la.every((v) => Number.isFinite(v) && Math.abs(v) <= 90.0001)) return false;
  if (!lo.every((v) => Number.isFinite(v) && v >= -360 && v <= 720)) return false;
  return Math.max(...lo) - Math.min(...lo) <= 360;
}

/** The common colour range: given, or robust quantiles of the valid values (symmetric about centre for diverging maps). */
function commonRange(o: PanelOptions, cm: Colormap, values: (visit: (v: number) => void) => void, total: number): [number, number] {
  let lo = o.vmin, hi = o.vmax;
  if (lo === undefined || hi === undefined) {
    const step = Math.max(1, Math.ceil(total / 2e6)); // quantiles from at most ~2 million values
    const vals: number[] = [];
    let k = 0;
    values((v) => { if (k++ % step === 0 && Number.isFinite(v)) vals.push(v); });
    const sorted = Float32Array.from(vals).sort();
    lo ??= sorted.length ? percentile(sorted, 0.005) : 0;
    hi ??= sorted.length ? percentile(sorted, 0.995) : 1;
    if (cm.kind === 'diverging') {
      const c = o.centre ?? 0;
      const half = Math.max(Math.abs(lo - c), Math.abs(hi - c)) || 1;
      lo = c - half; hi = c + half;
    }
  }
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.01 || 1; lo -= d; hi += d; }
  return [lo, hi];
}

/** Renders rows of clips as a panel grid, one image per frame over render.ts's shared palette. */
export function renderPanels(o: PanelOptions): PanelAnimation {
  const { height: H, width: W, frames: F, rows } = o;
  const fail = (msg: string): never => { throw new Error(`renderPanels: ${msg}`); };
  for (const [k, v] of [['height', H], ['width', W], ['frames', F]] as const) {
    if (!Number.isInteger(v) || v < 1) fail(`${k} must be a positive integer, got ${v}`);
  }
  if (rows.length === 0) fail('no rows to draw');
  rows.forEach((r, i) => {
    const name = `row ${i} ('${r.label}')`;
    const C = r.channels ?? 1, ch = r.channel ?? 0;
    if (!Number.isInteger(r.count) || r.count < 1) fail(`${name}: count must be a positive integer, got ${r.count}`);
    if (!Number.isInteger(C) || C < 1 || !Number.isInteger(ch) || ch < 0 || ch >= C) fail(`${name}: channel ${ch} is not one of ${C} channels`);
    const want = r.count * C * F * H * W;
    if (r.data.length !== want) {
      fail(`${name} has ${r.data.length} values, expected count x ${C > 1 ? 'channels x ' : ''}F x H x W = ${[r.count, ...(C > 1 ? [C] : []), F, H, W].join(' x ')} = ${want}`);
    }
  });
  if (o.labels && o.labels.length !== F) fail(`${o.labels.length} frame labels for ${F} frames`);
  if (o.lat && o.lat.length !== H) fail(`lat has ${o.lat.length} values, expected H = ${H}`);
  if (o.lon && o.lon.length !== W) fail(`lon has ${o.lon.length} values, expected W = ${W}`);
  if (o.vmin !== undefined && o.vmax !== undefined && !(o.vmax > o.vmin)) fail(`vmax (${o.vmax}) must exceed vmin (${o.vmin})`);
  const scale = o.scale ?? Math.max(1, Math.min(8, Math.ceil(256 / W)));
  if (!Number.isInteger(scale) || scale < 1) fail(`scale must be a positive integer, got ${scale}`);
  const gap = o.gap ?? 6;
  if (!Number.isInteger(gap) || gap < 0) fail(`gap must be a non-negative integer, got ${gap}`);
  const maxColumns = o.maxColumns ?? 4;
  if (!Number.isInteger(maxColumns) || maxColumns < 1) fail(`maxColumns must be a positive integer, got ${maxColumns}`);

  const cm = typeof o.colormap === 'object' ? o.colormap : COLORMAPS[o.colormap ?? 'viridis'];
  const plane = H * W;
  /** Offset of frame f of clip k of a row. */
  const offset = (r: PanelRow, k: number, f: number): number => ((k * (r.channels ?? 1) + (r.channel ?? 0)) * F + f) * plane;
  const total = rows.reduce((s, r) => s + r.count, 0) * F * plane;
  const [vmin, vmax] = commonRange(o, cm, (visit) => {
    for (const r of rows) for (let k = 0; k < r.count; k++) for (let f = 0; f < F; f++) {
      const a = offset(r, k, f);
      for (let i = 0; i < plane; i++) visit(r.data[a + i]!);
    }
  }, total);

  // layout
  const pad = 4, line = GLYPH_HEIGHT;
  const mapW = W * scale, mapH = H * scale;
  const cols = Math.min(maxColumns, Math.max(...rows.map((r) => r.count)));
  const gridX = pad + 1; // + 1: the panel frame
  const gridW = cols * mapW + (cols - 1) * gap;
  const panels: PanelPlacement[] = [];
  const rowLabelY: number[] = [];
  let y = pad + line + pad + 2;
  rows.forEach((r, ri) => {
    rowLabelY.push(y);
    y += line + 4;
    const lines = Math.ceil(r.count / cols);
    for (let l = 0; l < lines; l++) {
      for (let c = 0; c < cols && l * cols + c < r.count; c++) {
        panels.push({ row: ri, index: l * cols + c, x: gridX + c * (mapW + gap), y, width: mapW, height: mapH });
      }
      y += mapH + (l < lines - 1 ? gap : 0);
    }
    y += Math.max(gap, 4) + 1;
  });
  const gridTop = panels[0]!.y, gridBottom = y - Math.max(gap, 4) - 1;
  const barW = 12, barX = gridX + gridW + 1 + 12, barY = gridTop, barH = Math.max(64, gridBottom - gridTop);
  const ticks = niceTicks(vmin, vmax, Math.max(5, Math.min(9, Math.round(barH / 40))));
  const tickText = ticks.map((t) => formatTick(t, ticks));
  const labelX = barX + barW + 4;
  const unitsText = o.units ?? '';
  const titleW = Math.max(textWidth(o.title ?? ''), ...(o.labels ?? []).map((l) => textWidth([o.title, l].filter((s) => s).join('  '))));
  const width = Math.max(
    labelX + Math.max(0, ...tickText.map((s) => textWidth(s))), barX + textWidth(unitsText), pad + titleW,
    gridX + Math.max(...rows.map((r) => textWidth(r.label))),
  ) + pad;
  const height = Math.max(gridBottom, barY + barH) + pad + 1;

  // everything that does not change between frames
  const base = new Uint8Array(width * height).fill(BACKGROUND);
  const plot = (img: Uint8Array, colour: number) => (x: number, yy: number): void => {
    if (x >= 0 && yy >= 0 && x < width && yy < height) img[yy * width + x] = colour;
  };
  const box = (x: number, yy: number, w: number, h: number): void => { // a 1-pixel frame around a rectangle
    for (let i = -1; i <= w; i++) { plot(base, FRAME)(x + i, yy - 1); plot(base, FRAME)(x + i, yy + h); }
    for (let j = -1; j <= h; j++) { plot(base, FRAME)(x - 1, yy + j); plot(base, FRAME)(x + w, yy + j); }
  };
  rows.forEach((r, ri) => drawText(r.label, gridX, rowLabelY[ri]!, plot(base, INK)));
  for (const p of panels) box(p.x, p.y, mapW, mapH);
  for (let j = 0; j < barH; j++) {
    const level = Math.round(((barH - 1 - j) / (barH - 1)) * (LEVELS - 1));
    base.fill(level, (barY + j) * width + barX, (barY + j) * width + barX + barW);
  }
  box(barX, barY, barW, barH);
  ticks.forEach((t, i) => {
    const ty = barY + Math.round(((vmax - t) / (vmax - vmin)) * (barH - 1));
    plot(base, INK)(barX + barW + 1, ty); plot(base, INK)(barX + barW + 2, ty);
    drawText(tickText[i]!, labelX, Math.min(Math.max(ty - 3, barY - 1), barY + barH - line + 1), plot(base, INK));
  });
  drawText(unitsText, barX, barY - line - 4, plot(base, INK));

  // per panel pixel: the source cell (north-up when latitudes increase) and whether a coastline covers it
  const northUp = o.lat !== undefined && H > 1 && o.lat[H - 1]! > o.lat[0]!;
  const cell = new Int32Array(mapW * mapH);
  for (let py = 0; py < mapH; py++) {
    const r = Math.floor(py / scale), row = northUp ? H - 1 - r : r;
    for (let px = 0; px < mapW; px++) cell[py * mapW + px] = row * W + Math.floor(px / scale);
  }
  const coast = new Uint8Array(mapW * mapH);
  if ((o.coastlines ?? true) && o.lat && o.lon && geographic(o.lat, o.lon)) {
    const seg = coastlineSegments(o.lat, o.lon, scale, northUp);
    for (let k = 0; k < seg.length; k += 4) {
      const x0 = seg[k]!, y0 = seg[k + 1]!, x1 = seg[k + 2]!, y1 = seg[k + 3]!;
      const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))) + 1;
      for (let s = 0; s <= n; s++) {
        const x = Math.floor(x0 + ((x1 - x0) * s) / n), yy = Math.floor(y0 + ((y1 - y0) * s) / n);
        if (x >= 0 && yy >= 0 && x < mapW && yy < mapH) coast[yy * mapW + x] = 1;
      }
    }
  }

  const span = vmax - vmin;
  const frames: Uint8Array[] = [];
  for (let f = 0; f < F; f++) {
    const img = base.slice();
    for (const p of panels) {
      const r = rows[p.row]!, a = offset(r, p.index, f);
      for (let py = 0; py < mapH; py++) {
        const out = (p.y + py) * width + p.x;
        for (let px = 0; px < mapW; px++) {
          const i = py * mapW + px;
          const v = r.data[a + cell[i]!]!;
          img[out + px] = coast[i] ? INK
            : !Number.isFinite(v) ? ((px + py) % 4 === 0 ? MISSING_HATCH : MISSING)
              : Math.min(LEVELS - 1, Math.max(0, Math.round(((v - vmin) / span) * (LEVELS - 1))));
        }
      }
    }
    drawText([o.title, o.labels?.[f]].filter((s) => s).join('  '), pad, pad, plot(img, INK));
    frames.push(img);
  }
  const first = panels[0]!;
  return {
    width, height, palette: palette(cm), frames, vmin, vmax, panels,
    map: { x: first.x, y: first.y, width: mapW, height: mapH, scale, northUp },
    colourBar: { x: barX, y: barY, width: barW, height: barH },
  };
}
