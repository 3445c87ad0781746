// Ensemble forecast scores, computed the way WeatherBench 2 scores probabilistic forecasts (Rasp et al. 2024):
// the fair CRPS, ensemble-mean RMSE, spread and spread/skill, rank histograms, the energy score, and (from
// precip-scores.ts) Brier scores and the fractions skill score, all at once in scoreEnsemble, with bootstrap confidence
// intervals over cases. Pure mathematics on Float32Arrays (float64 inside); no torch, no I/O.
//
// Layout. An ensemble forecast of one variable is [M, N, F, H, W] in C order (members, cases / start dates, lead
// frames, lat, lon); the truth is a ClipArray [N, F, H, W] with an optional missing mask (1 = missing, per value or
// per cell). A truth value is present when it is not masked and finite; only present truth values in cells of
// positive weight are ever scored. The forecast must be finite wherever the truth is present.
//
// Weights. w_j = a_y * r_j for cell j in row y: a_y = cos(lat_y) / mean_y' cos(lat_y') (latitudeWeights; 1 without
// latitudes) times the region weight r_j (1 without a region; 0 excludes the cell). Unless a function says
// otherwise, a per-lead score is the weighted mean over cases n and cells j with a present truth value,
//   S_f = sum_{n,j} w_j s[n,f,j] / sum_{n,j} w_j,
// and the per-case value is the same ratio over the cells of case n only. The per-case weighted sums and weight
// sums are returned too (CaseSums), so that a bootstrap over cases reproduces S_f exactly (ratio of sums).
//
// References.
//  Candille, G. & Talagrand, O. (2005): Evaluation of probabilistic prediction systems for a scalar variable. QJRMS 131.
//  Ferro, C. A. T. (2014): Fair scores for ensemble forecasts. QJRMS 140.
//  Fortin, V., Abaza, M., Anctil, F. & Turcotte, R. (2014): Why should ensemble spread match the RMSE of the
//    ensemble mean? J. Hydrometeorology 15.
//  Gneiting, T. & Raftery, A. E. (2007): Strictly proper scoring rules, prediction, and estimation. JASA 102.
//  Rasp, S. et al. (2024): WeatherBench 2: A benchmark for the next generation of data-driven global weather
//    models. JAMES 16.
//  Roberts, N. M. & Lean, H. W. (2008): Scale-selective verification of rainfall accumulations from
//    high-resolution forecasts of convective events. Monthly Weather Review 136.
//  Zamo, M. & Naveau, P. (2018): Estimation of the continuous ranked probability score with limited information
//    and applications to ensemble weather forecasts. Mathematical Geosciences 50.
import type { ClipArray } from './clips.js';
import { bootstrapCI, type BootstrapOptions } from './bootstrap.js';
import type { AreaOptions } from './area.js';
import { leadScore, pointwise, prepare, type CaseSums, type EnsembleArray, type LeadScore, type Prep } from './ensemble-prep.js';
import { brierOf, checkThresholds, fssOf, fssStatistic, type FssOptions } from './precip-scores.js';

export type { CaseSums, EnsembleArray, LeadScore } from './ensemble-prep.js';

/** 'fair': the unbiased ensemble estimator (needs M >= 2); 'standard': the CRPS of the empirical member distribution. */
export type CrpsKind = 'fair' | 'standard';

// ---------------------------------------------------------------------------------------------------
// CRPS

/** CRPS of members x sorted ascending against y. Uses sum_{i,j} |x_i - x_j| = 2 sum_k (2k - M - 1) x_(k); the
 *  coefficients sum to 0, so x_(1) is subtracted first for accuracy. */
function crpsSorted(x: Float64Array, y: number, fair: boolean): number {
  const M = x.length, x0 = x[0]!;
  let a = 0, d = 0;
  for (let k = 0; k < M; k++) { a += Math.abs(x[k]! - y); d += (2 * k + 1 - M) * (x[k]! - x0); }
  // sum_{i,j} |x_i - x_j| = 2 d; fair: 2d / (2 M (M-1)), standard: 2d / (2 M^2)
  return a / M - (fair ? d / (M * (M - 1)) : d / (M * M));
}

