// A NetCDF-4 (HDF5) writer through h5wasm, the HDF5 C library compiled to WebAssembly (the same module the
// NetCDF-4 reader uses; in Node it reads and writes the host file system directly, NODERAWFS).
// A netCDF-4 file is an HDF5 file following the netCDF-4 conventions (netCDF-C docs, "NetCDF-4 Format"):
//   - every dimension is an HDF5 dimension scale (CLASS = "DIMENSION_SCALE"). A coordinate variable is the
//     scale of its own dimension (NAME = the variable's name); a dimension without a variable is a
//     placeholder dataset whose NAME is "This is a netCDF dimension but not a netCDF variable." followed by
//     the dimension's length right-aligned in 10 characters (netCDF-C's "%s%10d"); netCDF-C hides it;
//   - every other variable has its axes attached to those scales (DIMENSION_LIST), which is how netCDF-C,
//     and through it xarray, learn the dimension names;
//   - text attributes are fixed-length HDF5 strings (netCDF-C reads them as NC_CHAR, like netCDF-C's own
//     text attributes); _FillValue/missing_value have the variable's own type;
//   - links and attributes are created with creation order tracked, as netCDF-C does, so variables, dimension
//     ids and attributes keep the order they were written in.
// Data variables are float32, chunked, and deflated (gzip). h5wasm 0.10 sets exactly one filter per dataset,
// so there is no byte shuffle before the deflate (it would shrink float32 data a little further). It cannot
// set HDF5's own fill value either; every element is written, so readers only see _FillValue where the
// data are masked. Coordinates are float64 and contiguous.
// The file is built under a temporary name beside the target and renamed into place at commit, so a failed
// write leaves nothing at `path` and an existing file is never clobbered unless asked.
import { promises as fsp } from 'node:fs';
import type { AttrValue, Attrs, ClimateDataset, Variable } from '../types.js';
import { DataError } from '../types.js';
import {
  checkWritable, commitFile, coordinateAttrs, dimensionTable, globalAttrs, hasMissing, isMissing, product,
  tempPathFor, variableAttrs, writeWhole,
} from './common.js';
import type { TimeChunkWriter } from './common.js';
import { NC_FILL_FLOAT } from './netcdf.js';
import { loadH5, throwingErrors, type H5Dataset, type H5File } from '../h5wasm.js';

export interface NetCDF4WriteOptions {
  /** The command line that produced the data; recorded in the global `history` attribute with a timestamp. */
  history?: string;
  /** Replace an existing file at `path` (atomically). Default false: refuse with DataError('output-exists'). */
  overwrite?: boolean;
  /** Deflate (gzip) level of the data variables, an integer 0-9; 0 stores chunks uncompressed. Default 4. */
  deflate?: number;
  /**
   * Chunk length along the named dimensions, e.g. `{ time: 1, member: 1 }` (clamped to each dimension's
   * length). Dimensions not named get the default: the last two dimensions (the grid) whole, then the other
   * dimensions grown from the innermost outwards while a chunk stays within 1 MiB.
   */
  chunks?: Record<string, number>;
}

export interface NetCDF4StreamOptions extends NetCDF4WriteOptions {
  /** Total number of time steps that will be written (default: the template's time length). */
  timeLength?: number;
}

/** Default deflate level, h5py's gzip default: nearly all of level 9's gain on float data, in less time. */
const DEFAULT_DEFLATE = 4;
/** Default chunks grow up to this many bytes; the grid alone is split when it exceeds MAX_CHUNK_BYTES. */
const TARGET_CHUNK_BYTES = 2 ** 20;
const MAX_CHUNK_BYTES = 4 * 2 ** 20;
/** Values handed to the HDF5 library per write call (bounds the copy into WebAssembly memory). */
const WRITE_BLOCK_BYTES = 32 * 2 ** 20;
/** netCDF-C's NAME of a dimension scale that is not a variable (DIM_WITHOUT_VARIABLE), before the length. */
const DIM_WITHOUT_VARIABLE = 'This is a netCDF dimension but not a netCDF variable.';
/** Attributes that CF requires to have the variable's own type. */
const SAME_TYPE_ATTRS = new Set(['_FillValue', 'missing_value', 'valid_min', 'valid_max', 'valid_range', 'actual_range']);


