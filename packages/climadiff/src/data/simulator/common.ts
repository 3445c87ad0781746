// Shared pieces of the built-in simulators: option checks, CF time coordinates, precipitation statistics.
import { DataError } from '../types.js';

/** Throws a DataError naming the option, what is valid, and what was given. */
export function checkOption(ok: boolean, name: string, valid: string, value: unknown): void {
  if (!ok) throw new DataError('bad-option', `simulate: option ${name} must be ${valid} (got ${JSON.stringify(value)})`);
}

export const isPosInt = (v: number): boolean => Number.isInteger(v) && v > 0;
export const isNonNegInt = (v: number): boolean => Number.isInteger(v) && v >= 0;

/** A split of a frame interval `every` (seconds) into n equal sub-steps no longer than dtMax. */
export function subSteps(every: number, dtMax: number): { n: number; dt: number } {
  const n = Math.max(1, Math.ceil(every / dtMax - 1e-9));
  return { n, dt: every / n };
}

/** Statistics of a precipitation sample: dry fraction (< 0.01 mm/h) and heavy-tail measures of wet values. */
export interface PrecipStats {
  /** Fraction of values below 0.01 mm/h. */
  dryFraction: number;
  mean: number;
  max: number;
  /** 99.9th percentile of all values over the 99th percentile of all values (an exponential law gives ~1.5). */
  q999OverQ99: number;
  /** Excess kurtosis of the wet (>= 0.01 mm/h) values; 0 for a Gaussian, 6 for an exponential law. */
  wetExcessKurtosis: number;
  /** Fraction of the total rain that falls in the wettest 1% of all values. */
  top1PercentShare: number;
}

export function precipStats(values: Float32Array): PrecipStats {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  let dry = 0, sum = 0;
  for (let i = 0; i < n; i++) { const v = sorted[i]!; if (v < 0.01) dry++; sum += v; }
  const q = (p: number): number => sorted[Math.min(n - 1, Math.floor(p * n))]!;
  const wet = sorted.subarray(dry);
  let m = 0; for (const v of wet) m += v; m /= Math.max(1, wet.length);
  let m2 = 0, m4 = 0; for (const v of wet) { const d = v - m; m2 += d * d; m4 += d * d * d * d; }
  m2 /= Math.max(1, wet.length); m4 /= Math.max(1, wet.length);
  let top = 0; for (let i = Math.floor(0.99 * n); i < n; i++) top += sorted[i]!;
  return {
    dryFraction: dry / n,
    mean: sum / n,
    max: sorted[n - 1] ?? 0,
    q999OverQ99: q(0.99) > 0 ? q(0.999) / q(0.99) : Infinity,
    wetExcessKurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : 0,
    top1PercentShare: sum > 0 ? top / sum : 0,
  };
}