/**
 * CRPS of an ensemble of M members x_1..x_M against the value y.
 *  standard: CRPS = (1/M) sum_i |x_i - y| - 1/(2 M^2) sum_{i,j} |x_i - x_j|   (the CRPS of the empirical
 *            distribution of the members; for M = 1 it is the absolute error |x_1 - y|);
 *  fair:     CRPS_fair = (1/M) sum_i |x_i - y| - 1/(2 M (M-1)) sum_{i,j} |x_i - x_j|   (Ferro 2014; Zamo & Naveau
 *            2018; the estimator WeatherBench 2 reports): unbiased for the CRPS of the distribution the members
 *            are drawn from, i.e. its expectation does not depend on M. Needs M >= 2.
 * Computed in O(M log M): with the members sorted, x_(1) <= ... <= x_(M),
 *   sum_{i,j} |x_i - x_j| = 2 sum_{k=1..M} (2k - M - 1) x_(k).
 */
export function crpsOfMembers(members: ArrayLike<number>, y: number, kind: CrpsKind = 'fair'): number {
  const M = members.length;
  if (M < 1) throw new Error('crpsOfMembers: no members');
  if (kind === 'fair' && M < 2) throw new Error('crpsOfMembers: the fair CRPS needs at least 2 members (got M = 1); use the standard CRPS, which for one member is |x - y|');
  if (!Number.isFinite(y)) throw new Error(`crpsOfMembers: truth is ${y}`);
  const x = Float64Array.from(members);
  if (!x.every(Number.isFinite)) throw new Error('crpsOfMembers: a member is not finite');
  return crpsSorted(x.sort(), y, kind === 'fair');
}

function crpsSums(p: Prep, kind: CrpsKind, who: string): CaseSums {
  if (kind !== 'fair' && kind !== 'standard') throw new Error(`${who}: kind must be 'fair' or 'standard', got ${String(kind)}`);
  if (kind === 'fair' && p.M < 2) {
    throw new Error(`${who}: the fair CRPS needs at least 2 members (forecast has M = 1); use kind: 'standard', which for one member is the absolute error`);
  }
  const fair = kind === 'fair';
  return pointwise(p, (x, y) => crpsSorted(x.sort(), y, fair));
}

/** Area-weighted mean CRPS (crpsOfMembers, 'fair' by default) per lead and per case, over present truth values:
 *  S_f = sum_{n,j} w_j CRPS[n,f,j] / sum_{n,j} w_j. The fair kind throws for M = 1. */
export function ensembleCrps(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions & { kind?: CrpsKind } = {}): LeadScore {
  return leadScore(crpsSums(prepare('ensembleCrps', forecast, truth, o), o.kind ?? 'fair', 'ensembleCrps'));
}

/** CRPS skill score per lead against a reference forecast: CRPSS_f = 1 - CRPS_f / CRPS_ref,f (1 = perfect, 0 = as
 *  good as the reference, < 0 = worse; NaN where the reference CRPS is 0 or either is NaN). */
export function crpsSkillScore(crps: ArrayLike<number>, reference: ArrayLike<number>): number[] {
  if (crps.length !== reference.length) throw new Error(`crpsSkillScore: ${crps.length} leads in the score, ${reference.length} in the reference`);
  return Array.from({ length: crps.length }, (_, f) => (reference[f]! !== 0 ? 1 - crps[f]! / reference[f]! : NaN));
}

// ---------------------------------------------------------------------------------------------------
// Ensemble-mean RMSE, spread, spread/skill

function mseSums(p: Prep): CaseSums {
  return pointwise(p, (x, y) => {
    let m = 0;
    for (let i = 0; i < x.length; i++) m += x[i]!;
    const e = m / x.length - y;
    return e * e;
  });
}

function varianceSums(p: Prep, who: string): CaseSums {
  if (p.M < 2) throw new Error(`${who}: the unbiased member variance (spread) needs at least 2 members (forecast has M = 1)`);
  return pointwise(p, (x) => {
    let m = 0;
    for (let i = 0; i < x.length; i++) m += x[i]!;
    m /= x.length;
    let v = 0;
    for (let i = 0; i < x.length; i++) v += (x[i]! - m) ** 2;
    return v / (x.length - 1);
  });
}

