// Normalisation of fields to the scale a diffusion model trains on, and its exact inverse so samples
// return in physical units. Two kinds:
//   per-variable:  y = (x - mean_c) / std_c                       (one mean/std per channel)
//   climatology:   y = (x - clim_c[month, i, j]) / std_c          (per-grid-point mean for each calendar
//                  month, i.e. anomalies; std_c is the channel's standard deviation of those anomalies)
// Statistics are mask-aware (missing values never count), fitted on the frames given (pass the training
// split's frames so no validation/test information leaks), accumulated in float64 and stored as plain JSON
// (`normStatsToJSON` / `parseNormStats`), to be saved with the dataset and with every model.
// The forward map is computed in float64 and rounded once to float32, and so is the inverse, so
// denormalise(normalise(x)) differs from x by float32 round-off only: |x' - x| <= 2^-23 (|x| + |y| std + |m|).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import type { ClipSource } from './clip-source.js';
import { monthIndices } from './time-parts.js';
import { DataError } from './types.js';

export type NormKind = 'per-variable' | 'climatology';

export interface PerVariableStats {
  kind: 'per-variable';
  version: 1;
  channels: { name: string; units?: string | undefined; mean: number; std: number }[];
}

export interface ClimatologyStats {
  kind: 'climatology';
  version: 1;
  height: number;
  width: number;
  /** climatology: 12 x height x width means (January first); std: of the anomalies. */
  channels: { name: string; units?: string | undefined; climatology: number[]; std: number }[];
}

export type NormStats = PerVariableStats | ClimatologyStats;

