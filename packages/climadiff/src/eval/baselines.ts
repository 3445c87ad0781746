// Simple baselines that diffusion-model forecasts, interpolations, infills and downscalings are scored against:
// persistence, climatological and damped-persistence (AR(1)) ensembles, temporal interpolation, spatial
// upsampling (and its inverse, area-weighted block means) and harmonic (Laplace) infill.
// Pure mathematics on Float32Arrays in C order with explicit shapes; NaN = missing. Every baseline that produces
// a forecast or reconstruction returns an ensemble of shape [M, N, F, H, W] (members, cases, lead frames or
// frames, lat, lon): the layout the scores use for model output, so baselines are scored by the same code.
import { normalSampler } from './random.js';
import { SEASONAL_TERMS, seasonalAccumulate, seasonalBasis, seasonalFit, seasonalMean } from '../data/seasonal.js';

/** A series of one variable: data of shape [T, H, W] (time, lat, lon; C order), NaN = missing. */
export interface BaselineSeries {
  data: Float32Array;
  shape: readonly number[];
}

/** An ensemble output: data of shape [M, N, F, H, W] (members, cases, frames, lat, lon; C order), NaN = missing. */
export interface BaselineEnsemble {
  data: Float32Array;
  shape: [number, number, number, number, number];
}

// ---------------------------------------------------------------------------------------------------
// Shape and argument checks

const isPosInt = (d: unknown): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0;

function seriesDims(s: BaselineSeries, who: string): { T: number; H: number; W: number } {
  if (!s || !(s.data instanceof Float32Array) || !s.shape) {
    throw new Error(`${who}: series must be { data: Float32Array, shape: [T, H, W] }`);
  }
  if (s.shape.length !== 3 || !s.shape.every(isPosInt)) throw new Error(`${who}: series shape must be [T, H, W] of positive integers, got [${s.shape.join(', ')}]`);
  const [T, H, W] = s.shape as [number, number, number];
  if (s.data.length !== T * H * W) throw new Error(`${who}: series data has ${s.data.length} values, shape [${s.shape.join(', ')}] needs ${T * H * W}`);
  return { T, H, W };
}

function clipDims(c: BaselineSeries, who: string): { N: number; F: number; H: number; W: number } {
  if (!c || !(c.data instanceof Float32Array)) throw new Error(`${who}: clips must be { data: Float32Array, shape: [F, H, W] or [N, F, H, W] }`);
  if ((c.shape.length !== 3 && c.shape.length !== 4) || !c.shape.every(isPosInt)) {
    throw new Error(`${who}: shape must be [F, H, W] or [N, F, H, W] of positive integers, got [${c.shape.join(', ')}]`);
  }
  const [N, F, H, W] = (c.shape.length === 3 ? [1, ...c.shape] : c.shape) as [number, number, number, number];
  if (c.data.length !== N * F * H * W) throw new Error(`${who}: data has ${c.data.length} values, shape [${c.shape.join(', ')}] needs ${N * F * H * W}`);
  return { N, F, H, W };
}

function checkPosInt(v: number, name: string, who: string): void {
  if (!isPosInt(v)) throw new Error(`${who}: ${name} must be a positive integer, got ${v}`);
}

/** Validates forecast starts: integers with lo <= start and start + F <= T. */
function checkStarts(starts: readonly number[], lo: number, F: number, T: number, who: string, why: string): void {
  if (!starts || starts.length === 0) throw new Error(`${who}: starts must be a non-empty list of time indices`);
  for (const s of starts) {
    if (!Number.isInteger(s) || s < lo || s + F > T) {
      throw new Error(`${who}: start ${s} is out of range: starts must be integers in ${lo}..${T - F} (${why}; T = ${T}, F = ${F})`);
    }
  }
}

function trainingSet(trainIndices: ArrayLike<number>, T: number, who: string): Uint8Array {
  if (!trainIndices || trainIndices.length === 0) throw new Error(`${who}: trainIndices is empty`);
  const inTrain = new Uint8Array(T);
  for (let i = 0; i < trainIndices.length; i++) {
    const t = trainIndices[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`${who}: training index ${t} is not an integer in 0..${T - 1}`);
    inTrain[t] = 1;
  }
  return inTrain;
}

/** All integers of the half-open ranges [start, end), in order: a list of training time indices from ranges. */
export function rangeIndices(ranges: ReadonlyArray<readonly [number, number]>): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a) throw new Error(`rangeIndices: range [${a}, ${b}) must be integers with 0 <= start <= end`);
    for (let t = a; t < b; t++) out.push(t);
  }
  return out;
}


// ---------------------------------------------------------------------------------------------------
// 1. Persistence

/**
 * Persistence forecast: for each start s (index of the first forecast frame) every lead l = 0..F-1 is the last
 * known frame, y[0, n, l, j] = x[s - 1, j]. Where x[s - 1, j] is missing the most recent present value among the
 * k known frames x[s - k .. s - 1, j] is used (NaN if none). Starts must satisfy k <= s and s + F <= T (the clip of
 * k known and F forecast frames lies in the series). Shape [1, N, F, H, W], N = starts.length.
 */
export function persistenceForecast(series: BaselineSeries, starts: readonly number[], k: number, F: number): BaselineEnsemble {
  const who = 'persistenceForecast';
  const { T, H, W } = seriesDims(series, who);
  checkPosInt(k, 'k (known frames before the start)', who);
  checkPosInt(F, 'F (lead frames)', who);
  checkStarts(starts, k, F, T, who, `k = ${k} known frames before the start and F lead frames must lie in the series`);
  const HW = H * W, N = starts.length, out = new Float32Array(N * F * HW);
  const last = new Float32Array(HW);
  starts.forEach((s, n) => {
    for (let j = 0; j < HW; j++) {
      let v = NaN;
      for (let t = s - 1; t >= s - k; t--) { const x = series.data[t * HW + j]!; if (Number.isFinite(x)) { v = x; break; } }
      last[j] = v;
    }
    for (let l = 0; l < F; l++) out.set(last, (n * F + l) * HW);
  });
  return { data: out, shape: [1, N, F, H, W] };
}