/**
 * RMSE of the ensemble mean xbar = (1/M) sum_i x_i per lead:
 *   RMSE_f = sqrt( sum_{n,j} w_j (xbar[n,f,j] - y[n,f,j])^2 / sum_{n,j} w_j ),
 * the WeatherBench 2 convention: the (area-weighted) mean over cells and cases is taken of the squared error, and
 * the square root last. sum / weight hold the squared-error sums (MSE); perLead / perCase are RMSEs. M = 1 gives
 * the RMSE of the deterministic forecast.
 */
export function ensembleMeanRmse(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions = {}): LeadScore {
  return leadScore(mseSums(prepare('ensembleMeanRmse', forecast, truth, o)), Math.sqrt);
}

/**
 * Ensemble spread per lead: spread_f = sqrt( sum_{n,j} w_j s^2[n,f,j] / sum_{n,j} w_j ) with the unbiased member
 * variance s^2 = 1/(M-1) sum_i (x_i - xbar)^2 (ddof = 1), over the cells where the truth is present (the same cells
 * as the RMSE). sum / weight hold the variance sums; perLead / perCase are spreads. Needs M >= 2.
 */
export function ensembleSpread(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions = {}): LeadScore {
  const p = prepare('ensembleSpread', forecast, truth, o);
  return leadScore(varianceSums(p, 'ensembleSpread'), Math.sqrt);
}

function spreadSkillOf(v: CaseSums, e: CaseSums, M: number, idx: ArrayLike<number> | null, f: number): number {
  const [N, F] = v.shape, K = idx ? idx.length : N;
  let sv = 0, wv = 0, se = 0, we = 0;
  for (let k = 0; k < K; k++) {
    const t = (idx ? idx[k]! : k) * F + f;
    sv += v.sum[t]!; wv += v.weight[t]!; se += e.sum[t]!; we += e.weight[t]!;
  }
  if (!(wv > 0 && we > 0)) return NaN;
  return (Math.sqrt((M + 1) / M) * Math.sqrt(sv / wv)) / Math.sqrt(se / we);
}

/**
 * Spread/skill ratio per lead (Fortin et al. 2014; WeatherBench 2): SSR_f = sqrt((M+1)/M) * spread_f / RMSE_f.
 * Why the factor: for a perfectly calibrated ensemble (truth and members exchangeable draws from one distribution of
 * variance s^2), the ensemble mean's error xbar - y has variance s^2 + s^2/M = ((M+1)/M) s^2, while the unbiased
 * member variance estimates s^2; so E[RMSE^2] = ((M+1)/M) E[spread^2] and SSR = 1 for a calibrated ensemble,
 * < 1 for an under-dispersive (over-confident) one, > 1 for an over-dispersive one. Needs M >= 2.
 */
export function spreadSkillRatio(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions = {}): { ratio: number[]; spread: LeadScore; rmse: LeadScore } {
  const p = prepare('spreadSkillRatio', forecast, truth, o);
  const v = varianceSums(p, 'spreadSkillRatio'), e = mseSums(p);
  return { ratio: Array.from({ length: p.F }, (_, f) => spreadSkillOf(v, e, p.M, null, f)), spread: leadScore(v, Math.sqrt), rmse: leadScore(e, Math.sqrt) };
}

// ---------------------------------------------------------------------------------------------------
// Rank histogram

export interface RankHistogramStats {
  /** Count per rank bin k = 0..M (the number of members below the truth); fractional when ties are split. */
  counts: number[];
  /** counts / n. */
  frequencies: number[];
  /** Number of truth values counted (sum of counts). */
  n: number;
  /** chi^2 = sum_k (n_k - n/(M+1))^2 / (n/(M+1)); about M (its degrees of freedom) for a flat histogram of independent values. */
  chiSquare: number;
  /** Candille & Talagrand (2005): delta = sum_k (n_k - n/(M+1))^2 / (n M/(M+1)) = chiSquare / M; about 1 for a flat histogram of independent values. */
  delta: number;
}

export interface RankHistogram {
  members: number;
  /** Whether the counts are area-weighted (see rankHistogram). */
  areaWeighted: boolean;
  /** Over all leads. */
  pooled: RankHistogramStats;
  /** [F] */
  perLead: RankHistogramStats[];
}

