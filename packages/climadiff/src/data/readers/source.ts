// The format-neutral view every file reader produces: dimensions, variables with raw attributes, and a
// hyperslab read. CF decoding (cf.ts) and selection (select.ts) sit on top, so each format reader only
// knows its own bytes.
import type { Attrs } from '../types.js';

export type FileFormat = 'netcdf3-classic' | 'netcdf3-64bit-offset' | 'netcdf4-hdf5' | 'zarr-v2' | 'zarr-v3';

/** Storage type of a variable before CF decoding. */
export type RawDtype =
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'float32' | 'float64' | 'char' | 'string' | 'other';

export interface RawVariable {
  name: string;
  dims: string[];
  shape: number[];
  dtype: RawDtype;
  attrs: Attrs;
}

/** A hyperslab: per dimension [start, stop) (stop exclusive). */
export type Ranges = Array<[number, number]>;

export interface RawSource {
  path: string;
  format: FileFormat;
  dims: Map<string, number>;
  variables: Map<string, RawVariable>;
  attrs: Attrs;
  /** Raw stored numbers of a hyperslab (no CF decoding), C order. `ranges` defaults to everything. */
  read(name: string, ranges?: Ranges): Promise<Float64Array>;
  close(): void;
}

export function fullRanges(shape: number[]): Ranges {
  return shape.map((n) => [0, n] as [number, number]);
}

export function product(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** Copy a hyperslab out of a full C-order array. */
export function sliceArray(
  full: ArrayLike<number>, shape: number[], ranges: Ranges,
): Float64Array {
  const outShape = ranges.map(([a, b]) => b - a);
  const out = new Float64Array(product(outShape));
  if (out.length === 0) return out;
  const nd = shape.length;
  if (nd === 0) { out[0] = Number(full[0]); return out; }
  const strides = new Array<number>(nd);
  let s = 1;
  for (let d = nd - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]!; }
  const idx = new Array<number>(nd).fill(0);
  const inner = outShape[nd - 1]!;
  const innerStart = ranges[nd - 1]![0];
  let o = 0;
  for (;;) {
    let base = innerStart;
    for (let d = 0; d < nd - 1; d++) base += (ranges[d]![0] + idx[d]!) * strides[d]!;
    for (let i = 0; i < inner; i++) out[o++] = Number(full[base + i]);
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      if (idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}
