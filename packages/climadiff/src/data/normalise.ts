// Normalisation of fields to the scale a diffusion model trains on, and its exact inverse so samples
// return in physical units. Each channel has its own kind (and a value transform, below):
//   per-variable:  y = (x - mean_c) / std_c                       (one mean/std per channel)
//   climatology:   y = (x - clim_c[month, i, j]) / std_c          (per-grid-point mean for each calendar
//                  month, i.e. anomalies; std_c is the channel's standard deviation of those anomalies)
//   seasonal:      y = (x - s_c(i, j, phi)) / std_c               (a smooth seasonal cycle per grid point: the
//                  least-squares fit of a_0 + sum_{k=1..K} a_k cos(k phi) + b_k sin(k phi), phi = 2 pi p / 12 with p
//                  the month position of the frame (time-parts.ts monthPosition), K = SEASONAL_HARMONICS; std_c of
//                  the residuals). Unlike monthly means it has no steps at month boundaries: the within-month part of
//                  the seasonal cycle, which monthly anomalies keep, goes into the mean (docs/recipe.md).
// Statistics are mask-aware (missing values never count), fitted on the frames given (pass the training
// split's frames so no validation/test information leaks), accumulated in float64 and stored as plain JSON
// (`normStatsToJSON` / `parseNormStats`), to be saved with the dataset and with every model.
// The forward map is computed in float64 and rounded once to float32, and so is the inverse, so
// denormalise(normalise(x)) differs from x by float32 round-off only: |x' - x| <= 2^-23 (|x| + |y| std + |m|).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import type { ClipSource } from './clip-source.js';
import { monthPositions } from './time-parts.js';
import { DataError } from './types.js';
import { SEASONAL_TERMS, seasonalAccumulate, seasonalBasis, seasonalFit, seasonalMean } from './seasonal.js';

export { SEASONAL_HARMONICS, SEASONAL_MIN_MONTHS, seasonalBasis, seasonalMean } from './seasonal.js';

export type NormKind = 'per-variable' | 'climatology' | 'seasonal';
export const NORM_KINDS: readonly NormKind[] = ['per-variable', 'climatology', 'seasonal'];

/**
 * A channel's value transform, applied before the affine normalisation (and undone after its inverse):
 *   none     y = x
 *   sqrt     y = sqrt(max(x, 0))                 (intermittent, heavy-tailed fields such as precipitation)
 *   learned  y = x, with the mean fixed at 0: the channel reaches the model as u = x / std >= 0 and the model's
 *            learned monotone transform (models/transform.ts) maps u to [-1, 1]; kind is always per-variable.
 */
export type ChannelTransform = 'none' | 'sqrt' | 'learned';
export const CHANNEL_TRANSFORMS: readonly ChannelTransform[] = ['none', 'sqrt', 'learned'];

export interface ChannelStats {
  name: string;
  units?: string | undefined;
  kind: NormKind;
  transform: ChannelTransform;
  /** per-variable: mean of the transformed values (0 for 'learned'). */
  mean: number;
  /** Standard deviation of the transformed values (per-variable) or of their anomalies (climatology). */
  std: number;
  /** climatology: 12 x height x width means of the transformed values (January first). */
  climatology?: number[];
  /** seasonal: SEASONAL_TERMS x height x width coefficients (a_0, a_1, b_1, a_2, b_2 per cell; basis seasonalBasis). */
  seasonal?: number[];
  /** Physical values below this are impossible (0 for precipitation): the inverse clamps to it and counts. */
  min: number | null;
  /** Largest physical value in the fitted frames (sets a learned transform's domain). */
  max?: number | undefined;
  /**
   * Cells (row * width + column) without a single valid value in the fitted frames (land in an ocean field, a
   * domain's outside): the inverse returns NaN there, so generated fields keep the data's mask.
   */
  never?: number[] | undefined;
}

/** Statistics of every channel (version 2: each channel has its own kind and transform). */
export interface NormStats {
  version: 2;
  height: number;
  width: number;
  channels: ChannelStats[];
}

