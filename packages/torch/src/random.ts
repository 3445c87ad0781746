import { native, type GenHandle } from './native.js';
import { Tensor } from './tensor.js';
import type { Device } from './dtype.js';

/** An explicit random number generator (PyTorch's torch.Generator). Same seed, same numbers. */
export class Generator {
  /** @internal */
  readonly _g: GenHandle;
  constructor(options: { seed?: number | bigint; device?: Device } | GenHandle = {}) {
    if (isHandle(options)) this._g = options;
    else this._g = native.newGenerator(options.seed ?? 67280421310721, options.device ?? 'cpu');
  }
  /** Re-seeds the generator; returns this (PyTorch's manual_seed). */
  manualSeed(seed: number | bigint): this { native.generatorSeed(this._g, seed); return this; }
  initialSeed(): bigint { return native.generatorSeed(this._g); }
  /** The device whose random numbers it draws ('cpu', 'cuda:0', ...); a generator never changes device. */
  get device(): string { return native.generatorDevice(this._g); }
  /** The full generator state as a uint8 tensor (to save in a checkpoint). */
  getState(): Tensor { return new Tensor(native.generatorGetState(this._g)); }
  setState(state: Tensor): this { native.generatorSetState(this._g, state._h); return this; }
}

function isHandle(v: unknown): v is GenHandle {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null;
}

/** Seeds the default generators (CPU and every CUDA device). */
export function manualSeed(seed: number | bigint): void { native.manualSeed(seed); }

/** The process-wide default CPU generator. */
export const defaultGenerator = new Generator(native.defaultGenerator());
