// Conversion between file formats (NetCDF in, NetCDF or Zarr out), time chunk by time chunk: a source
// yields consecutive time slices and the writers append them, so the output is never held whole.
import * as path from 'node:path';
import type { ClimateDataset } from '../types.js';
import { DataError } from '../types.js';
import { dimensionTable, product, sliceTime } from './common.js';
import type { TimeChunkWriter } from './common.js';
import { createNetCDFWriter, type NetCDFFormat } from './netcdf.js';
import { createNetCDF4Writer } from './netcdf4.js';
import { createZarrWriter } from './zarr.js';
import { dataVariableNames, openSource, readCoordinates, readVariable } from '../readers/open.js';
import type { Coordinate, Variable } from '../types.js';

/** A dataset that can be read in consecutive time slices. */
export interface TimeChunkedSource {
  /** The time dimension, or null when the data have none (then one chunk holds everything). */
  timeDim: string | null;
  timeLength: number;
  /** Bytes of float32 data per time step over all variables (to size chunks). */
  bytesPerStep: number;
  /** Steps [t0, t1): the time coordinate slice, time-first variables sliced, other variables whole. */
  read(t0: number, t1: number): Promise<ClimateDataset>;
  close(): void;
}

/** A source over a dataset already in memory (for readers that cannot select time ranges). */
export function inMemorySource(ds: ClimateDataset): TimeChunkedSource {
  const { dims, timeDim } = dimensionTable(ds);
  let bytes = 0;
  for (const v of ds.variables.values()) if (timeDim !== null && v.dims[0] === timeDim) bytes += 4 * product(v.shape.slice(1));
  return {
    timeDim,
    timeLength: timeDim === null ? 0 : dims.get(timeDim)!,
    bytesPerStep: Math.max(bytes, 1),
    read: async (t0, t1) => (timeDim === null ? ds : sliceTime(ds, timeDim, t0, t1)),
    close: () => undefined,
  };
}

/**
 * Open a NetCDF/Zarr file for reading in time slices through the readers' hyperslab reads (CF-decoded,
 * grid order kept as stored). Zarr and NetCDF-4 read only the requested steps; NetCDF classic input is
 * parsed by netcdfjs, which holds the file's bytes in memory (the decoded floats still come per chunk).
 */
export async function openTimeChunked(file: string, variables?: string[]): Promise<TimeChunkedSource> {
  const src = await openSource(file);
  try {
    const { coords, renames } = await readCoordinates(src);
    const names = variables !== undefined && variables.length > 0 ? variables : dataVariableNames(src);
    for (const n of names) {
      if (!src.variables.has(n) || coords.has(n)) {
        const avail = dataVariableNames(src);
        throw new DataError('unknown-variable', `${file}: unknown variable '${n}'; the data variables are: ${avail.join(', ') || 'none'}`);
      }
    }
    if (names.length === 0) throw new DataError('no-variables', `${file}: no numeric data variables to convert`);
    const dimOf = (d: string): string => renames.get(d) ?? d;
    let timeDim: string | null = null;
    for (const c of coords.values()) if (c.axis === 'T') timeDim = c.name;
    const used = new Set(names.flatMap((n) => src.variables.get(n)!.dims.map(dimOf)));
    if (timeDim !== null && !used.has(timeDim)) timeDim = null;
    let bytes = 0;
    for (const n of names) {
      const raw = src.variables.get(n)!;
      if (timeDim !== null && dimOf(raw.dims[0] ?? '') === timeDim) bytes += 4 * product(raw.shape.slice(1));
    }
    const timeLength = timeDim === null ? 0 : coords.get(timeDim)!.values.length;
    return {
      timeDim,
      timeLength,
      bytesPerStep: Math.max(1, bytes),
      async read(t0: number, t1: number): Promise<ClimateDataset> {
        const vars = new Map<string, Variable>();
        for (const n of names) {
          const raw = src.variables.get(n)!;
          const ranges = raw.dims.map((d, i): [number, number] =>
            (i === 0 && timeDim !== null && dimOf(d) === timeDim ? [t0, t1] : [0, raw.shape[i]!]));
          vars.set(n, await readVariable(src, n, ranges, renames));
        }
        const cs = new Map<string, Coordinate>();
        for (const [k, c] of coords) {
          if (!used.has(k)) continue;
          cs.set(k, k === timeDim ? { ...c, values: c.values.subarray(t0, t1) } : c);
        }
        return { variables: vars, coords: cs, attrs: { ...src.attrs } };
      },
      close: () => src.close(),
    };
  } catch (e) {
    src.close();
    throw e;
  }
}

