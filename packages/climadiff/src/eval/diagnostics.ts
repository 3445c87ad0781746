// Distribution diagnostics of the seed's final evaluation protocol: value histogram, upper quantiles / QQ,
// per-cell mean-normalised bias map (+ R^2 between mean maps). Spectra and autocorrelation are in spectra.ts.
import { asValues, dims, validAt, type ClipArray } from './clips.js';


// ---------------------------------------------------------------------------------------------------
// Histogram

export interface HistogramOptions {
  /** Number of bins (default 50). */
  bins?: number;
  /** Log-spaced bin edges over the positive values (values <= `floor` are counted in `belowFloor`). */
  log?: boolean;
  /** Lower limit of log bins (default: the smallest positive value of either series). */
  floor?: number;
  /** Value range of the bins (default: min..max over both series). */
  range?: [number, number];
}

export interface HistogramResult {
  /** bins + 1 common edges. */
  edges: number[];
  /** Density per bin: count / (total count * bin width), so sum(density * width) = fraction inside the edges. */
  sampleDensity: number[];
  referenceDensity: number[];
  sampleCount: number;
  referenceCount: number;
  /** Fraction of each series below the first edge (log bins: values <= floor, e.g. dry cells). */
  sampleBelow: number;
  referenceBelow: number;
}

/** Value histograms of samples and reference on common bin edges, as densities. */
export function valueHistogram(samples: ClipArray | ArrayLike<number>, reference: ClipArray | ArrayLike<number>, o: HistogramOptions = {}): HistogramResult {
  const s = asValues(samples), r = asValues(reference);
  if (s.length === 0 || r.length === 0) throw new Error('valueHistogram: a series has no valid values');
  const bins = o.bins ?? 50;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`valueHistogram: bins must be a positive integer, got ${bins}`);
  let lo = Infinity, hi = -Infinity, minPos = Infinity;
  for (const a of [s, r]) for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; if (v > 0 && v < minPos) minPos = v; }
  if (o.range) [lo, hi] = o.range;
  const edges: number[] = [];
  if (o.log) {
    const f = o.floor ?? minPos;
    if (!(f > 0) || !Number.isFinite(f)) throw new Error('valueHistogram: log bins need positive values');
    lo = Math.max(lo, f);
    if (!(hi > lo)) hi = lo * 10;
    const a = Math.log(lo), b = Math.log(hi);
    for (let i = 0; i <= bins; i++) edges.push(Math.exp(a + ((b - a) * i) / bins));
    edges[0] = lo; edges[bins] = hi;
  } else {
    if (!(hi > lo)) { const d = Math.abs(lo) * 0.01 || 1; lo -= d; hi += d; }
    for (let i = 0; i <= bins; i++) edges.push(lo + ((hi - lo) * i) / bins);
    edges[bins] = hi;
  }
  const count = (a: Float64Array): { dens: number[]; below: number } => {
    const c = new Float64Array(bins);
    let below = 0;
    for (const v of a) {
      if (v < edges[0]! || (o.log && v <= (o.floor ?? 0))) { below++; continue; }
      if (v > edges[bins]!) continue;
      // binary search for the bin (last bin is closed on the right)
      let l = 0, h = bins;
      while (h - l > 1) { const mid = (l + h) >> 1; if (v >= edges[mid]!) l = mid; else h = mid; }
      c[l]!++;
    }
    return { dens: Array.from(c, (k, i) => k / (a.length * (edges[i + 1]! - edges[i]!))), below: below / a.length };
  };
  const cs = count(s), cr = count(r);
  return { edges, sampleDensity: cs.dens, referenceDensity: cr.dens, sampleCount: s.length, referenceCount: r.length, sampleBelow: cs.below, referenceBelow: cr.below };
}

// ---------------------------------------------------------------------------------------------------
// Quantiles

/** `n` quantile levels from qMin to qMax, log-spaced in 1 - q (default 20 levels from 0.9 to 0.9999). */
export function upperQuantileLevels(n = 20, qMin = 0.9, qMax = 0.9999): number[] {
  if (!(qMin > 0 && qMin < qMax && qMax < 1) || n < 2) throw new Error(`upperQuantileLevels: need 0 < qMin < qMax < 1 and n >= 2`);
  const a = Math.log10(1 - qMin), b = Math.log10(1 - qMax);
  return Array.from({ length: n }, (_, i) => 1 - 10 ** (a + ((b - a) * i) / (n - 1)));
}

/** Quantiles (linear interpolation between order statistics, "type 7") of the present values. */
export function upperQuantiles(x: ClipArray | ArrayLike<number>, qs: readonly number[] = upperQuantileLevels()): number[] {
  return quantilesOfSorted(asValues(x).sort(), qs);
}

