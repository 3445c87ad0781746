// Zarr v2 and v3 local stores through zarrita and @zarrita/storage's FileSystemStore: chunks are read on
// demand for the requested hyperslab. A store is either a group (children one directory level down) or a
// single array. Dimension names come from xarray's `_ARRAY_DIMENSIONS` attribute (v2) or from
// `dimension_names` (v3).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { DataError, type AttrValue, type Attrs } from '../types.js';
import { type RawDtype, type RawSource, type RawVariable, type Ranges, fullRanges } from './source.js';

type ZArray = zarr.Array<zarr.DataType, FileSystemStore>;

function toAttrs(a: Record<string, unknown>): Attrs {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(a)) {
    if (k === '_ARRAY_DIMENSIONS') continue;
    if (typeof v === 'string' || typeof v === 'number') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v as number[];
    else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
    else if (v !== null && v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
}

function dtypeOf(d: string): RawDtype {
  const map: Record<string, RawDtype> = {
    int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32',
    int64: 'int64', uint64: 'uint64', float32: 'float32', float64: 'float64',
  };
  return map[d] ?? (d.startsWith('v2:U') || d.startsWith('v2:S') || d === 'string' ? 'string' : 'other');
}

function readJson(p: string, path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError('corrupt-file', `${path}: cannot parse Zarr metadata ${p} (${(e as Error).message})`);
  }
}

/** Whether a directory looks like a Zarr store, and which version. */
export function zarrVersionOf(dir: string): 'v2' | 'v3' | null {
  if (existsSync(join(dir, 'zarr.json'))) return 'v3';
  if (existsSync(join(dir, '.zgroup')) || existsSync(join(dir, '.zarray'))) return 'v2';
  return null;
}

function isArrayNode(dir: string, version: 'v2' | 'v3', path: string): boolean {
  if (version === 'v2') return existsSync(join(dir, '.zarray'));
  const p = join(dir, 'zarr.json');
  return existsSync(p) && readJson(p, path).node_type === 'array';
}

export async function openZarr(path: string): Promise<RawSource> {
  const version = zarrVersionOf(path);
  if (!version) throw new DataError('unsupported-format', `${path}: a directory but not a Zarr store (no .zgroup, .zarray or zarr.json)`);
  const store = new FileSystemStore(path);
  const rootLoc = zarr.root(store);
  const open = version === 'v2' ? zarr.open.v2 : zarr.open.v3;
  const dims = new Map<string, number>();
  const variables = new Map<string, RawVariable>();
  const arrays = new Map<string, ZArray>();
  let attrs: Attrs = {};

  const addArray = async (name: string, key: string) => {
    let arr: ZArray;
    try {
      arr = (await open(key === '' ? rootLoc : rootLoc.resolve(key), { kind: 'array' })) as ZArray;
    } catch (e) {
      throw new DataError('corrupt-file', `${path}: cannot open Zarr array '${name}' (${(e as Error).message})`);
    }
    const a = arr.attrs as Record<string, unknown>;
    const names = (version === 'v2' ? (a._ARRAY_DIMENSIONS as string[] | undefined) : arr.dimensionNames)
      ?? arr.shape.map((_, i) => `${name}_dim${i}`);
    if (names.length !== arr.shape.length) {
      throw new DataError('wrong-dimensions', `${path}: array '${name}' has ${arr.shape.length} dimensions but ${names.length} dimension names`);
    }
    const dnames = names.map((n, i) => n ?? `${name}_dim${i}`);
    dnames.forEach((d, i) => {
      const prev = dims.get(d);
      if (prev !== undefined && prev !== arr.shape[i]) {
        throw new DataError('wrong-dimensions', `${path}: dimension '${d}' has size ${prev} in one array and ${arr.shape[i]} in '${name}'`);
      }
      dims.set(d, arr.shape[i]!);
    });
    const vattrs = toAttrs(a);
    // zarr v2's fill_value is how xarray stores _FillValue for floating-point arrays.
    if (version === 'v2' && vattrs._FillValue === undefined && /float/.test(arr.dtype)) {
      const fv = arr.fillValue as unknown;
      if (typeof fv === 'number' && !Number.isNaN(fv)) vattrs._FillValue = fv;
    }
    variables.set(name, { name, dims: dnames, shape: arr.shape.slice(), dtype: dtypeOf(arr.dtype), attrs: vattrs });
    arrays.set(name, arr);
  };

  if (isArrayNode(path, version, path)) {
    const name = path.replace(/\/+$/, '').split('/').pop()!.replace(/\.zarr$/, '') || 'data';
    await addArray(name, '');
  } else {
    try {
      const g = await open(rootLoc, { kind: 'group' });
      attrs = toAttrs(g.attrs as Record<string, unknown>);
    } catch (e) {
      throw new DataError('corrupt-file', `${path}: cannot open Zarr group (${(e as Error).message})`);
    }
    for (const entry of readdirSync(path).sort()) {
      const child = join(path, entry);
      if (!statSync(child).isDirectory()) continue;
      if (isArrayNode(child, version, path)) await addArray(entry, entry);
    }
  }

  return {
    path, format: version === 'v2' ? 'zarr-v2' : 'zarr-v3', dims, variables, attrs,
    async read(name: string, ranges?: Ranges): Promise<Float64Array> {
      const raw = variables.get(name);
      const arr = arrays.get(name);
      if (!raw || !arr) throw new DataError('unknown-variable', `${path}: no variable '${name}'`);
      const r = ranges ?? fullRanges(raw.shape);
      let res: unknown;
      try {
        res = await zarr.get(arr, r.map(([a, b]) => zarr.slice(a, b)));
      } catch (e) {
        throw new DataError('corrupt-file', `${path}: reading Zarr array '${name}' failed (${(e as Error).message})`);
      }
      const data = (typeof res === 'object' && res !== null && 'data' in res) ? (res as { data: unknown }).data : res;
      if (typeof data === 'number' || typeof data === 'bigint') return Float64Array.of(Number(data));
      if (!ArrayBuffer.isView(data)) throw new DataError('unsupported-format', `${path}: array '${name}' is not numeric`);
      return Float64Array.from(data as unknown as ArrayLike<number | bigint>, (x) => Number(x));
    },
    close() { /* nothing held open */ },
  };
}
export type { AttrValue };
