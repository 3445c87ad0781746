// The array shapes the baselines share (baselines.ts, interpolate-frames.ts, regrid.ts, laplace-fill.ts): a series
// [T, H, W] or clips [N, F, H, W] of one variable in, an ensemble [M, N, F, H, W] out; C order, NaN = missing.

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


export const isPosInt = (d: unknown): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0;

export function seriesDims(s: BaselineSeries, who: string): { T: number; H: number; W: number } {
  if (!s || !(s.data instanceof Float32Array) || !s.shape) {
    throw new Error(`${who}: series must be { data: Float32Array, shape: [T, H, W] }`);
  }
  if (s.shape.length !== 3 || !s.shape.every(isPosInt)) throw new Error(`${who}: series shape must be [T, H, W] of positive integers, got [${s.shape.join(', ')}]`);
  const [T, H, W] = s.shape as [number, number, number];
  if (s.data.length !== T * H * W) throw new Error(`${who}: series data has ${s.data.length} values, shape [${s.shape.join(', ')}] needs ${T * H * W}`);
  return { T, H, W };
}

export function clipDims(c: BaselineSeries, who: string): { N: number; F: number; H: number; W: number } {
  if (!c || !(c.data instanceof Float32Array)) throw new Error(`${who}: clips must be { data: Float32Array, shape: [F, H, W] or [N, F, H, W] }`);
  if ((c.shape.length !== 3 && c.shape.length !== 4) || !c.shape.every(isPosInt)) {
    throw new Error(`${who}: shape must be [F, H, W] or [N, F, H, W] of positive integers, got [${c.shape.join(', ')}]`);
  }
  const [N, F, H, W] = (c.shape.length === 3 ? [1, ...c.shape] : c.shape) as [number, number, number, number];
  if (c.data.length !== N * F * H * W) throw new Error(`${who}: data has ${c.data.length} values, shape [${c.shape.join(', ')}] needs ${N * F * H * W}`);
  return { N, F, H, W };
}

export function checkPosInt(v: number, name: string, who: string): void {
  if (!isPosInt(v)) throw new Error(`${who}: ${name} must be a positive integer, got ${v}`);
}
