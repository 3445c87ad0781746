// The percentile bootstrap over cases: confidence intervals of any statistic of a resample of the cases, per lead,
// with the same resampled indices for every lead and for every arm that shares the seed (so differences and ratios
// of two arms' statistics are paired). The statistics of the ensemble scores are in scores.ts; probes.ts wraps it
// for one statistic over examples.
import { mulberry32 } from './random.js';

/** A statistic of a resample: idx holds N case indices (drawn with replacement), lead the lead frame. */
export type BootstrapStatistic = 'mean' | ((idx: Int32Array, lead: number, perCase: ArrayLike<number>) => number);

export interface BootstrapOptions {
  /** Number of resamples B (default 1000). */
  samples?: number;
  /** Central coverage of the interval (default 0.95: the 2.5 and 97.5 percentiles). */
  level?: number;
  /** PRNG seed (default 0). */
  seed?: number;
}

export interface BootstrapResult {
  level: number; samples: number; seed: number;
  /** [F]: the statistic on the original cases. */
  estimate: number[];
  /** [F]: the (1 - level)/2 and (1 + level)/2 percentiles of the resampled statistic. */
  lower: number[];
  upper: number[];
}

/**
 * Percentile bootstrap confidence intervals over cases, per lead. Each of the B resamples draws N case indices
 * uniformly with replacement (mulberry32(seed): deterministic), the same indices for every lead; the statistic is
 * evaluated per lead, and the interval is the (1 - level)/2 and (1 + level)/2 quantiles of the B values (linear
 * interpolation between order statistics; resamples whose statistic is NaN are dropped). perCase is [N, F] (C order).
 * statistic 'mean': the mean of perCase[idx_k, f] over the resampled cases (NaN entries skipped); a function gets
 * the indices and computes anything, e.g. ratioOfSumsStatistic (weighted CRPS means; RMSE as the square root of the
 * pooled per-case squared-error sums), spreadSkillStatistic, skillScoreStatistic, fssStatistic.
 */
export function bootstrapCI(perCase: ArrayLike<number>, shape: readonly [number, number], statistic: BootstrapStatistic = 'mean', o: BootstrapOptions = {}): BootstrapResult {
  const [N, F] = shape;
  if (shape.length !== 2 || !Number.isInteger(N) || !Number.isInteger(F) || N < 1 || F < 1) throw new Error(`bootstrapCI: shape must be [N, F] of positive integers, got [${shape.join(', ')}]`);
  if (perCase.length !== N * F) throw new Error(`bootstrapCI: perCase has ${perCase.length} values, shape [${N}, ${F}] needs ${N * F}`);
  const B = o.samples ?? 1000, level = o.level ?? 0.95, seed = o.seed ?? 0;
  if (!Number.isInteger(B) || B < 1) throw new Error(`bootstrapCI: samples must be a positive integer, got ${B}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrapCI: level must be in (0, 1), got ${level}`);
  if (!Number.isFinite(seed)) throw new Error(`bootstrapCI: seed must be a finite number, got ${seed}`);
  const stat = statistic === 'mean' ? meanStatistic : statistic;
  if (typeof stat !== 'function') throw new Error(`bootstrapCI: statistic must be 'mean' or a function, got ${String(statistic)}`);
  const identity = Int32Array.from({ length: N }, (_, n) => n);
  const estimate = Array.from({ length: F }, (_, f) => stat(identity, f, perCase));
  const rand = mulberry32(seed), idx = new Int32Array(N), vals = Array.from({ length: F }, () => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < N; k++) idx[k] = Math.min(N - 1, Math.floor(rand() * N));
    for (let f = 0; f < F; f++) vals[f]![b] = stat(idx, f, perCase);
  }
  const lower: number[] = [], upper: number[] = [];
  for (let f = 0; f < F; f++) {
    const v = vals[f]!.filter((x) => !Number.isNaN(x)).sort();
    lower.push(percentileOfSorted(v, (1 - level) / 2)); upper.push(percentileOfSorted(v, (1 + level) / 2));
  }
  return { level, samples: B, seed, estimate, lower, upper };
}

function meanStatistic(idx: Int32Array, f: number, perCase: ArrayLike<number>): number {
  const F = perCase.length / idx.length;
  let s = 0, c = 0;
  for (let k = 0; k < idx.length; k++) { const v = perCase[idx[k]! * F + f]!; if (!Number.isNaN(v)) { s += v; c++; } }
  return c > 0 ? s / c : NaN;
}

function percentileOfSorted(v: Float64Array, q: number): number {
  if (v.length === 0) return NaN;
  const pos = q * (v.length - 1), i = Math.floor(pos), w = pos - i;
  return v[i]! * (1 - w) + v[Math.min(v.length - 1, i + 1)]! * w;
}