// ---------------------------------------------------------------------------------------------------
// 2. Climatological ensemble

/** Calendar of a series, any calendar: per frame t its year and its position in the year (e.g. fractional day
 *  of year, 0-based, time of day included), and the length of a year in those units (circular distances). */
export interface BaselineCalendar {
  yearOf: ArrayLike<number>;
  positionInYear: ArrayLike<number>;
  /** Length of the year in units of positionInYear, e.g. 365.25 (Gregorian days), 360 (360-day), 1 (fraction). */
  period: number;
}

export interface ClimatologyEnsembleOptions {
  /** Skip the training year equal to the start's own year (leave-one-year-out; default true). */
  excludeStartYear?: boolean;
  /** Skip a year whose closest training frame is further than this from the start's position (circular
   *  distance, units of positionInYear; default Infinity). */
  maxDistance?: number;
  /** Drop the year slots that are skipped for any start, so no member is NaN (default false). The ensemble scores
   *  (scores.ts) need finite members wherever the truth is present: pass true when memberCount is not all M. */
  dropIncomplete?: boolean;
}

export interface ClimatologyEnsembleResult {
  /** [M, N, F, H, W]; member m is training year years[m]; a skipped (year, start) is NaN (missing). */
  ensemble: BaselineEnsemble;
  /** The year of each member slot, ascending. */
  years: number[];
  /** [M * N] (member-major): the training frame index the member's window starts at, -1 where skipped. */
  sourceStart: Int32Array;
  /** Per start, the number of members that are not skipped (>= 2). */
  memberCount: number[];
}

/**
 * Probabilistic climatology: for each start s (index of the first forecast frame) and each training year y (the
 * distinct yearOf[t] of the training frames, ascending), the member of year y is the F frames of year y at the
 * same calendar position: t_y = the training frame of year y minimising the circular distance
 * d(p_t, p_s) = min(|p_t - p_s| mod P, P - |p_t - p_s| mod P) (p = positionInYear, P = period; ties: the earliest),
 * and y[m, n, l, j] = x[t_y + l, j] for l = 0..F-1. The year is skipped (member NaN) when the window does not fit
 * (some t_y + l, l < F, is not a training index), when d > maxDistance, or (default) when y is the start's own year.
 * So M = number of training years (fewer with dropIncomplete); error if a start has fewer than 2 members.
 * Starts must satisfy 0 <= s and s + F <= T.
 */
export function climatologyEnsemble(
  series: BaselineSeries, calendar: BaselineCalendar, trainIndices: ArrayLike<number>, starts: readonly number[], F: number,
  options: ClimatologyEnsembleOptions = {},
): ClimatologyEnsembleResult {
  const who = 'climatologyEnsemble';
  const { T, H, W } = seriesDims(series, who);
  checkPosInt(F, 'F (lead frames)', who);
  if (!calendar || !calendar.yearOf || !calendar.positionInYear) throw new Error(`${who}: calendar must be { yearOf, positionInYear, period }`);
  if (calendar.yearOf.length !== T || calendar.positionInYear.length !== T) {
    throw new Error(`${who}: calendar.yearOf has ${calendar.yearOf.length} and calendar.positionInYear has ${calendar.positionInYear.length} entries, the series has T = ${T} frames`);
  }
  const P = calendar.period;
  if (!(typeof P === 'number' && Number.isFinite(P) && P > 0)) throw new Error(`${who}: calendar.period must be a positive number, got ${P}`);
  checkStarts(starts, 0, F, T, who, 'the F lead frames must lie in the series');
  const inTrain = trainingSet(trainIndices, T, who);
  const maxDistance = options.maxDistance ?? Infinity, excludeStartYear = options.excludeStartYear ?? true;
  if (!(maxDistance >= 0)) throw new Error(`${who}: maxDistance must be >= 0, got ${maxDistance}`);

  const byYear = new Map<number, number[]>();
  for (let t = 0; t < T; t++) {
    if (!inTrain[t]) continue;
    const y = calendar.yearOf[t]!, p = calendar.positionInYear[t]!;
    if (!Number.isFinite(y) || !Number.isFinite(p)) throw new Error(`${who}: training frame ${t} has year ${y} and position ${p}; both must be finite`);
    let list = byYear.get(y);
    if (!list) byYear.set(y, (list = []));
    list.push(t);
  }
  let years = [...byYear.keys()].sort((a, b) => a - b);
  const circ = (a: number, b: number): number => { const d = ((Math.abs(a - b) % P) + P) % P; return Math.min(d, P - d); };
  const N = starts.length;
  let src: number[][] = years.map(() => new Array<number>(N).fill(-1)); // [year][start]
  starts.forEach((s, n) => {
    const ps = calendar.positionInYear[s]!, ys = calendar.yearOf[s]!;
    if (!Number.isFinite(ps)) throw new Error(`${who}: start ${s} has position in year ${ps}`);
    years.forEach((y, m) => {
      if (excludeStartYear && y === ys) return;
      let best = -1, bestD = Infinity;
      for (const t of byYear.get(y)!) { const d = circ(calendar.positionInYear[t]!, ps); if (d < bestD) { bestD = d; best = t; } }
      if (bestD > maxDistance) return;
      for (let l = 0; l < F; l++) if (best + l >= T || !inTrain[best + l]) return;
      src[m]![n] = best;
    });
  });
  if (options.dropIncomplete) {
    const keep = years.map((_, m) => src[m]!.every((t) => t >= 0));
    years = years.filter((_, m) => keep[m]);
    src = src.filter((_, m) => keep[m]);
  }
  const memberCount = starts.map((_, n) => src.reduce((c, row) => c + (row[n]! >= 0 ? 1 : 0), 0));
  memberCount.forEach((c, n) => {
    if (c < 2) {
      throw new Error(`${who}: start ${starts[n]} has ${c} climatological member(s) (training years ${years.join(', ') || 'none'}${options.dropIncomplete ? ', after dropIncomplete' : ''}); at least 2 are needed — too few training years whose ${F}-frame window at that calendar position lies in the training indices`);
    }
  });
  const M = years.length, HW = H * W, FHW = F * HW;
  const data = new Float32Array(M * N * FHW).fill(NaN);
  const sourceStart = new Int32Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    const t = src[m]![n]!;
    sourceStart[m * N + n] = t;
    if (t >= 0) data.set(series.data.subarray(t * HW, t * HW + FHW), (m * N + n) * FHW);
  }
  return { ensemble: { data, shape: [M, N, F, H, W] }, years, sourceStart, memberCount };
}