/** Flatness statistics of a rank histogram with M + 1 = counts.length bins (see RankHistogramStats). */
export function rankHistogramStats(counts: ArrayLike<number>): RankHistogramStats {
  const K = counts.length;
  if (K < 2) throw new Error(`rankHistogramStats: need at least 2 bins (M + 1 with M >= 1), got ${K}`);
  const c = Array.from(counts);
  if (!c.every((v) => Number.isFinite(v) && v >= 0)) throw new Error('rankHistogramStats: counts must be finite and >= 0');
  const n = c.reduce((a, b) => a + b, 0), e = n / K;
  let ss = 0;
  for (const v of c) ss += (v - e) ** 2;
  return {
    counts: c,
    frequencies: c.map((v) => (n > 0 ? v / n : NaN)),
    n,
    chiSquare: n > 0 ? ss / e : NaN,
    delta: n > 0 ? ss / ((n * (K - 1)) / K) : NaN,
  };
}

/**
 * Rank histogram (Talagrand diagram) of the truth among the M members: for each present truth value y, its rank is
 * the number of members below it, in 0..M (M + 1 bins). Ties (members equal to y, e.g. zero precipitation) are
 * split evenly: with b members < y and e members == y, each of the bins b..b+e gets 1/(e+1) — the expectation of
 * breaking the ties at random, but deterministic (no PRNG). Cells of zero weight (outside the region) are excluded.
 * Unweighted by default: every present truth value counts 1. With areaWeighted, value j counts w_j, and the counts
 * are rescaled so that they sum to the number of values n (so chiSquare and delta keep their scale; the reference
 * distributions then only hold approximately).
 */
export function rankHistogram(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions & { areaWeighted?: boolean } = {}): RankHistogram {
  return rankHistogramOf(prepare('rankHistogram', forecast, truth, o), o.areaWeighted ?? false);
}

function rankHistogramOf(p: Prep, areaWeighted: boolean): RankHistogram {
  const { M, N, F, HW } = p, S = N * F * HW, K = M + 1;
  const counts = Array.from({ length: F }, () => new Float64Array(K));
  const nv = new Float64Array(F), wsum = new Float64Array(F);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) {
    const c = counts[f]!;
    for (let j = 0; j < HW; j++) {
      const i = (n * F + f) * HW + j;
      if (!p.ok[i]) continue;
      const y = p.y[i]!;
      let below = 0, eq = 0;
      for (let m = 0; m < M; m++) { const x = p.x[m * S + i]!; if (x < y) below++; else if (x === y) eq++; }
      const u = areaWeighted ? p.w[j]! : 1, share = u / (eq + 1);
      for (let k = below; k <= below + eq; k++) c[k] = c[k]! + share;
      nv[f]!++; wsum[f] = wsum[f]! + u;
    }
  }
  const pooled = new Float64Array(K);
  let nAll = 0, wAll = 0;
  for (let f = 0; f < F; f++) { for (let k = 0; k < K; k++) pooled[k] = pooled[k]! + counts[f]![k]!; nAll += nv[f]!; wAll += wsum[f]!; }
  const scale = (c: Float64Array, n: number, ws: number) => (areaWeighted && ws > 0 ? c.map((v) => (v * n) / ws) : c);
  return {
    members: M,
    areaWeighted,
    pooled: rankHistogramStats(scale(pooled, nAll, wAll)),
    perLead: counts.map((c, f) => rankHistogramStats(scale(c, nv[f]!, wsum[f]!))),
  };
}

// ---------------------------------------------------------------------------------------------------
// Energy score

/**
 * Energy score of each spatial field (case n, lead f) (Gneiting & Raftery 2007), WeatherBench 2's spatial energy
 * score:
 *   fair:     ES = (1/M) sum_i ||x_i - y|| - 1/(2 M (M-1)) sum_{i != j} ||x_i - x_j||   (needs M >= 2)
 *   standard: ES = (1/M) sum_i ||x_i - y|| - 1/(2 M^2)     sum_{i,j}    ||x_i - x_j||   (M = 1: ||x_1 - y||)
 * with the area-weighted norm ||d|| = sqrt( sum_j v_j d_j^2 ) over the present cells P of the field, the weights
 * v_j = w_j * R / sum_{k in P} w_k normalised so that they sum to the number R of cells of positive weight (mean 1
 * over the region when nothing is missing; with missing truth the norm estimates the full-region norm). For one
 * cell (H = W = 1) the energy score is the CRPS. perLead is the plain mean over the cases with a present field
 * (weight 1 per field); O(M^2 H W) per field.
 */
