// Spatial upsampling (the downscaling baseline: nearest, bilinear or Keys bicubic) and its inverse, area-weighted
// block means (the observation operator of downscaling), with the projection that makes a fine field conserve given
// block means. Pure mathematics on Float32Arrays (series.ts shapes).
import { checkPosInt, isPosInt, type BaselineSeries } from './series.js';

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
