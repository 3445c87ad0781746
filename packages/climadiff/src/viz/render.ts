// Pictures of field sequences: each frame is drawn as an indexed image over ONE fixed 256-colour palette
// (239 colormap levels + interface colours), so PNG frames and all GIF frames share colours exactly and no
// quantisation is needed. Layout: a label line (title, frame time) over the map, a vertical colour bar with
// tick labels on the right and the units above it. Missing cells are mid-grey with darker diagonal
// hatching, colours that no colormap entry uses. The map is drawn north-up when latitudes are known and
// coastlines from world-atlas are overlaid when latitude and longitude are known.
import { PNG } from 'pngjs';
import gifenc from 'gifenc';
import { COLORMAPS, resample, type Colormap, type ColormapName } from './colormaps.js';
import { coastlineSegments } from './coastlines.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';

/** Colormap levels in the palette (odd, so a diverging map has an exact centre level). */
export const LEVELS = 239;
export const BACKGROUND = 239;
export const INK = 240;
export const MISSING = 241;
export const MISSING_HATCH = 242;
export const FRAME = 243;
const UI_COLOURS: [number, number, number][] = [[255, 255, 255], [0, 0, 0], [150, 150, 150], [112, 112, 112], [64, 64, 64]];

export interface FieldSequence {
  height: number;
  width: number;
  /** One H x W field per frame (row-major in the data's own latitude order), NaN where missing. */
  frames: Float32Array[];
  /** Optional masks (1 = missing) per frame. */
  masks?: (Uint8Array | null)[];
  lat?: ArrayLike<number>;
  lon?: ArrayLike<number>;
  /** Per-frame label (e.g. the date). */
  labels?: string[];
  title?: string;
  units?: string;
}

export interface RenderOptions {
  colormap?: ColormapName | Colormap;
  vmin?: number;
  vmax?: number;
  /** Diverging maps are centred here (default 0): the range becomes centre +- max deviation. */
  centre?: number;
  /** Pixels per grid cell (default: enough for a ~360 pixel wide map, at most 8). */
  scale?: number;
  /** Draw coastlines when lat and lon are known (default true). */
  coastlines?: boolean;
}

export interface IndexedAnimation {
  width: number;
  height: number;
  /** 256 x 3 sRGB bytes. */
  palette: Uint8Array;
  /** One width x height image of palette indices per frame. */
  frames: Uint8Array[];
  /** Where the map lies in the image, and the value range used. */
  map: { x: number; y: number; width: number; height: number; scale: number; northUp: boolean };
  vmin: number;
  vmax: number;
}

export function percentile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos), w = pos - i;
  return sorted[i]! * (1 - w) + sorted[Math.min(sorted.length - 1, i + 1)]! * w;
}

/** Colour range: given, or the 1st-99th percentile of valid values (diverging: symmetric about centre). */
function valueRange(seq: FieldSequence, cm: Colormap, o: RenderOptions): [number, number] {
  const vals: number[] = [];
  // percentiles from at most ~2 million values (a regular subsample of long sequences)
  const step = Math.max(1, Math.ceil((seq.frames.length * seq.height * seq.width) / 2e6));
  let k = 0;
  seq.frames.forEach((fr, t) => {
    const m = seq.masks?.[t];
    for (let i = 0; i < fr.length; i++, k++) if (k % step === 0 && !(m && m[i]) && Number.isFinite(fr[i]!)) vals.push(fr[i]!);
  });
  const sorted = Float32Array.from(vals).sort();
  let lo = o.vmin ?? (sorted.length ? percentile(sorted, 0.01) : 0);
  let hi = o.vmax ?? (sorted.length ? percentile(sorted, 0.99) : 1);
  if (cm.kind === 'diverging' && (o.vmin === undefined || o.vmax === undefined)) {
    const c = o.centre ?? 0;
    const half = Math.max(Math.abs(lo - c), Math.abs(hi - c)) || 1;
    lo = c - half; hi = c + half;
  }
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.01 || 1; lo -= d; hi += d; }
  return [lo, hi];
}

