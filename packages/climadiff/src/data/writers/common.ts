// Shared by the NetCDF and Zarr writers: the dataset's dimension table, the time dimension used for
// chunked (streaming) writing, CF attribute cleaning, the history line, and no-clobber atomic output.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Attrs, ClimateDataset, Coordinate, Variable } from '../types.js';
import { DataError } from '../types.js';

/** Writes a dataset in consecutive time chunks, then commits it to its final name in one rename. */
export interface TimeChunkWriter {
  /** Total time steps expected. */
  readonly timeLength: number;
  /** Time steps written so far. */
  readonly written: number;
  /** Write the next time steps: `chunk` holds the time coordinate slice and every time-first variable sliced. */
  writeTimeChunk(chunk: ClimateDataset): Promise<void>;
  /** Finish: checks every step was written, then moves the file into place (never clobbering unless asked). */
  commit(): Promise<void>;
  /** Give up: remove the temporary output. */
  abort(): Promise<void>;
}

/** The CF conventions version the writers produce. */
export const CF_CONVENTIONS = 'CF-1.8';

export interface DimensionTable {
  /** Dimension names in file order with their lengths. */
  dims: Map<string, number>;
  /** The time dimension (CF axis T, or a coordinate/dimension named 'time'), if any. */
  timeDim: string | null;
}

/**
 * Collect every dimension of the dataset and check that coordinates and variables agree on lengths
 * (a variable's data length must equal the product of its shape). Throws DataError('bad-shape').
 */
export function dimensionTable(ds: ClimateDataset): DimensionTable {
  const dims = new Map<string, number>();
  const claim = (dim: string, n: number, where: string): void => {
    if (!Number.isInteger(n) || n < 0) throw new DataError('bad-shape', `${where}: dimension '${dim}' has invalid length ${n}`);
    const had = dims.get(dim);
    if (had !== undefined && had !== n) {
      throw new DataError('bad-shape', `${where}: dimension '${dim}' has length ${n} but elsewhere ${had}`);
    }
    dims.set(dim, n);
  };
  for (const [key, c] of ds.coords) {
    if (key !== c.name) throw new DataError('bad-shape', `coordinate stored under key '${key}' is named '${c.name}'`);
    claim(c.name, c.values.length, `coordinate '${c.name}'`);
  }
  for (const [key, v] of ds.variables) {
    if (key !== v.name) throw new DataError('bad-shape', `variable stored under key '${key}' is named '${v.name}'`);
    if (ds.coords.has(v.name)) throw new DataError('bad-shape', `'${v.name}' is both a coordinate and a data variable`);
    if (v.dims.length !== v.shape.length) {
      throw new DataError('bad-shape', `variable '${v.name}': ${v.dims.length} dims [${v.dims.join(', ')}] but shape [${v.shape.join(', ')}]`);
    }
    if (new Set(v.dims).size !== v.dims.length) throw new DataError('bad-shape', `variable '${v.name}' repeats a dimension: [${v.dims.join(', ')}]`);
    v.dims.forEach((d, i) => claim(d, v.shape[i]!, `variable '${v.name}'`));
    const n = product(v.shape);
    if (v.data.length !== n) {
      throw new DataError('bad-shape', `variable '${v.name}': shape [${v.shape.join(', ')}] needs ${n} values, data has ${v.data.length}`);
    }
    if (v.mask !== null && v.mask.length !== n) {
      throw new DataError('bad-shape', `variable '${v.name}': mask has ${v.mask.length} entries, data has ${n}`);
    }
  }
  return { dims, timeDim: findTimeDim(ds, dims) };
}

