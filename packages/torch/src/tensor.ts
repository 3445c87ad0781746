// The Tensor class: a handle owning a libtorch at::Tensor. Hand-written members live here; every
// other ATen method (add, matmul, softmax, ...) is installed from the generated operator wrappers
// (src/generated/ops.ts), typed by interface merging.
import { inspect } from 'node:util';
import { native, type Handle } from './native.js';
import { track, registerTensorClass, registerFinalizer } from './scope.js';
import { TorchError, invalidArg } from './errors.js';
import { checkDtype, typedArrayFor, type DType, type Device, type MemoryFormat, type TypedArray } from './dtype.js';
import { aten } from './generated/ops.js';

export interface BackwardOptions {
  /** Keep the graph so backward can run again (default: same as createGraph). */
  retainGraph?: boolean;
  /** Build a graph of the backward pass itself (higher-order gradients). */
  createGraph?: boolean;
}

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  /** Return a copy even when nothing changes. */
  copy?: boolean;
  nonBlocking?: boolean;
  memoryFormat?: MemoryFormat;
}

/** A nested JS array of numbers/booleans/bigints (the result of `toArray()`). */
export type NestedArray = number | boolean | bigint | NestedArray[];

// @hand-written-methods-begin (the op generator does not install methods named here)
export class Tensor {
  /** @internal native handle */
  readonly _h: Handle;
  /** @internal set by keep(): scopes never dispose this tensor */
  kept = false;
  /** @internal registered with the GC safety net */
  finalizable = false;

  /** @internal Wraps a native handle; use torch.tensor / torch.randn / ... to create tensors. */
  constructor(h: Handle) {
    this._h = h;
    track(this);
  }

