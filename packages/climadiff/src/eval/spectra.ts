// Spatial power spectrum (radially averaged), temporal power spectrum per cell, lag autocorrelation and a
// log-log slope fit: the seed's spectral diagnostics.
import { fft, fft2Real } from './fft.js';
import { dims, validAt, type ClipArray } from './clips.js';
import { cellMean } from './diagnostics.js';

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
