// Small tensor helpers shared by the diffusion code.
import * as torch from '@climadiff/torch';
import type { Tensor, Generator, DType, Device } from '@climadiff/torch';

/** A per-example coefficient (shape [], [B] or a number) shaped to broadcast against data `like` ([B, ...]). */
export function bcast(coef: Tensor | number, like: Tensor): Tensor {
  if (typeof coef === 'number') return torch.scalarTensor(coef, { dtype: like.dtype, device: like.device });
  const n = coef.ndim;
  if (n === 0 || n === like.ndim) return coef;
  return coef.reshape([...coef.shape, ...new Array<number>(like.ndim - n).fill(1)]);
}

/** A tensor of `value` shaped like the batch dimension of `like` (one entry per example). */
export function perExample(value: number, like: Tensor): Tensor {
  return torch.full([like.shape[0]!], value, { dtype: like.dtype, device: like.device });
}

/** Sum over every dimension but the first (per-example reduction). */
export function sumPerExample(x: Tensor): Tensor {
  if (x.ndim <= 1) return x;
  return x.flatten(1).sum([1]);
}

/** Mean over every dimension but the first. */
export function meanPerExample(x: Tensor): Tensor {
  if (x.ndim <= 1) return x;
  return x.flatten(1).mean([1]);
}

/** t on `device` (t itself when it is there already, so CPU code paths see the very same tensor). */
export function onDevice(t: Tensor, device: Device): Tensor {
  return t.device === device ? t : t.to({ device });
}

/** Options of the draws below: dtype and device of the result, and the source of randomness. */
export interface DrawOptions {
  dtype?: DType;
  /** Where the result lives (default cpu). */
  device?: Device;
  /** Default: the global generator of `device`. */
  generator?: Generator;
}

/**
 * Where a sampler's noise comes from: one generator for the whole batch, or one per example (row i of every draw from
 * generator i), so that an example's noise does not depend on the batch it is drawn in.
 */
export type NoiseSource = Generator | readonly Generator[];

/**
 * N(0, 1) samples of `shape` [B, ...] from a noise source: with one generator per example, each row is drawn from its
 * own generator (B of them); otherwise as randnOn.
 */
export function randnFrom(shape: readonly number[], o: { dtype?: DType; device?: Device; generator?: NoiseSource }): Tensor {
  const g = o.generator;
  if (!Array.isArray(g)) return randnOn(shape, { dtype: o.dtype, device: o.device, generator: g as Generator | undefined });
  const gens = g as readonly Generator[];
  if (shape.length < 1 || gens.length !== shape[0]) {
    throw new Error(`randnFrom: one generator per example is needed (${shape[0] ?? 'no batch dimension'}), got ${gens.length}`);
  }
  const rows = gens.map((gen) => randnOn([1, ...shape.slice(1)], { dtype: o.dtype, device: o.device, generator: gen }));
  const out = torch.cat(rows, 0);
  for (const r of rows) r.dispose();
  return out;
}

/** A per-example seed from (seed, a, b) (e.g. case and member) by splitmix64 mixing: independent streams for each key. */
export function exampleSeed(seed: number | bigint, a: number, b = 0): bigint {
  const M = (1n << 64n) - 1n;
  const mix = (x: bigint): bigint => {
    let z = (x + 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return z ^ (z >> 31n);
  };
  return mix(mix(mix(BigInt(seed) & M) ^ BigInt(a)) ^ BigInt(b)) & ((1n << 63n) - 1n);
}

function isCpu(device: Device | undefined): boolean {
  return device === undefined || device === 'cpu' || device.startsWith('cpu:');
}


/**
 * A draw made on the generator's own device and then moved to `device` (as diffusers' randn_tensor does):
 * a CPU generator gives the same numbers whatever device the data is on, so a seed reproduces a CPU run on a
 * GPU. Without a generator the draw happens on `device` directly, from that device's global generator.
 */
function drawOn(draw: (o: DrawOptions) => Tensor, o: DrawOptions): Tensor {
  const { dtype, device, generator } = o;
  if (generator === undefined) return draw({ dtype, device });
  const gd = generator.device;
  if (gd === (device ?? 'cpu') || (isCpu(gd) && isCpu(device))) return draw({ dtype, device, generator });
  const drawn = draw({ dtype, device: gd, generator });
  const moved = drawn.to({ device: device ?? 'cpu' });
  drawn.dispose();
  return moved;
}

/** N(0, 1) samples of `shape` on `device`, drawn on the generator's device (see drawOn). */
export function randnOn(shape: readonly number[], options: DrawOptions = {}): Tensor {
  return drawOn((o) => torch.randn(shape, o), options);
}

/** U[0, 1) samples of `shape` on `device`, drawn on the generator's device (see drawOn). */
export function randOn(shape: readonly number[], options: DrawOptions = {}): Tensor {
  return drawOn((o) => torch.rand(shape, o), options);
}

/** Uniform integers in [low, high) of `shape` on `device` (int64 by default), drawn on the generator's device. */
export function randintOn(low: number, high: number, shape: readonly number[], options: DrawOptions = {}): Tensor {
  return drawOn((o) => torch.randint(low, high, shape, o), options);
}