/** 'netcdf': NetCDF classic / 64-bit offset; 'netcdf4': NetCDF-4 (HDF5); 'zarr': Zarr v2/v3. */
export type OutputKind = 'netcdf' | 'netcdf4' | 'zarr';

/** The output format named by a path's extension: .nc/.nc3/.cdf → NetCDF classic/64-bit offset, .nc4 → NetCDF-4, .zarr → Zarr. */
export function outputKindOf(file: string): OutputKind {
  const ext = path.extname(file.replace(/[/\\]+$/, '')).toLowerCase();
  if (ext === '.nc' || ext === '.nc3' || ext === '.cdf') return 'netcdf';
  if (ext === '.nc4') return 'netcdf4';
  if (ext === '.zarr') return 'zarr';
  throw new DataError('bad-output', `cannot tell the output format of '${file}': use a name ending in .nc (NetCDF classic/64-bit offset), .nc4 (NetCDF-4) or .zarr (Zarr)`);
}

export interface ConvertOptions {
  /** Time steps per chunk read and written (and the Zarr chunk length); default about 4 MiB per chunk. */
  chunkTime?: number;
  /** Command line for the history attribute. */
  history?: string;
  netcdfFormat?: NetCDFFormat;
  /** Deflate level 0-9 of NetCDF-4 (.nc4) output (default 4). */
  deflate?: number;
  zarrVersion?: 2 | 3;
  zarrCompression?: 'none' | 'gzip';
  /** Called after each chunk with steps done and total. */
  onProgress?: (done: number, total: number) => void;
}

const TARGET_CHUNK_BYTES = 4 * 2 ** 20;

/** Copy `source` to `output` (format from its extension), one time chunk at a time. Never clobbers. */
export async function convertSource(source: TimeChunkedSource, output: string, options: ConvertOptions = {}): Promise<void> {
  const kind = outputKindOf(output);
  if (options.chunkTime !== undefined && (!Number.isInteger(options.chunkTime) || options.chunkTime < 1)) {
    throw new DataError('bad-option', `--chunk-time must be a positive integer, got ${options.chunkTime}`);
  }
  const T = source.timeLength;
  const step = options.chunkTime ?? Math.max(1, Math.floor(TARGET_CHUNK_BYTES / source.bytesPerStep));
  const first = await source.read(0, Math.min(T, step));
  const common = { history: options.history, timeLength: source.timeDim === null ? undefined : T };
  const writer: TimeChunkWriter = kind === 'netcdf'
    ? await createNetCDFWriter(first, output, { ...common, format: options.netcdfFormat })
    : kind === 'netcdf4'
      ? await createNetCDF4Writer(first, output, { ...common, deflate: options.deflate })
      : await createZarrWriter(first, output, { ...common, chunkTime: step, version: options.zarrVersion, compression: options.zarrCompression });
  try {
    if (source.timeDim === null || T === 0) {
      await writer.writeTimeChunk(first);
    } else {
      for (let t = 0; t < T; t += step) {
        const chunk = t === 0 ? first : await source.read(t, Math.min(T, t + step));
        await writer.writeTimeChunk(chunk);
        options.onProgress?.(Math.min(T, t + step), T);
      }
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