export function energyScore(forecast: EnsembleArray, truth: ClipArray, o: AreaOptions & { kind?: CrpsKind } = {}): LeadScore {
  return leadScore(energySums(prepare('energyScore', forecast, truth, o), o.kind ?? 'fair', 'energyScore'));
}

function energySums(p: Prep, kind: CrpsKind, who: string): CaseSums {
  if (kind !== 'fair' && kind !== 'standard') throw new Error(`${who}: kind must be 'fair' or 'standard', got ${String(kind)}`);
  if (kind === 'fair' && p.M < 2) throw new Error(`${who}: the fair energy score needs at least 2 members (forecast has M = 1); use kind: 'standard'`);
  const { M, N, F, HW } = p, S = N * F * HW;
  const sum = new Float64Array(N * F), weight = new Float64Array(N * F);
  const cells = new Int32Array(HW), v = new Float64Array(HW), X = new Float64Array(M * HW), yv = new Float64Array(HW);
  for (let t = 0; t < N * F; t++) {
    let P = 0, ws = 0;
    for (let j = 0; j < HW; j++) if (p.ok[t * HW + j]) { cells[P++] = j; ws += p.w[j]!; }
    if (P === 0) continue;
    for (let k = 0; k < P; k++) {
      const j = cells[k]!, i = t * HW + j;
      v[k] = (p.w[j]! * p.regionCells) / ws; yv[k] = p.y[i]!;
      for (let m = 0; m < M; m++) X[m * P + k] = p.x[m * S + i]!;
    }
    let toTruth = 0, pairs = 0;
    for (let a = 0; a < M; a++) {
      let s = 0;
      for (let k = 0; k < P; k++) s += v[k]! * (X[a * P + k]! - yv[k]!) ** 2;
      toTruth += Math.sqrt(s);
      for (let b = a + 1; b < M; b++) {
        let q = 0;
        for (let k = 0; k < P; k++) q += v[k]! * (X[a * P + k]! - X[b * P + k]!) ** 2;
        pairs += Math.sqrt(q);
      }
    }
    // sum_{i != j} = 2 sum_{i < j}
    sum[t] = toTruth / M - (kind === 'fair' ? pairs / (M * (M - 1)) : pairs / (M * M));
    weight[t] = 1;
  }
  return { shape: [N, F], sum, weight };
}

// ---------------------------------------------------------------------------------------------------
// Bootstrap statistics of the scores (bootstrap.ts resamples the cases)

/** Bootstrap statistic transform(sum_k sum[idx_k, f] / sum_k weight[idx_k, f]): the weighted mean over the resampled
 *  cases and cells (e.g. CRPS, Brier, energy score), and with Math.sqrt the RMSE / spread of the pooled sums. */
export function ratioOfSumsStatistic(c: CaseSums, transform: (v: number) => number = (v) => v): (idx: Int32Array, lead: number) => number {
  const F = c.shape[1];
  return (idx, f) => {
    let s = 0, w = 0;
    for (let k = 0; k < idx.length; k++) { const t = idx[k]! * F + f; s += c.sum[t]!; w += c.weight[t]!; }
    return w > 0 ? transform(s / w) : NaN;
  };
}

/** Bootstrap statistic of the spread/skill ratio sqrt((M+1)/M) sqrt(pooled variance) / sqrt(pooled squared error)
 *  over the resampled cases, from the variance sums (ensembleSpread) and squared-error sums (ensembleMeanRmse). */
export function spreadSkillStatistic(variance: CaseSums, squaredError: CaseSums, M: number): (idx: Int32Array, lead: number) => number {
  return (idx, f) => spreadSkillOf(variance, squaredError, M, idx, f);
}

/** Bootstrap statistic of the skill score 1 - S / S_ref of two ratio-of-sums scores on the same cases (paired). */
export function skillScoreStatistic(score: CaseSums, reference: CaseSums): (idx: Int32Array, lead: number) => number {
  const s = ratioOfSumsStatistic(score), r = ratioOfSumsStatistic(reference);
  return (idx, f) => { const d = r(idx, f); return d !== 0 ? 1 - s(idx, f) / d : NaN; };
}

