// Diagnostics of the seed's final evaluation protocol, as pure functions over clip arrays:
// value histogram, upper quantiles / QQ, per-cell mean-normalised bias map (+ R^2 between mean maps),
// radially averaged spatial power spectrum, temporal power spectrum per cell and lag autocorrelation.
// Missing values (mask = 1, or non-finite values) are excluded everywhere.
import { fft, fft2Real } from './fft.js';

/** A block of clips of one variable: data of shape [N, F, H, W] (C order). */
export interface ClipArray {
  data: Float32Array;
  shape: readonly [number, number, number, number];
  /** 1 = missing. Either one per value (N*F*H*W) or one static mask per cell (H*W). */
  mask?: Uint8Array | null;
}

function dims(c: ClipArray, who: string): { N: number; F: number; H: number; W: number } {
  const [N, F, H, W] = c.shape;
  if (c.shape.length !== 4 || ![N, F, H, W].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${who}: shape must be [N, F, H, W] of positive integers, got [${c.shape.join(', ')}]`);
  if (c.data.length !== N * F * H * W) throw new Error(`${who}: data has ${c.data.length} values, shape [${c.shape.join(', ')}] needs ${N * F * H * W}`);
  if (c.mask && c.mask.length !== c.data.length && c.mask.length !== H * W) throw new Error(`${who}: mask has ${c.mask.length} values, expected ${c.data.length} or ${H * W}`);
  return { N, F, H, W };
}

/** Whether value i (flat index into data) is present. */
function validAt(c: ClipArray, i: number, HW: number): boolean {
  const m = c.mask;
  if (m && (m.length === c.data.length ? m[i] : m[i % HW])) return false;
  return Number.isFinite(c.data[i]!);
}

/** All present values, as float64. */
export function validValues(c: ClipArray): Float64Array {
  const { H, W } = dims(c, 'validValues');
  const HW = H * W;
  const out = new Float64Array(c.data.length);
  let n = 0;
  for (let i = 0; i < c.data.length; i++) if (validAt(c, i, HW)) out[n++] = c.data[i]!;
  return out.slice(0, n);
}

function asValues(x: ClipArray | ArrayLike<number>): Float64Array {
  if ('shape' in x && 'data' in x) return validValues(x as ClipArray);
  const a = x as ArrayLike<number>;
  const out = new Float64Array(a.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) { const v = a[i]!; if (Number.isFinite(v)) out[n++] = v; }
  return n === a.length ? out : out.slice(0, n);
}

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

// ---------------------------------------------------------------------------------------------------
// Spatial power spectrum

/** Fields of shape [N, H, W] (any block of frames), with an optional mask (per value or per cell). */
export interface FieldStack { data: Float32Array; shape: readonly [number, number, number]; mask?: Uint8Array | null }

export interface RadialSpectrum {
  /** Bin k collects modes with round(|kappa| * L) = k, L = max(H, W), kappa in cycles per grid cell. */
  wavenumber: number[];
  /** Wavenumber in cycles per grid cell (k / L); wavelength in cells is 1 / this. */
  cyclesPerCell: number[];
  /** Mean power of the modes in each bin, averaged over frames. */
  power: number[];
  /** Summed power of the modes in each bin, averaged over frames (sum over all bins = mean square, Parseval). */
  binSum: number[];
  /** Modes in each bin. */
  modes: number[];
  /** Index of the last bin inside the Nyquist circle (L / 2); later bins hold only the corner modes. */
  nyquistBin: number;
  frames: number;
}

/**
 * Radially averaged spatial power spectrum. For each frame P(ky, kx) = |FFT2(x)|^2 / (H W)^2, so the sum of
 * P over all modes equals the frame's mean square (Parseval). Wavenumbers are measured in cycles per grid cell
 * in both directions (kx = fx / W, ky = fy / H, i.e. grid spacing taken equal in both directions), and a mode
 * goes to bin round(L * sqrt(kx^2 + ky^2)) with L = max(H, W) — integer wavenumbers of the longer side.
 * Bins 0..L/2 lie inside the Nyquist circle; for completeness the corner modes beyond it get bins up to
 * round(L / sqrt(2)). Missing cells are filled with the frame's mean of present cells (frames with none are skipped).
 */
export function radialPowerSpectrum(fields: FieldStack | ClipArray): RadialSpectrum {
  const is4 = fields.shape.length === 4;
  const [N, H, W] = is4 ? [fields.shape[0]! * fields.shape[1]!, fields.shape[2]!, fields.shape[3]!] : [fields.shape[0]!, fields.shape[1]!, fields.shape[2]!];
  if (!(N > 0 && H > 0 && W > 0) || fields.data.length !== N * H * W) throw new Error(`radialPowerSpectrum: data has ${fields.data.length} values, shape [${fields.shape.join(', ')}]`);
  const HW = H * W;
  const mask = fields.mask ?? null;
  if (mask && mask.length !== fields.data.length && mask.length !== HW) throw new Error(`radialPowerSpectrum: mask has ${mask.length} values`);
  const L = Math.max(H, W);
  const nyq = Math.floor(L / 2);
  const binOf = new Int32Array(HW);
  let nb = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const fy = y <= H / 2 ? y : y - H, fx = x <= W / 2 ? x : x - W;
    const k = Math.round(L * Math.hypot(fy / H, fx / W));
    binOf[y * W + x] = k;
    if (k + 1 > nb) nb = k + 1;
  }
  const modes = new Array<number>(nb).fill(0);
  for (const k of binOf) modes[k]!++;
  const sum = new Float64Array(nb);
  let used = 0;
  const frame = new Float64Array(HW);
  for (let t = 0; t < N; t++) {
    let s = 0, c = 0;
    for (let j = 0; j < HW; j++) {
      const i = t * HW + j;
      const ok = Number.isFinite(fields.data[i]!) && !(mask && (mask.length === HW ? mask[j] : mask[i]));
      if (ok) { s += fields.data[i]!; c++; }
    }
    if (c === 0) continue;
    const fill = s / c;
    for (let j = 0; j < HW; j++) {
      const i = t * HW + j;
      const ok = Number.isFinite(fields.data[i]!) && !(mask && (mask.length === HW ? mask[j] : mask[i]));
      frame[j] = ok ? fields.data[i]! : fill;
    }
    const { re, im } = fft2Real(frame, H, W);
    const norm = 1 / (HW * HW);
    for (let j = 0; j < HW; j++) { const b = binOf[j]!; sum[b] = sum[b]! + (re[j]! * re[j]! + im[j]! * im[j]!) * norm; }
    used++;
  }
  const binSum = Array.from(sum, (v) => v / (used || 1));
  return {
    wavenumber: Array.from({ length: nb }, (_, k) => k),
    cyclesPerCell: Array.from({ length: nb }, (_, k) => k / L),
    power: binSum.map((v, k) => (modes[k]! ? v / modes[k]! : 0)),
    binSum, modes, nyquistBin: nyq, frames: used,
  };
}

// ---------------------------------------------------------------------------------------------------
// Temporal diagnostics

export interface TemporalSpectrum {
  /** Frequencies in cycles per frame, 0 .. floor(F/2) / F. */
  frequency: number[];
  /** One-sided power per frequency (non-DC, non-Nyquist terms doubled), averaged over clips and cells, so
   *  that the sum equals the mean square of the (demeaned) series. */
  power: number[];
  series: number;
}

/**
 * Temporal power spectrum per cell: for every clip and every cell with all F frames present, the series along
 * frames (minus its own mean unless `demean: false`) is Fourier transformed; |X_f|^2 / F^2 is made one-sided and
 * averaged over all such series.
 */
export function temporalSpectrum(clips: ClipArray, o: { demean?: boolean } = {}): TemporalSpectrum {
  const { N, F, H, W } = dims(clips, 'temporalSpectrum');
  const HW = H * W, demean = o.demean ?? true;
  const nf = Math.floor(F / 2) + 1;
  const acc = new Float64Array(nf);
  const re = new Float64Array(F), im = new Float64Array(F), tmp = new Float64Array(nf);
  const cosT = new Float64Array(nf * F), sinT = new Float64Array(nf * F);
  for (let k = 0; k < nf; k++) for (let f = 0; f < F; f++) { const a = (-2 * Math.PI * ((k * f) % F)) / F; cosT[k * F + f] = Math.cos(a); sinT[k * F + f] = Math.sin(a); }
  let series = 0;
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    let ok = true, mean = 0;
    for (let f = 0; f < F && ok; f++) {
      const i = (n * F + f) * HW + j;
      if (!validAt(clips, i, HW)) ok = false; else { re[f] = clips.data[i]!; mean += re[f]!; }
    }
    if (!ok) continue;
    mean = demean ? mean / F : 0;
    for (let f = 0; f < F; f++) { re[f] = re[f]! - mean; im[f] = 0; }
    if (F > 32) fft(re, im);
    else {
      // short series: a real DFT of only the one-sided frequencies from a cached table
      for (let k = 0; k < nf; k++) {
        let sr = 0, si = 0;
        for (let f = 0; f < F; f++) { sr += re[f]! * cosT[k * F + f]!; si += re[f]! * sinT[k * F + f]!; }
        im[k] = si; tmp[k] = sr;
      }
      for (let k = 0; k < nf; k++) re[k] = tmp[k]!;
    }
    for (let k = 0; k < nf; k++) {
      const p = (re[k]! * re[k]! + im[k]! * im[k]!) / (F * F);
      acc[k] = acc[k]! + (k === 0 || (F % 2 === 0 && k === F / 2) ? p : 2 * p);
    }
    series++;
  }
  if (series === 0) throw new Error('temporalSpectrum: no cell has all frames present');
  return { frequency: Array.from({ length: nf }, (_, k) => k / F), power: Array.from(acc, (v) => v / series), series };
}

/**
 * Lag autocorrelation along frames, pooled over clips and cells: with m_c the mean of cell c over all clips
 * and frames, acf(l) = mean over pairs (x_t - m_c)(x_{t+l} - m_c) / mean (x_t - m_c)^2, pairs taken within
 * clips where both values are present. Lags 0..min(maxLag, F-1).
 */
export function lagAutocorrelation(clips: ClipArray, maxLag: number): { lag: number[]; acf: number[] } {
  const { N, F, H, W } = dims(clips, 'lagAutocorrelation');
  if (!Number.isInteger(maxLag) || maxLag < 0) throw new Error(`lagAutocorrelation: maxLag must be a non-negative integer, got ${maxLag}`);
  const HW = H * W, L = Math.min(maxLag, F - 1);
  const mean = cellMean(clips);
  const num = new Float64Array(L + 1), cnt = new Float64Array(L + 1);
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    const m = mean[j]!;
    if (!Number.isFinite(m)) continue;
    for (let f = 0; f < F; f++) {
      const i = (n * F + f) * HW + j;
      if (!validAt(clips, i, HW)) continue;
      const a = clips.data[i]! - m;
      for (let l = 0; l <= L && f + l < F; l++) {
        const k = i + l * HW;
        if (!validAt(clips, k, HW)) continue;
        num[l] = num[l]! + a * (clips.data[k]! - m); cnt[l]!++;
      }
    }
  }
  const c0 = cnt[0]! > 0 ? num[0]! / cnt[0]! : NaN;
  return { lag: Array.from({ length: L + 1 }, (_, l) => l), acf: Array.from(num, (v, l) => (cnt[l]! > 0 && c0 > 0 ? v / cnt[l]! / c0 : NaN)) };
}

/** Least-squares slope of log10(y) against log10(x) over points with x, y > 0 (NaN with fewer than 2). */
export function logLogSlope(x: readonly number[], y: readonly number[]): number {
  const px: number[] = [], py: number[] = [];
  x.forEach((v, i) => { const w = y[i]!; if (v > 0 && w > 0 && Number.isFinite(v) && Number.isFinite(w)) { px.push(Math.log10(v)); py.push(Math.log10(w)); } });
  if (px.length < 2) return NaN;
  const mx = px.reduce((a, b) => a + b, 0) / px.length, my = py.reduce((a, b) => a + b, 0) / py.length;
  let sxy = 0, sxx = 0;
  px.forEach((v, i) => { sxy += (v - mx) * (py[i]! - my); sxx += (v - mx) ** 2; });
  return sxx > 0 ? sxy / sxx : NaN;
}

/**
 * Clips from a variable's array: [N, F, H, W] is taken as is; [T, H, W] (e.g. a data Variable with dims
 * time, lat, lon) is cut into floor(T / frames) consecutive clips of `frames` frames (a trailing remainder
 * is dropped). The mask (per value, or null) follows the data.
 */
export function clipsFromArray(v: { data: Float32Array; shape: readonly number[]; mask?: Uint8Array | null }, frames?: number): ClipArray {
  if (v.shape.length === 4) return { data: v.data, shape: [v.shape[0]!, v.shape[1]!, v.shape[2]!, v.shape[3]!], mask: v.mask ?? null };
  if (v.shape.length !== 3) throw new Error(`clipsFromArray: expected shape [T, H, W] or [N, F, H, W], got [${v.shape.join(', ')}]`);
  const [T, H, W] = v.shape as [number, number, number];
  const F = frames ?? T;
  if (!Number.isInteger(F) || F < 1 || F > T) throw new Error(`clipsFromArray: cannot cut ${T} time steps into clips of ${F} frames`);
  const N = Math.floor(T / F), n = N * F * H * W;
  const mask = v.mask ? (v.mask.length === v.data.length ? v.mask.subarray(0, n) : v.mask) : null;
  return { data: v.data.subarray(0, n), shape: [N, F, H, W], mask };
}