const channelBase = { name: z.string(), units: z.string().optional() };
const statsSchema = z.discriminatedUnion('kind', [
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

/** Reads statistics from JSON text or a parsed object, validating every field. */
export function parseNormStats(json: string | unknown): NormStats {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try { obj = JSON.parse(json); } catch (e) { throw new DataError('bad-stats', `normalisation statistics are not valid JSON: ${(e as Error).message}`); }
  }
  const r = statsSchema.safeParse(obj);
  if (!r.success) throw new DataError('bad-stats', `normalisation statistics are invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const s = r.data as NormStats;
  if (s.kind === 'climatology') {
    for (const c of s.channels) {
      if (c.climatology.length !== 12 * s.height * s.width) {
        throw new DataError('bad-stats', `climatology of '${c.name}' has ${c.climatology.length} values, expected 12 x ${s.height} x ${s.width}`);
      }
    }
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

/** Month of year (0-11) of every frame of a source: given, or decoded from its time coordinate. */
export function sourceMonths(source: ClipSource, months?: ArrayLike<number>): Int32Array {
  if (months !== undefined) {
    if (months.length !== source.timeSteps) throw new DataError('bad-months', `got ${months.length} month indices for ${source.timeSteps} time steps`);
    const m = Int32Array.from(months);
    for (const v of m) if (v < 0 || v > 11) throw new DataError('bad-months', `month index ${v} is outside 0..11`);
    return m;
  }
  if (!source.time) throw new DataError('no-time', 'climatology normalisation needs a time coordinate or explicit month indices');
  return monthIndices(source.time);
}

export interface FitOptions {
  kind: NormKind;
  /** Frame ranges [start, end) to fit on (default: all frames). */
  ranges?: readonly (readonly [number, number])[];
  /** Month index (0-11) per time step; default from the source's time coordinate. */
  months?: ArrayLike<number>;
  /** Frames read at a time (bounds memory for streamed sources). */
  blockFrames?: number;
}

/** Fits normalisation statistics on a source, reading it block by block. */
export async function fitNormStats(source: ClipSource, options: FitOptions): Promise<NormStats> {
  const { height: H, width: W, channels } = source;
  const C = channels.length;
  const frame = H * W;
  const ranges = options.ranges ?? [[0, source.timeSteps] as const];
  const block = Math.max(1, options.blockFrames ?? 32);
  const months = options.kind === 'climatology' ? sourceMonths(source, options.months) : null;
  const cells = options.kind === 'climatology' ? 12 * frame : 1;
  const shift = new Float64Array(C).fill(NaN); // first valid value per channel: sums of (x - shift) avoid cancellation
  const n = new Float64Array(C * cells);
  const s1 = new Float64Array(C * cells);
  const s2 = new Float64Array(C * cells);
  for (const [a, b] of ranges) {
    for (let t0 = a; t0 < b; t0 += block) {
      const t1 = Math.min(b, t0 + block);
      const { data, mask, frames } = await source.read(t0, t1);
      for (let c = 0; c < C; c++) {
        for (let f = 0; f < frames; f++) {
          const base = (c * frames + f) * frame;
          const cellBase = c * cells + (months ? months[t0 + f]! * frame : 0);
          for (let i = 0; i < frame; i++) {
            if (mask[base + i] !== 0) continue;
            const x = data[base + i]!;
            if (Number.isNaN(shift[c]!)) shift[c] = x;
            const d = x - shift[c]!;
            const k = months ? cellBase + i : cellBase;
            n[k]! += 1; s1[k]! += d; s2[k]! += d * d;
          }
        }
      }
    }
  }
  if (options.kind === 'per-variable') {
    return {
      kind: 'per-variable', version: 1,
      channels: channels.map((ch, c) => {
        if (n[c] === 0) throw new DataError('all-missing', `channel '${ch.name}' has no valid values in the frames used for normalisation`);
        const m = s1[c]! / n[c]!;
        const v = Math.max(0, s2[c]! / n[c]! - m * m);
        return { name: ch.name, units: ch.units, mean: shift[c]! + m, std: v > 0 ? Math.sqrt(v) : 1 };
      }),
    };
  }
  return {
    kind: 'climatology', version: 1, height: H, width: W,
    channels: channels.map((ch, c) => {
      let nTot = 0, sTot = 0, vTot = 0;
      const o = c * cells;
      for (let k = 0; k < cells; k++) { nTot += n[o + k]!; sTot += s1[o + k]!; }
      if (nTot === 0) throw new DataError('all-missing', `channel '${ch.name}' has no valid values in the frames used for normalisation`);
      const meanAll = sTot / nTot;
      const clim = new Array<number>(cells);
      for (let k = 0; k < cells; k++) {
        const nk = n[o + k]!;
        if (nk === 0) { clim[k] = shift[c]! + meanAll; continue; } // no data for this month and cell
        const m = s1[o + k]! / nk;
        clim[k] = shift[c]! + m;
        vTot += Math.max(0, s2[o + k]! - nk * m * m); // sum of squared anomalies in this cell and month
      }
      const v = vTot / nTot;
      return { name: ch.name, units: ch.units, climatology: clim, std: v > 0 ? Math.sqrt(v) : 1 };
    }),
  };
}

function checkShape(stats: NormStats, C: number, H: number, W: number, frames: number, months: ArrayLike<number> | null): void {
  if (stats.channels.length !== C) throw new DataError('bad-stats', `statistics have ${stats.channels.length} channels, the data ${C}`);
  if (stats.kind === 'climatology') {
    if (stats.height !== H || stats.width !== W) throw new DataError('bad-stats', `climatology grid ${stats.height}x${stats.width} differs from the data's ${H}x${W}`);
    if (!months || months.length !== frames) throw new DataError('bad-months', `climatology normalisation needs one month index per frame (${frames})`);
  }
}

/**
 * Normalises a block laid out (channel, frame, lat, lon); `months` gives each frame's month (climatology
 * only). Where `mask` is 1 the result is 0 (never a number from missing data).
 */
export function normalise(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: { channels: number; frames: number; height: number; width: number },
  months: ArrayLike<number> | null = null): Float32Array {
  return applyAffine(stats, data, mask, shape, months, false);
}

/** The exact inverse of `normalise`; masked entries become NaN when a mask is given. */
export function denormalise(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: { channels: number; frames: number; height: number; width: number },
  months: ArrayLike<number> | null = null): Float32Array {
  return applyAffine(stats, data, mask, shape, months, true);
}

function applyAffine(stats: NormStats, data: Float32Array, mask: Uint8Array | null, shape: { channels: number; frames: number; height: number; width: number },
  months: ArrayLike<number> | null, inverse: boolean): Float32Array {
  const { channels: C, frames: F, height: H, width: W } = shape;
  const frame = H * W;
  if (data.length !== C * F * frame) throw new DataError('bad-shape', `data has ${data.length} values, expected ${C}x${F}x${H}x${W}`);
  checkShape(stats, C, H, W, F, months);
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++) {
    const ch = stats.channels[c]!;
    for (let f = 0; f < F; f++) {
      const base = (c * F + f) * frame;
      const clim = stats.kind === 'climatology' ? (ch as ClimatologyStats['channels'][number]).climatology : null;
      const climBase = clim ? months![f]! * frame : 0;
      const mean = stats.kind === 'per-variable' ? (ch as PerVariableStats['channels'][number]).mean : 0;
      const std = ch.std;
      for (let i = 0; i < frame; i++) {
        const k = base + i;
        if (mask !== null && mask[k] !== 0) { out[k] = inverse ? NaN : 0; continue; }
        const m = clim ? clim[climBase + i]! : mean;
        out[k] = inverse ? data[k]! * std + m : (data[k]! - m) / std;
      }
    }
  }
  return out;
}
