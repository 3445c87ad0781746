// openDataset: detect the format from the bytes (or the Zarr metadata files), read the selected variables
// with CF decoding, and apply the selection. Every failure is a DataError naming the file.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { DataError, type Attrs, type ClimateDataset, type Coordinate, type Variable } from '../types.js';
import { boundsVariables, decodedAttrs, decodeValues, findCoordinates, requireNumeric, type Axis } from './cf.js';
import { openHdf5 } from './hdf5.js';
import { openNetcdf3 } from './netcdf3.js';
import { decodeTimeCoordinate, selectDataset, type SelectOptions } from './select.js';
import { product, type FileFormat, type Ranges, type RawSource, fullRanges } from './source.js';
import { openZarr, zarrVersionOf } from './zarr.js';
import { parseDateBound, timeKey } from './calendar.js';

export interface OpenOptions extends SelectOptions {
  /** HDF5/netCDF-4 group to read (default the root group). */
  group?: string;
  /** Override the time coordinate's calendar (e.g. 'noleap' for files that do not say). */
  calendar?: string;
  /** Axes every selected variable must have, e.g. ['T', 'Y', 'X']; otherwise a 'wrong-dimensions' error. */
  requireAxes?: Axis[];
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Detect the format of a path from its content. */
export function detectFormat(path: string): FileFormat {
  if (!existsSync(path)) throw new DataError('missing-file', `${path}: no such file or directory`);
  const st = statSync(path);
  if (st.isDirectory()) {
    const v = zarrVersionOf(path);
    if (!v) throw new DataError('unknown-format', `${path}: a directory, but not a Zarr store (no .zgroup, .zarray or zarr.json inside)`);
    return v === 'v2' ? 'zarr-v2' : 'zarr-v3';
  }
  if (st.size === 0) throw new DataError('corrupt-file', `${path}: the file is empty`);
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(8);
  try { readSync(fd, head, 0, 8, 0); } finally { closeSync(fd); }
  if (head.subarray(0, 3).toString('latin1') === 'CDF') {
    if (head[3] === 1) return 'netcdf3-classic';
    if (head[3] === 2) return 'netcdf3-64bit-offset';
    if (head[3] === 5) throw new DataError('unsupported-format', `${path}: NetCDF CDF-5 (64-bit data) is not supported; convert it with 'nccopy -k nc4 ${path} out.nc'`);
  }
  if (head.equals(HDF5_SIGNATURE)) return 'netcdf4-hdf5';
  throw new DataError('unknown-format',
    `${path}: not a recognised climate data file (first bytes ${JSON.stringify(head.toString('latin1').replace(/[^\x20-\x7e]/g, '.'))}); supported: NetCDF classic/64-bit offset ('CDF\\x01'/'CDF\\x02'), NetCDF-4/HDF5, Zarr v2/v3 directories`);
}

function wrap(path: string, e: unknown): DataError {
  if (e instanceof DataError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new DataError('corrupt-file', `${path}: the file could not be read (${msg}); it may be corrupt or truncated`);
}

/** Open the format-level view of a file (no CF decoding). Close it when done. */
export async function openSource(path: string, group?: string): Promise<RawSource> {
  const format = detectFormat(path);
  try {
    switch (format) {
      case 'netcdf3-classic': case 'netcdf3-64bit-offset': return openNetcdf3(path);
      case 'netcdf4-hdf5': return await openHdf5(path, group);
      case 'zarr-v2': case 'zarr-v3': return await openZarr(path);
    }
  } catch (e) {
    throw wrap(path, e);
  }
}

/** Read a variable's hyperslab and CF-decode it. */
export async function readVariable(src: RawSource, name: string, ranges?: Ranges, renames: Map<string, string> = new Map()): Promise<Variable> {
  const raw = src.variables.get(name);
  if (!raw) throw new DataError('unknown-variable', `${src.path}: unknown variable '${name}'; the variables are: ${[...src.variables.keys()].join(', ')}`);
  requireNumeric(raw, src.path);
  const r = ranges ?? fullRanges(raw.shape);
  let values: Float64Array;
  try { values = await src.read(name, r); } catch (e) { throw wrap(src.path, e); }
  const shape = r.map(([a, b]) => b - a);
  if (values.length !== product(shape)) {
    throw new DataError('corrupt-file', `${src.path}: variable '${name}' returned ${values.length} values for shape ${shape.join('x')}`);
  }
  const dec = decodeValues(values, raw, { defaultFill: src.format.startsWith('netcdf') });
  const units = typeof raw.attrs.units === 'string' ? raw.attrs.units : undefined;
  return {
    name, dims: raw.dims.map((d) => renames.get(d) ?? d), shape, data: dec.data, mask: dec.mask,
    ...(units !== undefined ? { units } : {}), attrs: decodedAttrs(raw.attrs),
  };
}

/** The data variables of a source: numeric, not coordinates, not cell bounds; multi-dimensional first. */
export function dataVariableNames(src: RawSource): string[] {
  const coords = findCoordinates(src);
  const coordVars = new Set([...coords.values()].map((c) => c.variable));
  const bounds = boundsVariables(src);
  const cands = [...src.variables.values()].filter((v) =>
    !coordVars.has(v.name) && !bounds.has(v.name) && v.dtype !== 'char' && v.dtype !== 'string' && v.dtype !== 'other');
  const multi = cands.filter((v) => v.dims.length >= 2);
  return (multi.length > 0 ? multi : cands).map((v) => v.name);
}

/** Read the coordinates of a source (keyed by dimension name after renames). */
export async function readCoordinates(src: RawSource, calendar?: string): Promise<{ coords: Map<string, Coordinate>; renames: Map<string, string> }> {
  const infos = findCoordinates(src);
  const renames = new Map<string, string>();
  // A coordinate variable named differently from its dimension (lat(latitude)) renames the dimension,
  // so that data dims and coordinate names agree downstream.
  for (const info of infos.values()) {
    if (info.variable !== info.dim && !src.dims.has(info.variable)) renames.set(info.dim, info.variable);
  }
  const coords = new Map<string, Coordinate>();
  for (const info of infos.values()) {
    const raw = src.variables.get(info.variable)!;
    let values: Float64Array;
    try { values = await src.read(info.variable); } catch (e) { throw wrap(src.path, e); }
    const scale = typeof raw.attrs.scale_factor === 'number' ? raw.attrs.scale_factor : 1;
    const offset = typeof raw.attrs.add_offset === 'number' ? raw.attrs.add_offset : 0;
    if (scale !== 1 || offset !== 0) values = values.map((x) => x * scale + offset);
    const name = renames.get(info.dim) ?? info.dim;
    const units = typeof raw.attrs.units === 'string' ? raw.attrs.units : undefined;
    const cal = calendar ?? (typeof raw.attrs.calendar === 'string' ? raw.attrs.calendar : undefined);
    coords.set(name, {
      name, values, attrs: decodedAttrs(raw.attrs),
      ...(info.axis ? { axis: info.axis } : {}),
      ...(units !== undefined ? { units } : {}),
      ...(info.axis === 'T' ? { calendar: cal ?? 'standard' } : {}),
    });
  }
  return { coords, renames };
}

function rangeOf(indices: number[]): [number, number] | null {
  if (indices.length === 0) return null;
  return [Math.min(...indices), Math.max(...indices) + 1];
}

/**
 * Open a NetCDF classic/64-bit offset, NetCDF-4/HDF5 file or Zarr v2/v3 store and return the selected
 * variables, CF-decoded, with their coordinates. Time and level ranges are applied while reading, so only
 * the needed records are loaded; the rest of the selection (box, longitude order, coarsening) follows.
 */
export async function openDataset(path: string, options: OpenOptions = {}): Promise<ClimateDataset> {
  const src = await openSource(path, options.group);
  try {
    const { coords, renames } = await readCoordinates(src, options.calendar);
    const allNames = [...src.variables.keys()];
    const names = options.variables && options.variables.length > 0 ? options.variables : dataVariableNames(src);
    for (const n of names) {
      if (!src.variables.has(n)) {
        throw new DataError('unknown-variable', `${path}: unknown variable '${n}'; the file has: ${allNames.join(', ')}`);
      }
    }
    if (names.length === 0) throw new DataError('no-variables', `${path}: no numeric data variables (variables: ${allNames.join(', ') || 'none'})`);
    // Restrict time and level while reading.
    const pre = new Map<string, [number, number]>();
    let timeIndexDone = false;
    for (const [dim, c] of coords) {
      if (c.axis === 'T' && options.timeIndex) {
        const [a, b] = options.timeIndex;
        if (Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b <= c.values.length && a < b) {
          pre.set(dim, [a, b]);
          timeIndexDone = true;
          continue; // a date range, if also given, is applied after (on the kept steps)
        }
      }
      if (c.axis === 'T' && options.time && (options.time[0] !== undefined || options.time[1] !== undefined)) {
        const times = decodeTimeCoordinate(c);
        if (!times) continue;
        const lo = options.time[0] !== undefined ? parseDateBound(options.time[0], false) : -Infinity;
        const hi = options.time[1] !== undefined ? parseDateBound(options.time[1], true) : Infinity;
        const r = rangeOf(times.map((t, i) => [timeKey(t), i] as const).filter(([k]) => k >= lo && k <= hi).map(([, i]) => i));
        if (r) pre.set(dim, r);
      }
      if (c.axis === 'Z' && options.level !== undefined) {
        const lv = options.level;
        const idx = Array.from(c.values.keys()).filter((i) => typeof lv === 'number'
          ? Math.abs(c.values[i]! - lv) <= 1e-6 * Math.max(1, Math.abs(lv))
          : c.values[i]! >= Math.min(...lv) && c.values[i]! <= Math.max(...lv));
        const r = rangeOf(idx);
        if (r) pre.set(dim, r);
      }
    }
    for (const [dim, [a, b]] of pre) {
      const c = coords.get(dim)!;
      coords.set(dim, { ...c, values: c.values.slice(a, b) });
    }
    const variables = new Map<string, Variable>();
    for (const n of names) {
      const raw = src.variables.get(n)!;
      const ranges = raw.dims.map((d, i) => pre.get(renames.get(d) ?? d) ?? [0, raw.shape[i]!] as [number, number]);
      const v = await readVariable(src, n, ranges, renames);
      if (options.requireAxes) {
        const axes = v.dims.map((d) => coords.get(d)?.axis);
        const missing = options.requireAxes.filter((a) => !axes.includes(a));
        if (missing.length > 0) {
          throw new DataError('wrong-dimensions', `${path}: variable '${n}' has dimensions (${v.dims.join(', ')}) but needs ${options.requireAxes.map(axisName).join(', ')}; missing ${missing.map(axisName).join(', ')}`);
        }
      }
      variables.set(n, v);
    }
    const used = new Set(names.flatMap((n) => variables.get(n)!.dims));
    for (const k of [...coords.keys()]) if (!used.has(k)) coords.delete(k);
    const attrs: Attrs = { ...src.attrs };
    const ds: ClimateDataset = { variables, coords, attrs };
    const { variables: _v, timeIndex, ...rest } = options;
    void _v;
    const sel: SelectOptions = timeIndexDone || !timeIndex ? rest : { ...rest, timeIndex };
    try {
      return selectDataset(ds, sel);
    } catch (e) {
      if (e instanceof DataError) throw new DataError(e.kind, `${path}: ${e.message}`);
      throw e;
    }
  } finally {
    src.close();
  }
}

function axisName(a: Axis): string {
  return a === 'T' ? 'time' : a === 'Y' ? 'latitude' : a === 'X' ? 'longitude' : 'level';
}
