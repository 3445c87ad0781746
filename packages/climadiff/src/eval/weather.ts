// Weather diagnostics: does a set of generated clips carry the weather (frame-to-frame change, temporal and
// spatial variability, persistence, extremes, where the variability is), not only the climatological map?
// Generated clips of one variable are compared with held-out clips of it, and an acceptance check turns the
// comparison into pass/fail rows. Pure mathematics on Float32Arrays (missing values never count).
import { dims, validAt, validValues, type ClipArray } from './clips.js';
import { cellMean, quantilesOfSorted } from './diagnostics.js';
import { lagAutocorrelation, radialPowerSpectrum, temporalSpectrum } from './spectra.js';

// ---------------------------------------------------------------------------------------------------
// Single-set statistics

/** Mean squared change over k frames: msc(k) = mean over clips n, cells j, frames f with x[n,f,j] and
 *  x[n,f+k,j] both present of (x[n,f+k,j] - x[n,f,j])^2, for k = 1..maxK (maxK <= F - 1); entry k - 1 (NaN where no pair). */
export function meanSquaredChange(c: ClipArray, maxK: number): number[] {
  const { N, F, H, W } = dims(c, 'meanSquaredChange');
  if (!Number.isInteger(maxK) || maxK < 1 || maxK > F - 1) {
    throw new Error(`meanSquaredChange: maxK must be an integer in 1..F-1 = 1..${F - 1} (clips have F = ${F} frames), got ${maxK}`);
  }
  const HW = H * W;
  const sum = new Float64Array(maxK), cnt = new Float64Array(maxK);
  for (let n = 0; n < N; n++) for (let f = 0; f < F - 1; f++) for (let j = 0; j < HW; j++) {
    const i = (n * F + f) * HW + j;
    if (!validAt(c, i, HW)) continue;
    const a = c.data[i]!;
    for (let k = 1; k <= maxK && f + k < F; k++) {
      const i2 = i + k * HW;
      if (!validAt(c, i2, HW)) continue;
      const d = c.data[i2]! - a;
      sum[k - 1] = sum[k - 1]! + d * d; cnt[k - 1]!++;
    }
  }
  return Array.from(sum, (s, k) => (cnt[k]! > 0 ? s / cnt[k]! : NaN));
}

/** Per-cell variance over clips and frames around the per-cell mean m_j: v_j = mean over present values of
 *  (x[n,f,j] - m_j)^2 (population variance; NaN where a cell has no present value). Length H*W. */
export function anomalyVarianceMap(c: ClipArray): Float64Array {
  const { N, F, H, W } = dims(c, 'anomalyVarianceMap');
  const HW = H * W, mean = cellMean(c);
  const sum = new Float64Array(HW), cnt = new Float64Array(HW);
  for (let t = 0; t < N * F; t++) for (let j = 0; j < HW; j++) {
    const i = t * HW + j;
    if (!validAt(c, i, HW)) continue;
    const d = c.data[i]! - mean[j]!;
    sum[j] = sum[j]! + d * d; cnt[j]!++;
  }
  return sum.map((s, j) => (cnt[j]! > 0 ? s / cnt[j]! : NaN));
}

/** R^2 = 1 - SS_res / SS_tot of the sample variance map as a prediction of the reference map, over cells where
 *  both are finite: SS_res = sum (s_j - r_j)^2, SS_tot = sum (r_j - mean r)^2 (a uniform reference: 1 if equal, else -Infinity; no common cell: NaN). */
export function varianceMapR2(sample: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (sample.length !== reference.length) throw new Error(`varianceMapR2: sample map has ${sample.length} cells, reference map has ${reference.length}`);
  let m = 0, mr = 0;
  for (let j = 0; j < reference.length; j++) if (Number.isFinite(sample[j]!) && Number.isFinite(reference[j]!)) { m++; mr += reference[j]!; }
  if (m === 0) return NaN;
  mr /= m;
  let ssRes = 0, ssTot = 0;
  for (let j = 0; j < reference.length; j++) {
    const s = sample[j]!, r = reference[j]!;
    if (!Number.isFinite(s) || !Number.isFinite(r)) continue;
    ssRes += (s - r) ** 2; ssTot += (r - mr) ** 2;
  }
  return ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : -Infinity;
}

