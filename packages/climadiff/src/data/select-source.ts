// Selection on a streaming ClipSource, applied as frames are read (nothing is loaded whole): a date range, a season
// (months), every n-th step, a lat/lon box (across the date line when lon0 > lon1) and an area-weighted block-mean
// coarsening. Where the kept steps are not one (every-n) step apart, the source reports a break, so no clip spans it.
import type { ChannelInfo, ClipSource, FrameBlock } from './clip-source.js';
import { parseDateBound, timeKey } from './readers/calendar.js';
import { decodeTimeParts } from './time-parts.js';
import { DataError, type Coordinate } from './types.js';
import type { SelectedGrid } from './statics.js';
import { openDataSource, type MultiFileOptions } from './multi-source.js';
import { z } from 'zod';

/** What to keep of a source; every field optional. Stored with a run, so the run's data can be opened again alike. */
export const SourceSelectionSchema = z.object({
  /** Inclusive date bounds ('1990', '1990-03', '1990-03-01T06:00'); either may be null. */
  time: z.tuple([z.string().nullable(), z.string().nullable()]).optional(),
  /** Months to keep (1-12), e.g. [12, 1, 2] for winters. */
  months: z.array(z.number().int().min(1).max(12)).min(1).optional(),
  /** Keep every n-th of the (date- and month-selected) steps. */
  every: z.number().int().positive().optional(),
  /** Inclusive latitude bounds (degrees north). */
  lat: z.tuple([z.number(), z.number()]).optional(),
  /** Longitude bounds (degrees east, any convention); lon0 > lon1 goes east across the date line / 0 meridian. */
  lon: z.tuple([z.number(), z.number()]).optional(),
  /** Block-mean factor K (area-weighted by cos(latitude), missing values left out); trailing partial blocks dropped. */
  coarsen: z.number().int().positive().optional(),
  /** One vertical level by its coordinate value (file units, e.g. 500 hPa); applied when the file is opened. */
  level: z.number().optional(),
  /** Keep the central [rows, columns] of the (coarsened) grid, e.g. to fit a U-Net's multiple. */
  crop: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
}).strict();
export type SourceSelection = z.infer<typeof SourceSelectionSchema>;

/** Whether a selection changes anything a ClipSource wrapper handles (level is the file reader's). */
export function selectsAnything(s: SourceSelection | null | undefined): boolean {
  return !!s && (s.time !== undefined || s.months !== undefined || (s.every ?? 1) > 1 || s.lat !== undefined || s.lon !== undefined
    || (s.coarsen ?? 1) > 1 || s.crop !== undefined);
}

const mod360 = (x: number): number => ((x % 360) + 360) % 360;

/** A selection of a source: a ClipSource, with the source it came from and the spatial selection of one plane. */
export type SelectedSource = ClipSource & SelectedGrid;

