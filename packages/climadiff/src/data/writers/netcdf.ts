// A writer for the NetCDF classic (CDF-1) and 64-bit offset (CDF-2) formats, implemented from Unidata's
// "NetCDF Classic Format Specification" (netCDF-C docs, file_format_specifications.md). No JS library
// writes NetCDF; the format is small and fully specified:
//   header = 'CDF' VERSION numrecs dim_list gatt_list var_list; all integers big-endian, every name and
//   attribute value padded to 4 bytes; each var = name, dimids, attributes, nc_type, vsize, begin
//   (begin is 32-bit in CDF-1 and 64-bit in CDF-2). Data: the non-record variables contiguously in
//   header order, then the records, each holding one slab of every record variable in header order.
// Data variables are stored as NC_FLOAT with CF _FillValue/missing_value at masked entries; coordinates
// as NC_DOUBLE. The time dimension is the record (unlimited) dimension when every variable using it has
// it first, so time chunks can be appended one after another (streaming conversion).
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { AttrValue, Attrs, ClimateDataset } from '../types.js';
import { DataError } from '../types.js';
import {
  checkWritable, commitFile, coordinateAttrs, dimensionTable, globalAttrs, hasMissing, isMissing, product,
  tempPathFor, variableAttrs, writeWhole,
} from './common.js';
import type { TimeChunkWriter } from './common.js';

export type { TimeChunkWriter } from './common.js';

export type NetCDFFormat = 'classic' | '64bit-offset';

export interface NetCDFWriteOptions {
  /** The command line that produced the data; recorded in the global `history` attribute with a timestamp. */
  history?: string;
  /** 'classic' (CDF-1, offsets < 2 GiB) or '64bit-offset' (CDF-2). Default '64bit-offset'. */
  format?: NetCDFFormat;
  /** Replace an existing file at `path` (atomically). Default false: refuse with DataError('output-exists'). */
  overwrite?: boolean;
  /** Make the time dimension the record (unlimited) dimension when possible. Default true. */
  unlimitedTime?: boolean;
}

export interface NetCDFStreamOptions extends NetCDFWriteOptions {
  /** Total number of time steps that will be written (default: the template's time length). */
  timeLength?: number;
}

// nc_type codes and tags from the specification.
const NC_CHAR = 2;
const NC_INT = 4;
const NC_FLOAT = 5;
const NC_DOUBLE = 6;
const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;
/** The default NetCDF float fill value (FILL_FLOAT = 0x7CF00000), exactly representable in float32. */
export const NC_FILL_FLOAT = 9.969209968386869e36;
const TYPE_SIZE: Record<number, number> = { [NC_CHAR]: 1, [NC_INT]: 4, [NC_FLOAT]: 4, [NC_DOUBLE]: 8 };
/** Attributes that CF requires to have the variable's own type. */
const SAME_TYPE_ATTRS = new Set(['_FillValue', 'missing_value', 'valid_min', 'valid_max', 'valid_range', 'actual_range']);
const MAX_VSIZE = 2 ** 32 - 4;

interface VarLayout {
  name: string;
  kind: 'coord' | 'data';
  dimNames: string[];
  shape: number[]; // full shape (record dimension at its final length)
  type: number;
  attrs: Attrs;
  isRecord: boolean;
  /** Whether the variable is written chunk by chunk along time (time is its first dimension). */
  timeFirst: boolean;
  vsize: number;
  begin: number;
}

/** Write a whole dataset to a NetCDF classic / 64-bit offset file (atomically; see NetCDFWriteOptions). */
export async function writeNetCDF(dataset: ClimateDataset, path: string, options: NetCDFWriteOptions = {}): Promise<void> {
  await writeWhole(await createNetCDFWriter(dataset, path, options), dataset);
}

/**
 * Start writing a NetCDF file whose layout is given by `template` (coordinates, variables, attributes;
 * its time-first arrays may hold just the first chunk) with `timeLength` steps in total.
 */