/** Fraction of present values strictly below `threshold` (e.g. dry cells of precipitation). */
export function dryFraction(c: ClipArray, threshold: number): number {
  if (!Number.isFinite(threshold)) throw new Error(`dryFraction: threshold must be a finite number, got ${threshold}`);
  const { H, W } = dims(c, 'dryFraction');
  const HW = H * W;
  let n = 0, dry = 0;
  for (let i = 0; i < c.data.length; i++) if (validAt(c, i, HW)) { n++; if (c.data[i]! < threshold) dry++; }
  if (n === 0) throw new Error('dryFraction: no present values');
  return dry / n;
}

/** The clips minus their own per-cell mean (anomalies about the set's climatology); the mask is kept. */
export function cellAnomalies(c: ClipArray): ClipArray {
  const { H, W } = dims(c, 'cellAnomalies');
  const HW = H * W, mean = cellMean(c);
  const data = new Float32Array(c.data.length);
  for (let i = 0; i < data.length; i++) data[i] = c.data[i]! - mean[i % HW]!;
  return { data, shape: c.shape, mask: c.mask ?? null };
}

// ---------------------------------------------------------------------------------------------------
// Samples against reference

export interface WeatherOptions {
  /** Largest frame offset of the mean squared change (default F - 1; 1..F-1). */
  maxK?: number;
  /** QQ levels (default [0.9, 0.99, 0.999]). */
  qLevels?: number[];
  /** Threshold of the dry fraction (values < threshold are dry); null/absent: no dry-fraction diagnostic. */
  dryThreshold?: number | null;
  /** Unit of the QQ differences (e.g. the reference anomaly standard deviation). Giving a scale marks an
   *  anomaly-like field: acceptance then checks QQ differences in scale units, otherwise relative ones. */
  scale?: number;
  /** Spatial spectrum of anomalies about each set's own per-cell mean (default true), or of the raw fields. */
  spatialAnomaly?: boolean;
}

/** A statistic of samples and reference with ratio = sample / reference at each point. */
export interface RatioSeries { sample: number[]; reference: number[]; ratio: number[] }

export interface WeatherDiagnostics {
  frames: number;
  height: number;
  width: number;
  sampleClips: number;
  referenceClips: number;
  /** Mean squared change at k = 1..maxK frames. */
  msc: RatioSeries & { k: number[] };
  /** Temporal power per cell (temporalSpectrum) at frequencies 1/F .. floor(F/2)/F cycles per frame (0 skipped). */
  temporal: RatioSeries & { frequency: number[] };
  /** Radially averaged spatial power (mean power per bin) at integer wavenumbers 1..min(16, Nyquist). */
  spatial: RatioSeries & { wavenumber: number[]; anomaly: boolean };
  /** Lag autocorrelation (lagAutocorrelation) at lags 1..F-1; difference = sample - reference. */
  acf: { lag: number[]; sample: number[]; reference: number[]; difference: number[] };
  /** Quantiles at `levels`; difference = sample - reference, scaled = difference / scale (null without a
   *  scale), relative = difference / |reference| (0 where both are 0). */
  qq: { levels: number[]; sample: number[]; reference: number[]; difference: number[]; scale: number | null; scaled: number[] | null; relative: number[] };
  /** R^2 of the sample variance map against the reference one, and the maps' cell means. */
  varianceMap: { r2: number; sampleMean: number; referenceMean: number };
  /** Fractions of values below the threshold; differencePoints = 100 (sample - reference). */
  dry: { threshold: number; sample: number; reference: number; differencePoints: number } | null;
}

const ratios = (s: number[], r: number[]): number[] => s.map((v, i) => v / r[i]!);
const meanFinite = (a: ArrayLike<number>): number => {
  let s = 0, n = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) { s += a[i]!; n++; }
  return n ? s / n : NaN;
};