// ---------------------------------------------------------------------------------------------------
// All scores at once

export interface ScoreEnsembleOptions extends AreaOptions {
  /** Brier score thresholds (strict exceedance). */
  thresholds?: readonly number[];
  /** Fractions skill scores to compute (periodic defaults to periodicLon). */
  fss?: readonly FssOptions[];
  /** Default for the FSS windows: wrap around in longitude. */
  periodicLon?: boolean;
  /** Area-weight the rank histogram (default false: each present value counts 1). */
  rankAreaWeighted?: boolean;
  /** A reference forecast of the same N, F, H, W (any M) for the CRPS skill score. */
  reference?: EnsembleArray | null;
  /** Percentile bootstrap intervals over cases (the same resamples, i.e. the same seed, for every score). */
  bootstrap?: BootstrapOptions | null;
}

/** A bootstrap interval per lead. */
export interface Interval { lower: number[]; upper: number[] }

export interface EnsembleScores {
  members: number; cases: number; leads: number;
  /** True for M = 1. */
  deterministic: boolean;
  /** 'fair' (M >= 2) or 'standard' (M = 1): the kind of crpsMain, energy and the CRPS of crpsSkill. */
  crpsKind: CrpsKind;
  /** Why a score is absent or differs from the ensemble definition (M = 1), else null. */
  note: string | null;
  /** [F] fair CRPS (Ferro 2014); null for M = 1, where it is undefined. */
  crpsFair: number[] | null;
  /** [F] standard ensemble CRPS (1/(2 M^2)); for M = 1 the mean absolute error. */
  crps: number[];
  /** [F] 1 - CRPS / CRPS_ref (each forecast's crpsKind); null without a reference. */
  crpsSkill: number[] | null;
  /** [F] RMSE of the ensemble mean (sqrt of the mean squared error). */
  rmse: number[];
  /** [F] RMSE / RMSE_ref of the ensemble means on the same cases; null without a reference. */
  rmseRatio: number[] | null;
  /** [F] sqrt of the mean unbiased member variance; null for M = 1. */
  spread: number[] | null;
  /** [F] sqrt((M+1)/M) spread / rmse; null for M = 1. */
  spreadSkill: number[] | null;
  /** [F] energy score of the fields (crpsKind). */
  energy: number[];
  rankHistogram: RankHistogram;
  brier: { threshold: number; perLead: number[] }[];
  fss: { threshold: number; window: number; periodic: boolean; perLead: number[] }[];
  /** Bootstrap intervals (null unless requested). */
  ci: null | {
    level: number; samples: number; seed: number;
    crpsFair: Interval | null; crps: Interval; crpsSkill: Interval | null;
    rmse: Interval; rmseRatio: Interval | null; spread: Interval | null; spreadSkill: Interval | null; energy: Interval;
    brier: Interval[]; fss: Interval[];
  };
}

/**
 * Every score of this module for an ensemble forecast of one variable, per lead, as a plain JSON-serialisable
 * object (arrays of numbers; a score without any present value is NaN, which JSON.stringify writes as null).
 * Conventions: crpsFair/crps (ensembleCrps), rmse (ensembleMeanRmse), spread and spreadSkill (spreadSkillRatio),
 * energy (energyScore: fair for M >= 2, standard for M = 1), rankHistogram (rankHistogram: ties split evenly,
 * unweighted unless rankAreaWeighted), brier (brierScore), fss (fractionsSkillScore: ensemble-mean probability field).
 * Deterministic forecasts (M = 1) get rmse, crps = MAE, energy = weighted norm of the error, Brier, FSS and the rank
 * histogram; crpsFair, spread and spreadSkill are null (undefined for one member) and note says so. With bootstrap,
 * intervals per lead come from resampling the cases (ratio-of-sums statistics: the point estimates above are the
 * statistic of the original cases).
 */