/** The innermost reason on an HDF5 error stack ('... in H5D__create(): unable to ...'). */
function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const reasons = [...text.matchAll(/in [\w.]+\(\): (.*)/g)].map((m) => m[1]!.trim());
  return reasons.length > 0 ? reasons[reasons.length - 1]! : text.split('\n')[0]!.slice(0, 300);
}

/** Run an HDF5 step, reporting a failure as DataError('write-failed') that says what was being done. */
function h5step<T>(path: string, what: string, fn: () => T): T {
  try {
    return throwingErrors(fn);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('write-failed', `${path}: the HDF5 library failed ${what} (${hdf5Reason(e)})`);
  }
}

interface DatasetLayout {
  name: string;
  /** coord: a coordinate variable (float64 scale); data: a data variable (float32); dim: a dimension without variable. */
  kind: 'coord' | 'data' | 'dim';
  dims: string[];
  shape: number[];
  /** HDF5 chunk shape, or null for a contiguous dataset. */
  chunks: number[] | null;
  attrs: Attrs;
  /** Whether the values arrive time chunk by time chunk (time is the first dimension). */
  timeFirst: boolean;
  /** Whether this data variable is also the dimension scale of its own (1-D) dimension. */
  isScale: boolean;
}

/** Write a whole dataset to a NetCDF-4 (HDF5) file (atomically; see NetCDF4WriteOptions). */
export async function writeNetCDF4(dataset: ClimateDataset, path: string, options: NetCDF4WriteOptions = {}): Promise<void> {
  await writeWhole(await createNetCDF4Writer(dataset, path, options), dataset);
}

/**
 * Start writing a NetCDF-4 file whose layout is given by `template` (coordinates, variables, attributes; its
 * time-first arrays may hold just the first chunk) with `timeLength` time steps in total. Static variables
 * (those without time first) are written from the first chunk, like the classic writer.
 */
