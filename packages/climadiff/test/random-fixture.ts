// Deterministic random fields for the evaluation tests: seeded uniforms (mulberry32), normals, clip arrays from a function.
import { mulberry32 } from '../src/eval/random.js';
import type { ClipArray } from '../src/eval/clips.js';

export const rng = mulberry32;

/** Standard normal draws (Box-Muller, one value per pair of uniforms) from a uniform source. */
export function gauss(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Clips [N, F, H, W] with values f(n, t, y, x). */
export function clips(shape: [number, number, number, number], f: (n: number, t: number, y: number, x: number) => number): ClipArray {
  const [N, F, H, W] = shape;
  const data = new Float32Array(N * F * H * W);
  let i = 0;
  for (let n = 0; n < N; n++) for (let t = 0; t < F; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[i++] = f(n, t, y, x);
  return { data, shape };
}