/** All weather diagnostics of generated clips against held-out clips of the same variable, grid and clip length. */
export function weatherDiagnostics(samples: ClipArray, reference: ClipArray, o: WeatherOptions = {}): WeatherDiagnostics {
  const a = dims(samples, 'weatherDiagnostics(samples)'), b = dims(reference, 'weatherDiagnostics(reference)');
  if (a.H !== b.H || a.W !== b.W) throw new Error(`weatherDiagnostics: samples are on a ${a.H}x${a.W} grid, reference on ${b.H}x${b.W}; the grids must match`);
  if (a.F !== b.F) throw new Error(`weatherDiagnostics: samples have ${a.F} frames per clip, reference ${b.F}; clip lengths must match`);
  const F = a.F;
  if (F < 2) throw new Error('weatherDiagnostics: clips need at least 2 frames');
  const maxK = o.maxK ?? F - 1;
  if (!Number.isInteger(maxK) || maxK < 1 || maxK > F - 1) throw new Error(`weatherDiagnostics: maxK must be an integer in 1..F-1 = 1..${F - 1}, got ${maxK}`);
  const scale = o.scale ?? null;
  if (scale !== null && !(scale > 0 && Number.isFinite(scale))) throw new Error(`weatherDiagnostics: scale must be a positive finite number, got ${scale}`);
  const levels = [...(o.qLevels ?? [0.9, 0.99, 0.999])];
  if (levels.length === 0 || !levels.every((q) => q >= 0 && q <= 1)) throw new Error(`weatherDiagnostics: qLevels must be levels in [0, 1], got [${levels.join(', ')}]`);
  const dryThreshold = o.dryThreshold ?? null;
  if (dryThreshold !== null && !Number.isFinite(dryThreshold)) throw new Error(`weatherDiagnostics: dryThreshold must be a finite number or null, got ${dryThreshold}`);

  // mean squared change
  const ms = meanSquaredChange(samples, maxK), mr = meanSquaredChange(reference, maxK);
  // temporal power, frequency 0 skipped
  const ts = temporalSpectrum(samples), tr = temporalSpectrum(reference);
  // spatial power at wavenumbers 1..min(16, Nyquist)
  const spatialAnomaly = o.spatialAnomaly ?? true;
  const ss = radialPowerSpectrum(spatialAnomaly ? cellAnomalies(samples) : samples);
  const sr = radialPowerSpectrum(spatialAnomaly ? cellAnomalies(reference) : reference);
  const kTop = Math.min(16, ss.nyquistBin, sr.nyquistBin);
  const wn = Array.from({ length: Math.max(0, kTop) }, (_, i) => i + 1);
  const sps = wn.map((k) => ss.power[k]!), spr = wn.map((k) => sr.power[k]!);
  // lag autocorrelation 1..F-1
  const as = lagAutocorrelation(samples, F - 1).acf.slice(1), ar = lagAutocorrelation(reference, F - 1).acf.slice(1);
  // quantiles
  const sv = validValues(samples).sort(), rv = validValues(reference).sort();
  if (sv.length === 0 || rv.length === 0) throw new Error('weatherDiagnostics: samples or reference have no present values');
  const qs = quantilesOfSorted(sv, levels), qr = quantilesOfSorted(rv, levels);
  const qd = qs.map((v, i) => v - qr[i]!);
  const rel = qd.map((d, i) => (qr[i] !== 0 ? d / Math.abs(qr[i]!) : d === 0 ? 0 : Math.sign(d) * Infinity));
  // variance map
  const vs = anomalyVarianceMap(samples), vr = anomalyVarianceMap(reference);
  // dry fraction
  let dry: WeatherDiagnostics['dry'] = null;
  if (dryThreshold !== null) {
    const ds = dryFraction(samples, dryThreshold), dr = dryFraction(reference, dryThreshold);
    dry = { threshold: dryThreshold, sample: ds, reference: dr, differencePoints: 100 * (ds - dr) };
  }
  return {
    frames: F, height: a.H, width: a.W, sampleClips: a.N, referenceClips: b.N,
    msc: { k: ms.map((_, i) => i + 1), sample: ms, reference: mr, ratio: ratios(ms, mr) },
    temporal: { frequency: ts.frequency.slice(1), sample: ts.power.slice(1), reference: tr.power.slice(1), ratio: ratios(ts.power.slice(1), tr.power.slice(1)) },
    spatial: { wavenumber: wn, anomaly: spatialAnomaly, sample: sps, reference: spr, ratio: ratios(sps, spr) },
    acf: { lag: as.map((_, i) => i + 1), sample: as, reference: ar, difference: as.map((v, i) => v - ar[i]!) },
    qq: { levels, sample: qs, reference: qr, difference: qd, scale, scaled: scale === null ? null : qd.map((d) => d / scale), relative: rel },
    varianceMap: { r2: varianceMapR2(vs, vr), sampleMean: meanFinite(vs), referenceMean: meanFinite(vr) },
    dry,
  };
}