export async function createNetCDF4Writer(
  template: ClimateDataset, path: string, options: NetCDF4StreamOptions = {},
): Promise<TimeChunkWriter> {
  const overwrite = options.overwrite ?? false;
  const deflate = options.deflate ?? DEFAULT_DEFLATE;
  if (!Number.isInteger(deflate) || deflate < 0 || deflate > 9) {
    throw new DataError('bad-option', `deflate level must be an integer from 0 (no compression) to 9, got ${String(deflate)}`);
  }
  const { dims, timeDim } = dimensionTable(template);
  const chunkLen = timeDim === null ? 0 : dims.get(timeDim)!;
  const timeLength = options.timeLength ?? chunkLen;
  if (timeDim !== null) {
    if (!Number.isInteger(timeLength) || timeLength < 0) throw new DataError('bad-option', `timeLength must be a non-negative integer, got ${timeLength}`);
    dims.set(timeDim, timeLength);
  } else if (options.timeLength !== undefined) {
    throw new DataError('bad-option', 'timeLength given but the dataset has no time dimension');
  }
  const userChunks = checkChunkOption(options.chunks, dims);

  // Layout: the dimension scales first (in dimension order, so netCDF-C numbers the dimensions in that order),
  // then the data variables.
  const layouts: DatasetLayout[] = [];
  for (const [d, n] of dims) {
    checkName(d, 'dimension');
    const c = template.coords.get(d);
    if (c !== undefined) {
      layouts.push({ name: d, kind: 'coord', dims: [d], shape: [n], chunks: null, attrs: coordinateAttrs(c), timeFirst: d === timeDim, isScale: true });
    } else if (!template.variables.has(d)) {
      layouts.push({ name: d, kind: 'dim', dims: [d], shape: [n], chunks: null, attrs: {}, timeFirst: false, isScale: true });
    }
  }
  const anyMissing = new Map<string, boolean>();
  for (const v of template.variables.values()) {
    checkName(v.name, 'variable');
    const isScale = dims.has(v.name);
    if (isScale && !(v.dims.length === 1 && v.dims[0] === v.name)) {
      throw new DataError('bad-name', `variable '${v.name}' has dimensions [${v.dims.join(', ')}] but shares its name with a dimension; in netCDF-4 a variable named like a dimension must be that dimension's 1-D coordinate (rename the variable)`);
    }
    const attrs = variableAttrs(v);
    attrs._FillValue = NC_FILL_FLOAT;
    if (hasMissing(v)) attrs.missing_value = NC_FILL_FLOAT;
    anyMissing.set(v.name, hasMissing(v));
    const shape = v.dims.map((d) => dims.get(d)!);
    const chunks = product(shape) === 0 || shape.length === 0 ? null : chunkShape(v.dims, shape, userChunks);
    layouts.push({ name: v.name, kind: 'data', dims: v.dims, shape, chunks, attrs, timeFirst: timeDim !== null && v.dims[0] === timeDim, isScale });
  }
  const gattrs = globalAttrs(template.attrs, options.history);

  await checkWritable(path, overwrite);
  const h = await loadH5();
  const tmp = tempPathFor(path);
  let file: H5File | null = null;
  const closeQuietly = (): void => {
    if (file !== null) { const f = file; file = null; try { throwingErrors(() => f.close()); } catch { /* already failing */ } }
  };
  const datasets = new Map<string, H5Dataset>();
  try {
    const f = h5step(path, 'to create the temporary file', () => new h.File(tmp, 'x', { track_order: true }));
    file = f;
    h5step(path, 'to write the global attributes', () => writeAttrs(f, gattrs, null));
    for (const l of layouts) {
      const ds = h5step(path, `to create '${l.name}'`, () => createDataset(f, l, template, deflate));
      datasets.set(l.name, ds);
      h5step(path, `to write the attributes of '${l.name}'`, () => writeAttrs(ds, l.attrs, l.kind === 'data' ? '<f' : '<d'));
      if (l.isScale) {
        const scaleName = l.kind === 'dim' ? `${DIM_WITHOUT_VARIABLE}${String(l.shape[0]).padStart(10)}` : l.name;
        h5step(path, `to make '${l.name}' a dimension scale`, () => ds.make_scale(scaleName));
      }
    }
    for (const l of layouts) {
      if (l.isScale) continue;
      const ds = datasets.get(l.name)!;
      l.dims.forEach((d, i) => h5step(path, `to attach dimension '${d}' to '${l.name}'`, () => ds.attach_scale(i, `/${d}`)));
    }
  } catch (e) {
    closeQuietly();
    await fsp.rm(tmp, { force: true });
    throw e;
  }

  let written = 0;
  let staticDone = false;
  const writer: TimeChunkWriter = {
    timeLength,
    get written() { return written; },
    async writeTimeChunk(chunk: ClimateDataset): Promise<void> {
      if (file === null) throw new DataError('writer-closed', `NetCDF-4 writer for '${path}' is already closed`);
      const n = timeDim === null ? 0 : chunkTimeLength(chunk, timeDim);
      if (timeDim !== null && written + n > timeLength) {
        throw new DataError('bad-shape', `time chunk of ${n} steps after ${written} exceeds the declared ${timeLength}`);
      }
      for (const l of layouts) {
        if (l.kind === 'dim' || (!l.timeFirst && staticDone)) continue;
        // Contiguous coordinates other than time were written whole when created.
        if (l.kind === 'coord' && !l.timeFirst) continue;
        const src = l.kind === 'data' ? chunk.variables.get(l.name) : undefined;
        const values = l.kind === 'coord' ? chunk.coords.get(l.name)?.values : src?.data;
        if (values === undefined) throw new DataError('bad-shape', `time chunk lacks '${l.name}'`);
        const step = product(l.shape.slice(1));
        const rows = l.timeFirst ? n : (l.shape[0] ?? 1);
        const expected = l.shape.length === 0 ? 1 : rows * step;
        if (values.length !== expected) {
          throw new DataError('bad-shape', `'${l.name}': expected ${expected} values in this chunk, got ${values.length}`);
        }
        if (expected === 0) continue;
        const ds = datasets.get(l.name)!;
        const start = l.timeFirst ? written : 0;
        if (l.kind === 'coord') {
          h5step(path, `writing '${l.name}'`, () => ds.write_slice([[start, start + rows]], values));
          continue;
        }
        if (l.chunks === null) continue; // scalars were written when created
        const missing = src !== undefined && (anyMissing.get(l.name) === true || hasMissing(src)) ? src : null;
        // Whole rows of chunks per call, so compressed chunks are not read back and rewritten.
        const chunkRows = l.chunks[0]!;
        const perBlock = Math.max(chunkRows, Math.floor(WRITE_BLOCK_BYTES / Math.max(1, step * 4) / chunkRows) * chunkRows);
        for (let r = 0; r < rows; r += perBlock) {
          const r1 = Math.min(rows, r + perBlock);
          const block = encodeFloats(values, r * step, (r1 - r) * step, missing);
          h5step(path, `writing '${l.name}'`, () => ds.write_slice([[start + r, start + r1]], block));
        }
      }
      staticDone = true;
      written += n;
    },
    async commit(): Promise<void> {
      if (file === null) throw new DataError('writer-closed', `NetCDF-4 writer for '${path}' is already closed`);
      if (!staticDone) await writer.writeTimeChunk(sliceNothing(template, timeDim));
      if (written !== timeLength) {
        throw new DataError('bad-shape', `only ${written} of ${timeLength} time steps were written to '${path}'`);
      }
      const f = file;
      file = null;
      h5step(path, 'to finish the file', () => f.close());
      await commitFile(tmp, path, overwrite);
    },
    async abort(): Promise<void> {
      closeQuietly();
      await fsp.rm(tmp, { force: true });
    },
  };
  return writer;
}

