// A Zarr v2 / v3 writer over zarrita's FileSystemStore. Layout follows what xarray writes, so the store
// opens in xarray/zarr-python: one array per coordinate (float64) and data variable (float32), CF
// attributes on each, dimension names in `_ARRAY_DIMENSIONS` (v2) or `dimension_names` (v3), NaN as the
// fill value at masked entries, data chunked along time. The store is built in a temporary directory
// beside the target and renamed into place at commit, so a failed write leaves nothing behind and an
// existing store is never clobbered unless asked. Chunks are uncompressed by default, or gzip-compressed
// (zarrita 0.7 decodes gzip but cannot encode it, so an encoder over node:zlib is registered for it).
import { promises as fsp } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import type { Attrs, ClimateDataset, Variable } from '../types.js';
import { DataError } from '../types.js';
import {
  checkWritable, commitDirectory, coordinateAttrs, dimensionTable, globalAttrs, isMissing, product, sliceTime,
  tempPathFor, variableAttrs,
} from './common.js';
import type { TimeChunkWriter } from './common.js';

export interface ZarrWriteOptions {
  /** Time steps per chunk (default: about 4 MiB per chunk of the largest variable). */
  chunkTime?: number;
  /** Zarr format version. Default 2 (readable by every xarray/zarr-python). */
  version?: 2 | 3;
  /** Replace an existing store at `dir`. Default false: refuse with DataError('output-exists'). */
  overwrite?: boolean;
  /** The command line that produced the data; recorded in the global `history` attribute. */
  history?: string;
  /** Chunk compression: 'none' (default, fastest) or 'gzip' (level 1; standard in Zarr v2 and v3). */
  compression?: 'none' | 'gzip';
}

export interface ZarrStreamOptions extends ZarrWriteOptions {
  /** Total number of time steps that will be written (default: the template's time length). */
  timeLength?: number;
}

const TARGET_CHUNK_BYTES = 4 * 2 ** 20;

interface ArrayLayout {
  name: string;
  kind: 'coord' | 'data';
  dims: string[];
  shape: number[];
  chunks: number[];
  dtype: 'float32' | 'float64';
  attrs: Attrs;
  timeFirst: boolean;
}