export async function createNetCDFWriter(
  template: ClimateDataset, path: string, options: NetCDFStreamOptions = {},
): Promise<TimeChunkWriter> {
  const overwrite = options.overwrite ?? false;
  const format = options.format ?? '64bit-offset';
  if (format !== 'classic' && format !== '64bit-offset') {
    throw new DataError('bad-option', `unknown NetCDF format '${String(format)}' (valid: classic, 64bit-offset)`);
  }
  const { dims, timeDim } = dimensionTable(template);
  const chunkLen = timeDim === null ? 0 : dims.get(timeDim)!;
  const timeLength = options.timeLength ?? chunkLen;
  if (timeDim !== null) dims.set(timeDim, timeLength);
  else if (options.timeLength !== undefined) {
    throw new DataError('bad-option', 'timeLength given but the dataset has no time dimension');
  }

  // The record dimension: time, if every variable that uses it has it first.
  let recordDim: string | null = null;
  if (timeDim !== null && (options.unlimitedTime ?? true)) {
    const ok = [...template.variables.values()].every((v) => !v.dims.includes(timeDim) || v.dims[0] === timeDim);
    if (ok) recordDim = timeDim;
  }

  const vars: VarLayout[] = [];
  const anyMissing = new Map<string, boolean>();
  for (const c of template.coords.values()) {
    vars.push(layoutOf(c.name, 'coord', [c.name], NC_DOUBLE, coordinateAttrs(c), dims, recordDim, timeDim));
  }
  for (const v of template.variables.values()) {
    const attrs = variableAttrs(v);
    attrs._FillValue = NC_FILL_FLOAT;
    // missing_value too, for older tools that only know that name (CF allows both, equal).
    if (hasMissing(v)) attrs.missing_value = NC_FILL_FLOAT;
    anyMissing.set(v.name, hasMissing(v));
    vars.push(layoutOf(v.name, 'data', v.dims, NC_FLOAT, attrs, dims, recordDim, timeDim));
  }
  const gattrs = globalAttrs(template.attrs, options.history);

  // Offsets: the header length does not depend on the begin values, so size it first.
  const headerLength = encodeHeader(format, 0, dims, recordDim, gattrs, vars).length;
  let offset = headerLength;
  for (const v of vars) if (!v.isRecord) { v.begin = offset; offset += v.vsize; }
  let recordSize = 0;
  for (const v of vars) if (v.isRecord) { v.begin = offset + recordSize; recordSize += v.vsize; }
  const recordVars = vars.filter((v) => v.isRecord);
  const numrecs = recordDim === null ? 0 : timeLength;
  const fileSize = offset + recordSize * numrecs;
  if (format === 'classic') {
    const lastBegin = Math.max(0, ...vars.map((v) => v.begin));
    if (lastBegin > 2 ** 31 - 1) {
      throw new DataError('too-large', `${(fileSize / 2 ** 30).toFixed(1)} GiB is too large for NetCDF classic (offsets < 2 GiB); use format '64bit-offset' or Zarr`);
    }
  }
  for (const v of vars) {
    const bytes = product(v.isRecord ? v.shape.slice(1) : v.shape) * TYPE_SIZE[v.type]!;
    if (bytes > MAX_VSIZE) {
      throw new DataError('too-large', `variable '${v.name}' needs ${bytes} bytes${v.isRecord ? ' per record' : ''}, more than NetCDF classic/64-bit offset allow (4 GiB); write Zarr instead`);
    }
  }
  // Records of a single record variable are not padded (spec, "Note on padding"); ours are 4-byte types anyway.

  await checkWritable(path, overwrite);
  const tmp = tempPathFor(path);
  let fh: FileHandle | null = await fsp.open(tmp, 'wx');
  let written = 0;
  let staticDone = false;
  const closeQuietly = async (): Promise<void> => {
    if (fh !== null) { const h = fh; fh = null; await h.close().catch(() => undefined); }
  };
  try {
    await fh.write(encodeHeader(format, numrecs, dims, recordDim, gattrs, vars), 0, headerLength, 0);
  } catch (e) {
    await closeQuietly();
    await fsp.rm(tmp, { force: true });
    throw e;
  }

  const writer: TimeChunkWriter = {
    timeLength,
    get written() { return written; },
    async writeTimeChunk(chunk: ClimateDataset): Promise<void> {
      if (fh === null) throw new DataError('writer-closed', `NetCDF writer for '${path}' is already closed`);
      const n = timeDim === null ? 0 : chunkTimeLength(chunk, timeDim);
      if (timeDim !== null && written + n > timeLength) {
        throw new DataError('bad-shape', `time chunk of ${n} steps after ${written} exceeds the declared ${timeLength}`);
      }
      for (const v of vars) {
        const isChunked = v.timeFirst;
        if (!isChunked && staticDone) continue;
        const values = v.kind === 'coord' ? chunk.coords.get(v.name)?.values : chunk.variables.get(v.name)?.data;
        if (values === undefined) throw new DataError('bad-shape', `time chunk lacks '${v.name}'`);
        const src = v.kind === 'data' ? chunk.variables.get(v.name)! : null;
        const step = product(v.shape.slice(1));
        const expected = isChunked ? n * step : product(v.shape);
        if (values.length !== expected) {
          throw new DataError('bad-shape', `'${v.name}': expected ${expected} values in this chunk, got ${values.length}`);
        }
        const missing = src !== null && (anyMissing.get(v.name) || hasMissing(src));
        const encode = (from: number, count: number): Buffer => v.type === NC_DOUBLE
          ? encodeDoubles(values as Float64Array, from, count)
          : encodeFloats(values, from, count, missing && src !== null ? (i) => isMissing(src, i) : null);
        if (isChunked && v.isRecord) {
          for (let r = 0; r < n; r++) await writeBlocks(fh, encode, r * step, step, v.begin + (written + r) * recordSize, TYPE_SIZE[v.type]!);
        } else {
          const start = isChunked ? written * step : 0;
          await writeBlocks(fh, encode, 0, expected, v.begin + start * TYPE_SIZE[v.type]!, TYPE_SIZE[v.type]!);
        }
      }
      staticDone = true;
      written += n;
    },
    async commit(): Promise<void> {
      if (fh === null) throw new DataError('writer-closed', `NetCDF writer for '${path}' is already closed`);
      if (!staticDone) await writer.writeTimeChunk(sliceNothing(template, timeDim));
      if (written !== timeLength) {
        throw new DataError('bad-shape', `only ${written} of ${timeLength} time steps were written to '${path}'`);
      }
      await fh.sync();
      await closeQuietly();
      await commitFile(tmp, path, overwrite);
    },
    async abort(): Promise<void> {
      await closeQuietly();
      await fsp.rm(tmp, { force: true });
    },
  };
  return writer;
}

