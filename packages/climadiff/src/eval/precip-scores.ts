// Scores of exceeding a threshold, for precipitation: the Brier score of the members' exceedance fraction, and the
// fractions skill score (Roberts & Lean 2008) of neighbourhood exceedance fractions, with its bootstrap statistic.
// Conventions (weights, present values, per-case sums) as in eval/scores.ts. Pure mathematics; no torch, no I/O.
import type { ClipArray } from './clips.js';
import type { AreaOptions } from './area.js';
import { leadScore, pointwise, prepare, type EnsembleArray, type LeadScore, type Prep } from './ensemble-prep.js';

export interface BrierResult extends LeadScore { threshold: number }

export function checkThresholds(thresholds: readonly number[], who: string): void {
  if (!Array.isArray(thresholds) || thresholds.length === 0) throw new Error(`${who}: give at least one threshold`);
  for (const t of thresholds) if (!Number.isFinite(t)) throw new Error(`${who}: threshold ${t} is not finite`);
}

/**
 * Brier score per threshold t and lead: the forecast probability of exceedance is the fraction of members above the
 * threshold, p = #{i : x_i > t} / M, the outcome o = 1 if y > t else 0 (strict inequalities), and
 *   BS_f = sum_{n,j} w_j (p - o)^2 / sum_{n,j} w_j
 * (0 = perfect; M = 1 gives the Brier score of a deterministic yes/no forecast).
 */
export function brierScore(forecast: EnsembleArray, truth: ClipArray, thresholds: readonly number[], o: AreaOptions = {}): BrierResult[] {
  checkThresholds(thresholds, 'brierScore');
  return brierOf(prepare('brierScore', forecast, truth, o), thresholds);
}

export function brierOf(p: Prep, thresholds: readonly number[]): BrierResult[] {
  return thresholds.map((th) => ({
    threshold: th,
    ...leadScore(pointwise(p, (x, y) => {
      let c = 0;
      for (let i = 0; i < x.length; i++) if (x[i]! > th) c++;
      const d = c / x.length - (y > th ? 1 : 0);
      return d * d;
    })),
  }));
}

/**
 * Neighbourhood fractions of a field (Roberts & Lean 2008): for every cell, the mean of `values` over the cells of
 * the window x window square centred on it (window odd) that are valid (valid = null: all cells). At the edges the
 * window is truncated to the grid in latitude; in longitude it wraps around when periodic, else it is truncated as
 * well (the mean is over the cells inside only). NaN where the window holds no valid cell. Summed-area tables:
 * O(H W) whatever the window.
 */
export function neighbourhoodFractions(values: ArrayLike<number>, valid: ArrayLike<number> | null, H: number, W: number, window: number, periodic = false): Float64Array {
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1) throw new Error(`neighbourhoodFractions: H and W must be positive integers, got ${H}, ${W}`);
  if (values.length !== H * W) throw new Error(`neighbourhoodFractions: ${values.length} values for H*W = ${H * W} cells`);
  if (valid && valid.length !== H * W) throw new Error(`neighbourhoodFractions: ${valid.length} validity flags for H*W = ${H * W} cells`);
  checkWindow(window, 'neighbourhoodFractions');
  const W1 = W + 1, sv = new Float64Array((H + 1) * W1), sc = new Float64Array((H + 1) * W1);
  for (let y = 0; y < H; y++) {
    let rv = 0, rc = 0;
    for (let x = 0; x < W; x++) {
      const j = y * W + x, ok = valid ? valid[j]! !== 0 : true;
      if (ok) { rv += values[j]!; rc++; }
      sv[(y + 1) * W1 + x + 1] = sv[y * W1 + x + 1]! + rv;
      sc[(y + 1) * W1 + x + 1] = sc[y * W1 + x + 1]! + rc;
    }
  }
  const rect = (a: Float64Array, y0: number, y1: number, x0: number, x1: number) =>
    a[(y1 + 1) * W1 + x1 + 1]! - a[y0 * W1 + x1 + 1]! - a[(y1 + 1) * W1 + x0]! + a[y0 * W1 + x0]!;
  const r = (window - 1) / 2, out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(H - 1, y + r);
    for (let x = 0; x < W; x++) {
      let s = 0, c = 0;
      const add = (x0: number, x1: number) => { s += rect(sv, y0, y1, x0, x1); c += rect(sc, y0, y1, x0, x1); };
      const a = x - r, b = x + r;
      if (!periodic) add(Math.max(0, a), Math.min(W - 1, b));
      else if (window >= W) add(0, W - 1);
      else if (a < 0) { add(0, b); add(W + a, W - 1); }
      else if (b >= W) { add(a, W - 1); add(0, b - W); }
      else add(a, b);
      out[y * W + x] = c > 0 ? s / c : NaN;
    }
  }
  return out;
}