// ---------------------------------------------------------------------------------------------------
// 3. Damped persistence (per-cell AR(1) of anomalies)

/**
 * A climatology c[t, j] for every frame of the series: a [T, H, W] array ({ data, shape } or a flat array of
 * T*H*W values, e.g. monthly means expanded to the frames), a static [H, W] map (flat array of H*W values), or
 * a function returning the H*W map of frame t.
 */
export type BaselineClimatology = BaselineSeries | ArrayLike<number> | ((t: number) => ArrayLike<number>);

function climatologyAccessor(clim: BaselineClimatology, T: number, H: number, W: number, who: string): (t: number) => ArrayLike<number> {
  const HW = H * W;
  if (typeof clim === 'function') {
    return (t) => {
      const m = clim(t);
      if (!m || m.length !== HW) throw new Error(`${who}: climatology(${t}) returned ${m ? m.length : m} values, expected H*W = ${HW}`);
      return m;
    };
  }
  let flat: ArrayLike<number>;
  if (clim && 'shape' in clim && 'data' in clim) {
    const s = clim.shape;
    if (!(s.length === 3 && s[0] === T && s[1] === H && s[2] === W) && !(s.length === 2 && s[0] === H && s[1] === W)) {
      throw new Error(`${who}: climatology shape [${s.join(', ')}] must be [T, H, W] = [${T}, ${H}, ${W}] or [H, W] = [${H}, ${W}]`);
    }
    flat = clim.data;
  } else flat = clim as ArrayLike<number>;
  if (!flat || (flat.length !== T * HW && flat.length !== HW)) {
    throw new Error(`${who}: climatology has ${flat ? flat.length : flat} values, expected T*H*W = ${T * HW} or H*W = ${HW}`);
  }
  const arr = Float64Array.from(flat as ArrayLike<number>);
  if (flat.length === HW) return () => arr;
  return (t) => arr.subarray(t * HW, (t + 1) * HW);
}

export interface AR1Fit {
  /** Per cell (H*W): phi_j = C1_j / C0_j clamped to [-1, 1] (0 where C0_j = 0; NaN without data). */
  phi: Float64Array;
  /** Per cell: innovation standard deviation s_j = sqrt(C0_j (1 - phi_j^2)). */
  sigma: Float64Array;
  /** Per cell: anomaly standard deviation sqrt(C0_j) (the stationary spread, s_j^2 / (1 - phi_j^2)). */
  anomalyStd: Float64Array;
  /** Per cell: the number of lag-1 pairs used for C1. */
  pairs: Int32Array;
}

/**
 * Per-cell AR(1) fit of the anomalies a[t, j] = x[t, j] - c[t, j] on the training frames. The anomalies are taken
 * as zero-mean by definition of the climatology (not re-centred):
 *   C0_j = mean over training frames t with a[t, j] present of a[t, j]^2          (the anomaly variance var_j),
 *   C1_j = mean over pairs (t, t+1), both training frames, both present, of a[t, j] a[t+1, j],
 *   phi_j = C1_j / C0_j (the lag-1 autocorrelation; clamped to [-1, 1]),  s_j^2 = C0_j (1 - phi_j^2).
 * A cell without a training pair gets phi = NaN, sigma = NaN; a cell with C0 = 0 gets phi = 0, sigma = 0.
 */
export function fitAnomalyAR1(series: BaselineSeries, trainIndices: ArrayLike<number>, climatology: BaselineClimatology): AR1Fit {
  const who = 'fitAnomalyAR1';
  const { T, H, W } = seriesDims(series, who);
  return fitAR1(series, trainingSet(trainIndices, T, who), climatologyAccessor(climatology, T, H, W, who), T, H * W, who);
}

function fitAR1(series: BaselineSeries, inTrain: Uint8Array, clim: (t: number) => ArrayLike<number>, T: number, HW: number, who: string): AR1Fit {
  const s0 = new Float64Array(HW), n0 = new Float64Array(HW), s1 = new Float64Array(HW), n1 = new Int32Array(HW);
  let prev: Float64Array | null = null;
  const cur = new Float64Array(HW);
  for (let t = 0; t < T; t++) {
    if (!inTrain[t]) { prev = null; continue; }
    const c = clim(t);
    for (let j = 0; j < HW; j++) cur[j] = series.data[t * HW + j]! - c[j]!;
    for (let j = 0; j < HW; j++) {
      const a = cur[j]!;
      if (!Number.isFinite(a)) continue;
      s0[j] = s0[j]! + a * a; n0[j] = n0[j]! + 1;
      const p = prev ? prev[j]! : NaN;
      if (Number.isFinite(p)) { s1[j] = s1[j]! + p * a; n1[j] = n1[j]! + 1; }
    }
    prev = prev ?? new Float64Array(HW);
    prev.set(cur);
  }
  let anyPair = false;
  const phi = new Float64Array(HW), sigma = new Float64Array(HW), anomalyStd = new Float64Array(HW);
  for (let j = 0; j < HW; j++) {
    if (n1[j]! === 0) { phi[j] = NaN; sigma[j] = NaN; anomalyStd[j] = n0[j]! > 0 ? Math.sqrt(s0[j]! / n0[j]!) : NaN; continue; }
    anyPair = true;
    const c0 = s0[j]! / n0[j]!, c1 = s1[j]! / n1[j]!;
    const p = c0 > 0 ? Math.max(-1, Math.min(1, c1 / c0)) : 0;
    phi[j] = p; anomalyStd[j] = Math.sqrt(c0); sigma[j] = Math.sqrt(c0 * (1 - p * p));
  }
  if (!anyPair) throw new Error(`${who}: no cell has a pair of consecutive training frames with present anomalies; the AR(1) cannot be fitted`);
  return { phi, sigma, anomalyStd, pairs: n1 };
}

