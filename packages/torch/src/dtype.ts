import { invalidArg } from './errors.js';

export const DTYPES = [
  'float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'int16', 'int8', 'uint8', 'bool',
  'complex64', 'complex128',
] as const;
export type DType = (typeof DTYPES)[number];
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | (string & {});
export type Layout = 'strided' | 'sparse_coo';
export type MemoryFormat = 'contiguous' | 'preserve' | 'channels_last' | 'channels_last_3d';
export type Scalar = number | boolean;

/** c10::ScalarType enum order (used where an operator returns a ScalarType). */
const SCALAR_TYPE_ORDER: (DType | undefined)[] = [
  'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', undefined, 'complex64', 'complex128',
  'bool', undefined, undefined, undefined, 'bfloat16',
];
export function dtypeFromScalarType(n: number): DType {
  const d = SCALAR_TYPE_ORDER[n];
  if (!d) throw new Error(`unsupported ScalarType ${n}`);
  return d;
}

export function checkDtype(d: unknown, what = 'dtype'): DType {
  if (typeof d === 'string' && (DTYPES as readonly string[]).includes(d)) return d as DType;
  throw invalidArg(what, `one of ${DTYPES.join(', ')}`, d);
}

export function isFloatingDtype(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

export type TypedArray =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array
  | Uint16Array;

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int32: 4, int64: 8, int16: 2, int8: 1, uint8: 1, bool: 1,
  complex64: 8, complex128: 16,
};

/** The dtype a TypedArray holds natively (Uint16Array is read as raw float16 bits). */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'float16';
  throw invalidArg('data', 'a Float32Array, Float64Array, Int32Array, BigInt64Array, Int16Array, Int8Array or Uint8Array', a);
}

/** Creates the JS typed array view that holds a dtype's values. */
export function typedArrayFor(dtype: DType, buf: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
    default: throw invalidArg('dtype', 'a real dtype', dtype);
  }
}
