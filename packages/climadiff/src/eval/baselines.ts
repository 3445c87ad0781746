// The forecast baselines that diffusion-model forecasts are scored against: persistence, climatological and
// damped-persistence (AR(1) of anomalies from the smooth seasonal cycle) ensembles. The baselines of the other tasks
// are their own modules: interpolate-frames.ts (temporal interpolation), regrid.ts (upsampling and block means, for
// downscaling) and laplace-fill.ts (infill); series.ts holds the shapes they share.
// Pure mathematics on Float32Arrays in C order with explicit shapes; NaN = missing. Every baseline that produces
// a forecast or reconstruction returns an ensemble of shape [M, N, F, H, W] (members, cases, lead frames or
// frames, lat, lon): the layout the scores use for model output, so baselines are scored by the same code.
import { normalSampler } from './random.js';
import { checkPosInt, clipDims, isPosInt, seriesDims, type BaselineEnsemble, type BaselineSeries } from './series.js';
import { SEASONAL_TERMS, seasonalAccumulate, seasonalBasis, seasonalFit, seasonalMean } from '../data/seasonal.js';

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