/** Create one HDF5 dataset. Chunked data variables start empty and are filled by writeTimeChunk. */
function createDataset(f: H5File, l: DatasetLayout, template: ClimateDataset, deflate: number): H5Dataset {
  if (l.kind === 'dim') {
    // netCDF-C writes nothing into these; h5wasm needs data, so zeros (tiny: one value per index).
    return f.create_dataset({ name: l.name, data: new Float32Array(l.shape[0]!), shape: l.shape, dtype: '<f', track_order: true });
  }
  if (l.kind === 'coord') {
    const values = l.timeFirst ? new Float64Array(l.shape[0]!) : template.coords.get(l.name)!.values;
    return f.create_dataset({ name: l.name, data: values, shape: l.shape, dtype: '<d', track_order: true });
  }
  if (l.chunks === null) {
    // A scalar (written here, from the template) or an empty variable: contiguous, nothing to compress.
    const v = template.variables.get(l.name)!;
    const data = l.shape.length === 0 ? encodeFloats(v.data, 0, 1, hasMissing(v) ? v : null) : new Float32Array(0);
    return f.create_dataset({ name: l.name, data, shape: l.shape, dtype: '<f', track_order: true });
  }
  // Created with no rows (HDF5 allocates chunks only when written) and then extended to its full, fixed
  // shape, so the data never has to be passed whole to the library.
  const ds = f.create_dataset({
    name: l.name, data: new Float32Array(0), shape: [0, ...l.shape.slice(1)], maxshape: l.shape, dtype: '<f',
    chunks: l.chunks, ...(deflate > 0 ? { compression: 'gzip' as const, compression_opts: deflate } : {}), track_order: true,
  });
  ds.resize(l.shape);
  return ds;
}

/**
 * The chunk shape of a variable: the user's lengths for named dimensions; otherwise the last two dimensions
 * whole (split while above MAX_CHUNK_BYTES), then the other dimensions grown from the innermost outwards
 * while the chunk stays within TARGET_CHUNK_BYTES.
 */
function chunkShape(dimNames: string[], shape: number[], user: Map<string, number>): number[] {
  const rank = shape.length;
  const fixed = dimNames.map((d) => user.has(d));
  const chunks = shape.map((n, i) => {
    const u = user.get(dimNames[i]!);
    if (u !== undefined) return Math.min(u, n);
    return i >= rank - 2 ? n : 1;
  });
  const bytes = (): number => product(chunks) * 4;
  while (bytes() > MAX_CHUNK_BYTES) {
    let k = -1;
    for (let i = 0; i < rank; i++) if (!fixed[i] && chunks[i]! > 1 && (k < 0 || chunks[i]! > chunks[k]!)) k = i;
    if (k < 0) break;
    chunks[k] = Math.ceil(chunks[k]! / 2);
  }
  for (let i = rank - 3; i >= 0; i--) {
    if (fixed[i]) continue;
    const per = bytes() / chunks[i]!;
    chunks[i] = Math.max(1, Math.min(shape[i]!, Math.floor(TARGET_CHUNK_BYTES / per)));
    if (chunks[i]! < shape[i]!) break;
  }
  return chunks;
}