/** The source with the selection applied (the level is the reader's: openDataSource({ levelValue })). */
export function selectSource(source: ClipSource, sel: SourceSelection): SelectedSource {
  const T0 = source.timeSteps;
  // ---- time: dates, months, every n
  let kept = Array.from({ length: T0 }, (_, i) => i);
  if (sel.time || sel.months) {
    if (!source.time) throw new DataError('no-time', 'selecting by date or month needs a time coordinate, and the data have none');
    const parts = decodeTimeParts(source.time);
    if (sel.time) {
      const lo = sel.time[0] ? parseDateBound(sel.time[0], false) : -Infinity;
      const hi = sel.time[1] ? parseDateBound(sel.time[1], true) : Infinity;
      kept = kept.filter((i) => { const k = timeKey(parts[i]!); return k >= lo && k <= hi; });
      if (kept.length === 0) throw new DataError('empty-selection', `no time step between ${sel.time[0] ?? '-'} and ${sel.time[1] ?? '-'}`);
    }
    if (sel.months) {
      const months = new Set(sel.months);
      kept = kept.filter((i) => months.has(parts[i]!.month));
      if (kept.length === 0) throw new DataError('empty-selection', `no time step in the months ${sel.months.join(', ')}`);
    }
  }
  const every = sel.every ?? 1;
  if (every > 1) kept = kept.filter((_, k) => k % every === 0);
  const srcBreaks = [...(source.breaks ?? [])].sort((a, b) => a - b);
  const breaks: number[] = [];
  for (let k = 1; k < kept.length; k++) {
    const a = kept[k - 1]!, b = kept[k]!;
    if (b - a !== every || srcBreaks.some((x) => a < x && x <= b)) breaks.push(k);
  }
  // ---- space: rows, columns (east from lon0), coarsening
  const lat = source.lat, lon = source.lon;
  let rows = Array.from({ length: source.height }, (_, i) => i);
  let cols = Array.from({ length: source.width }, (_, i) => i);
  let lonValues: number[] | null = lon ? Array.from(lon.values) : null;
  if (sel.lat) {
    if (!lat) throw new DataError('bad-selection', 'a latitude box needs a latitude coordinate');
    const [a, b] = [Math.min(...sel.lat), Math.max(...sel.lat)];
    rows = rows.filter((i) => lat.values[i]! >= a && lat.values[i]! <= b);
    if (rows.length === 0) throw new DataError('empty-selection', `no latitude in [${a}, ${b}] (the data span ${Math.min(...lat.values)} to ${Math.max(...lat.values)})`);
  }
  if (sel.lon) {
    if (!lon) throw new DataError('bad-selection', 'a longitude box needs a longitude coordinate');
    const [a, b] = sel.lon;
    // lon1 - lon0 >= 360 (e.g. -180, 180) is the whole circle, starting at lon0
    const width = Math.abs(b - a) >= 360 ? 360 - 1e-6 : mod360(b - a);
    const east = (i: number) => mod360(lon.values[i]! - a);
    cols = cols.filter((i) => east(i) <= width + 1e-9).sort((i, j) => east(i) - east(j));
    if (cols.length === 0) throw new DataError('empty-selection', `no longitude from ${a} east to ${b}`);
    lonValues = cols.map((i) => a + east(i)); // increasing, across the seam
  } else if (lonValues) {
    lonValues = cols.map((i) => lonValues![i]!);
  }
  const K = sel.coarsen ?? 1;
  if (sel.crop) {
    // the central block of the (coarsened) grid, in whole coarse cells
    const [tH, tW] = sel.crop, Hc = Math.floor(rows.length / K), Wc = Math.floor(cols.length / K);
    if (tH > Hc || tW > Wc) throw new DataError('bad-selection', `cannot crop a ${Hc} x ${Wc} grid to ${tH} x ${tW}`);
    const oy = Math.floor((Hc - tH) / 2), ox = Math.floor((Wc - tW) / 2);
    rows = rows.slice(oy * K, (oy + tH) * K);
    cols = cols.slice(ox * K, (ox + tW) * K);
    if (lonValues) lonValues = lonValues.slice(ox * K, (ox + tW) * K);
  }
  const H1 = rows.length, W1 = cols.length;
  const H = Math.floor(H1 / K), W = Math.floor(W1 / K);
  if (H === 0 || W === 0) throw new DataError('bad-selection', `coarsening by ${K} leaves nothing of a ${H1} x ${W1} grid`);
  const latSel = lat ? rows.map((i) => lat.values[i]!) : null;
  const weight = rows.map((_, r) => (latSel ? Math.max(0, Math.cos((latSel[r]! * Math.PI) / 180)) : 1));
  const blockMean = (v: number[], n: number): Float64Array => Float64Array.from({ length: n }, (_, b) => v.slice(b * K, (b + 1) * K).reduce((s, x) => s + x, 0) / K);
  const coord = (c: Coordinate | undefined, values: number[] | null, n: number): Coordinate | undefined =>
    c && values ? { ...c, values: K > 1 ? blockMean(values, n) : Float64Array.from(values.slice(0, n)) } : undefined;
  const latOut = coord(lat, latSel, H), lonOut = coord(lon, lonValues, W);
  const timeOut = source.time ? { ...source.time, values: Float64Array.from(kept, (i) => source.time!.values[i]!) } : undefined;
  const C = source.channels.length, HW0 = source.height * source.width, HW = H * W;

  /** One frame of one channel, selected and coarsened, into out at offset o (NaN and mask where no value). */
  const place = (src: Float32Array, srcMask: Uint8Array, s0: number, out: Float32Array, mask: Uint8Array, o: number): void => {
    for (let by = 0; by < H; by++) for (let bx = 0; bx < W; bx++) {
      let s = 0, w = 0;
      for (let y = by * K; y < (by + 1) * K; y++) for (let x = bx * K; x < (bx + 1) * K; x++) {
        const i = s0 + rows[y]! * source.width + cols[x]!;
        const v = src[i]!;
        if (srcMask[i] || Number.isNaN(v)) continue;
        s += weight[y]! * v; w += weight[y]!;
      }
      const j = o + by * W + bx;
      if (w > 0) out[j] = s / w; else { out[j] = NaN; mask[j] = 1; }
    }
  };

  const channels: readonly ChannelInfo[] = source.channels;
  return {
    original: source,
    selectPlane: (plane) => {
      if (plane.length !== HW0) throw new DataError('bad-shape', `a plane of ${plane.length} values, the grid ${source.height}x${source.width}`);
      const out = new Float32Array(HW);
      place(Float32Array.from(plane), new Uint8Array(HW0), 0, out, new Uint8Array(HW), 0);
      return out;
    },
    channels, timeSteps: kept.length, height: H, width: W,
    ...(timeOut ? { time: timeOut } : {}), ...(latOut ? { lat: latOut } : {}), ...(lonOut ? { lon: lonOut } : {}),
    ...(breaks.length ? { breaks } : {}),
    ...(source.close ? { close: () => source.close!() } : {}),
    async read(start: number, end: number): Promise<FrameBlock> {
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > kept.length || start >= end) {
        throw new DataError('bad-range', `frames [${start}, ${end}) are outside [0, ${kept.length})`);
      }
      const n = end - start;
      const data = new Float32Array(C * n * HW), mask = new Uint8Array(C * n * HW);
      // runs of consecutive source steps, each read once
      for (let k = start; k < end;) {
        let e = k + 1;
        while (e < end && kept[e]! === kept[e - 1]! + 1) e++;
        const block = await source.read(kept[k]!, kept[e - 1]! + 1);
        const m = e - k;
        for (let c = 0; c < C; c++) for (let f = 0; f < m; f++) {
          place(block.data, block.mask, (c * m + f) * HW0, data, mask, (c * n + (k - start) + f) * HW);
        }
        k = e;
      }
      return { data, mask, frames: n };
    },
  };
}

/**
 * Opens a data spec (one file, a list, a glob or a directory) with a selection: the level when the files are read,
 * the rest as frames are read. Without a selection, the files' own source.
 */
export async function openSelectedSource(spec: string | readonly string[], variables: readonly string[], sel: SourceSelection | null | undefined,
  o: MultiFileOptions = {}): Promise<ClipSource & Partial<SelectedGrid>> {
  const src = await openDataSource(spec, variables, { ...o, ...(sel?.level !== undefined ? { levelValue: sel.level } : {}) });
  return selectsAnything(sel) ? selectSource(src, sel!) : src;
}
