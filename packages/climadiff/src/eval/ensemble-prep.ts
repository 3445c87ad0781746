// What every ensemble score shares (eval/scores.ts, eval/precip-scores.ts): the array types, the checked pairing of a
// forecast [M, N, F, H, W] with its truth [N, F, H, W] and cell weights (Prep), and the per-case weighted sums of a
// pointwise score from which per-lead scores and bootstrap intervals are computed (scores.ts's header has the layout
// and weighting conventions). Pure mathematics on Float32Arrays; no torch, no I/O.
import { dims, validAt, type ClipArray } from './clips.js';
import { cellWeights, type AreaOptions } from './area.js';

/** An ensemble forecast of one variable: data of shape [M, N, F, H, W] (members, cases, lead frames, lat, lon; C order). */
export interface EnsembleArray {
  data: Float32Array;
  shape: readonly [number, number, number, number, number];
}

/** Per-case weighted sums and weight sums ([N, F], C order) of a pointwise score. */
export interface CaseSums {
  shape: [number, number];
  /** sum_j w_j s[n,f,j] over present cells of case n, lead f. */
  sum: Float64Array;
  /** sum_j w_j over the same cells (0 where case n has no present cell at lead f). */
  weight: Float64Array;
}

/** A score per lead and per case, with the sums behind them. */
export interface LeadScore extends CaseSums {
  /** [F]: transform(sum_n sum / sum_n weight); NaN for a lead without a present value. */
  perLead: number[];
  /** [N, F]: transform(sum / weight) of each case; NaN where a case has no present value. */
  perCase: Float64Array;
}

/** A forecast and its truth, checked, with the cell weights and the scored elements. */
export interface Prep {
  M: number; N: number; F: number; H: number; W: number; HW: number;
  /** Cell weights (H*W). */
  w: Float64Array;
  /** Number of cells with w_j > 0. */
  regionCells: number;
  /** Truth present (N*F*H*W). */
  present: Uint8Array;
  /** Truth present and w_j > 0: scored (N*F*H*W). */
  ok: Uint8Array;
  x: Float32Array; y: Float32Array;
}

function ensembleDims(e: EnsembleArray, who: string): { M: number; N: number; F: number; H: number; W: number } {
  const s = e?.shape;
  if (!s || s.length !== 5 || !Array.from(s).every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${who}: forecast shape must be [M, N, F, H, W] of positive integers, got [${s ? Array.from(s).join(', ') : String(s)}]`);
  }
  const [M, N, F, H, W] = s;
  if (e.data.length !== M * N * F * H * W) throw new Error(`${who}: forecast data has ${e.data.length} values, shape [${s.join(', ')}] needs ${M * N * F * H * W}`);
  return { M, N, F, H, W };
}

export function prepare(who: string, forecast: EnsembleArray, truth: ClipArray, o: AreaOptions): Prep {
  const { M, N, F, H, W } = ensembleDims(forecast, who);
  const t = dims(truth, `${who} (truth)`);
  if (t.N !== N || t.F !== F || t.H !== H || t.W !== W) {
    throw new Error(`${who}: forecast shape [M, N, F, H, W] = [${forecast.shape.join(', ')}] does not match truth shape [N, F, H, W] = [${truth.shape.join(', ')}]`);
  }
  const HW = H * W, w = cellWeights(H, W, o, who);
  let regionCells = 0;
  for (let j = 0; j < HW; j++) if (w[j]! > 0) regionCells++;
  const n = N * F * HW, present = new Uint8Array(n), ok = new Uint8Array(n), x = forecast.data;
  for (let i = 0; i < n; i++) {
    if (!validAt(truth, i, HW)) continue;
    present[i] = 1;
    if (w[i % HW]! > 0) ok[i] = 1;
    for (let m = 0; m < M; m++) {
      if (!Number.isFinite(x[m * n + i]!)) {
        const j = i % HW, nf = (i - j) / HW;
        throw new Error(`${who}: forecast member ${m} is ${x[m * n + i]} at case ${Math.floor(nf / F)}, lead ${nf % F}, cell (${Math.floor(j / W)}, ${j % W}) where the truth is present`);
      }
    }
  }
  return { M, N, F, H, W, HW, w, regionCells, present, ok, x, y: truth.data };
}

/** Weighted per-case sums of a pointwise score s(x, y) of the members x (a scratch buffer of M values) and truth y. */
export function pointwise(p: Prep, score: (x: Float64Array, y: number) => number): CaseSums {
  const { M, N, F, HW } = p, S = N * F * HW, xs = new Float64Array(M);
  const sum = new Float64Array(N * F), weight = new Float64Array(N * F);
  for (let t = 0; t < N * F; t++) {
    let s = 0, ws = 0;
    for (let j = 0; j < HW; j++) {
      const i = t * HW + j;
      if (!p.ok[i]) continue;
      for (let m = 0; m < M; m++) xs[m] = p.x[m * S + i]!;
      const wj = p.w[j]!;
      s += wj * score(xs, p.y[i]!); ws += wj;
    }
    sum[t] = s; weight[t] = ws;
  }
  return { shape: [N, F], sum, weight };
}

/** Per-case and per-lead values of sums: transform(sum / weight). */
export function leadScore(c: CaseSums, transform: (v: number) => number = (v) => v): LeadScore {
  const [N, F] = c.shape, perCase = new Float64Array(N * F), perLead: number[] = [];
  for (let t = 0; t < N * F; t++) perCase[t] = c.weight[t]! > 0 ? transform(c.sum[t]! / c.weight[t]!) : NaN;
  for (let f = 0; f < F; f++) {
    let s = 0, ws = 0;
    for (let n = 0; n < N; n++) { s += c.sum[n * F + f]!; ws += c.weight[n * F + f]!; }
    perLead.push(ws > 0 ? transform(s / ws) : NaN);
  }
  return { ...c, perLead, perCase };
}