export interface DampedPersistenceOptions {
  /** Ensemble size M (>= 1). */
  members: number;
  /** Seed of the deterministic normal draws (default 0). */
  seed?: number;
  /** The climatology c[t, j] the anomalies are taken from (see BaselineClimatology). */
  climatology: BaselineClimatology;
}

export interface DampedPersistenceResult {
  /** [M, N, F, H, W]: stochastic AR(1) members. */
  ensemble: BaselineEnsemble;
  /** [1, N, F, H, W]: the deterministic damped-persistence forecast c[s + l - 1, j] + phi_j^l a0_j. */
  mean: BaselineEnsemble;
  /** The fitted per-cell parameters. */
  fit: AR1Fit;
}

/**
 * Damped-persistence ensemble, a per-cell AR(1) of anomalies (parameters from fitAnomalyAR1 on the training frames).
 * For a start s (first forecast frame; 1 <= s, s + F <= T) the initial anomaly is a0_j = x[s - 1, j] - c[s - 1, j]
 * and lead l = 1..F (frame s + l - 1) of member m is
 *   a_l = phi_j a_{l-1} + s_j eps,  eps ~ N(0, 1),   y[m, n, l - 1, j] = c[s + l - 1, j] + a_l,
 * so E[a_l] = phi_j^l a0_j (returned as `mean`) and Var[a_l] = s_j^2 (1 - phi_j^(2l)) / (1 - phi_j^2)
 * = var_j (1 - phi_j^(2l)). eps are drawn from a seeded mulberry32 + Box-Muller generator in the order members,
 * cases, leads, cells, so the ensemble is a deterministic function of the seed. NaN where a0 or the fit is missing.
 */
export function dampedPersistenceEnsemble(
  series: BaselineSeries, trainIndices: ArrayLike<number>, starts: readonly number[], F: number, options: DampedPersistenceOptions,
): DampedPersistenceResult {
  const who = 'dampedPersistenceEnsemble';
  const { T, H, W } = seriesDims(series, who);
  checkPosInt(F, 'F (lead frames)', who);
  if (!options) throw new Error(`${who}: options { members, seed?, climatology } are required`);
  checkPosInt(options.members, 'members', who);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`${who}: seed must be an integer, got ${seed}`);
  if (options.climatology === undefined || options.climatology === null) throw new Error(`${who}: options.climatology is required (a [T, H, W] array, an [H, W] map or a function of t)`);
  checkStarts(starts, 1, F, T, who, 'the last known frame s - 1 and the F lead frames must lie in the series');
  const HW = H * W, N = starts.length, M = options.members;
  const clim = climatologyAccessor(options.climatology, T, H, W, who);
  const fit = fitAR1(series, trainingSet(trainIndices, T, who), clim, T, HW, who);
  const { phi, sigma } = fit;

  const a0 = new Float64Array(N * HW);
  const cl = new Float64Array(N * F * HW); // climatology at the lead frames
  starts.forEach((s, n) => {
    const c = clim(s - 1);
    for (let j = 0; j < HW; j++) a0[n * HW + j] = series.data[(s - 1) * HW + j]! - c[j]!;
    for (let l = 0; l < F; l++) { const cf = clim(s + l); for (let j = 0; j < HW; j++) cl[(n * F + l) * HW + j] = cf[j]!; }
  });
  const mean = new Float32Array(N * F * HW);
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    let a = a0[n * HW + j]!;
    for (let l = 0; l < F; l++) { a *= phi[j]!; mean[(n * F + l) * HW + j] = cl[(n * F + l) * HW + j]! + a; }
  }
  const gauss = normalSampler(seed);
  const data = new Float32Array(M * N * F * HW);
  const a = new Float64Array(HW);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    a.set(a0.subarray(n * HW, (n + 1) * HW));
    for (let l = 0; l < F; l++) {
      const base = (n * F + l) * HW, o = ((m * N + n) * F + l) * HW;
      for (let j = 0; j < HW; j++) {
        const e = gauss();
        a[j] = phi[j]! * a[j]! + sigma[j]! * e;
        data[o + j] = cl[base + j]! + a[j]!;
      }
    }
  }
  return { ensemble: { data, shape: [M, N, F, H, W] }, mean: { data: mean, shape: [1, N, F, H, W] }, fit };
}

// ---------------------------------------------------------------------------------------------------
// 4. Temporal interpolation

export type FrameInterpolation = 'linear' | 'cubic';

/** Natural cubic spline through (x_i, y_i) (x strictly increasing, K >= 2), evaluated at q in [x_0, x_{K-1}]. */
function naturalSpline(x: readonly number[], y: Float64Array, qs: readonly number[]): Float64Array {
  const K = x.length, Mdd = new Float64Array(K); // second derivatives; natural: M_0 = M_{K-1} = 0
  if (K > 2) {
    // Tridiagonal (Thomas) for M_1..M_{K-2}: h_{i-1} M_{i-1} + 2 (h_{i-1} + h_i) M_i + h_i M_{i+1} = 6 (d_i - d_{i-1})
    const n = K - 2, c = new Float64Array(n), d = new Float64Array(n);
    for (let i = 1; i <= n; i++) {
      const h0 = x[i]! - x[i - 1]!, h1 = x[i + 1]! - x[i]!;
      const rhs = 6 * ((y[i + 1]! - y[i]!) / h1 - (y[i]! - y[i - 1]!) / h0);
      const b = 2 * (h0 + h1), aa = i > 1 ? h0 : 0;
      const denom = b - aa * (i > 1 ? c[i - 2]! : 0);
      c[i - 1] = h1 / denom;
      d[i - 1] = (rhs - aa * (i > 1 ? d[i - 2]! : 0)) / denom;
    }
    for (let i = n; i >= 1; i--) Mdd[i] = d[i - 1]! - (i < n ? c[i - 1]! * Mdd[i + 1]! : 0);
  }
  const out = new Float64Array(qs.length);
  qs.forEach((q, k) => {
    let i = 0;
    while (i < K - 2 && q > x[i + 1]!) i++;
    const h = x[i + 1]! - x[i]!, A = (x[i + 1]! - q) / h, B = (q - x[i]!) / h;
    out[k] = A * y[i]! + B * y[i + 1]! + ((A * A * A - A) * Mdd[i]! + (B * B * B - B) * Mdd[i + 1]!) * h * h / 6;
  });
  return out;
}