function layoutOf(
  name: string, kind: 'coord' | 'data', dimNames: string[], type: number, attrs: Attrs,
  dims: Map<string, number>, recordDim: string | null, timeDim: string | null,
): VarLayout {
  checkName(name, 'variable');
  const shape = dimNames.map((d) => dims.get(d)!);
  const isRecord = recordDim !== null && dimNames[0] === recordDim;
  const n = product(isRecord ? shape.slice(1) : shape);
  const vsizeExact = roundUp4(n * TYPE_SIZE[type]!);
  return {
    name, kind, dimNames, shape, type, attrs, isRecord,
    timeFirst: timeDim !== null && dimNames[0] === timeDim,
    vsize: vsizeExact > MAX_VSIZE ? 2 ** 32 - 1 : vsizeExact, begin: 0,
  };
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

const BLOCK = 1 << 18; // values per write call

async function writeBlocks(
  fh: FileHandle, encode: (from: number, count: number) => Buffer, from: number, count: number, position: number, size: number,
): Promise<void> {
  for (let i = 0; i < count; i += BLOCK) {
    const m = Math.min(BLOCK, count - i);
    const buf = encode(from + i, m);
    await fh.write(buf, 0, buf.length, position + i * size);
  }
}

function encodeFloats(values: ArrayLike<number>, from: number, count: number, missing: ((i: number) => boolean) | null): Buffer {
  const buf = Buffer.allocUnsafe(count * 4);
  for (let i = 0; i < count; i++) {
    const x = values[from + i]!;
    buf.writeFloatBE(missing !== null && missing(from + i) ? NC_FILL_FLOAT : x, i * 4);
  }
  return buf;
}

function encodeDoubles(values: Float64Array, from: number, count: number): Buffer {
  const buf = Buffer.allocUnsafe(count * 8);
  for (let i = 0; i < count; i++) buf.writeDoubleBE(values[from + i]!, i * 8);
  return buf;
}

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** Names: first character alphanumeric, '_' or multibyte UTF-8; no '/', control characters, or trailing space. */
function checkName(name: string, what: string): void {
  const ok = /^[\p{L}\p{N}_][^\x00-\x1f/\x7f]*$/u.test(name) && !name.endsWith(' ');
  if (!ok) throw new DataError('bad-name', `${what} name '${name}' is not a valid NetCDF name (start with a letter, digit or '_'; no '/')`);
}

/** Big-endian byte builder for the header. */
class HeaderBytes {
  private parts: Buffer[] = [];
  int(n: number): void { const b = Buffer.alloc(4); b.writeInt32BE(n); this.parts.push(b); }
  uint(n: number): void { const b = Buffer.alloc(4); b.writeUInt32BE(n); this.parts.push(b); }
  offset(n: number, format: NetCDFFormat): void {
    if (format === 'classic') { this.int(n); return; }
    const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n)); this.parts.push(b);
  }
  bytes(b: Buffer): void { this.parts.push(b); const pad = roundUp4(b.length) - b.length; if (pad > 0) this.parts.push(Buffer.alloc(pad)); }
  name(s: string): void { const b = Buffer.from(s.normalize('NFC'), 'utf8'); this.int(b.length); this.bytes(b); }
  get length(): number { return this.parts.reduce((a, p) => a + p.length, 0); }
  toBuffer(): Buffer { return Buffer.concat(this.parts); }
}

