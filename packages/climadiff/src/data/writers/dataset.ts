// One entry point for writing a dataset in any of the output formats: NetCDF classic/64-bit offset
// ('netcdf3'), NetCDF-4/HDF5 ('netcdf4') or Zarr ('zarr'), chosen by an explicit format or by the
// path's extension. `.nc` stays NetCDF classic/64-bit offset unless the format says netcdf4.
import * as path from 'node:path';
import type { ClimateDataset } from '../types.js';
import { DataError } from '../types.js';
import { writeNetCDF, type NetCDFFormat } from './netcdf.js';
import { writeNetCDF4 } from './netcdf4.js';
import { writeZarr } from './zarr.js';

export type DatasetFormat = 'netcdf3' | 'netcdf4' | 'zarr';

const FORMATS: readonly DatasetFormat[] = ['netcdf3', 'netcdf4', 'zarr'];

/** The formats each extension may hold, its default first. */
const EXTENSION_FORMATS: Record<string, readonly DatasetFormat[]> = {
  '.nc': ['netcdf3', 'netcdf4'],
  '.nc3': ['netcdf3'],
  '.cdf': ['netcdf3'],
  '.nc4': ['netcdf4'],
  '.zarr': ['zarr'],
};

export interface WriteDatasetOptions {
  /** The output format; default from the extension (.nc/.nc3/.cdf → netcdf3, .nc4 → netcdf4, .zarr → zarr). */
  format?: DatasetFormat;
  /** The command line that produced the data; recorded in the global `history` attribute with a timestamp. */
  history?: string;
  /** Replace an existing output (atomically). Default false: refuse with DataError('output-exists'). */
  overwrite?: boolean;
  /** netcdf3 only: 'classic' (CDF-1) or '64bit-offset' (CDF-2, the default). */
  netcdfFormat?: NetCDFFormat;
  /** netcdf3 only: make time the record (unlimited) dimension when possible (default true). */
  unlimitedTime?: boolean;
  /** netcdf4 only: deflate level 0-9 (default 4). */
  deflate?: number;
  /** netcdf4 only: chunk length per dimension name (see NetCDF4WriteOptions.chunks). */
  chunks?: Record<string, number>;
  /** zarr only: format version 2 (default) or 3. */
  zarrVersion?: 2 | 3;
  /** zarr only: chunk compression 'none' (default) or 'gzip'. */
  zarrCompression?: 'none' | 'gzip';
  /** zarr only: time steps per chunk. */
  chunkTime?: number;
}

/**
 * The format a dataset written to `file` gets: `format` when given (it must suit the extension: .nc holds
 * netcdf3 or netcdf4, .nc3/.cdf netcdf3, .nc4 netcdf4, .zarr zarr; other extensions take any format), else
 * the extension's default. Throws DataError('bad-output') for an unknown extension without a format, and
 * DataError('bad-option') for an unknown format or one that contradicts the extension.
 */
export function datasetFormatOf(file: string, format?: DatasetFormat): DatasetFormat {
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new DataError('bad-option', `unknown output format '${String(format)}' (valid: ${FORMATS.join(', ')})`);
  }
  const ext = path.extname(file.replace(/[/\\]+$/, '')).toLowerCase();
  const allowed = EXTENSION_FORMATS[ext];
  if (allowed === undefined) {
    if (format !== undefined) return format;
    throw new DataError('bad-output', `cannot tell the output format of '${file}': use a name ending in .nc (NetCDF classic/64-bit offset), .nc4 (NetCDF-4) or .zarr (Zarr), or give a format (${FORMATS.join(', ')})`);
  }
  if (format === undefined) return allowed[0]!;
  if (!allowed.includes(format)) {
    throw new DataError('bad-option', `format '${format}' does not suit '${file}': a ${ext} output holds ${allowed.join(' or ')}`);
  }
  return format;
}

/** Write `ds` to `file` in the format `datasetFormatOf` picks; resolves to that format once the output is complete. */
export async function writeDataset(ds: ClimateDataset, file: string, options: WriteDatasetOptions = {}): Promise<DatasetFormat> {
  const format = datasetFormatOf(file, options.format);
  const { history, overwrite } = options;
  switch (format) {
    case 'netcdf3':
      await writeNetCDF(ds, file, { history, overwrite, format: options.netcdfFormat, unlimitedTime: options.unlimitedTime });
      break;
    case 'netcdf4':
      await writeNetCDF4(ds, file, { history, overwrite, deflate: options.deflate, chunks: options.chunks });
      break;
    case 'zarr':
      await writeZarr(ds, file, { history, overwrite, version: options.zarrVersion, compression: options.zarrCompression, chunkTime: options.chunkTime });
      break;
  }
  return format;
}
