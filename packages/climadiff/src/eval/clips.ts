// Clip arrays: the input of every diagnostic ([N, F, H, W] of one variable with an optional mask), and the
// helpers that read them. Missing values (mask = 1, or non-finite values) are excluded everywhere.

/** A block of clips of one variable: data of shape [N, F, H, W] (C order). */
export interface ClipArray {
  data: Float32Array;
  shape: readonly [number, number, number, number];
  /** 1 = missing. Either one per value (N*F*H*W) or one static mask per cell (H*W). */
  mask?: Uint8Array | null;
}

export function dims(c: ClipArray, who: string): { N: number; F: number; H: number; W: number } {
  const [N, F, H, W] = c.shape;
  if (c.shape.length !== 4 || ![N, F, H, W].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${who}: shape must be [N, F, H, W] of positive integers, got [${c.shape.join(', ')}]`);
  if (c.data.length !== N * F * H * W) throw new Error(`${who}: data has ${c.data.length} values, shape [${c.shape.join(', ')}] needs ${N * F * H * W}`);
  if (c.mask && c.mask.length !== c.data.length && c.mask.length !== H * W) throw new Error(`${who}: mask has ${c.mask.length} values, expected ${c.data.length} or ${H * W}`);
  return { N, F, H, W };
}

/** Whether value i (flat index into data) is present. */
export function validAt(c: ClipArray, i: number, HW: number): boolean {
  const m = c.mask;
  if (m && (m.length === c.data.length ? m[i] : m[i % HW])) return false;
  return Number.isFinite(c.data[i]!);
}

/** All present values, as float64. */
export function validValues(c: ClipArray): Float64Array {
  const { H, W } = dims(c, 'validValues');
  const HW = H * W;
  const out = new Float64Array(c.data.length);
  let n = 0;
  for (let i = 0; i < c.data.length; i++) if (validAt(c, i, HW)) out[n++] = c.data[i]!;
  return out.slice(0, n);
}

export function asValues(x: ClipArray | ArrayLike<number>): Float64Array {
  if ('shape' in x && 'data' in x) return validValues(x as ClipArray);
  const a = x as ArrayLike<number>;
  const out = new Float64Array(a.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) { const v = a[i]!; if (Number.isFinite(v)) out[n++] = v; }
  return n === a.length ? out : out.slice(0, n);
}


/**
 * Clips from a variable's array: [N, F, H, W] is taken as is; [T, H, W] (e.g. a data Variable with dims
 * time, lat, lon) is cut into floor(T / frames) consecutive clips of `frames` frames (a trailing remainder
 * is dropped). The mask (per value, or null) follows the data.
 */
export function clipsFromArray(v: { data: Float32Array; shape: readonly number[]; mask?: Uint8Array | null }, frames?: number): ClipArray {
  if (v.shape.length === 4) return { data: v.data, shape: [v.shape[0]!, v.shape[1]!, v.shape[2]!, v.shape[3]!], mask: v.mask ?? null };
  if (v.shape.length !== 3) throw new Error(`clipsFromArray: expected shape [T, H, W] or [N, F, H, W], got [${v.shape.join(', ')}]`);
  const [T, H, W] = v.shape as [number, number, number];
  const F = frames ?? T;
  if (!Number.isInteger(F) || F < 1 || F > T) throw new Error(`clipsFromArray: cannot cut ${T} time steps into clips of ${F} frames`);
  const N = Math.floor(T / F), n = N * F * H * W;
  const mask = v.mask ? (v.mask.length === v.data.length ? v.mask.subarray(0, n) : v.mask) : null;
  return { data: v.data.subarray(0, n), shape: [N, F, H, W], mask };
}