function encodeHeader(
  format: NetCDFFormat, numrecs: number, dims: Map<string, number>, recordDim: string | null, gattrs: Attrs, vars: VarLayout[],
): Buffer {
  const h = new HeaderBytes();
  h.bytes(Buffer.from([0x43, 0x44, 0x46, format === 'classic' ? 1 : 2]));
  h.int(numrecs);
  const dimIds = new Map<string, number>();
  if (dims.size === 0) { h.int(0); h.int(0); } else {
    h.int(NC_DIMENSION); h.int(dims.size);
    for (const [d, n] of dims) {
      checkName(d, 'dimension');
      dimIds.set(d, dimIds.size);
      h.name(d);
      h.int(d === recordDim ? 0 : n);
    }
  }
  encodeAttrs(h, gattrs, null);
  if (vars.length === 0) { h.int(0); h.int(0); } else {
    h.int(NC_VARIABLE); h.int(vars.length);
    for (const v of vars) {
      h.name(v.name);
      h.int(v.dimNames.length);
      for (const d of v.dimNames) h.int(dimIds.get(d)!);
      encodeAttrs(h, v.attrs, v.type);
      h.int(v.type);
      h.uint(v.vsize);
      h.offset(v.begin, format);
    }
  }
  return h.toBuffer();
}

function encodeAttrs(h: HeaderBytes, attrs: Attrs, varType: number | null): void {
  const entries = Object.entries(attrs).filter(([, v]) => v !== undefined);
  if (entries.length === 0) { h.int(0); h.int(0); return; }
  h.int(NC_ATTRIBUTE); h.int(entries.length);
  for (const [k, value] of entries) {
    checkName(k, 'attribute');
    h.name(k);
    encodeAttrValue(h, k, value, varType);
  }
}

function encodeAttrValue(h: HeaderBytes, key: string, value: AttrValue, varType: number | null): void {
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    h.int(NC_CHAR); h.int(b.length); h.bytes(b);
    return;
  }
  const xs = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'number')) {
    throw new DataError('bad-attribute', `attribute '${key}' must be a string, a number or an array of numbers`);
  }
  let type: number;
  if (varType !== null && SAME_TYPE_ATTRS.has(key)) type = varType;
  else if (xs.length > 0 && xs.every((x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31)) type = NC_INT;
  else type = NC_DOUBLE;
  const b = Buffer.alloc(xs.length * TYPE_SIZE[type]!);
  xs.forEach((x, i) => {
    if (type === NC_INT) b.writeInt32BE(x, i * 4);
    else if (type === NC_FLOAT) b.writeFloatBE(x, i * 4);
    else b.writeDoubleBE(x, i * 8);
  });
  h.int(type); h.int(xs.length); h.bytes(b);
}