export function scoreEnsemble(forecast: EnsembleArray, truth: ClipArray, o: ScoreEnsembleOptions = {}): EnsembleScores {
  const who = 'scoreEnsemble', p = prepare(who, forecast, truth, o);
  const { M, N, F } = p, det = M === 1;
  const thresholds = o.thresholds ?? [];
  if (thresholds.length) checkThresholds(thresholds, who);
  const fssOpts = (o.fss ?? []).map((e) => ({ threshold: e.threshold, window: e.window, periodic: e.periodic ?? o.periodicLon ?? false }));

  const kind: CrpsKind = det ? 'standard' : 'fair';
  const crpsStdS = crpsSums(p, 'standard', who), crpsFairS = det ? null : crpsSums(p, 'fair', who);
  const mseS = mseSums(p), varS = det ? null : varianceSums(p, who);
  const energyS = energySums(p, kind, who);
  const brier = thresholds.length ? brierOf(p, thresholds) : [];
  const fss = fssOpts.map((e) => fssOf(p, e, who));
  let refS: CaseSums | null = null, refMse: CaseSums | null = null;
  if (o.reference) {
    const pr = prepare(`${who} (reference)`, o.reference, truth, o);
    refS = crpsSums(pr, pr.M === 1 ? 'standard' : 'fair', `${who} (reference)`);
    refMse = mseSums(pr);
  }
  // RMSE / RMSE_ref from the pooled squared errors of the same (resampled) cases: a paired statistic
  const rmseRatioOf = (idx: Int32Array | null, f: number): number => {
    const all = idx ?? Int32Array.from({ length: N }, (_, k) => k);
    const a = ratioOfSumsStatistic(mseS)(all, f), b = ratioOfSumsStatistic(refMse!)(all, f);
    return b > 0 ? Math.sqrt(a / b) : NaN;
  };
  const mainS = crpsFairS ?? crpsStdS;
  const lead = (c: CaseSums, tr?: (v: number) => number) => leadScore(c, tr).perLead;
  const crpsMain = lead(mainS);

  const out: EnsembleScores = {
    members: M, cases: N, leads: F,
    deterministic: det,
    crpsKind: kind,
    note: det
      ? 'M = 1 (deterministic forecast): the fair CRPS, spread and spread/skill are undefined (null); crps is the standard ensemble CRPS, which for one member is the mean absolute error, and energy is the standard energy score (the area-weighted norm of the error)'
      : null,
    crpsFair: crpsFairS ? crpsMain : null,
    crps: lead(crpsStdS),
    crpsSkill: refS ? crpsSkillScore(crpsMain, lead(refS)) : null,
    rmse: lead(mseS, Math.sqrt),
    rmseRatio: refMse ? Array.from({ length: F }, (_, f) => rmseRatioOf(null, f)) : null,
    spread: varS ? lead(varS, Math.sqrt) : null,
    spreadSkill: varS ? Array.from({ length: F }, (_, f) => spreadSkillOf(varS, mseS, M, null, f)) : null,
    energy: lead(energyS),
    rankHistogram: rankHistogramOf(p, o.rankAreaWeighted ?? false),
    brier: brier.map((b) => ({ threshold: b.threshold, perLead: b.perLead })),
    fss: fss.map((r) => ({ threshold: r.threshold, window: r.window, periodic: r.periodic, perLead: r.perLead })),
    ci: null,
  };

  if (o.bootstrap) {
    const bo = o.bootstrap, dummy = new Float64Array(N * F);
    const ci = (s: (idx: Int32Array, lead: number) => number): Interval => {
      const r = bootstrapCI(dummy, [N, F], s, bo);
      return { lower: r.lower, upper: r.upper };
    };
    const first = bootstrapCI(dummy, [N, F], ratioOfSumsStatistic(crpsStdS), bo);
    out.ci = {
      level: first.level, samples: first.samples, seed: first.seed,
      crpsFair: crpsFairS ? ci(ratioOfSumsStatistic(crpsFairS)) : null,
      crps: { lower: first.lower, upper: first.upper },
      crpsSkill: refS ? ci(skillScoreStatistic(mainS, refS)) : null,
      rmse: ci(ratioOfSumsStatistic(mseS, Math.sqrt)),
      rmseRatio: refMse ? ci(rmseRatioOf) : null,
      spread: varS ? ci(ratioOfSumsStatistic(varS, Math.sqrt)) : null,
      spreadSkill: varS ? ci(spreadSkillStatistic(varS, mseS, M)) : null,
      energy: ci(ratioOfSumsStatistic(energyS)),
      brier: brier.map((b) => ci(ratioOfSumsStatistic(b))),
      fss: fss.map((r) => ci(fssStatistic(r))),
    };
  }
  return out;
}