const channelBase = { name: z.string(), units: z.string().optional() };
const channelSchema = z.object({
  ...channelBase,
  kind: z.enum(['per-variable', 'climatology', 'seasonal']),
  transform: z.enum(['none', 'sqrt', 'learned']),
  mean: z.number(),
  std: z.number().positive(),
  climatology: z.array(z.number()).optional(),
  seasonal: z.array(z.number()).optional(),
  min: z.number().nullable(),
  max: z.number().optional(),
  never: z.array(z.number().int().nonnegative()).optional(),
});
const statsSchema = z.union([
  z.object({ version: z.literal(2), height: z.number().int().nonnegative(), width: z.number().int().nonnegative(), channels: z.array(channelSchema).min(1) }),
  // version 1 (one kind for all channels, no transforms): read and converted
  z.object({
    kind: z.literal('per-variable'), version: z.literal(1),
    channels: z.array(z.object({ ...channelBase, mean: z.number(), std: z.number().positive() })).min(1),
  }),
  z.object({
    kind: z.literal('climatology'), version: z.literal(1),
    height: z.number().int().positive(), width: z.number().int().positive(),
    channels: z.array(z.object({ ...channelBase, climatology: z.array(z.number()), std: z.number().positive() })).min(1),
  }),
]);

/** Serialises statistics (numbers are float64, so parse(JSON) gives back identical values). */
export function normStatsToJSON(stats: NormStats): string { return JSON.stringify(stats); }

