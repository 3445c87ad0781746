// CF decoding (CF conventions §2.5.1 missing data, §8.1 packed data, §4 coordinate types, §4.4 time):
// fill and missing values become a mask (never numbers left in the data), packed integers are unpacked
// with scale_factor/add_offset, and coordinate variables are recognised by their attributes.
import { DataError, type AttrValue, type Attrs } from '../types.js';
import type { RawDtype, RawSource, RawVariable } from './source.js';
export { decodeTime, normaliseCalendar, type Calendar, type DecodedTime } from './calendar.js';

export type Axis = 'T' | 'Y' | 'X' | 'Z';

/** netCDF's default fill values (netcdf.h NC_FILL_*), used when a variable declares no _FillValue. */
export const DEFAULT_FILL: Partial<Record<RawDtype, number>> = {
  int8: -127, uint8: 255, int16: -32767, uint16: 65535, int32: -2147483647, uint32: 4294967295,
  float32: Math.fround(9.9692099683868690e36), float64: 9.9692099683868690e36,
};

function nums(v: AttrValue | undefined): number[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.map(Number);
  const n = Number(v);
  return Number.isFinite(n) ? [n] : [];
}

function num(v: AttrValue | undefined): number | undefined {
  const n = nums(v);
  return n.length > 0 ? n[0] : undefined;
}

export interface DecodeOptions {
  /** Treat netCDF's default fill value as missing when no _FillValue is declared (netCDF formats: yes). */
  defaultFill?: boolean;
}

export interface DecodedValues {
  data: Float32Array;
  mask: Uint8Array | null;
  /** How many entries are missing. */
  missing: number;
}

/** The attributes CF decoding consumed; they are dropped from the decoded variable's attrs. */
export const ENCODING_ATTRS = ['_FillValue', 'missing_value', 'scale_factor', 'add_offset', 'valid_min', 'valid_max', 'valid_range', '_Unsigned'];

/**
 * Decode raw stored numbers: entries equal to _FillValue or any missing_value, outside valid_min/valid_max/
 * valid_range (compared in the stored, packed domain as CF §8.1 says), NaN, or — with no _FillValue —
 * equal to netCDF's default fill, are masked (NaN in data, 1 in mask). The rest are unpacked as
 * value * scale_factor + add_offset.
 */
export function decodeValues(raw: Float64Array, v: Pick<RawVariable, 'dtype' | 'attrs' | 'name'>, opts: DecodeOptions = {}): DecodedValues {
  const a = v.attrs;
  const isFloat = v.dtype === 'float32' || v.dtype === 'float64';
  const markers: number[] = [...nums(a._FillValue), ...nums(a.missing_value)];
  if (a._FillValue === undefined && opts.defaultFill !== false && DEFAULT_FILL[v.dtype] !== undefined && v.dtype !== 'int8' && v.dtype !== 'uint8') {
    markers.push(DEFAULT_FILL[v.dtype]!);
  }
  const unsigned = a._Unsigned === 'true' && /^int/.test(v.dtype);
  const bits = v.dtype === 'int8' ? 8 : v.dtype === 'int16' ? 16 : v.dtype === 'int32' ? 32 : 0;
  let lo = num(a.valid_min);
  let hi = num(a.valid_max);
  const vr = nums(a.valid_range);
  if (vr.length === 2) { lo = vr[0]; hi = vr[1]; }
  const scale = num(a.scale_factor) ?? 1;
  const offset = num(a.add_offset) ?? 0;
  const tol = (m: number) => (isFloat ? Math.abs(m) * 1e-6 : 0);
  const tols = markers.map(tol);
  const n = raw.length;
  const data = new Float32Array(n);
  let mask: Uint8Array | null = null;
  let missing = 0;
  for (let i = 0; i < n; i++) {
    let x = raw[i]!;
    if (unsigned && x < 0) x += 2 ** bits;
    let bad = Number.isNaN(x);
    if (!bad) {
      for (let k = 0; k < markers.length; k++) {
        if (Math.abs(x - markers[k]!) <= tols[k]!) { bad = true; break; }
      }
      if (!bad && lo !== undefined && x < lo - tol(lo)) bad = true;
      if (!bad && hi !== undefined && x > hi + tol(hi)) bad = true;
    }
    if (bad) {
      mask ??= new Uint8Array(n);
      mask[i] = 1;
      data[i] = NaN;
      missing++;
    } else {
      data[i] = x * scale + offset;
    }
  }
  return { data, mask, missing };
}