function checkChunkOption(chunks: Record<string, number> | undefined, dims: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  if (chunks === undefined) return out;
  for (const [d, n] of Object.entries(chunks)) {
    if (!dims.has(d)) {
      throw new DataError('bad-option', `chunks: the dataset has no dimension '${d}' (its dimensions: ${[...dims.keys()].join(', ') || 'none'})`);
    }
    if (!Number.isInteger(n) || n < 1) throw new DataError('bad-option', `chunks: the chunk length of '${d}' must be a positive integer, got ${String(n)}`);
    out.set(d, n);
  }
  return out;
}

/** float32 values [from, from + count) with NC_FILL_FLOAT at missing entries (NaN or masked). */
function encodeFloats(values: ArrayLike<number>, from: number, count: number, missing: Variable | null): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = missing !== null && isMissing(missing, from + i) ? NC_FILL_FLOAT : values[from + i]!;
  return out;
}

/**
 * Write attributes the way netCDF-C does: text as a fixed-length string (UTF-8 only when it is not ASCII),
 * integers as int32, other numbers as float64, and the CF attributes tied to the variable's type in that type.
 */
function writeAttrs(obj: { create_attribute: H5Dataset['create_attribute'] }, attrs: Attrs, varDtype: '<f' | '<d' | null): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    checkName(key, 'attribute');
    writeAttr(obj, key, value, varDtype);
  }
}

function writeAttr(obj: { create_attribute: H5Dataset['create_attribute'] }, key: string, value: AttrValue, varDtype: '<f' | '<d' | null): void {
  if (typeof value === 'string') {
    // HDF5 strings cannot be 0 bytes long; netCDF-C reads a single NUL as the empty text.
    const bytes = Buffer.byteLength(value, 'utf8');
    const ascii = /^[\x00-\x7f]*$/.test(value);
    obj.create_attribute(key, value, null, `${ascii ? 'A' : 'S'}${Math.max(1, bytes)}`);
    return;
  }
  const xs = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'number')) {
    throw new DataError('bad-attribute', `attribute '${key}' must be a string, a number or an array of numbers`);
  }
  let dtype: string;
  if (varDtype !== null && SAME_TYPE_ATTRS.has(key)) dtype = varDtype;
  else if (xs.length > 0 && xs.every((x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31)) dtype = '<i';
  else dtype = '<d';
  const data = dtype === '<i' ? Int32Array.from(xs) : dtype === '<f' ? Float32Array.from(xs) : Float64Array.from(xs);
  obj.create_attribute(key, data, typeof value === 'number' ? [] : [xs.length], dtype);
}

function chunkTimeLength(chunk: ClimateDataset, timeDim: string): number {
  const c = chunk.coords.get(timeDim);
  if (c !== undefined) return c.values.length;
  for (const v of chunk.variables.values()) if (v.dims[0] === timeDim) return v.shape[0]!;
  return 0;
}

/** The template with zero time steps, to write the static variables of a dataset written in no chunks. */
function sliceNothing(ds: ClimateDataset, timeDim: string | null): ClimateDataset {
  if (timeDim === null) return ds;
  const coords = new Map(ds.coords);
  const t = coords.get(timeDim);
  if (t !== undefined) coords.set(timeDim, { ...t, values: t.values.subarray(0, 0) });
  const variables = new Map(ds.variables);
  for (const [k, v] of variables) {
    if (v.dims[0] === timeDim) variables.set(k, { ...v, shape: [0, ...v.shape.slice(1)], data: v.data.subarray(0, 0), mask: null });
  }
  return { coords, variables, attrs: ds.attrs };
}

/**
 * Names netCDF-C accepts and HDF5 can store as a link: first character alphanumeric, '_' or multibyte
 * UTF-8; no '/' or control characters; no trailing space.
 */
function checkName(name: string, what: string): void {
  const ok = /^[\p{L}\p{N}_][^\x00-\x1f/\x7f]*$/u.test(name) && !name.endsWith(' ');
  if (!ok) throw new DataError('bad-name', `${what} name '${name}' is not a valid NetCDF name (start with a letter, digit or '_'; no '/')`);
}
