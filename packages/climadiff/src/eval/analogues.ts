// Pure functions over embeddings ([n, d] row-major posterior means and log-variances of q(w|x)): nearest-neighbour
// analogue retrieval, active units and the KL of each example to the prior.
export interface Neighbours {
  k: number;
  /** Bank rows of the k nearest, nearest first, [nq, k] (-1 where fewer than k bank rows were allowed). */
  index: Int32Array;
  /** Their Euclidean distances, [nq, k] (NaN where index is -1). */
  distance: Float64Array;
}

/**
 * The k nearest bank rows (Euclidean distance in w) of every query row; `exclude(q, b)` true skips bank row b for query
 * q (e.g. windows that overlap the query in time). Ties keep the lower bank index first.
 */
export function nearestNeighbours(query: ArrayLike<number>, bank: ArrayLike<number>, dim: number, k: number, exclude?: (q: number, b: number) => boolean): Neighbours {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`nearestNeighbours: dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`nearestNeighbours: k must be a positive integer, got ${k}`);
  if (query.length % dim !== 0 || bank.length % dim !== 0) throw new Error(`nearestNeighbours: query (${query.length}) and bank (${bank.length}) lengths must be multiples of dim ${dim}`);
  const nq = query.length / dim, nb = bank.length / dim;
  const index = new Int32Array(nq * k).fill(-1), distance = new Float64Array(nq * k).fill(NaN);
  const bestD = new Float64Array(k), bestI = new Int32Array(k);
  for (let q = 0; q < nq; q++) {
    let filled = 0;
    for (let b = 0; b < nb; b++) {
      if (exclude?.(q, b)) continue;
      let s = 0;
      for (let j = 0; j < dim; j++) { const t = query[q * dim + j]! - bank[b * dim + j]!; s += t * t; }
      if (!Number.isFinite(s)) throw new Error(`nearestNeighbours: non-finite values in query ${q} or bank row ${b}`);
      if (filled < k) { filled++; } else if (s >= bestD[k - 1]!) continue;
      // insertion into the sorted list
      let p = filled - 1;
      while (p > 0 && bestD[p - 1]! > s) { bestD[p] = bestD[p - 1]!; bestI[p] = bestI[p - 1]!; p--; }
      bestD[p] = s; bestI[p] = b;
    }
    for (let j = 0; j < filled; j++) { index[q * k + j] = bestI[j]!; distance[q * k + j] = Math.sqrt(bestD[j]!); }
  }
  return { k, index, distance };
}

/**
 * Active units (Burda et al. 2016): the variance over examples of each coordinate's posterior mean, Cov_x(E_q[w_i]),
 * and the coordinates where it exceeds `threshold` (0.01 by convention). A collapsed coordinate has E_q[w_i] ~ 0 for
 * every x, whatever x is.
 */
export function activeUnits(mean: ArrayLike<number>, dim: number, threshold = 0.01): { variance: number[]; active: number[] } {
  const n = mean.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new Error(`activeUnits: need at least 2 examples of dimension ${dim}, got ${mean.length} values`);
  const variance = Array.from({ length: dim }, (_, i) => {
    let m = 0;
    for (let r = 0; r < n; r++) m += mean[r * dim + i]!;
    m /= n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (mean[r * dim + i]! - m) ** 2;
    return v / (n - 1);
  });
  return { variance, active: variance.flatMap((v, i) => (v > threshold ? [i] : [])) };
}

/** KL(N(mu, diag exp(logvar)) || N(0, I)) of every example, in nats: 1/2 sum_i (mu_i^2 + exp(lv_i) - 1 - lv_i). */
export function klPerExample(mean: ArrayLike<number>, logvar: ArrayLike<number>, dim: number): Float64Array {
  if (mean.length !== logvar.length || mean.length % dim !== 0) throw new Error(`klPerExample: mean (${mean.length}) and logvar (${logvar.length}) must both be n x ${dim}`);
  const n = mean.length / dim;
  return Float64Array.from({ length: n }, (_, r) => {
    let s = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) s += mean[i]! ** 2 + Math.exp(logvar[i]!) - 1 - logvar[i]!;
    return s / 2;
  });
}

/** Meteorological season of a month 1-12: 0 DJF, 1 MAM, 2 JJA, 3 SON. */
export function seasonOf(month: number): number {
  if (!(Number.isInteger(month) && month >= 1 && month <= 12)) throw new Error(`seasonOf: month must be 1..12, got ${month}`);
  return Math.floor((month % 12) / 3);
}
export const SEASONS = ['DJF', 'MAM', 'JJA', 'SON'] as const;

/** Weighted mean of the finite values of a field (weights >= 0, e.g. cos(latitude) times a region mask). */
export function weightedMean(field: ArrayLike<number>, weights: ArrayLike<number>): number {
  if (field.length !== weights.length) throw new Error(`weightedMean: ${field.length} values, ${weights.length} weights`);
  let s = 0, w = 0;
  for (let i = 0; i < field.length; i++) if (Number.isFinite(field[i]!) && weights[i]! > 0) { s += weights[i]! * field[i]!; w += weights[i]!; }
  return w > 0 ? s / w : NaN;
}

/** Area-weighted root-mean-square difference of two fields (finite pairs only). */
export function weightedRmse(a: ArrayLike<number>, b: ArrayLike<number>, weights: ArrayLike<number>): number {
  if (a.length !== b.length || a.length !== weights.length) throw new Error(`weightedRmse: lengths ${a.length}, ${b.length}, ${weights.length} differ`);
  let s = 0, w = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (Number.isFinite(d) && weights[i]! > 0) { s += weights[i]! * d * d; w += weights[i]!; }
  }
  return w > 0 ? Math.sqrt(s / w) : NaN;
}

/**
 * Area-weighted Pearson correlation of two fields (the anomaly correlation when both are anomalies from the same
 * climatology): sum w (a - a_bar)(b - b_bar) / sqrt(sum w (a - a_bar)^2 sum w (b - b_bar)^2), means weighted too.
 */
export function patternCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, weights: ArrayLike<number>): number {
  if (a.length !== b.length || a.length !== weights.length) throw new Error(`patternCorrelation: lengths ${a.length}, ${b.length}, ${weights.length} differ`);
  let w = 0, ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!) && weights[i]! > 0) { w += weights[i]!; ma += weights[i]! * a[i]!; mb += weights[i]! * b[i]!; }
  if (!(w > 0)) return NaN;
  ma /= w; mb /= w;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    if (!(Number.isFinite(a[i]!) && Number.isFinite(b[i]!) && weights[i]! > 0)) continue;
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += weights[i]! * da * db; saa += weights[i]! * da * da; sbb += weights[i]! * db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