// ---------------------------------------------------------------------------------------------------
// Acceptance

/** Tolerances of the acceptance check; a null (or absent) entry leaves its row out. */
export interface WeatherCriteria {
  /** Mean squared change, temporal power, spatial power: 1/f <= ratio <= f at every k / frequency / wavenumber. */
  mscFactor: number | null;
  temporalFactor: number | null;
  spatialFactor: number | null;
  /** |acf_sample - acf_reference| <= tol at every lag. */
  acfTol: number | null;
  /** |q_sample - q_reference| / scale <= tol at every level <= qqScaledMaxLevel (checked when the diagnostics have a scale). */
  qqScaledTol: number | null;
  qqScaledMaxLevel: number;
  /** |q_sample - q_reference| / |q_reference| <= tol at every level <= qqRelativeMaxLevel (checked when they have no scale). */
  qqRelativeTol: number | null;
  qqRelativeMaxLevel: number;
  /** R^2 of the variance map >= this. */
  varianceR2Min: number | null;
  /** |dry fraction difference| <= this many percentage points (checked when the diagnostics have a dry fraction). */
  dryPoints: number | null;
}

/** The default acceptance: within x1.4, acf within 0.02, QQ within 0.1 scale units (anomalies, e.g. temperature)
 *  or 15% (no scale, e.g. precipitation) up to q = 0.999, variance-map R^2 >= 0.9, dry fraction within 3 points. */
export const DEFAULT_CRITERIA: Readonly<WeatherCriteria> = Object.freeze({
  mscFactor: 1.4,
  temporalFactor: 1.4,
  spatialFactor: 1.4,
  acfTol: 0.02,
  qqScaledTol: 0.1,
  qqScaledMaxLevel: 0.999,
  qqRelativeTol: 0.15,
  qqRelativeMaxLevel: 0.999,
  varianceR2Min: 0.9,
  dryPoints: 3,
});

export interface AcceptanceRow {
  key: 'msc' | 'temporal' | 'spatial' | 'acf' | 'qqScaled' | 'qqRelative' | 'varianceR2' | 'dry';
  name: string;
  measured: string;
  target: string;
  pass: boolean;
}

const fmt = (v: number | undefined | null): string => {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return v.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
};

/** Index of the worst entry by badness (NaN counts as worst); -1 for an empty list. */
function worst(values: number[], badness: (v: number) => number): number {
  let w = -1, bw = -Infinity;
  values.forEach((v, i) => { const b = Number.isNaN(v) ? Infinity : badness(v); if (b > bw || w < 0) { bw = b; w = i; } });
  return w;
}

function factorRow(key: AcceptanceRow['key'], name: string, ratio: number[], where: (i: number) => string, f: number): AcceptanceRow {
  const target = `ratio within x${fmt(f)} (${fmt(1 / f)}..${fmt(f)}) everywhere`;
  if (ratio.length === 0) return { key, name, measured: 'n/a (nothing to compare)', target, pass: false };
  const w = worst(ratio, (r) => (r > 0 && Number.isFinite(r) ? Math.abs(Math.log(r)) : Infinity));
  const pass = ratio.every((r) => r >= 1 / f && r <= f);
  return { key, name, measured: `worst ratio ${fmt(ratio[w])} at ${where(w)}`, target, pass };
}

function absRow(key: AcceptanceRow['key'], name: string, diff: number[], where: (i: number) => string, tol: number, what: string, target: string): AcceptanceRow {
  if (diff.length === 0) return { key, name, measured: 'n/a (nothing to compare)', target, pass: false };
  const w = worst(diff, Math.abs);
  const pass = diff.every((d) => Math.abs(d) <= tol);
  return { key, name, measured: `worst ${what} ${fmt(Math.abs(diff[w]!))} at ${where(w)}`, target, pass };
}