/** weights[f][i]: the value at frame f as a linear combination of the values at the knot frames (K >= 1). */
function frameWeights(knots: readonly number[], F: number, method: FrameInterpolation): Float64Array[] {
  const K = knots.length, w: Float64Array[] = [];
  const first = knots[0]!, last = knots[K - 1]!;
  const inner: number[] = [];
  for (let f = 0; f < F; f++) {
    const row = new Float64Array(K);
    if (f <= first) row[0] = 1;
    else if (f >= last) row[K - 1] = 1;
    else if (method === 'linear' || K === 2) {
      let i = 0;
      while (knots[i + 1]! < f) i++;
      const t = (f - knots[i]!) / (knots[i + 1]! - knots[i]!);
      row[i] = 1 - t; row[i + 1] = t;
    } else inner.push(f);
    w.push(row);
  }
  if (inner.length) {
    for (let i = 0; i < K; i++) {
      const e = new Float64Array(K); e[i] = 1;
      const v = naturalSpline(knots, e, inner);
      inner.forEach((f, k) => { w[f]![i] = v[k]!; });
    }
  }
  return w;
}

export interface InterpolateFramesOptions {
  /** 'linear' (default) or 'cubic' (natural cubic spline). */
  method?: FrameInterpolation;
}

/**
 * Temporal interpolation baseline: fills the unknown frames of each clip ([F, H, W] or [N, F, H, W]) from the known
 * frames (known[f] truthy), per cell, using the known frames whose value at that cell is present:
 *  - 'linear': y_f = (1 - t) x_a + t x_b, t = (f - a) / (b - a), with a < f < b the nearest known frames;
 *  - 'cubic': the natural cubic spline (second derivative 0 at the first and last known frame) through the known
 *    frames at their frame times (C2, uses all known frames, irregular spacing; with 2 known frames it is linear).
 * Before the first / after the last known frame both hold the nearest known frame (no extrapolation); one known
 * frame: constant; none present at a cell: NaN. Known frames are copied unchanged (including any NaN).
 * Output [1, N, F, H, W].
 */
export function interpolateFrames(clips: BaselineSeries, known: ArrayLike<boolean | number>, options: InterpolateFramesOptions = {}): BaselineEnsemble {
  const who = 'interpolateFrames';
  const { N, F, H, W } = clipDims(clips, who);
  const method = options.method ?? 'linear';
  if (method !== 'linear' && method !== 'cubic') throw new Error(`${who}: method must be 'linear' or 'cubic', got ${String(method)}`);
  if (!known || known.length !== F) throw new Error(`${who}: known has ${known ? known.length : known} entries, the clips have F = ${F} frames`);
  const knownFrames: number[] = [];
  for (let f = 0; f < F; f++) if (known[f]) knownFrames.push(f);
  if (knownFrames.length === 0) throw new Error(`${who}: no frame is known`);
  const HW = H * W, out = new Float32Array(clips.data);
  const cache = new Map<string, Float64Array[]>();
  const knots: number[] = [];
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    const at = (f: number): number => (n * F + f) * HW + j;
    knots.length = 0;
    for (const f of knownFrames) if (Number.isFinite(clips.data[at(f)]!)) knots.push(f);
    if (knots.length === 0) { for (let f = 0; f < F; f++) if (!known[f]) out[at(f)] = NaN; continue; }
    const key = knots.join(',');
    let w = cache.get(key);
    if (!w) { w = frameWeights(knots, F, method); cache.set(key, w); }
    for (let f = 0; f < F; f++) {
      if (known[f]) continue;
      const row = w[f]!;
      let v = 0;
      for (let i = 0; i < knots.length; i++) if (row[i] !== 0) v += row[i]! * clips.data[at(knots[i]!)]!;
      out[at(f)] = v;
    }
  }
  return { data: out, shape: [1, N, F, H, W] };
}

// ---------------------------------------------------------------------------------------------------
// 5. Spatial upsampling and block means (downscaling)

export type UpsampleMethod = 'nearest' | 'bilinear' | 'bicubic';

export interface UpsampleOptions {
  /** 'nearest', 'bilinear' (default) or 'bicubic' (Keys, a = -0.5). */
  method?: UpsampleMethod;
  /** Wrap in longitude (the last axis); otherwise clamp to the edge cell. Latitude is always clamped. */
  periodicLon?: boolean;
}