/** Write a whole dataset to a Zarr store directory (see ZarrWriteOptions). */
export async function writeZarr(dataset: ClimateDataset, dir: string, options: ZarrWriteOptions = {}): Promise<void> {
  const writer = await createZarrWriter(dataset, dir, options);
  try {
    const { timeDim } = dimensionTable(dataset);
    if (timeDim === null) await writer.writeTimeChunk(dataset);
    else {
      // Write one chunk row at a time so a large in-memory dataset is not copied whole.
      const step = writer.chunkTime;
      if (writer.timeLength === 0) await writer.writeTimeChunk(dataset);
      for (let t = 0; t < writer.timeLength; t += step) {
        await writer.writeTimeChunk(sliceTime(dataset, timeDim, t, Math.min(writer.timeLength, t + step)));
      }
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** Start writing a Zarr store laid out like `template`, with `timeLength` time steps in total. */
export async function createZarrWriter(
  template: ClimateDataset, dir: string, options: ZarrStreamOptions = {},
): Promise<TimeChunkWriter & { readonly chunkTime: number }> {
  const version = options.version ?? 2;
  if (version !== 2 && version !== 3) throw new DataError('bad-option', `unknown Zarr version ${String(version)} (valid: 2, 3)`);
  const overwrite = options.overwrite ?? false;
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new DataError('bad-option', `unknown Zarr compression '${String(compression)}' (valid: none, gzip)`);
  }
  if (compression === 'gzip') registerGzipEncoder();
  const { dims, timeDim } = dimensionTable(template);
  const timeLength = options.timeLength ?? (timeDim === null ? 0 : dims.get(timeDim)!);
  if (timeDim !== null) dims.set(timeDim, timeLength);
  else if (options.timeLength !== undefined) throw new DataError('bad-option', 'timeLength given but the dataset has no time dimension');

  let chunkTime = options.chunkTime ?? 0;
  if (options.chunkTime !== undefined && (!Number.isInteger(chunkTime) || chunkTime < 1)) {
    throw new DataError('bad-option', `chunkTime must be a positive integer, got ${options.chunkTime}`);
  }
  if (chunkTime === 0) {
    let bytesPerStep = 1;
    for (const v of template.variables.values()) {
      if (timeDim !== null && v.dims[0] === timeDim) bytesPerStep = Math.max(bytesPerStep, 4 * product(v.shape.slice(1)));
    }
    chunkTime = Math.max(1, Math.min(Math.max(1, timeLength), Math.floor(TARGET_CHUNK_BYTES / bytesPerStep)));
  }

  const arrays: ArrayLayout[] = [];
  const layout = (name: string, kind: 'coord' | 'data', vdims: string[], dtype: 'float32' | 'float64', attrs: Attrs): void => {
    if (name.length === 0 || name.includes('/') || name.startsWith('.') || name === 'zarr.json') {
      throw new DataError('bad-name', `'${name}' cannot be a Zarr array name (no '/', no leading '.')`);
    }
    const shape = vdims.map((d) => dims.get(d)!);
    const timeFirst = timeDim !== null && vdims[0] === timeDim;
    // The 1-D time coordinate is one chunk; time-first data are chunked along time; the rest whole.
    const chunks = shape.map((n, i) => (timeFirst && i === 0 && kind === 'data' ? chunkTime : Math.max(1, n)));
    arrays.push({ name, kind, dims: vdims, shape, chunks, dtype, attrs, timeFirst });
  };
  for (const c of template.coords.values()) layout(c.name, 'coord', [c.name], 'float64', coordinateAttrs(c));
  for (const v of template.variables.values()) layout(v.name, 'data', v.dims, 'float32', variableAttrs(v));
  const gattrs = globalAttrs(template.attrs, options.history);

  await checkWritable(dir, overwrite);
  const tmp = tempPathFor(dir);
  await fsp.mkdir(tmp);
  const store = new FileSystemStore(tmp);
  const root = zarr.root(store);
  const opened = new Map<string, zarr.Array<zarr.DataType, FileSystemStore>>();
  const v2meta: Record<string, unknown> = {};
  try {
    if (version === 3) {
      await zarr.create(root, { attributes: gattrs });
      for (const a of arrays) {
        opened.set(a.name, await zarr.create(root.resolve(a.name), {
          shape: a.shape, chunkShape: a.chunks, dtype: a.dtype, fillValue: NaN,
          codecs: [
            { name: 'bytes', configuration: { endian: 'little' } },
            ...(compression === 'gzip' ? [{ name: 'gzip', configuration: { level: GZIP_LEVEL } }] : []),
          ],
          dimensionNames: a.dims, attributes: a.attrs,
        }) as zarr.Array<zarr.DataType, FileSystemStore>);
      }
    } else {
      await putJson(store, '.zgroup', { zarr_format: 2 }, v2meta);
      await putJson(store, '.zattrs', gattrs, v2meta);
      for (const a of arrays) {
        await putJson(store, `${a.name}/.zarray`, {
          zarr_format: 2, shape: a.shape, chunks: a.chunks, dtype: a.dtype === 'float32' ? '<f4' : '<f8',
          compressor: compression === 'gzip' ? { id: 'gzip', level: GZIP_LEVEL } : null, fill_value: 'NaN', order: 'C', filters: null, dimension_separator: '.',
        }, v2meta);
        await putJson(store, `${a.name}/.zattrs`, { ...a.attrs, _ARRAY_DIMENSIONS: a.dims }, v2meta);
        opened.set(a.name, await zarr.open.v2(root.resolve(a.name), { kind: 'array' }) as zarr.Array<zarr.DataType, FileSystemStore>);
      }
    }
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }

  let written = 0;
  let staticDone = false;
  let closed = false;
  const writer = {
    timeLength,
    chunkTime,
    get written() { return written; },
    async writeTimeChunk(chunk: ClimateDataset): Promise<void> {
      if (closed) throw new DataError('writer-closed', `Zarr writer for '${dir}' is already closed`);
      let n = 0;
      if (timeDim !== null) {
        const tc = chunk.coords.get(timeDim);
        n = tc !== undefined ? tc.values.length : ([...chunk.variables.values()].find((v) => v.dims[0] === timeDim)?.shape[0] ?? 0);
      }
      if (written + n > timeLength) throw new DataError('bad-shape', `time chunk of ${n} steps after ${written} exceeds the declared ${timeLength}`);
      for (const a of arrays) {
        if (!a.timeFirst && staticDone) continue;
        if (a.timeFirst && n === 0) continue;
        const arr = opened.get(a.name)!;
        let values: Float32Array | Float64Array;
        if (a.kind === 'coord') {
          const c = chunk.coords.get(a.name);
          if (c === undefined) throw new DataError('bad-shape', `time chunk lacks coordinate '${a.name}'`);
          values = c.values;
        } else {
          const v = chunk.variables.get(a.name);
          if (v === undefined) throw new DataError('bad-shape', `time chunk lacks variable '${a.name}'`);
          values = withNaNAtMissing(v);
        }
        const shape = a.timeFirst ? [n, ...a.shape.slice(1)] : a.shape;
        if (values.length !== product(shape)) {
          throw new DataError('bad-shape', `'${a.name}': expected ${product(shape)} values in this chunk, got ${values.length}`);
        }
        if (product(shape) === 0) continue;
        const selection = a.timeFirst ? [zarr.slice(written, written + n), ...a.shape.slice(1).map(() => null)] : null;
        await zarr.set(arr, selection, { data: values, shape, stride: cStrides(shape) } as never);
      }
      staticDone = true;
      written += n;
    },
    async commit(): Promise<void> {
      if (closed) throw new DataError('writer-closed', `Zarr writer for '${dir}' is already closed`);
      if (!staticDone) await writer.writeTimeChunk({ ...template, variables: new Map(), coords: new Map([...template.coords].filter(([k]) => k !== timeDim)) });
      if (written !== timeLength) throw new DataError('bad-shape', `only ${written} of ${timeLength} time steps were written to '${dir}'`);
      if (version === 2) {
        // Consolidated metadata, as xarray writes it, so readers open the store with one request.
        await store.set('/.zmetadata', encodeJson({ metadata: v2meta, zarr_consolidated_format: 1 }));
      }
      closed = true;
      await commitDirectory(tmp, dir, overwrite);
    },
    async abort(): Promise<void> {
      closed = true;
      await fsp.rm(tmp, { recursive: true, force: true });
    },
  };
  return writer;
}

const GZIP_LEVEL = 1;

/** A standard gzip codec (RFC 1952) over node:zlib, for encoding as well as decoding. */
class NodeGzipCodec {
  readonly kind = 'bytes_to_bytes' as const;
  constructor(private readonly level: number) {}
  static fromConfig(config: { level?: number } | undefined): NodeGzipCodec {
    return new NodeGzipCodec(config?.level ?? GZIP_LEVEL);
  }
  encode(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(gzipSync(bytes, { level: this.level }));
  }
  decode(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(gunzipSync(bytes));
  }
}

let gzipRegistered = false;
/** Register the gzip encoder in zarrita's codec registry (v3 'gzip' and v2 'numcodecs.gzip'); same decoding. */
function registerGzipEncoder(): void {
  if (gzipRegistered) return;
  const entry = async () => NodeGzipCodec as never;
  zarr.registry.set('gzip', entry);
  zarr.registry.set('numcodecs.gzip', entry);
  gzipRegistered = true;
}

/** The variable's data with NaN wherever it is masked (a copy only if the mask marks a non-NaN value). */
function withNaNAtMissing(v: Variable): Float32Array {
  if (v.mask === null) return v.data;
  let out: Float32Array | null = null;
  for (let i = 0; i < v.data.length; i++) {
    if (isMissing(v, i) && !Number.isNaN(v.data[i]!)) {
      out ??= Float32Array.from(v.data);
      out[i] = NaN;
    }
  }
  return out ?? v.data;
}

function cStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

/** JSON with NaN/±Infinity spelled as Zarr spells them (plain JSON.stringify would write null). */
function encodeJson(value: unknown): Uint8Array {
  const text = JSON.stringify(value, (_k, x: unknown) => {
    if (typeof x === 'number' && !Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
    return x;
  }, 2);
  return new TextEncoder().encode(text);
}

async function putJson(store: FileSystemStore, key: string, value: unknown, meta: Record<string, unknown>): Promise<void> {
  meta[key] = value;
  await store.set(`/${key}`, encodeJson(value));
}
