// The spatial infill baseline: harmonic (Laplace) interpolation of missing cells from the known ones, per frame.
// Pure mathematics on Float32Arrays (series.ts shapes).
import { clipDims, isPosInt, type BaselineEnsemble, type BaselineSeries } from './series.js';

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
 *
 * With a background b (one value per value of clips, e.g. the climatology at every frame), the anomalies clips - b are
 * filled and b added back: the unknown cells are b plus the harmonic fill of the known anomalies, so structure that b
 * carries (the land-sea contrast, the meridional gradient) is not smoothed away inside a large hidden region.
 */
export function laplaceFillFrames(
  clips: BaselineSeries, knownMask?: ArrayLike<boolean | number> | null, options: LaplaceFillOptions & { background?: ArrayLike<number> } = {},
): { ensemble: BaselineEnsemble; iterations: number; converged: boolean } {
  const who = 'laplaceFillFrames';
  const { N, F, H, W } = clipDims(clips, who);
  const HW = H * W, n = N * F;
  if (knownMask && knownMask.length !== n * HW && knownMask.length !== HW) {
    throw new Error(`${who}: knownMask has ${knownMask.length} values, expected ${n * HW} (per value) or ${HW} (per cell)`);
  }
  const bg = options.background;
  if (bg) {
    if (bg.length !== n * HW) throw new Error(`${who}: the background has ${bg.length} values, expected one per value of the clips (${n * HW})`);
    for (let i = 0; i < bg.length; i++) if (!Number.isFinite(bg[i]!)) throw new Error(`${who}: the background is not finite at value ${i}`);
  }
  const out = new Float32Array(clips.data.length);
  let iterations = 0, converged = true;
  for (let k = 0; k < n; k++) {
    const m = knownMask ? (knownMask.length === HW ? knownMask : Array.prototype.slice.call(knownMask, k * HW, (k + 1) * HW) as Array<boolean | number>) : null;
    const frame = clips.data.subarray(k * HW, (k + 1) * HW);
    const r = fillOne(bg ? Float32Array.from(frame, (v, j) => v - bg[k * HW + j]!) : frame, H, W, m, options, `${who} (clip ${Math.floor(k / F)}, frame ${k % F})`);
    // known cells exactly as given (not rounded through the anomaly)
    if (bg) for (let j = 0; j < HW; j++) r.data[j] = Number.isFinite(frame[j]!) && (!m || m[j]) ? frame[j]! : r.data[j]! + bg[k * HW + j]!;
    out.set(r.data, k * HW);
    iterations = Math.max(iterations, r.iterations);
    converged &&= r.converged;
  }
  return { ensemble: { data: out, shape: [1, N, F, H, W] }, iterations, converged };
}