  // ---- metadata ----
  get shape(): number[] { return native.shape(this._h); }
  get dtype(): DType { return native.dtype(this._h) as DType; }
  get device(): string { return native.device(this._h); }
  get ndim(): number { return native.shape(this._h).length; }
  get strides(): number[] { return native.strides(this._h); }
  dim(): number { return this.ndim; }
  numel(): number { return native.numel(this._h); }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = dim < 0 ? dim + s.length : dim;
    if (!Number.isInteger(d) || d < 0 || d >= s.length) throw invalidArg('dim', `an integer in [${-s.length}, ${s.length})`, dim);
    return s[d]!;
  }
  get isDisposed(): boolean { return native.isDisposed(this._h); }
  /** True when `other` refers to the same underlying at::Tensor. */
  isSame(other: Tensor): boolean { return native.sameTensor(this._h, other._h); }

  // ---- memory ----
  /** Frees the native memory now. Using the tensor afterwards throws. Idempotent. */
  dispose(): void { native.dispose(this._h); }
  /** Marks the tensor so that no enclosing torch.scope() disposes it. Returns this. */
  keep(): this {
    this.kept = true;
    registerFinalizer(this);
    return this;
  }

  // ---- autograd ----
  get requiresGrad(): boolean { return native.requiresGrad(this._h); }
  set requiresGrad(v: boolean) { native.setRequiresGrad(this._h, v); }
  requiresGrad_(v = true): this { native.setRequiresGrad(this._h, v); return this; }
  get isLeaf(): boolean { return native.isLeaf(this._h); }
  /** True when the tensor was produced by a differentiable operation. */
  get hasGradFn(): boolean { return native.hasGradFn(this._h); }
  /** The accumulated gradient (a new handle to it on each access), or null. */
  get grad(): Tensor | null {
    const g = native.getGrad(this._h);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) { native.setGrad(this._h, g === null ? null : g._h); }
  /** Computes gradients of this tensor with respect to graph leaves (PyTorch's Tensor.backward). */
  backward(gradient?: Tensor | null, options: BackwardOptions = {}): void {
    native.backward([this._h], gradient ? [gradient._h] : null, options.retainGraph, options.createGraph ?? false);
  }

  // ---- data out ----
  /** The element at a 1-element tensor as a JS number (or boolean). */
  item(): number {
    return native.item(this._h) as number;
  }
  /** A copy of the data as a Float32Array (any real dtype is converted). */
  toFloat32Array(): Float32Array { return new Float32Array(native.toBuffer(this._h, 'float32')); }
  /** A copy of the data as a Float64Array. */
  toFloat64Array(): Float64Array { return new Float64Array(native.toBuffer(this._h, 'float64')); }
  /** A copy of the data in its own dtype (float16/bfloat16 as raw Uint16Array bits, bool as Uint8Array). */
  toTypedArray(): TypedArray {
    const d = this.dtype;
    return typedArrayFor(d, native.toBuffer(this._h));
  }
  /** The raw little-endian bytes of the data (contiguous), one copy. */
  toBytes(): Uint8Array { return new Uint8Array(native.toBuffer(this._h)); }
  /** A nested JS array (PyTorch's tolist()). float16/bfloat16 values are converted to numbers. */
  toArray(): NestedArray {
    const d = this.dtype;
    let flat: ArrayLike<number | bigint | boolean>;
    if (d === 'float16' || d === 'bfloat16') flat = this.toFloat32Array();
    else if (d === 'bool') flat = Array.from(this.toTypedArray() as Uint8Array, (v) => v !== 0);
    else if (d === 'complex64' || d === 'complex128') throw new TorchError('toArray: complex tensors are not supported');
    else flat = this.toTypedArray() as ArrayLike<number | bigint>;
    const shape = this.shape;
    if (shape.length === 0) return flat[0]!;
    let pos = 0;
    const build = (k: number): NestedArray[] => {
      const out: NestedArray[] = new Array(shape[k]!);
      for (let i = 0; i < shape[k]!; i++) out[i] = k === shape.length - 1 ? flat[pos++]! : build(k + 1);
      return out;
    };
    return build(0);
  }

  // ---- shape helpers with PyTorch's variadic spelling ----
  view(...shape: number[] | [number[]] | [DType]): Tensor {
    if (shape.length === 1 && typeof shape[0] === 'string') return aten.view.dtype(this, shape[0]);
    return aten.view.default(this, flatShape(shape as number[] | [number[]]));
  }
  reshape(...shape: number[] | [number[]]): Tensor { return aten.reshape(this, flatShape(shape)); }
  permute(...dims: number[] | [number[]]): Tensor { return aten.permute(this, flatShape(dims)); }
  expand(...sizes: number[] | [number[]]): Tensor { return aten.expand(this, flatShape(sizes)); }
  repeat(...sizes: number[] | [number[]]): Tensor { return aten.repeat(this, flatShape(sizes)); }
  flip(...dims: number[] | [number[]]): Tensor { return aten.flip(this, flatShape(dims)); }
  /** Matrix transpose of the last two dimensions (PyTorch's mT) or of a 2-D tensor. */
  get mT(): Tensor { return aten.transpose.int(this, -2, -1); }

  // ---- conversion ----
  /** Converts dtype and/or device: `x.to('float64')`, `x.to('cuda')`, `x.to({ dtype, device })`, `x.to(other)`. */
  to(target: DType | Device | Tensor | ToOptions, options: Omit<ToOptions, 'dtype' | 'device'> = {}): Tensor {
    let opts: ToOptions;
    if (target instanceof Tensor) opts = { dtype: target.dtype, device: target.device };
    else if (typeof target === 'string') opts = isDtypeName(target) ? { dtype: target } : { device: target };
    else if (target !== null && typeof target === 'object') opts = target;
    else throw invalidArg('to(target)', 'a dtype, a device, a Tensor or { dtype, device }', target);
    opts = { ...opts, ...options };
    const dtype = opts.dtype === undefined ? undefined : checkDtype(opts.dtype);
    return aten.to.dtype_layout(this, {
      dtype, device: opts.device, nonBlocking: opts.nonBlocking ?? false, copy: opts.copy ?? false,
      memoryFormat: opts.memoryFormat,
    });
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  int(): Tensor { return this.to('int32'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to({ device: 'cpu' }); }
  cuda(index = 0): Tensor { return this.to({ device: `cuda:${index}` }); }

  toString(): string {
    if (this.isDisposed) return 'tensor(<disposed>)';
    const shape = this.shape;
    const n = this.numel();
    const body = n <= 64 ? JSON.stringify(this.toArray(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) : `[... ${n} elements]`;
    return `tensor(${body}, shape=[${shape.join(', ')}], dtype=${this.dtype}${this.device === 'cpu' ? '' : `, device=${this.device}`}${this.requiresGrad ? ', requiresGrad=true' : ''})`;
  }
  [inspect.custom](): string { return this.toString(); }
}
// @hand-written-methods-end

function isDtypeName(s: string): s is DType {
  try { checkDtype(s); return true; } catch { return false; }
}

function flatShape(a: number[] | [number[]]): number[] {
  if (a.length === 1 && Array.isArray(a[0])) return a[0];
  return a as number[];
}

registerTensorClass(Tensor);
