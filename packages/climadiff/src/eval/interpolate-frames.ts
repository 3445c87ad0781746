// The temporal interpolation baseline: unknown frames of a clip from its known frames, per cell, linear or by a
// natural cubic spline. Pure mathematics on Float32Arrays (series.ts shapes); scored like model output.
import { clipDims, type BaselineEnsemble, type BaselineSeries } from './series.js';

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
