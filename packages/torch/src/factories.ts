// Hand-written torch.* constructors with PyTorch's defaults (float32) and JS-friendly options.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { aten } from './generated/ops.js';
import type { Generator } from './random.js';
import { invalidArg, TorchError } from './errors.js';
import { checkDtype, dtypeOfTypedArray, isFloatingDtype, type DType, type Device, type TypedArray } from './dtype.js';

export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}
export interface RandomOptions extends FactoryOptions {
  generator?: Generator;
}

/** Nested arrays of numbers or booleans, as accepted by torch.tensor. */
export type ArrayLikeData = number | boolean | bigint | readonly ArrayLikeData[];

const FACTORY_KEYS = ['dtype', 'device', 'requiresGrad'];
const RANDOM_KEYS = [...FACTORY_KEYS, 'generator'];

/** Rejects misspelt options (`{ dtyp: ... }` would otherwise be ignored silently). */
function checkOptions(fn: string, o: unknown, allowed: readonly string[]): void {
  if (o === undefined) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw invalidArg(`${fn} options`, 'an object', o);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new TorchError(`${fn}: unknown option '${k}' (valid: ${allowed.join(', ')})`);
  }
}

/** Integer ranges of the integer dtypes, for values given as JS numbers. */
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  int64: [-(2 ** 63), 2 ** 63 - 1024], // the largest float64 below 2^63
};

function finish(t: Tensor, o: FactoryOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

function shapeOf(shape: readonly number[] | number, what = 'shape'): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalidArg(what, 'an array of non-negative integers', shape);
  }
  return s as number[];
}

function inferShape(data: ArrayLikeData): number[] {
  const shape: number[] = [];
  let cur: ArrayLikeData = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0] as ArrayLikeData;
  }
  return shape;
}

function flatten(data: ArrayLikeData, shape: number[], depth: number, out: (number | boolean | bigint)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TorchError('torch.tensor: ragged nested array (sub-arrays of different lengths)');
    if (typeof data !== 'number' && typeof data !== 'boolean' && typeof data !== 'bigint') {
      throw invalidArg('torch.tensor data element', 'a number, boolean or bigint', data);
    }
    out.push(data as number);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TorchError('torch.tensor: ragged nested array (sub-arrays of different lengths)');
  }
  for (const e of data) flatten(e as ArrayLikeData, shape, depth + 1, out);
}

/**
 * Creates a tensor from nested arrays or a TypedArray (one copy). `shape` reshapes flat data.
 * dtype defaults to float32 for numbers, bool for booleans, int64 for bigints, or the TypedArray's own.
 */
export function tensor(data: ArrayLikeData | TypedArray, shapeOrOptions?: readonly number[] | FactoryOptions, options: FactoryOptions = {}): Tensor {
  let shape: number[] | undefined;
  if (Array.isArray(shapeOrOptions)) shape = shapeOf(shapeOrOptions);
  else if (shapeOrOptions !== undefined) options = shapeOrOptions as FactoryOptions;
  checkOptions('torch.tensor', options, FACTORY_KEYS);
  const dtype = options.dtype === undefined ? undefined : checkDtype(options.dtype);
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const src = dtypeOfTypedArray(data);
    const s = shape ?? [data.length];
    if (src === 'float16' && dtype === 'bfloat16') t = new Tensor(native.fromBuffer(data, s, 'bfloat16'));
    else t = new Tensor(native.fromBuffer(data, s, src));
    if (dtype !== undefined && dtype !== t.dtype) t = t.to(dtype);
  } else {
    const inferred = inferShape(data);
    const flat: (number | boolean | bigint)[] = [];
    flatten(data, inferred, 0, flat);
    const s = shape ?? inferred;
    const kind = flat.length === 0 ? 'number' : typeof flat[0];
    if (!flat.every((v) => typeof v === kind)) throw new TorchError('torch.tensor: mixed element types (numbers, booleans, bigints)');
    let buf: TypedArray;
    let d: DType;
    if (kind === 'boolean') { buf = Uint8Array.from(flat as boolean[], (v) => (v ? 1 : 0)); d = 'bool'; }
    else if (kind === 'bigint') { buf = BigInt64Array.from(flat as bigint[]); d = 'int64'; }
    else if (dtype === 'float64' || (dtype !== undefined && !isFloatingDtype(dtype) && dtype !== 'bool')) { buf = Float64Array.from(flat as number[]); d = 'float64'; }
    else { buf = Float32Array.from(flat as number[]); d = 'float32'; }
    if (s.reduce((a, b) => a * b, 1) !== flat.length) {
      throw new TorchError(`torch.tensor: ${flat.length} values cannot take shape [${s.join(', ')}]`);
    }
    t = new Tensor(native.fromBuffer(buf, s, d));
    if (dtype !== undefined && dtype !== d) {
      const range = INT_RANGE[dtype];
      if (range && d === 'float64') {
        // PyTorch refuses values that do not fit instead of wrapping them around
        for (const v of flat as number[]) {
          if (!Number.isInteger(v)) throw new TorchError(`torch.tensor: non-integer value ${v} cannot be stored as ${dtype}`);
          if (v < range[0] || v > range[1]) throw new TorchError(`torch.tensor: value ${v} cannot be converted to ${dtype} without overflow`);
        }
      }
      t = t.to(dtype);
    }
  }
  if (options.device !== undefined && options.device !== 'cpu') t = t.to({ device: options.device });
  return finish(t, options);
}