/** Ticks at 1, 2 or 5 times a power of ten inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  const raw = (hi - lo) / Math.max(1, target - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= 0.75 * raw) ?? 10 * p;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

export function formatTick(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(v) || 1;
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e5 || (big > 0 && big < 1e-3)) return v.toExponential(1).replace('e+', 'e');
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

export function palette(cm: Colormap): Uint8Array {
  const p = new Uint8Array(256 * 3);
  p.set(resample(cm, LEVELS), 0);
  UI_COLOURS.forEach((c, i) => p.set(c, (LEVELS + i) * 3));
  return p;
}

/** Renders every frame of a field sequence as an indexed image over one shared palette. */
export function renderFrames(seq: FieldSequence, o: RenderOptions = {}): IndexedAnimation {
  const { height: H, width: W } = seq;
  if (seq.frames.length === 0) throw new Error('renderFrames: no frames to draw');
  for (const fr of seq.frames) if (fr.length !== H * W) throw new Error(`renderFrames: a frame has ${fr.length} values, expected ${H}x${W}`);
  const cm = typeof o.colormap === 'object' ? o.colormap : COLORMAPS[o.colormap ?? 'viridis'];
  const [vmin, vmax] = valueRange(seq, cm, o);
  const scale = o.scale ?? Math.max(1, Math.min(8, Math.ceil(360 / W)));
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`renderFrames: scale must be a positive integer, got ${scale}`);
  const northUp = seq.lat !== undefined && seq.lat.length === H && H > 1 && seq.lat[H - 1]! > seq.lat[0]!;
  const pad = 4, line = GLYPH_HEIGHT;
  const mapW = W * scale, mapH = H * scale;
  const mapX = pad, mapY = pad + line + pad;
  const barW = 10, barH = Math.max(mapH, 64);
  const barX = mapX + mapW + 10, barY = mapY;
  const ticks = niceTicks(vmin, vmax);
  const tickText = ticks.map((t) => formatTick(t, ticks));
  const labelX = barX + barW + 4;
  const unitsText = seq.units ?? '';
  const rightEdge = Math.max(labelX + Math.max(0, ...tickText.map((s) => textWidth(s))), barX + textWidth(unitsText));
  const titleW = Math.max(0, ...(seq.labels ?? []).map((l) => textWidth(`${seq.title ?? ''}  ${l}`)), textWidth(seq.title ?? ''));
  const width = Math.max(rightEdge, mapX + titleW, barX - 10) + pad;
  const height = mapY + Math.max(mapH, barH) + pad;

  const base = new Uint8Array(width * height).fill(BACKGROUND);
  const plot = (img: Uint8Array, colour: number) => (x: number, y: number): void => {
    if (x >= 0 && y >= 0 && x < width && y < height) img[y * width + x] = colour;
  };
  // colour bar (top = vmax), its frame, ticks and labels; units above it
  for (let y = 0; y < barH; y++) {
    const level = Math.round(((barH - 1 - y) / (barH - 1)) * (LEVELS - 1));
    for (let x = 0; x < barW; x++) base[(barY + y) * width + barX + x] = level;
  }
  for (let x = -1; x <= barW; x++) { plot(base, FRAME)(barX + x, barY - 1); plot(base, FRAME)(barX + x, barY + barH); }
  for (let y = -1; y <= barH; y++) { plot(base, FRAME)(barX - 1, barY + y); plot(base, FRAME)(barX + barW, barY + y); }
  ticks.forEach((t, i) => {
    const y = barY + Math.round(((vmax - t) / (vmax - vmin)) * (barH - 1));
    plot(base, INK)(barX + barW + 1, y); plot(base, INK)(barX + barW + 2, y);
    const ty = Math.min(Math.max(y - 3, barY - 1), barY + barH - line + 1);
    drawText(tickText[i]!, labelX, ty, plot(base, INK));
  });
  drawText(unitsText, barX, pad, plot(base, INK));

  // coastline pixels, computed once
  const coast = new Uint8Array(mapW * mapH);
  if ((o.coastlines ?? true) && seq.lat && seq.lon && seq.lat.length === H && seq.lon.length === W && H > 1 && W > 1) {
    const seg = coastlineSegments(seq.lat, seq.lon, scale, northUp);
    for (let k = 0; k < seg.length; k += 4) {
      const x0 = seg[k]!, y0 = seg[k + 1]!, x1 = seg[k + 2]!, y1 = seg[k + 3]!;
      const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))) + 1;
      for (let s = 0; s <= n; s++) {
        const x = Math.floor(x0 + ((x1 - x0) * s) / n), y = Math.floor(y0 + ((y1 - y0) * s) / n);
        if (x >= 0 && y >= 0 && x < mapW && y < mapH) coast[y * mapW + x] = 1;
      }
    }
  }

  const frames = seq.frames.map((fr, t) => {
    const img = base.slice();
    const m = seq.masks?.[t] ?? null;
    for (let py = 0; py < mapH; py++) {
      const r = Math.floor(py / scale);
      const row = northUp ? H - 1 - r : r;
      for (let px = 0; px < mapW; px++) {
        const k = row * W + Math.floor(px / scale);
        const v = fr[k]!;
        let colour: number;
        if (coast[py * mapW + px]) colour = INK;
        else if ((m && m[k]) || !Number.isFinite(v)) colour = (px + py) % 4 === 0 ? MISSING_HATCH : MISSING;
        else colour = Math.min(LEVELS - 1, Math.max(0, Math.round(((v - vmin) / (vmax - vmin)) * (LEVELS - 1))));
        img[(mapY + py) * width + mapX + px] = colour;
      }
    }
    const label = [seq.title, seq.labels?.[t]].filter((s) => s).join('  ');
    drawText(label, mapX, pad, plot(img, INK));
    return img;
  });
  return { width, height, palette: palette(cm), frames, map: { x: mapX, y: mapY, width: mapW, height: mapH, scale, northUp }, vmin, vmax };
}

