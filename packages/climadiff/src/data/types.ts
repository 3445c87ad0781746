// The data contract shared by readers, writers, the simulator, datasets and pictures: arrays carry their
// coordinates, units and missing-data mask from reader to writer (DESIGN.md, "Data arrays carry their
// coordinates"), so a sample written back to NetCDF/Zarr has correct CF metadata.

export type AttrValue = string | number | number[];
export type Attrs = Record<string, AttrValue>;

/** A coordinate variable (CF: a 1-D variable named like its dimension), e.g. time, lat, lon, level. */
export interface Coordinate {
  name: string;
  values: Float64Array;
  /** CF axis this coordinate was recognised as. */
  axis?: 'T' | 'Y' | 'X' | 'Z';
  units?: string;
  /** CF calendar for time coordinates ('standard', 'noleap', '360_day', ...). */
  calendar?: string;
  attrs: Attrs;
}

/**
 * A decoded data variable in physical units: scale_factor/add_offset applied, fill and missing values
 * turned into `mask` (1 = missing) and never left as numbers in `data` (masked entries hold NaN).
 */
export interface Variable {
  name: string;
  /** Dimension names, slowest first (C order), e.g. ['time', 'lat', 'lon']. */
  dims: string[];
  shape: number[];
  data: Float32Array;
  /** 1 where the value is missing; null when nothing is missing. */
  mask: Uint8Array | null;
  units?: string;
  attrs: Attrs;
}

/** Variables and coordinates read from one source (or produced by the simulator). */
export interface ClimateDataset {
  variables: Map<string, Variable>;
  coords: Map<string, Coordinate>;
  /** Global attributes (title, history, source, conventions, ...). */
  attrs: Attrs;
}

/** The problem with a piece of input data; every reader and writer throws this (or a subclass). */
export class DataError extends Error {
  /** A stable machine-readable kind, e.g. 'missing-file', 'corrupt-file', 'unknown-variable'. */
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'DataError';
    this.kind = kind;
  }
}