function checkWindow(window: number, who: string): void {
  if (!Number.isInteger(window) || window < 1 || window % 2 !== 1) throw new Error(`${who}: window must be an odd positive integer (a centred n x n neighbourhood), got ${window}`);
}

export interface FssOptions {
  threshold: number;
  /** Side n of the n x n neighbourhood, in cells (odd; 1 = cell by cell). */
  window: number;
  /** Wrap the windows around in longitude (global grids); default false: truncate them at the edges. */
  periodic?: boolean;
}

export interface FssResult {
  threshold: number; window: number; periodic: boolean;
  shape: [number, number];
  /** [N, F]: sum_j w_j (P_f - P_o)^2 of each field. */
  numerator: Float64Array;
  /** [N, F]: sum_j w_j (P_f^2 + P_o^2) of each field. */
  denominator: Float64Array;
  /** [N, F]: FSS of each field (NaN when neither field has an event nearby: denominator 0). */
  perCase: Float64Array;
  /** [F]: 1 - sum_n numerator / sum_n denominator (the sums over cases are pooled before the ratio). */
  perLead: number[];
}

/**
 * Fractions skill score (Roberts & Lean 2008) of exceeding a threshold within an n x n neighbourhood, per field
 * (case, lead) and per lead. The forecast field is the ensemble-mean probability p_j = #{i : x_ij > t} / M (M = 1:
 * the deterministic binary field), the observed one o_j = 1 if y_j > t else 0. Their neighbourhood fractions P_f,
 * P_o (neighbourhoodFractions) are means over the window cells where the truth is present (the region does not
 * restrict the windows). Then, over the present cells of positive weight,
 *   FSS = 1 - sum_j w_j (P_f - P_o)^2 / (sum_j w_j P_f^2 + sum_j w_j P_o^2)
 * (1 = perfect, 0 = no skill; NaN when there is no event near any scored cell in either field). Edges: periodic in
 * longitude when periodic is set, else truncated; always truncated in latitude. O(H W) per field.
 */
export function fractionsSkillScore(forecast: EnsembleArray, truth: ClipArray, o: FssOptions & AreaOptions): FssResult {
  const p = prepare('fractionsSkillScore', forecast, truth, o);
  return fssOf(p, o, 'fractionsSkillScore');
}

export function fssOf(p: Prep, o: FssOptions, who: string): FssResult {
  const th = o.threshold, win = o.window, periodic = o.periodic ?? false;
  if (!Number.isFinite(th)) throw new Error(`${who}: threshold ${th} is not finite`);
  checkWindow(win, who);
  const { M, N, F, H, W, HW } = p, S = N * F * HW;
  const num = new Float64Array(N * F), den = new Float64Array(N * F), perCase = new Float64Array(N * F);
  const pf = new Float64Array(HW), po = new Float64Array(HW);
  for (let t = 0; t < N * F; t++) {
    const valid = p.present.subarray(t * HW, (t + 1) * HW);
    for (let j = 0; j < HW; j++) {
      const i = t * HW + j;
      pf[j] = 0; po[j] = 0;
      if (!valid[j]) continue;
      let c = 0;
      for (let m = 0; m < M; m++) if (p.x[m * S + i]! > th) c++;
      pf[j] = c / M; po[j] = p.y[i]! > th ? 1 : 0;
    }
    const Pf = neighbourhoodFractions(pf, valid, H, W, win, periodic), Po = neighbourhoodFractions(po, valid, H, W, win, periodic);
    let a = 0, b = 0;
    for (let j = 0; j < HW; j++) {
      if (!p.ok[t * HW + j]) continue;
      const wj = p.w[j]!, f = Pf[j]!, q = Po[j]!;
      a += wj * (f - q) ** 2; b += wj * (f * f + q * q);
    }
    num[t] = a; den[t] = b; perCase[t] = b > 0 ? 1 - a / b : NaN;
  }
  const perLead: number[] = [];
  for (let f = 0; f < F; f++) {
    let a = 0, b = 0;
    for (let n = 0; n < N; n++) { a += num[n * F + f]!; b += den[n * F + f]!; }
    perLead.push(b > 0 ? 1 - a / b : NaN);
  }
  return { threshold: th, window: win, periodic, shape: [N, F], numerator: num, denominator: den, perCase, perLead };
}


/** Bootstrap statistic of the pooled FSS 1 - sum_k numerator / sum_k denominator over the resampled cases. */
export function fssStatistic(r: FssResult): (idx: Int32Array, lead: number) => number {
  const F = r.shape[1];
  return (idx, f) => {
    let a = 0, b = 0;
    for (let k = 0; k < idx.length; k++) { const t = idx[k]! * F + f; a += r.numerator[t]!; b += r.denominator[t]!; }
    return b > 0 ? 1 - a / b : NaN;
  };
}