/** Alias of torch.tensor for flat TypedArrays (PyTorch's from_numpy). */
export function fromArray(data: ArrayLikeData | TypedArray, shape?: readonly number[], options: FactoryOptions = {}): Tensor {
  return tensor(data, shape ?? options, shape ? options : {});
}

type Shape = readonly number[] | number;
function kw(o: FactoryOptions | RandomOptions, fn = 'torch factory', random = false) {
  checkOptions(fn, o, random ? RANDOM_KEYS : FACTORY_KEYS);
  return { dtype: o.dtype === undefined ? undefined : checkDtype(o.dtype), device: o.device };
}

export function zeros(shape: Shape, o: FactoryOptions = {}): Tensor { return finish(aten.zeros.default(shapeOf(shape), kw(o)), o); }
export function ones(shape: Shape, o: FactoryOptions = {}): Tensor { return finish(aten.ones.default(shapeOf(shape), kw(o)), o); }
export function empty(shape: Shape, o: FactoryOptions = {}): Tensor { return finish(aten.empty.memory_format(shapeOf(shape), kw(o)), o); }
export function full(shape: Shape, value: number | boolean, o: FactoryOptions = {}): Tensor {
  const dtype = o.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  return finish(aten.full.default(shapeOf(shape), value, { ...kw(o), dtype }), o);
}
export function zerosLike(x: Tensor, o: FactoryOptions = {}): Tensor { return finish(aten.zeros_like(x, kw(o)), o); }
export function onesLike(x: Tensor, o: FactoryOptions = {}): Tensor { return finish(aten.ones_like(x, kw(o)), o); }
export function fullLike(x: Tensor, value: number | boolean, o: FactoryOptions = {}): Tensor { return finish(aten.full_like(x, value, kw(o)), o); }
export function emptyLike(x: Tensor, o: FactoryOptions = {}): Tensor { return finish(aten.empty_like(x, kw(o)), o); }

/** Standard normal samples. */
export function randn(shape: Shape, o: RandomOptions = {}): Tensor {
  return finish(aten.randn.generator(shapeOf(shape), { generator: o.generator ?? null, ...kw(o, 'torch.randn', true) }), o);
}
/** Uniform samples on [0, 1). */
export function rand(shape: Shape, o: RandomOptions = {}): Tensor {
  return finish(aten.rand.generator(shapeOf(shape), { generator: o.generator ?? null, ...kw(o, 'torch.rand', true) }), o);
}
/** Uniform integers in [low, high). */
export function randint(low: number, high: number, shape: Shape, o: RandomOptions = {}): Tensor {
  return finish(aten.randint.low_generator(low, high, shapeOf(shape), { generator: o.generator ?? null, ...kw(o, 'torch.randint', true), dtype: o.dtype ?? 'int64' }), o);
}
export function randnLike(x: Tensor, o: RandomOptions = {}): Tensor {
  return randn(x.shape, { dtype: x.dtype, device: x.device, ...o });
}
export function randLike(x: Tensor, o: RandomOptions = {}): Tensor {
  return rand(x.shape, { dtype: x.dtype, device: x.device, ...o });
}
/** A random permutation of 0..n-1. */
export function randperm(n: number, o: RandomOptions = {}): Tensor {
  return finish(aten.randperm.generator(n, { generator: o.generator ?? null, ...kw(o, 'torch.randperm', true), dtype: o.dtype ?? 'int64' }), o);
}

/** Values from start to end (exclusive) with a step; dtype int64 when all are integers, else float32. */
export function arange(start: number, end?: number, step = 1, o: FactoryOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  const ints = [start, end, step].every(Number.isInteger);
  return finish(aten.arange.start_step(start, end, step, { ...kw(o), dtype: o.dtype ?? (ints ? 'int64' : 'float32') }), o);
}
export function linspace(start: number, end: number, steps: number, o: FactoryOptions = {}): Tensor {
  return finish(aten.linspace.default(start, end, steps, kw(o)), o);
}
export function eye(n: number, m?: number, o: FactoryOptions = {}): Tensor {
  return finish(m === undefined ? aten.eye.default(n, kw(o)) : aten.eye.m(n, m, kw(o)), o);
}
/** A 0-d tensor holding one number. */
export function scalarTensor(v: number, o: FactoryOptions = {}): Tensor { return finish(aten.scalar_tensor(v, kw(o)), o); }
