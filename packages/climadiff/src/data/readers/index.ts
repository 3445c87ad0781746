// Readers: NetCDF classic/64-bit offset (netcdfjs), NetCDF-4/HDF5 (h5wasm), Zarr v2/v3 (zarrita), CF decoding
// and selection. Only the public API is re-exported (format internals stay in their modules).
export type { FileFormat, RawDtype, RawSource, RawVariable, Ranges } from './source.js';
export {
  axisOf, boundsVariables, decodeValues, decodedAttrs, DEFAULT_FILL, ENCODING_ATTRS, findCoordinates,
  type Axis, type CoordinateInfo, type DecodedValues, type DecodeOptions,
} from './cf.js';
export {
  decodeTime, normaliseCalendar, parseTimeUnits, parseReferenceDate, parseDateBound, timeKey,
  type Calendar, type DecodedTime,
} from './calendar.js';
export {
  coarsen, decodeTimeCoordinate, dimOfAxis, missingFraction, normaliseGrid, selectDataset, takeAlong, toChannels,
  type LonConvention, type SelectOptions,
} from './select.js';
export {
  dataVariableNames, detectFormat, openDataset, openSource, readCoordinates, readVariable, type OpenOptions,
} from './open.js';
export { describeFile, formatSummary, type FileSummary } from './describe.js';
export { openNetcdf3 } from './netcdf3.js';
export { openHdf5 } from './hdf5.js';
export { openZarr, zarrVersionOf } from './zarr.js';