function checkTol(name: string, v: number, min: number): void {
  if (!(Number.isFinite(v) && v >= min)) throw new Error(`acceptance: criterion ${name} must be a finite number >= ${min}, got ${v}`);
}

/** Pass/fail rows of the diagnostics against the criteria (default DEFAULT_CRITERIA; an entry that is null or absent is not checked). */
export function acceptance(d: WeatherDiagnostics, criteria: Partial<WeatherCriteria> = DEFAULT_CRITERIA): AcceptanceRow[] {
  const c = criteria;
  const rows: AcceptanceRow[] = [];
  const factor = (key: AcceptanceRow['key'], name: string, f: number | null | undefined, ratio: number[], where: (i: number) => string) => {
    if (f === null || f === undefined) return;
    checkTol(key + 'Factor', f, 1);
    rows.push(factorRow(key, name, ratio, where, f));
  };
  factor('msc', 'mean squared change', c.mscFactor, d.msc.ratio, (i) => `k=${d.msc.k[i]}`);
  factor('temporal', 'temporal power', c.temporalFactor, d.temporal.ratio, (i) => `f=${fmt(d.temporal.frequency[i])}/frame`);
  factor('spatial', 'spatial power', c.spatialFactor, d.spatial.ratio, (i) => `wavenumber ${d.spatial.wavenumber[i]}`);
  if (c.acfTol !== null && c.acfTol !== undefined) {
    checkTol('acfTol', c.acfTol, 0);
    rows.push(absRow('acf', 'lag autocorrelation', d.acf.difference, (i) => `lag ${d.acf.lag[i]}`, c.acfTol, 'abs. difference', `abs. difference <= ${fmt(c.acfTol)} at every lag`));
  }
  const qqUpTo = (maxLevel: number) => d.qq.levels.map((q, i) => [q, i] as const).filter(([q]) => q <= maxLevel + 1e-12).map(([, i]) => i);
  if (d.qq.scaled !== null && c.qqScaledTol !== null && c.qqScaledTol !== undefined) {
    checkTol('qqScaledTol', c.qqScaledTol, 0);
    const maxLevel = c.qqScaledMaxLevel ?? 0.999, idx = qqUpTo(maxLevel), scaled = d.qq.scaled;
    rows.push(absRow('qqScaled', 'upper quantiles (scale units)', idx.map((i) => scaled[i]!), (w) => `q=${d.qq.levels[idx[w]!]}`, c.qqScaledTol,
      'abs. difference / scale', `abs. difference <= ${fmt(c.qqScaledTol)} x scale (${fmt(d.qq.scale)}) up to q=${maxLevel}`));
  }
  if (d.qq.scaled === null && c.qqRelativeTol !== null && c.qqRelativeTol !== undefined) {
    checkTol('qqRelativeTol', c.qqRelativeTol, 0);
    const maxLevel = c.qqRelativeMaxLevel ?? 0.999, idx = qqUpTo(maxLevel);
    rows.push(absRow('qqRelative', 'upper quantiles (relative)', idx.map((i) => d.qq.relative[i]!), (w) => `q=${d.qq.levels[idx[w]!]}`, c.qqRelativeTol,
      'abs. relative difference', `abs. relative difference <= ${fmt(100 * c.qqRelativeTol)}% up to q=${maxLevel}`));
  }
  if (c.varianceR2Min !== null && c.varianceR2Min !== undefined) {
    if (!Number.isFinite(c.varianceR2Min)) throw new Error(`acceptance: criterion varianceR2Min must be a finite number, got ${c.varianceR2Min}`);
    const r2 = d.varianceMap.r2;
    rows.push({ key: 'varianceR2', name: 'variance map R^2', measured: `R^2 ${fmt(r2)}`, target: `>= ${fmt(c.varianceR2Min)}`, pass: r2 >= c.varianceR2Min });
  }
  if (d.dry && c.dryPoints !== null && c.dryPoints !== undefined) {
    checkTol('dryPoints', c.dryPoints, 0);
    const dd = d.dry;
    rows.push({
      key: 'dry', name: `dry fraction (< ${fmt(dd.threshold)})`,
      measured: `${fmt(100 * dd.sample)}% vs ${fmt(100 * dd.reference)}% (difference ${fmt(dd.differencePoints)} points)`,
      target: `within ${fmt(c.dryPoints)} points`, pass: Math.abs(dd.differencePoints) <= c.dryPoints,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Markdown

function table(header: string[], rows: (string | number)[][]): string {
  const cell = (x: string | number) => (typeof x === 'number' ? fmt(x) : x);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A markdown section for report.md: the acceptance rows, then one table per diagnostic. */
export function weatherMarkdown(variable: string, label: string, d: WeatherDiagnostics, rows: AcceptanceRow[]): string {
  const md: string[] = [];
  const passed = rows.filter((r) => r.pass).length;
  md.push(`## Weather diagnostics: ${variable} (${label})`, '');
  md.push(`${d.sampleClips} sample clips against ${d.referenceClips} held-out clips of ${d.frames} frames on a ${d.height}x${d.width} grid. ` +
    `Acceptance: ${passed} of ${rows.length} checks pass.`, '');
  if (rows.length) md.push(table(['check', 'measured', 'target', 'result'], rows.map((r) => [r.name, r.measured, r.target, r.pass ? 'PASS' : 'FAIL'])), '');
  md.push('### Mean squared change', '', 'mean over clips, cells and frame pairs of (x[f+k] - x[f])^2.', '');
  md.push(table(['k (frames)', 'samples', 'reference', 'ratio'], d.msc.k.map((k, i) => [String(k), d.msc.sample[i]!, d.msc.reference[i]!, d.msc.ratio[i]!])), '');
  md.push('### Temporal power', '', 'per cell and clip, the series minus its mean, |FFT|^2 / F^2 one-sided, averaged (frequency 0 left out).', '');
  md.push(table(['frequency (cycles/frame)', 'samples', 'reference', 'ratio'], d.temporal.frequency.map((f, i) => [fmt(f), d.temporal.sample[i]!, d.temporal.reference[i]!, d.temporal.ratio[i]!])), '');
  md.push('### Spatial power', '', `radially averaged power per integer wavenumber of the longer side, of ${d.spatial.anomaly ? 'anomalies about each set\'s per-cell mean' : 'the fields'}.`, '');
  if (d.spatial.wavenumber.length) md.push(table(['wavenumber', 'samples', 'reference', 'ratio'], d.spatial.wavenumber.map((k, i) => [String(k), d.spatial.sample[i]!, d.spatial.reference[i]!, d.spatial.ratio[i]!])), '');
  else md.push('The grid is too small for a spatial spectrum.', '');
  md.push('### Lag autocorrelation', '', 'pooled over clips and cells around each cell\'s mean.', '');
  md.push(table(['lag (frames)', 'samples', 'reference', 'difference'], d.acf.lag.map((l, i) => [String(l), d.acf.sample[i]!, d.acf.reference[i]!, d.acf.difference[i]!])), '');
  md.push('### Upper quantiles', '');
  const qh = ['q', 'samples', 'reference', 'difference', ...(d.qq.scaled ? [`difference / scale (${fmt(d.qq.scale)})`] : []), 'relative difference'];
  md.push(table(qh, d.qq.levels.map((q, i) => [String(q), d.qq.sample[i]!, d.qq.reference[i]!, d.qq.difference[i]!, ...(d.qq.scaled ? [d.qq.scaled[i]!] : []), d.qq.relative[i]!])), '');
  md.push('### Variance map and dry fraction', '');
  const other: (string | number)[][] = [
    ['R^2 of the sample variance map vs the reference one (1 - SS_res/SS_tot)', d.varianceMap.r2],
    ['mean per-cell variance, samples / reference', `${fmt(d.varianceMap.sampleMean)} / ${fmt(d.varianceMap.referenceMean)}`],
  ];
  if (d.dry) other.push([`dry fraction (< ${fmt(d.dry.threshold)}), samples / reference`, `${fmt(100 * d.dry.sample)}% / ${fmt(100 * d.dry.reference)}%`]);
  md.push(table(['', 'value'], other), '');
  return md.join('\n');
}
