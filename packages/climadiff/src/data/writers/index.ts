// Writing climate datasets back to files: NetCDF classic / 64-bit offset and Zarr v2 / v3, with CF metadata.
export { writeNetCDF, createNetCDFWriter, NC_FILL_FLOAT } from './netcdf.js';
export type { NetCDFFormat, NetCDFWriteOptions, NetCDFStreamOptions } from './netcdf.js';
export { writeZarr, createZarrWriter } from './zarr.js';
export type { ZarrWriteOptions, ZarrStreamOptions } from './zarr.js';
export type { TimeChunkWriter } from './common.js';
export { CF_CONVENTIONS, sliceTime } from './common.js';