/** Reads statistics from JSON text or a parsed object, validating every field (version 1 is converted). */
export function parseNormStats(json: string | unknown): NormStats {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try { obj = JSON.parse(json); } catch (e) { throw new DataError('bad-stats', `normalisation statistics are not valid JSON: ${(e as Error).message}`); }
  }
  const r = statsSchema.safeParse(obj);
  if (!r.success) throw new DataError('bad-stats', `normalisation statistics are invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const d = r.data;
  let s: NormStats;
  if (d.version === 2) s = d as NormStats;
  else if (d.kind === 'per-variable') {
    s = { version: 2, height: 0, width: 0, channels: d.channels.map((c) => ({ ...c, kind: 'per-variable', transform: 'none', min: null })) };
  } else {
    s = { version: 2, height: d.height, width: d.width, channels: d.channels.map((c) => ({ ...c, kind: 'climatology', transform: 'none', mean: 0, min: null })) };
  }
  for (const c of s.channels) {
    if (c.kind === 'climatology') {
      if (!c.climatology || c.climatology.length !== 12 * s.height * s.width) {
        throw new DataError('bad-stats', `climatology of '${c.name}' has ${c.climatology?.length ?? 0} values, expected 12 x ${s.height} x ${s.width}`);
      }
    }
    if (c.kind === 'seasonal' && (!c.seasonal || c.seasonal.length !== SEASONAL_TERMS * s.height * s.width)) {
      throw new DataError('bad-stats', `seasonal cycle of '${c.name}' has ${c.seasonal?.length ?? 0} coefficients, expected ${SEASONAL_TERMS} x ${s.height} x ${s.width}`);
    }
    if (c.never && s.height > 0 && c.never.some((i) => i >= s.height * s.width)) throw new DataError('bad-stats', `channel '${c.name}': a never-observed cell lies outside the ${s.height} x ${s.width} grid`);
    if (c.transform === 'learned' && (c.kind !== 'per-variable' || c.mean !== 0)) throw new DataError('bad-stats', `channel '${c.name}': a learned transform needs kind per-variable with mean 0`);
  }
  return s;
}

/** Writes statistics as JSON next to a dataset or model (never over an existing file unless `overwrite`). */
export function writeNormStats(path: string, stats: NormStats, options: { overwrite?: boolean } = {}): void {
  if (existsSync(path) && !options.overwrite) throw new DataError('output-exists', `${path} exists; refusing to overwrite normalisation statistics`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, normStatsToJSON(stats));
  renameSync(tmp, path);
}

/** Reads statistics written by `writeNormStats`. */
export function readNormStats(path: string): NormStats {
  if (!existsSync(path)) throw new DataError('missing-file', `${path}: no such normalisation statistics file`);
  try { return parseNormStats(readFileSync(path, 'utf8')); } catch (e) {
    if (e instanceof DataError) throw new DataError(e.kind, `${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Month position (time-parts.ts monthPosition: in [0, 12), its floor the month index 0-11) of every frame of a source:
 * given (month indices are positions at the start of their month), or decoded from its time coordinate.
 */
export function sourceMonths(source: ClipSource, months?: ArrayLike<number>): Float64Array {
  if (months !== undefined) {
    if (months.length !== source.timeSteps) throw new DataError('bad-months', `got ${months.length} month indices for ${source.timeSteps} time steps`);
    const m = Float64Array.from(months);
    for (const v of m) if (!(v >= 0 && v < 12)) throw new DataError('bad-months', `month index ${v} is outside 0..11`);
    return m;
  }
  if (!source.time) throw new DataError('no-time', 'climatology and seasonal normalisation need a time coordinate or explicit month indices');
  return monthPositions(source.time);
}

export interface FitOptions {
  /** Normalisation of channels whose own entry does not say (default per-variable). */
  kind: NormKind;
  /** Per channel (by variable name): its kind and transform (default: `kind`, transform 'none'). */
  channels?: Record<string, { kind?: NormKind; transform?: ChannelTransform }>;
  /** Frame ranges [start, end) to fit on (default: all frames). */
  ranges?: readonly (readonly [number, number])[];
  /** Month index (0-11) or position (0 <= p < 12) per time step; default from the source's time coordinate. */
  months?: ArrayLike<number>;
  /** Frames read at a time (bounds memory for streamed sources). */
  blockFrames?: number;
}

/** The value transform of a channel (before normalisation). */
export function forwardTransform(t: ChannelTransform, x: number): number {
  return t === 'sqrt' ? Math.sqrt(Math.max(x, 0)) : x;
}

/** Precipitation-like variables (CF standard names, usual short names, rate units): never negative. */
export function isPrecipitationLike(name: string, units?: string, standardName?: string): boolean {
  if (standardName && /precipitation|rainfall/.test(standardName)) return true;
  if (/^(pr|precip|precipitation|tp|rain|rainfall|prate|pre|rr)$/i.test(name)) return true;
  return units !== undefined && /^(mm ?(h|hr|d|day)-1|mm\/(h|hr|d|day)|kg m-2 s-1)$/.test(units.trim());
}

/** Fits normalisation statistics on a source, reading it block by block (each channel by its own kind and transform). */
export async function fitNormStats(source: ClipSource, options: FitOptions): Promise<NormStats> {
  const { height: H, width: W, channels } = source;
  const C = channels.length;
  const frame = H * W;
  const ranges = options.ranges ?? [[0, source.timeSteps] as const];
  const block = Math.max(1, options.blockFrames ?? 32);
  for (const name of Object.keys(options.channels ?? {})) {
    if (!channels.some((c) => c.name === name)) throw new DataError('bad-option', `normalisation given for '${name}', which is not a channel (${channels.map((c) => c.name).join(', ')})`);
  }
  const spec = channels.map((ch) => {
    const o = options.channels?.[ch.name] ?? {};
    const transform = o.transform ?? 'none';
    if (!CHANNEL_TRANSFORMS.includes(transform)) throw new DataError('bad-option', `transform of '${ch.name}' must be one of ${CHANNEL_TRANSFORMS.join(', ')}, got '${transform}'`);
    const kind = transform === 'learned' ? 'per-variable' : o.kind ?? options.kind;
    if (!NORM_KINDS.includes(kind)) throw new DataError('bad-option', `normalisation of '${ch.name}' must be ${NORM_KINDS.join(', ')}, got '${kind}'`);
    return { kind, transform };
  });
  const anyClim = spec.some((s) => s.kind !== 'per-variable');
  // seasonal channels: per cell, the normal equations X^T X a = X^T y of the harmonic fit (on x - shift) and y^T y
  const T = SEASONAL_TERMS;
  const xtx = spec.map((sp) => (sp.kind === 'seasonal' ? new Float64Array(frame * T * T) : null));
  const xty = spec.map((sp) => (sp.kind === 'seasonal' ? new Float64Array(frame * T) : null));
  const basis = new Float64Array(T);
  // months (bits 0-11) in which each cell of a seasonal channel has values: a cycle is fitted only to a cell seen in
  // at least SEASONAL_MIN_MONTHS of them
  const monthsSeen = spec.map((sp) => (sp.kind === 'seasonal' ? new Uint16Array(frame) : null));
  const months = anyClim ? sourceMonths(source, options.months) : null;
  const cellsOf = (c: number) => (spec[c]!.kind === 'climatology' ? 12 * frame : spec[c]!.kind === 'seasonal' ? frame : 1);
  const shift = new Float64Array(C).fill(NaN); // first valid value per channel: sums of (x - shift) avoid cancellation
  const n: Float64Array[] = [], s1: Float64Array[] = [], s2: Float64Array[] = [];
  for (let c = 0; c < C; c++) { n.push(new Float64Array(cellsOf(c))); s1.push(new Float64Array(cellsOf(c))); s2.push(new Float64Array(cellsOf(c))); }
  const minRaw = new Float64Array(C).fill(Infinity), maxRaw = new Float64Array(C).fill(-Infinity);
  const seen = Array.from({ length: C }, () => new Uint8Array(frame));
  for (const [a, b] of ranges) {
    for (let t0 = a; t0 < b; t0 += block) {
      const t1 = Math.min(b, t0 + block);
      const { data, mask, frames } = await source.read(t0, t1);
      for (let c = 0; c < C; c++) {
        const { kind, transform } = spec[c]!;
        const nc = n[c]!, s1c = s1[c]!, s2c = s2[c]!, seenc = seen[c]!;
        for (let f = 0; f < frames; f++) {
          const base = (c * frames + f) * frame;
          const cellBase = kind === 'climatology' ? Math.floor(months![t0 + f]!) * frame : 0;
          if (kind === 'seasonal') seasonalBasis(months![t0 + f]!, basis);
          const A = xtx[c], bvec = xty[c], seenMonths = monthsSeen[c];
          const monthBit = kind === 'seasonal' ? 1 << Math.floor(months![t0 + f]!) : 0;
          for (let i = 0; i < frame; i++) {
            if (mask[base + i] !== 0) continue;
            seenc[i] = 1;
            const raw = data[base + i]!;
            if (raw < minRaw[c]!) minRaw[c] = raw;
            if (raw > maxRaw[c]!) maxRaw[c] = raw;
            const x = forwardTransform(transform, raw);
            if (Number.isNaN(shift[c]!)) shift[c] = x;
            const d = x - shift[c]!;
            const k = kind === 'per-variable' ? 0 : kind === 'climatology' ? cellBase + i : i;
            nc[k]! += 1; s1c[k]! += d; s2c[k]! += d * d;
            if (A && bvec && seenMonths) {
              seenMonths[i] = seenMonths[i]! | monthBit;
              seasonalAccumulate(A, bvec, i, basis, d);
            }
          }
        }
      }
    }
  }
  return {
    version: 2, height: H, width: W,
    channels: channels.map((ch, c): ChannelStats => {
      const { kind, transform } = spec[c]!;
      const nc = n[c]!, s1c = s1[c]!, s2c = s2[c]!;
      let nTot = 0, sTot = 0;
      for (let k = 0; k < nc.length; k++) { nTot += nc[k]!; sTot += s1c[k]!; }
      if (nTot === 0) throw new DataError('all-missing', `channel '${ch.name}' has no valid values in the frames used for normalisation`);
      const precip = isPrecipitationLike(ch.name, ch.units, ch.standardName);
      const min = minRaw[c]! >= 0 && (precip || transform !== 'none') ? 0 : null;
      const never: number[] = [];
      seen[c]!.forEach((v, i) => { if (v === 0) never.push(i); });
      const base = { name: ch.name, units: ch.units, kind, transform, min, max: maxRaw[c]!, ...(never.length > 0 ? { never } : {}) };
      if (kind === 'per-variable') {
        const m = s1c[0]! / nc[0]!;
        const v = Math.max(0, s2c[0]! / nc[0]! - m * m);
        if (transform === 'learned') {
          // u = x / std: the data's spread as the scale, the origin kept at 0 (no rain)
          return { ...base, mean: 0, std: v > 0 ? Math.sqrt(v) : 1 };
        }
        return { ...base, mean: shift[c]! + m, std: v > 0 ? Math.sqrt(v) : 1 };
      }
      const meanAll = sTot / nTot;
      if (kind === 'seasonal') {
        const { coefficients, residual } = seasonalFit(xtx[c]!, xty[c]!, nc, s2c, monthsSeen[c]!, frame, shift[c]!, meanAll);
        const v = residual / nTot;
        return { ...base, mean: 0, seasonal: coefficients, std: v > 0 ? Math.sqrt(v) : 1 };
      }
      const clim = new Array<number>(nc.length);
      let vTot = 0;
      for (let k = 0; k < nc.length; k++) {
        const nk = nc[k]!;
        if (nk === 0) { clim[k] = shift[c]! + meanAll; continue; } // no data for this month and cell
        const m = s1c[k]! / nk;
        clim[k] = shift[c]! + m;
        vTot += Math.max(0, s2c[k]! - nk * m * m); // sum of squared anomalies in this cell and month
      }
      const v = vTot / nTot;
      return { ...base, mean: 0, climatology: clim, std: v > 0 ? Math.sqrt(v) : 1 };
    }),
  };
}

/** Whether any channel needs each frame's month position (climatology, seasonal). */
export function needsMonths(stats: NormStats): boolean {
  return stats.channels.some((c) => c.kind === 'climatology' || c.kind === 'seasonal');
}

function checkShape(stats: NormStats, C: number, H: number, W: number, frames: number, months: ArrayLike<number> | null): void {
  if (stats.channels.length !== C) throw new DataError('bad-stats', `statistics have ${stats.channels.length} channels, the data ${C}`);
  if (needsMonths(stats)) {
    if (stats.height !== H || stats.width !== W) throw new DataError('bad-stats', `climatology grid ${stats.height}x${stats.width} differs from the data's ${H}x${W}`);
    if (!months || months.length !== frames) throw new DataError('bad-months', `climatology and seasonal normalisation need one month index (or position) per frame (${frames})`);
  }
}

type Shape = { channels: number; frames: number; height: number; width: number };

/**
 * Normalises a block laid out (channel, frame, lat, lon): y = (t(x) - m) / std with the channel's transform t and
 * mean m (a constant, or the climatology of the frame's month, given by `months`). Where `mask` is 1 the result is 0.
 */
export function normalise(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: Shape, months: ArrayLike<number> | null = null): Float32Array {
  return applyAffine(stats, data, mask, shape, months, false).out;
}

/** Values clamped by the inverse, per channel: below the channel's physical minimum (e.g. negative rain). */
export interface ClampCounts { below: number[]; total: number[] }

/**
 * The exact inverse of `normalise`, x = t^-1(y std + m); masked entries become NaN when a mask is given. Values below
 * the channel's physical minimum (negative rain; for sqrt, a negative root) are clamped to it and counted.
 */
export function denormalise(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: Shape, months: ArrayLike<number> | null = null,
  counts?: ClampCounts): Float32Array {
  const r = applyAffine(stats, data, mask, shape, months, true);
  if (counts) r.below.forEach((b, c) => { counts.below[c] = (counts.below[c] ?? 0) + b; counts.total[c] = (counts.total[c] ?? 0) + r.total[c]!; });
  return r.out;
}

function applyAffine(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: Shape, months: ArrayLike<number> | null, inverse: boolean): { out: Float32Array; below: number[]; total: number[] } {
  const { channels: C, frames: F, height: H, width: W } = shape;
  const frame = H * W;
  if (data.length !== C * F * frame) throw new DataError('bad-shape', `data has ${data.length} values, expected ${C}x${F}x${H}x${W}`);
  checkShape(stats, C, H, W, F, months);
  const out = new Float32Array(data.length);
  const below = new Array<number>(C).fill(0), total = new Array<number>(C).fill(0);
  for (let c = 0; c < C; c++) {
    const ch = stats.channels[c]!;
    const clim = ch.kind === 'climatology' ? ch.climatology! : null;
    const seasonal = ch.kind === 'seasonal' ? ch.seasonal! : null;
    const basis = new Float64Array(SEASONAL_TERMS);
    const cycle = seasonal ? new Float64Array(frame) : null;
    const sqrt = ch.transform === 'sqrt';
    const lo = ch.min;
    const tol = 1e-5 * ch.std;
    const never = inverse && ch.never?.length ? new Set(ch.never) : null;
    for (let f = 0; f < F; f++) {
      const base = (c * F + f) * frame;
      const climBase = clim ? Math.floor(months![f]!) * frame : 0;
      if (seasonal && cycle) seasonalMean(seasonal, seasonalBasis(months![f]!, basis), frame, cycle);
      for (let i = 0; i < frame; i++) {
        const k = base + i;
        if ((mask !== null && mask[k] !== 0) || never?.has(i)) { out[k] = inverse ? NaN : 0; continue; }
        const m = clim ? clim[climBase + i]! : cycle ? cycle[i]! : ch.mean;
        if (!inverse) { out[k] = (forwardTransform(ch.transform, data[k]!) - m) / ch.std; continue; }
        let t = data[k]! * ch.std + m;
        total[c]!++;
        // clamped values are counted when they lie beyond float32 round-off of the normalised value (tol)
        if (sqrt && t < 0) { if (t < -tol) below[c]!++; t = 0; }
        let x = sqrt ? t * t : t;
        if (lo !== null && x < lo) { if (!sqrt && x < lo - tol) below[c]!++; x = lo; }
        out[k] = x;
      }
    }
  }
  return { out, below, total };
}