function findTimeDim(ds: ClimateDataset, dims: Map<string, number>): string | null {
  for (const c of ds.coords.values()) if (c.axis === 'T') return c.name;
  if (dims.has('time')) return 'time';
  return null;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Whether a variable's value at flat index i is missing (mask set, or NaN left in the data). */
export function isMissing(v: Variable, i: number): boolean {
  return (v.mask !== null && v.mask[i] === 1) || Number.isNaN(v.data[i]!);
}

export function hasMissing(v: Variable): boolean {
  if (v.mask !== null && v.mask.includes(1)) return true;
  for (let i = 0; i < v.data.length; i++) if (Number.isNaN(v.data[i]!)) return true;
  return false;
}

/**
 * Attributes that describe how values were packed or stored in the source file. The data we write is
 * already decoded (physical units, missing → mask), so copying them would make a reader decode twice.
 */
const ENCODING_ATTRS = new Set([
  '_FillValue', 'missing_value', 'scale_factor', 'add_offset', '_Unsigned', '_ChunkSizes', '_Netcdf4Dimid',
  '_Netcdf4Coordinates', '_Storage', '_Endianness', '_DeflateLevel', '_Shuffle', '_Fletcher32', '_NCProperties',
  'DIMENSION_LIST', 'REFERENCE_LIST', 'CLASS', 'NAME', '_ARRAY_DIMENSIONS', 'dtype',
]);

/** A variable's CF attributes as written: its attrs without packing/storage keys, plus units. */
export function variableAttrs(v: Variable): Attrs {
  const packed = 'scale_factor' in v.attrs || 'add_offset' in v.attrs;
  const out: Attrs = {};
  for (const [k, val] of Object.entries(v.attrs)) {
    if (ENCODING_ATTRS.has(k)) continue;
    // valid_range etc. of packed data are in packed units; they no longer describe the decoded values.
    if (packed && (k === 'valid_range' || k === 'valid_min' || k === 'valid_max')) continue;
    out[k] = val;
  }
  if (v.units !== undefined) out.units = v.units;
  return out;
}

const DEFAULT_STANDARD_NAME: Record<string, string> = { T: 'time', Y: 'latitude', X: 'longitude' };

/** A coordinate's CF attributes as written: units, calendar, axis and a standard_name for T/Y/X. */
export function coordinateAttrs(c: Coordinate): Attrs {
  const out: Attrs = {};
  for (const [k, val] of Object.entries(c.attrs)) if (!ENCODING_ATTRS.has(k)) out[k] = val;
  if (c.units !== undefined) out.units = c.units;
  if (c.calendar !== undefined) out.calendar = c.calendar;
  if (c.axis !== undefined) {
    out.axis = c.axis;
    const std = DEFAULT_STANDARD_NAME[c.axis];
    if (std !== undefined && out.standard_name === undefined) out.standard_name = std;
  }
  return out;
}

/** Global attributes as written: Conventions = CF-1.8 and a new history line (newest first, as CF asks). */
export function globalAttrs(attrs: Attrs, command: string | undefined, now = new Date()): Attrs {
  const out: Attrs = { ...attrs };
  out.Conventions = CF_CONVENTIONS;
  const line = `${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}: ${command ?? 'climadiff'}`;
  const old = typeof attrs.history === 'string' && attrs.history.length > 0 ? attrs.history : undefined;
  out.history = old === undefined ? line : `${line}\n${old}`;
  return out;
}

/**
 * Return the dataset restricted to time steps [t0, t1) along `timeDim`: the time coordinate and every
 * variable whose first dimension is time are sliced (views, no copies); other variables are kept whole.
 */
export function sliceTime(ds: ClimateDataset, timeDim: string, t0: number, t1: number): ClimateDataset {
  const coords = new Map<string, Coordinate>();
  for (const [k, c] of ds.coords) coords.set(k, k === timeDim ? { ...c, values: c.values.subarray(t0, t1) } : c);
  const variables = new Map<string, Variable>();
  for (const [k, v] of ds.variables) {
    if (v.dims[0] !== timeDim) { variables.set(k, v); continue; }
    const step = product(v.shape.slice(1));
    variables.set(k, {
      ...v,
      shape: [t1 - t0, ...v.shape.slice(1)],
      data: v.data.subarray(t0 * step, t1 * step),
      mask: v.mask === null ? null : v.mask.subarray(t0 * step, t1 * step),
    });
  }
  return { variables, coords, attrs: ds.attrs };
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** A fresh hidden temporary name beside `target` (same directory, so the final rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Refuse to write over something the user has, unless asked to. */
export async function checkWritable(target: string, overwrite: boolean): Promise<void> {
  if (!overwrite && (await pathExists(target))) {
    throw new DataError('output-exists', `refusing to overwrite existing '${target}' (choose another name, or pass overwrite)`);
  }
  const dir = path.dirname(path.resolve(target));
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch {
    throw new DataError('missing-directory', `cannot write '${target}': directory '${dir}' does not exist`);
  }
}

/**
 * Move a finished temporary file to `target`. Without overwrite this is a hard link (fails if target
 * appeared meanwhile, so nothing is clobbered even in a race) followed by removing the temporary name.
 */
export async function commitFile(tmp: string, target: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await fsp.rename(tmp, target);
    return;
  }
  try {
    await fsp.link(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new DataError('output-exists', `refusing to overwrite existing '${target}' (it appeared while writing)`);
    }
    throw e;
  }
  await fsp.rm(tmp, { force: true });
}

/** Move a finished temporary directory to `target`; with overwrite the old one is removed only afterwards. */
export async function commitDirectory(tmp: string, target: string, overwrite: boolean): Promise<void> {
  if (await pathExists(target)) {
    if (!overwrite) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw new DataError('output-exists', `refusing to overwrite existing '${target}' (it appeared while writing)`);
    }
    const old = tempPathFor(target) + '.old';
    await fsp.rename(target, old);
    await fsp.rename(tmp, target);
    await fsp.rm(old, { recursive: true, force: true });
    return;
  }
  await fsp.rename(tmp, target);
}

/** Writes a whole dataset through a format's chunk writer (one chunk holding everything), aborting it on failure. */
export async function writeWhole(writer: TimeChunkWriter, dataset: ClimateDataset): Promise<void> {
  try {
    await writer.writeTimeChunk(dataset);
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