/** Keys cubic convolution kernel, a = -0.5. */
function keys(x: number): number {
  const a = -0.5, s = Math.abs(x);
  if (s <= 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
  if (s < 2) return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
  return 0;
}

/** Taps (coarse indices, weights) of each of the n*K fine positions along an axis of n coarse cells. */
function axisTaps(n: number, K: number, method: UpsampleMethod, periodic: boolean): { idx: Int32Array[]; w: Float64Array[] } {
  const fix = (i: number): number => (periodic ? ((i % n) + n) % n : Math.max(0, Math.min(n - 1, i)));
  const idx: Int32Array[] = [], w: Float64Array[] = [];
  for (let i = 0; i < n * K; i++) {
    if (method === 'nearest') { idx.push(Int32Array.of(Math.floor(i / K))); w.push(Float64Array.of(1)); continue; }
    const u = (i + 0.5) / K - 0.5, i0 = Math.floor(u), t = u - i0; // fine centre in coarse index units
    const offs = method === 'bilinear' ? [0, 1] : [-1, 0, 1, 2];
    const ws = method === 'bilinear' ? [1 - t, t] : [keys(1 + t), keys(t), keys(1 - t), keys(2 - t)];
    // merge taps that land on the same coarse cell (clamping), drop zero weights (no NaN from unused cells)
    const acc = new Map<number, number>();
    offs.forEach((o, k) => { if (ws[k] !== 0) { const c = fix(i0 + o); acc.set(c, (acc.get(c) ?? 0) + ws[k]!); } });
    idx.push(Int32Array.from(acc.keys())); w.push(Float64Array.from(acc.values()));
  }
  return { idx, w };
}

function gridDims(a: BaselineSeries, who: string, what: string): { lead: number; h: number; w: number } {
  if (!a || !(a.data instanceof Float32Array)) throw new Error(`${who}: ${what} must be { data: Float32Array, shape: [..., H, W] }`);
  if (a.shape.length < 2 || !a.shape.every(isPosInt)) throw new Error(`${who}: ${what} shape must be [..., H, W] of positive integers, got [${a.shape.join(', ')}]`);
  const h = a.shape[a.shape.length - 2]!, w = a.shape[a.shape.length - 1]!;
  const lead = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  if (a.data.length !== lead * h * w) throw new Error(`${who}: ${what} data has ${a.data.length} values, shape [${a.shape.join(', ')}] needs ${lead * h * w}`);
  return { lead, h, w };
}

/**
 * Upsampling baseline for downscaling by an integer factor K: [..., h, w] -> [..., h*K, w*K] (leading axes kept).
 * Fine cell (I, J) has its centre at coarse index coordinates (u, v) = ((I + 0.5) / K - 0.5, (J + 0.5) / K - 0.5)
 * (coarse cell centres at integers), and
 *  - 'nearest': y = x[floor(I / K), floor(J / K)] (each coarse value repeated on its K x K block);
 *  - 'bilinear': y = sum over p, q in {0, 1} of w_p(u) w_q(v) x[i0 + p, j0 + q], i0 = floor(u), w_0 = 1 - t, w_1 = t;
 *  - 'bicubic': the same with p, q in {-1, 0, 1, 2} and Keys weights W(1 + t), W(t), W(1 - t), W(2 - t),
 *    W(s) = 1.5|s|^3 - 2.5|s|^2 + 1 (|s| <= 1), -0.5|s|^3 + 2.5|s|^2 - 4|s| + 2 (1 < |s| < 2) (a = -0.5).
 * Indices outside the grid are clamped to the edge (latitude; longitude unless periodicLon, which wraps them).
 * A fine value is NaN if any coarse value with a nonzero weight is NaN.
 */
export function upsample(coarse: BaselineSeries, K: number, options: UpsampleOptions = {}): { data: Float32Array; shape: number[] } {
  const who = 'upsample';
  const { lead, h, w } = gridDims(coarse, who, 'coarse');
  checkPosInt(K, 'K (upsampling factor)', who);
  const method = options.method ?? 'bilinear';
  if (method !== 'nearest' && method !== 'bilinear' && method !== 'bicubic') throw new Error(`${who}: method must be 'nearest', 'bilinear' or 'bicubic', got ${String(method)}`);
  const rows = axisTaps(h, K, method, false), cols = axisTaps(w, K, method, options.periodicLon ?? false);
  const H = h * K, W = w * K, out = new Float32Array(lead * H * W);
  for (let b = 0; b < lead; b++) {
    const src = b * h * w, dst = b * H * W;
    for (let I = 0; I < H; I++) {
      const ri = rows.idx[I]!, rw = rows.w[I]!;
      for (let J = 0; J < W; J++) {
        const ci = cols.idx[J]!, cw = cols.w[J]!;
        let v = 0;
        for (let p = 0; p < ri.length; p++) {
          const r = src + ri[p]! * w;
          let s = 0;
          for (let q = 0; q < ci.length; q++) s += cw[q]! * coarse.data[r + ci[q]!]!;
          v += rw[p]! * s;
        }
        out[dst + I * W + J] = v;
      }
    }
  }
  return { data: out, shape: [...coarse.shape.slice(0, -2), H, W] };
}

export interface BlockMeanOptions {
  /** Latitudes (degrees) of the fine rows (length H): row weights w_r = cos(lat_r). */
  latitudes?: ArrayLike<number>;
  /** Explicit non-negative row weights w_r of the fine rows (length H); not with latitudes. */
  latWeights?: ArrayLike<number>;
}

function rowWeights(H: number, options: BlockMeanOptions, who: string): Float64Array {
  if (options.latitudes && options.latWeights) throw new Error(`${who}: give latitudes or latWeights, not both`);
  const wr = new Float64Array(H).fill(1);
  const src = options.latitudes ?? options.latWeights;
  if (!src) return wr;
  const name = options.latitudes ? 'latitudes' : 'latWeights';
  if (src.length !== H) throw new Error(`${who}: ${name} has ${src.length} entries, the fine grid has H = ${H} rows`);
  for (let r = 0; r < H; r++) {
    const v = src[r]!;
    const x = options.latitudes ? Math.cos((v * Math.PI) / 180) : v;
    if (!Number.isFinite(x) || (options.latitudes ? Math.abs(v) > 90 : x < 0)) throw new Error(`${who}: ${name}[${r}] = ${v} is invalid (${options.latitudes ? 'latitudes in -90..90 degrees' : 'weights must be finite and >= 0'})`);
    wr[r] = Math.max(0, x);
  }
  return wr;
}

/**
 * Coarse block means, the operator downscaling conditions on: [..., H, W] -> [..., H/K, W/K] (K must divide H and
 * W), z[i, j] = sum over the K x K block of w_r x[r, c] / sum w_r over its present values (NaN if none), with row
 * weights w_r = cos(lat_r) when latitudes are given (area weighting), explicit latWeights, or 1.
 */
export function blockMean(fine: BaselineSeries, K: number, options: BlockMeanOptions = {}): { data: Float32Array; shape: number[] } {
  const who = 'blockMean';
  const { lead, h: H, w: W } = gridDims(fine, who, 'fine');
  checkPosInt(K, 'K (block size)', who);
  if (H % K !== 0 || W % K !== 0) throw new Error(`${who}: K = ${K} does not divide the fine grid ${H} x ${W}`);
  const wr = rowWeights(H, options, who);
  const h = H / K, w = W / K, out = new Float32Array(lead * h * w);
  for (let b = 0; b < lead; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    let s = 0, sw = 0;
    for (let r = i * K; r < (i + 1) * K; r++) for (let c = j * K; c < (j + 1) * K; c++) {
      const x = fine.data[(b * H + r) * W + c]!;
      if (Number.isFinite(x)) { s += wr[r]! * x; sw += wr[r]!; }
    }
    out[(b * h + i) * w + j] = sw > 0 ? s / sw : NaN;
  }
  return { data: out, shape: [...fine.shape.slice(0, -2), h, w] };
}

/**
 * Mass-conserving correction of a fine field towards coarse block means: y[r, c] = x[r, c] + (z[i, j] - m[i, j]) on
 * block (i, j), with m = blockMean(x, K, options); then blockMean(y, K, options) = z (up to rounding). E.g. bilinear
 * upsampling + this correction is a mass-conserving baseline. Shapes [..., H, W] and [..., H/K, W/K].
 */
export function conserveBlockMeans(fine: BaselineSeries, coarse: BaselineSeries, K: number, options: BlockMeanOptions = {}): { data: Float32Array; shape: number[] } {
  const who = 'conserveBlockMeans';
  const { lead, h: H, w: W } = gridDims(fine, who, 'fine');
  const c = gridDims(coarse, who, 'coarse');
  checkPosInt(K, 'K (block size)', who);
  if (c.lead !== lead || c.h * K !== H || c.w * K !== W) {
    throw new Error(`${who}: coarse shape [${coarse.shape.join(', ')}] does not match fine shape [${fine.shape.join(', ')}] with K = ${K}`);
  }
  const m = blockMean(fine, K, options);
  const out = new Float32Array(fine.data.length), h = c.h, w = c.w;
  for (let b = 0; b < lead; b++) for (let r = 0; r < H; r++) for (let col = 0; col < W; col++) {
    const k = (b * h + Math.floor(r / K)) * w + Math.floor(col / K), i = (b * H + r) * W + col;
    out[i] = fine.data[i]! + (coarse.data[k]! - m.data[k]!);
  }
  return { data: out, shape: [...fine.shape] };
}

// ---------------------------------------------------------------------------------------------------
// 6. Spatial infill

export interface LaplaceFillOptions {
  /** Wrap in longitude (the last axis); otherwise reflect (Neumann). */
  periodicLon?: boolean;
  /** Maximum SOR sweeps (default 20000). */
  iterations?: number;
  /** Stop when the largest change of a sweep is below tol (default 1e-6 x (max - min of the known values), or 1e-6). */
  tol?: number;
  /** SOR relaxation factor in (0, 2) (default 2 / (1 + sin(pi / (max(H, W) + 1))); 1 = Gauss-Seidel). */
  omega?: number;
}

export interface LaplaceFillResult {
  data: Float32Array;
  iterations: number;
  maxUpdate: number;
  converged: boolean;
}

/**
 * Harmonic infill of one field [H, W]: the unknown cells satisfy the discrete Laplace equation
 * x_j = mean of x over the in-grid 4-neighbours of j (latitude edges: Neumann / zero-flux, i.e. the missing
 * neighbour is replaced by the cell itself; longitude: periodic when periodicLon, else the same Neumann rule), with
 * the known cells as Dirichlet data. A cell is known when knownMask[j] is truthy (1 = known, the opposite of the
 * clip mask convention) and its value is finite; without knownMask, the finite cells are known. Unknowns start at
 * the mean of the known values and are solved by SOR sweeps in raster order until the largest change < tol.
 * Known cells are returned unchanged. Error if no cell is known.
 */
export function laplaceFill(field: BaselineSeries, knownMask?: ArrayLike<boolean | number> | null, options: LaplaceFillOptions = {}): LaplaceFillResult {
  const who = 'laplaceFill';
  if (!field || !(field.data instanceof Float32Array)) throw new Error(`${who}: field must be { data: Float32Array, shape: [H, W] }`);
  if (field.shape.length !== 2 || !field.shape.every(isPosInt)) throw new Error(`${who}: field shape must be [H, W] of positive integers, got [${field.shape.join(', ')}]`);
  const [H, W] = field.shape as [number, number];
  if (field.data.length !== H * W) throw new Error(`${who}: field data has ${field.data.length} values, shape [${H}, ${W}] needs ${H * W}`);
  return fillOne(field.data, H, W, knownMask ?? null, options, who);
}

function fillOne(src: ArrayLike<number>, H: number, W: number, knownMask: ArrayLike<boolean | number> | null, options: LaplaceFillOptions, who: string): LaplaceFillResult {
  const HW = H * W;
  if (knownMask && knownMask.length !== HW) throw new Error(`${who}: knownMask has ${knownMask.length} values, the field has H*W = ${HW} cells`);
  const maxIter = options.iterations ?? 20000;
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new Error(`${who}: iterations must be a non-negative integer, got ${maxIter}`);
  const omega = options.omega ?? 2 / (1 + Math.sin(Math.PI / (Math.max(H, W) + 1)));
  if (!(omega > 0 && omega < 2)) throw new Error(`${who}: omega must be in (0, 2), got ${omega}`);
  const x = new Float64Array(HW), unknown: number[] = [];
  let sum = 0, nk = 0, lo = Infinity, hi = -Infinity;
  for (let j = 0; j < HW; j++) {
    const v = src[j]!;
    if ((!knownMask || knownMask[j]) && Number.isFinite(v)) { x[j] = v; sum += v; nk++; lo = Math.min(lo, v); hi = Math.max(hi, v); } else unknown.push(j);
  }
  if (nk === 0) throw new Error(`${who}: no cell is known (every cell is masked or missing); nothing to fill from`);
  const tol = options.tol ?? (hi > lo ? 1e-6 * (hi - lo) : 1e-6);
  if (!(tol > 0)) throw new Error(`${who}: tol must be > 0, got ${tol}`);
  const periodic = options.periodicLon ?? false;
  const U = unknown.length, nb = new Int32Array(4 * U).fill(-1), cnt = new Float64Array(U);
  const mean = sum / nk;
  unknown.forEach((j, u) => {
    x[j] = mean;
    const r = Math.floor(j / W), c = j % W;
    const list: number[] = [];
    if (r > 0) list.push(j - W);
    if (r < H - 1) list.push(j + W);
    if (W > 1) {
      if (c > 0) list.push(j - 1); else if (periodic) list.push(j + W - 1);
      if (c < W - 1) list.push(j + 1); else if (periodic) list.push(j - W + 1);
    }
    list.forEach((k, i) => { nb[4 * u + i] = k; });
    cnt[u] = list.length;
  });
  let it = 0, maxUpdate = 0, converged = U === 0;
  while (!converged && it < maxIter) {
    it++; maxUpdate = 0;
    for (let u = 0; u < U; u++) {
      const j = unknown[u]!, n = cnt[u]!;
      if (n === 0) continue; // a 1 x 1 grid cannot be unknown here (nk > 0)
      let s = 0;
      for (let i = 0; i < n; i++) s += x[nb[4 * u + i]!]!;
      const d = omega * (s / n - x[j]!);
      x[j] = x[j]! + d;
      if (Math.abs(d) > maxUpdate) maxUpdate = Math.abs(d);
    }
    if (maxUpdate < tol) converged = true;
  }
  const data = Float32Array.from(src);
  for (const j of unknown) data[j] = x[j]!;
  return { data, iterations: it, maxUpdate, converged };
}

/**
 * laplaceFill applied to every frame of clips [N, F, H, W] (or [F, H, W]); knownMask (1 = known) per value
 * (N*F*H*W, or F*H*W for [F, H, W]) or one static map (H*W), or absent (the finite values are known).
 * Output [1, N, F, H, W] plus the largest sweep count and whether every frame converged.
 */
export function laplaceFillFrames(
  clips: BaselineSeries, knownMask?: ArrayLike<boolean | number> | null, options: LaplaceFillOptions = {},
): { ensemble: BaselineEnsemble; iterations: number; converged: boolean } {
  const who = 'laplaceFillFrames';
  const { N, F, H, W } = clipDims(clips, who);
  const HW = H * W, n = N * F;
  if (knownMask && knownMask.length !== n * HW && knownMask.length !== HW) {
    throw new Error(`${who}: knownMask has ${knownMask.length} values, expected ${n * HW} (per value) or ${HW} (per cell)`);
  }
  const out = new Float32Array(clips.data.length);
  let iterations = 0, converged = true;
  for (let k = 0; k < n; k++) {
    const m = knownMask ? (knownMask.length === HW ? knownMask : Array.prototype.slice.call(knownMask, k * HW, (k + 1) * HW) as Array<boolean | number>) : null;
    const r = fillOne(clips.data.subarray(k * HW, (k + 1) * HW), H, W, m, options, `${who} (clip ${Math.floor(k / F)}, frame ${k % F})`);
    out.set(r.data, k * HW);
    iterations = Math.max(iterations, r.iterations);
    converged &&= r.converged;
  }
  return { ensemble: { data: out, shape: [1, N, F, H, W] }, iterations, converged };
}

/**
 * The smooth seasonal cycle of the training steps, per cell: the least-squares fit of a mean and SEASONAL_HARMONICS
 * annual harmonics of the month position (positions[t], time-parts.ts monthPosition; the fit of the 'seasonal'
 * normalisation, data/seasonal.ts), as c(t) = that cycle at t's position. Cells seen in too few calendar months get
 * their mean. The climatology damped persistence takes its anomalies from: unlike monthly means it has no steps at
 * month boundaries, which an AR(1) forecast would carry into every lead after one (docs/recipe.md).
 */
export function seasonalClimatology(series: BaselineSeries, trainIdx: number[], positions: ArrayLike<number>): (t: number) => Float64Array {
  const [, H, W] = series.shape as [number, number, number];
  const HW = H * W, T = SEASONAL_TERMS;
  // centred on the training mean, so the normal equations do not cancel (kelvin-sized means, sub-kelvin cycles)
  let shift = 0, count = 0;
  for (const t of trainIdx) for (let j = 0; j < HW; j++) { const v = series.data[t * HW + j]!; if (Number.isFinite(v)) { shift += v; count++; } }
  shift = count > 0 ? shift / count : 0;
  const xtx = new Float64Array(HW * T * T), xty = new Float64Array(HW * T), n = new Float64Array(HW), yty = new Float64Array(HW);
  const seen = new Uint16Array(HW), basis = new Float64Array(T);
  for (const t of trainIdx) {
    seasonalBasis(positions[t]!, basis);
    const month = Math.min(11, Math.max(0, Math.floor(positions[t]!)));
    for (let j = 0; j < HW; j++) {
      const v = series.data[t * HW + j]!;
      if (!Number.isFinite(v)) continue;
      const y = v - shift;
      n[j] = n[j]! + 1; yty[j] = yty[j]! + y * y; seen[j] = seen[j]! | (1 << month);
      seasonalAccumulate(xtx, xty, j, basis, y);
    }
  }
  const { coefficients } = seasonalFit(xtx, xty, n, yty, seen, HW, shift, 0);
  const cache = new Map<number, Float64Array>();
  return (t) => {
    const p = positions[t]!;
    let m = cache.get(p);
    if (!m) { m = seasonalMean(coefficients, seasonalBasis(p, new Float64Array(T)), HW); cache.set(p, m); }
    return m;
  };
}