/** Quantiles ("type 7") of values already sorted ascending (no NaN). */
export function quantilesOfSorted(v: ArrayLike<number>, qs: readonly number[]): number[] {
  if (v.length === 0) throw new Error('upperQuantiles: no valid values');
  return qs.map((q) => {
    if (!(q >= 0 && q <= 1)) throw new Error(`upperQuantiles: level ${q} is outside [0, 1]`);
    const pos = q * (v.length - 1);
    const i = Math.floor(pos), w = pos - i;
    return v[i]! * (1 - w) + v[Math.min(v.length - 1, i + 1)]! * w;
  });
}

export interface QQResult { qs: number[]; sample: number[]; reference: number[] }

/** Upper quantiles of samples against reference at the same levels. */
export function qqUpper(samples: ClipArray | ArrayLike<number>, reference: ClipArray | ArrayLike<number>, qs: readonly number[] = upperQuantileLevels()): QQResult {
  return { qs: [...qs], sample: upperQuantiles(samples, qs), reference: upperQuantiles(reference, qs) };
}

// ---------------------------------------------------------------------------------------------------
// Mean-normalised bias

/** Per-cell time-and-clip mean over present values (NaN where a cell has none). */
export function cellMean(c: ClipArray): Float64Array {
  const { N, F, H, W } = dims(c, 'cellMean');
  const HW = H * W;
  const sum = new Float64Array(HW), cnt = new Float64Array(HW);
  for (let t = 0; t < N * F; t++) for (let j = 0; j < HW; j++) {
    const i = t * HW + j;
    if (validAt(c, i, HW)) { sum[j] = sum[j]! + c.data[i]!; cnt[j]!++; }
  }
  return sum.map((s, j) => (cnt[j]! > 0 ? s / cnt[j]! : NaN));
}

export interface BiasResult {
  height: number;
  width: number;
  /** (sample mean - reference mean) / reference mean per cell, NaN where undefined (|reference mean| <= eps or missing). */
  map: Float64Array;
  sampleMean: Float64Array;
  referenceMean: Float64Array;
  /** Over cells where the map is defined. */
  meanAbs: number;
  mean: number;
  rms: number;
  definedCells: number;
  /** Coefficient of determination of the sample-mean map as a prediction of the reference-mean map: 1 - SS_res / SS_tot. */
  r2: number;
  /** Squared Pearson correlation between the two mean maps. */
  corr2: number;
}

/** Per-cell mean-normalised bias (sample mean - test mean) / test mean, with summary numbers. */
export function meanNormalisedBias(samples: ClipArray, reference: ClipArray, o: { eps?: number } = {}): BiasResult {
  const a = dims(samples, 'meanNormalisedBias(samples)'), b = dims(reference, 'meanNormalisedBias(reference)');
  if (a.H !== b.H || a.W !== b.W) throw new Error(`meanNormalisedBias: samples are ${a.H}x${a.W}, reference is ${b.H}x${b.W}`);
  const eps = o.eps ?? 1e-12;
  const sm = cellMean(samples), rm = cellMean(reference);
  const HW = a.H * a.W;
  const map = new Float64Array(HW);
  let n = 0, sAbs = 0, sSum = 0, sSq = 0;
  for (let j = 0; j < HW; j++) {
    const s = sm[j]!, r = rm[j]!;
    if (Number.isFinite(s) && Number.isFinite(r) && Math.abs(r) > eps) {
      const v = (s - r) / r;
      map[j] = v; n++; sAbs += Math.abs(v); sSum += v; sSq += v * v;
    } else map[j] = NaN;
  }
  // R^2 over cells where both means exist
  let m = 0, mr = 0, ms = 0;
  for (let j = 0; j < HW; j++) if (Number.isFinite(sm[j]!) && Number.isFinite(rm[j]!)) { m++; mr += rm[j]!; ms += sm[j]!; }
  mr /= m || 1; ms /= m || 1;
  let ssRes = 0, ssTot = 0, sss = 0, sxy = 0;
  for (let j = 0; j < HW; j++) if (Number.isFinite(sm[j]!) && Number.isFinite(rm[j]!)) {
    const dr = rm[j]! - mr, ds = sm[j]! - ms;
    ssRes += (sm[j]! - rm[j]!) ** 2; ssTot += dr * dr; sss += ds * ds; sxy += dr * ds;
  }
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : -Infinity;
  const corr2 = ssTot > 0 && sss > 0 ? (sxy * sxy) / (ssTot * sss) : ssRes === 0 ? 1 : 0;
  return { height: a.H, width: a.W, map, sampleMean: sm, referenceMean: rm, meanAbs: n ? sAbs / n : NaN, mean: n ? sSum / n : NaN, rms: n ? Math.sqrt(sSq / n) : NaN, definedCells: n, r2, corr2 };
}