/** RGBA bytes of one frame. */
export function toRGBA(anim: IndexedAnimation, frame = 0): Uint8Array {
  const idx = anim.frames[frame];
  if (!idx) throw new Error(`toRGBA: frame ${frame} is outside [0, ${anim.frames.length})`);
  const out = new Uint8Array(idx.length * 4);
  for (let i = 0; i < idx.length; i++) {
    const c = idx[i]! * 3;
    out[i * 4] = anim.palette[c]!; out[i * 4 + 1] = anim.palette[c + 1]!; out[i * 4 + 2] = anim.palette[c + 2]!; out[i * 4 + 3] = 255;
  }
  return out;
}

/** PNG file bytes (pngjs) of one frame. */
export function encodePNG(anim: IndexedAnimation, frame = 0): Buffer {
  const png = new PNG({ width: anim.width, height: anim.height });
  png.data = Buffer.from(toRGBA(anim, frame));
  return PNG.sync.write(png);
}

/** Animated GIF bytes (gifenc) of all frames, one global palette, looping forever. */
export function encodeGIF(anim: IndexedAnimation, o: { delayMs?: number } = {}): Uint8Array {
  const enc = gifenc.GIFEncoder();
  const pal: number[][] = [];
  for (let i = 0; i < 256; i++) pal.push([anim.palette[i * 3]!, anim.palette[i * 3 + 1]!, anim.palette[i * 3 + 2]!]);
  anim.frames.forEach((f, i) => enc.writeFrame(f, anim.width, anim.height, { ...(i === 0 ? { palette: pal, repeat: 0 } : {}), delay: o.delayMs ?? 250 }));
  enc.finish();
  return enc.bytes();
}