/** The attributes left on a decoded variable (encoding attributes removed; packed 'units' kept). */
export function decodedAttrs(attrs: Attrs): Attrs {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(attrs)) if (!ENCODING_ATTRS.includes(k)) out[k] = v;
  return out;
}

const LAT_UNITS = /^(degrees?_?north|degrees?_?n|degree_north|degrees_north)$/i;
const LON_UNITS = /^(degrees?_?east|degrees?_?e)$/i;
const PRESSURE_UNITS = /^(pa|hpa|kpa|mb|mbar|millibars?|bar|atm)$/i;
const Z_STANDARD_NAMES = /^(air_pressure|height|depth|altitude|model_level_number|atmosphere_.*coordinate|ocean_.*coordinate|geopotential_height)$/;

/**
 * Which CF axis a 1-D variable is (CF §4): by `axis`, then `standard_name`, then units (degrees_north/east,
 * 'UNIT since DATE', pressure), `positive`, and last by conventional names.
 */
export function axisOf(v: { name: string; attrs: Attrs }): Axis | undefined {
  const a = v.attrs;
  const axis = typeof a.axis === 'string' ? a.axis.trim().toUpperCase() : '';
  if (axis === 'T' || axis === 'Y' || axis === 'X' || axis === 'Z') return axis;
  const sn = typeof a.standard_name === 'string' ? a.standard_name.trim() : '';
  if (sn === 'time') return 'T';
  if (sn === 'latitude') return 'Y';
  if (sn === 'longitude') return 'X';
  if (Z_STANDARD_NAMES.test(sn)) return 'Z';
  const u = typeof a.units === 'string' ? a.units.trim() : '';
  if (LAT_UNITS.test(u)) return 'Y';
  if (LON_UNITS.test(u)) return 'X';
  if (/\ssince\s/i.test(u)) return 'T';
  if (typeof a.positive === 'string' && /^(up|down)$/i.test(a.positive.trim())) return 'Z';
  if (PRESSURE_UNITS.test(u)) return 'Z';
  const n = v.name.toLowerCase();
  if (/^(time|t|date|times)$/.test(n)) return 'T';
  if (/^(lat|latitude|nav_lat|hlat|ylat)$/.test(n)) return 'Y';
  if (/^(lon|long|longitude|nav_lon|hlon|xlon)$/.test(n)) return 'X';
  if (/^(lev|level|levels|plev|depth|height|z|pressure|isobaric)$/.test(n)) return 'Z';
  return undefined;
}

export interface CoordinateInfo {
  /** The dimension this coordinate labels. */
  dim: string;
  /** The 1-D variable holding the coordinate values (its name may differ from the dimension's). */
  variable: string;
  axis: Axis | undefined;
}

/**
 * Coordinate variables of a source: 1-D numeric variables whose only dimension is their own name (CF's
 * coordinate variable), or — as in files like sstdata_netcdf.nc (`lat(latitude)`) — the single 1-D variable
 * over a dimension that is recognised as an axis.
 */
export function findCoordinates(src: Pick<RawSource, 'variables' | 'dims'>): Map<string, CoordinateInfo> {
  const out = new Map<string, CoordinateInfo>();
  const numeric = (v: RawVariable) => v.dtype !== 'char' && v.dtype !== 'string' && v.dtype !== 'other';
  for (const v of src.variables.values()) {
    if (v.dims.length === 1 && v.dims[0] === v.name && numeric(v)) out.set(v.name, { dim: v.name, variable: v.name, axis: axisOf(v) });
  }
  for (const [dim] of src.dims) {
    if (out.has(dim)) continue;
    const cands = [...src.variables.values()].filter((v) => v.dims.length === 1 && v.dims[0] === dim && numeric(v) && axisOf(v) !== undefined);
    if (cands.length === 1) out.set(dim, { dim, variable: cands[0]!.name, axis: axisOf(cands[0]!) });
  }
  return out;
}

/** Variables named in other variables' `bounds`/`climatology` attributes (cell bounds, not data). */
export function boundsVariables(src: Pick<RawSource, 'variables'>): Set<string> {
  const s = new Set<string>();
  for (const v of src.variables.values()) {
    for (const k of ['bounds', 'climatology']) {
      const b = v.attrs[k];
      if (typeof b === 'string') s.add(b.trim());
    }
  }
  return s;
}

export function requireNumeric(v: RawVariable, path: string): void {
  if (v.dtype === 'char' || v.dtype === 'string' || v.dtype === 'other') {
    throw new DataError('unsupported-variable', `${path}: variable '${v.name}' holds ${v.dtype} values, not numbers`);
  }
}
