// NetCDF-4 (HDF5) files through h5wasm. In Node, h5wasm is built with Emscripten's NODERAWFS, so the
// HDF5 library reads the host file system directly with random access: `new h5wasm.File(path)` does not
// load the file into memory, and `Dataset.slice` reads only the chunks covering the requested hyperslab.
// netCDF-4 dimensions are HDF5 dimension scales; their names come from the scales attached to each axis.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError, type AttrValue, type Attrs } from '../types.js';
import { type RawDtype, type RawSource, type RawVariable, type Ranges, fullRanges } from './source.js';
import { loadH5, throwingErrors, type H5Dataset, type H5File, type H5Group } from '../h5wasm.js';


// Attributes netCDF-4 uses for its own bookkeeping; they are not CF metadata.
const HIDDEN_ATTRS = new Set([
  'DIMENSION_LIST', 'REFERENCE_LIST', 'CLASS', 'NAME', '_Netcdf4Dimid', '_Netcdf4Coordinates',
  '_nc3_strict', '_NCProperties', '_SuperblockVersion', '_IsNetcdf4',
]);
const NOT_A_VARIABLE = 'This is a netCDF dimension but not a netCDF variable';

function toAttrValue(v: unknown): AttrValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const arr = Array.from(v as ArrayLike<unknown>);
    if (arr.every((x) => typeof x === 'string')) return arr.join('');
    const nums = arr.map((x) => Number(x));
    if (nums.some((x) => Number.isNaN(x) && !arr.some((y) => typeof y === 'number'))) return undefined;
    return nums.length === 1 ? nums[0]! : nums;
  }
  return undefined;
}

function readAttrs(obj: { attrs: Record<string, { json_value: unknown }> }): Attrs {
  const out: Attrs = {};
  for (const [k, a] of Object.entries(obj.attrs)) {
    if (HIDDEN_ATTRS.has(k)) continue;
    let v: AttrValue | undefined;
    try { v = toAttrValue(a.json_value); } catch { v = undefined; }
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The innermost reason from an HDF5 error stack ('... in H5F__super_read(): truncated file: eof = ...'). */
function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const reasons = [...text.matchAll(/in [\w.]+\(\): (.*)/g)].map((m) => m[1]!.trim());
  return reasons.length > 0 ? reasons[reasons.length - 1]! : text.split('\n')[0]!.slice(0, 300);
}

function dtypeOf(ds: H5Dataset): RawDtype {
  const m = ds.metadata;
  if (m.type === 0) { // H5T_INTEGER
    const bits = m.size * 8;
    if (![8, 16, 32, 64].includes(bits)) return 'other';
    return `${m.signed ? 'int' : 'uint'}${bits}` as RawDtype;
  }
  if (m.type === 1) return m.size === 4 ? 'float32' : m.size === 8 ? 'float64' : 'other';
  if (m.type === 3) return 'string';
  return 'other';
}

export async function openHdf5(path: string, group = '/'): Promise<RawSource> {
  const h = await loadH5();
  if (!existsSync(path)) throw new DataError('missing-file', `${path}: no such file`);
  let file: H5File;
  try {
    file = throwingErrors(() => new h.File(path, 'r'));
  } catch (e) {
    const reason = hdf5Reason(e);
    const truncated = /truncat/i.test(reason);
    throw new DataError(truncated ? 'truncated-file' : 'corrupt-file',
      `${path}: the HDF5 library could not open the file (${reason}); it is ${truncated ? 'truncated' : 'corrupt'}`);
  }
  try {
    const grp = group === '/' ? (file as unknown as H5Group) : (file.get(group) as H5Group | null);
    if (!grp || !(grp instanceof h.Group)) {
      throw new DataError('unknown-group', `${path}: no group '${group}' (groups at the root: ${file.keys().filter((k) => file.get(k) instanceof h.Group).join(', ') || 'none'})`);
    }
    const dims = new Map<string, number>();
    const variables = new Map<string, RawVariable>();
    const datasets = new Map<string, H5Dataset>();
    for (const key of grp.keys()) {
      const obj = grp.get(key);
      if (!(obj instanceof h.Dataset)) continue;
      const ds = obj as H5Dataset;
      const shape = ds.shape ?? [];
      const dimNames: string[] = [];
      for (let i = 0; i < shape.length; i++) {
        let name: string | undefined;
        try {
          const scales = ds.get_attached_scales(i);
          if (scales.length > 0) name = basename(scales[0]!);
        } catch { /* no scales attached */ }
        if (!name && shape.length === 1) {
          try { if (ds.get_scale_name() !== null) name = key; } catch { /* not a scale */ }
        }
        name ??= `${key}_dim${i}`;
        dimNames.push(name);
        if (!dims.has(name)) dims.set(name, shape[i]!);
      }
      let isDimOnly = false;
      try { isDimOnly = (ds.get_scale_name() ?? '').startsWith(NOT_A_VARIABLE); } catch { /* ignore */ }
      if (isDimOnly) continue;
      variables.set(key, { name: key, dims: dimNames, shape, dtype: dtypeOf(ds), attrs: readAttrs(ds as never) });
      datasets.set(key, ds);
    }
    const attrs = readAttrs(grp as never);
    let closed = false;
    return {
      path, format: 'netcdf4-hdf5', dims, variables, attrs,
      async read(name: string, ranges?: Ranges): Promise<Float64Array> {
        const raw = variables.get(name);
        const ds = datasets.get(name);
        if (!raw || !ds) throw new DataError('unknown-variable', `${path}: no variable '${name}'`);
        const r = ranges ?? fullRanges(raw.shape);
        let out: unknown;
        try {
          out = throwingErrors(() => (raw.shape.length === 0 ? ds.value : ds.slice(r.map(([a, b]) => [a, b]))));
        } catch (e) {
          const reason = hdf5Reason(e);
          throw new DataError(/truncat|eof|address/i.test(reason) ? 'truncated-file' : 'corrupt-file',
            `${path}: reading variable '${name}' failed in the HDF5 library (${reason}); the file is corrupt or truncated`);
        }
        if (typeof out === 'number' || typeof out === 'bigint') return Float64Array.of(Number(out));
        if (out === null || !(ArrayBuffer.isView(out) || Array.isArray(out))) {
          throw new DataError('unsupported-format', `${path}: variable '${name}' is not numeric (${raw.dtype})`);
        }
        return Float64Array.from(out as ArrayLike<number | bigint>, (x) => Number(x));
      },
      close() { if (!closed) { closed = true; file.close(); } },
    };
  } catch (e) {
    try { file.close(); } catch { /* ignore */ }
    throw e;
  }
}
