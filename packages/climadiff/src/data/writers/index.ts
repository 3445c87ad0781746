// Writing climate datasets back to files: NetCDF classic / 64-bit offset, NetCDF-4 (HDF5) and Zarr v2 / v3, with
// CF metadata; writeDataset picks the format by name or extension.
export { writeNetCDF, createNetCDFWriter, NC_FILL_FLOAT } from './netcdf.js';
export type { NetCDFFormat, NetCDFWriteOptions, NetCDFStreamOptions } from './netcdf.js';
export { writeNetCDF4, createNetCDF4Writer } from './netcdf4.js';
export type { NetCDF4WriteOptions, NetCDF4StreamOptions } from './netcdf4.js';
export { writeDataset, datasetFormatOf } from './dataset.js';
export type { DatasetFormat, WriteDatasetOptions } from './dataset.js';
export { writeZarr, createZarrWriter } from './zarr.js';
export type { ZarrWriteOptions, ZarrStreamOptions } from './zarr.js';
export type { TimeChunkWriter } from './common.js';
export { CF_CONVENTIONS, sliceTime } from './common.js';
