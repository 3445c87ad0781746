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
