// Static (time-independent) fields offered to a model as conditioning channels:
//   land_sea_mask  1 on land / where the data are never valid. Given explicitly, or derived from the
//                  data's missing pattern (cells missing at every time step, e.g. land for SST).
//   sin_lat, cos_lat  latitude as sin/cos (smooth, bounded, distinguishes the hemispheres).
//   orography      surface height when given, standardised to zero mean and unit variance.
// Values are (channel, lat, lon), float32, no NaN (missing orography becomes 0).
import type { ClipSource } from './clip-source.js';
import { openDataset, openSource } from './readers/open.js';
import { DataError, type ClimateDataset, type Coordinate } from './types.js';

export interface StaticFields {
  names: string[];
  /** (names.length, height, width). */
  data: Float32Array;
  height: number;
  width: number;
}

export interface StaticFieldOptions {
  /** 1 = land, one value per cell (lat-major); default: derived from the missing pattern. */
  landSea?: ArrayLike<number>;
  /** Derive land_sea_mask from cells missing at every time step when none is given (default true). */
  landSeaFromMissing?: boolean;
  /** Add sin/cos of latitude when the source has a latitude coordinate (default true). */
  latitude?: boolean;
  /** Surface height, one value per cell (lat-major). */
  orography?: ArrayLike<number>;
  blockFrames?: number;
}

const OROG_NAMES = ['orog', 'orography', 'topo', 'topography', 'elevation', 'hgt_sfc', 'zsurf', 'z_surf', 'surface_altitude'];

/** A 2-D surface height variable of a dataset (by CF standard_name surface_altitude or a usual name), or null. */
export function findOrography(ds: ClimateDataset, height: number, width: number): Float32Array | null {
  for (const v of ds.variables.values()) {
    const named = v.attrs['standard_name'] === 'surface_altitude' || OROG_NAMES.includes(v.name.toLowerCase());
    const cells = v.shape.reduce((a, b) => a * b, 1);
    if (named && cells === height * width && v.shape.filter((n) => n > 1).length === 2) return v.data;
  }
  return null;
}

/**
 * Whether a Y coordinate is geographic latitude in degrees (CF standard_name latitude, or units degrees_north and
 * its spellings) rather than, e.g., a projection coordinate in km.
 */
export function isLatitude(c: Coordinate): boolean {
  return c.attrs['standard_name'] === 'latitude' || /^degrees?_?(north|n)$/i.test(c.units ?? '');
}

/** Whether an X coordinate is geographic longitude in degrees (standard_name longitude, or units degrees_east). */
export function isLongitude(c: Coordinate): boolean {
  return c.attrs['standard_name'] === 'longitude' || /^degrees?_?(east|e)$/i.test(c.units ?? '');
}

const LANDSEA_NAMES = ['sftlf', 'lsm', 'landsea', 'land_sea_mask', 'lsmask', 'landmask', 'slmsk'];

/**
 * A 2-D land fraction or land mask variable of a dataset (CF standard_name land_area_fraction or land_binary_mask,
 * or a usual name) as 1 = land (fraction above one half; '%' units are understood), or null.
 */
export function findLandSea(ds: ClimateDataset, height: number, width: number): Float32Array | null {
  for (const v of ds.variables.values()) {
    const sn = v.attrs['standard_name'];
    const named = sn === 'land_area_fraction' || sn === 'land_binary_mask' || LANDSEA_NAMES.includes(v.name.toLowerCase());
    const cells = v.shape.reduce((a, b) => a * b, 1);
    if (!named || cells !== height * width || v.shape.filter((n) => n > 1).length !== 2) continue;
    const scale = v.units === '%' ? 0.01 : 1;
    return Float32Array.from(v.data, (x) => (Number.isFinite(x) && x * scale > 0.5 ? 1 : 0));
  }
  return null;
}

/**
 * The static fields of a file's grid: land_sea_mask from the file's land fraction / mask variable (else from the
 * missing pattern of the clip channels), sin/cos latitude, and orography when the file has a surface height.
 */
/** A source that is a selection of a file's grid: the file's own source, and the spatial selection of one plane. */
export interface SelectedGrid {
  original: ClipSource;
  selectPlane(plane: ArrayLike<number>): Float32Array;
}

export async function fileStaticFields(path: string, source: ClipSource, selected?: SelectedGrid): Promise<StaticFields> {
  // the file's own grid, when the source is a selection of it (planes are found on it, then selected alike)
  const fileGrid = selected?.original ?? source;
  const cells = fileGrid.height * fileGrid.width;
  const src = await openSource(path);
  let planes: string[];
  try {
    planes = [...src.variables.values()].filter((v) => v.shape.reduce((a, b) => a * b, 1) === cells && v.shape.filter((n) => n > 1).length === 2)
      .map((v) => v.name).filter((name) => !src.dims.has(name));
  } finally {
    src.close();
  }
  const ds = planes.length > 0 ? await openDataset(path, { variables: planes, normalise: false }) : null;
  const find = <T extends ArrayLike<number>>(f: T | null): Float32Array | T | null => (f && selected ? selected.selectPlane(f) : f);
  const landSea = find(ds ? findLandSea(ds, fileGrid.height, fileGrid.width) : null);
  const orography = find(ds ? findOrography(ds, fileGrid.height, fileGrid.width) : null);
  return staticFields(source, { ...(landSea ? { landSea } : {}), ...(orography ? { orography } : {}) });
}

export async function staticFields(source: ClipSource, o: StaticFieldOptions = {}): Promise<StaticFields> {
  const { height: H, width: W } = source;
  const cells = H * W;
  const names: string[] = [];
  const planes: Float32Array[] = [];
  const check = (what: string, a: ArrayLike<number>): void => {
    if (a.length !== cells) throw new DataError('bad-shape', `${what} has ${a.length} values, the grid ${H}x${W} = ${cells}`);
  };
  if (o.landSea !== undefined) {
    check('land_sea_mask', o.landSea);
    names.push('land_sea_mask');
    planes.push(Float32Array.from(o.landSea, (v) => (v > 0.5 ? 1 : 0)));
  } else if (o.landSeaFromMissing ?? true) {
    const always = new Uint8Array(cells).fill(1);
    const block = Math.max(1, o.blockFrames ?? 32);
    for (let t0 = 0; t0 < source.timeSteps; t0 += block) {
      const { mask, frames } = await source.read(t0, Math.min(source.timeSteps, t0 + block));
      for (let p = 0; p < source.channels.length * frames; p++) {
        for (let i = 0; i < cells; i++) if (mask[p * cells + i] === 0) always[i] = 0;
      }
    }
    if (always.some((v) => v === 1)) { names.push('land_sea_mask'); planes.push(Float32Array.from(always)); }
  }
  if ((o.latitude ?? true) && source.lat && isLatitude(source.lat)) {
    const lat = source.lat.values;
    if (lat.length !== H) throw new DataError('bad-shape', `latitude has ${lat.length} values, the grid ${H} rows`);
    const s = new Float32Array(cells), c = new Float32Array(cells);
    for (let y = 0; y < H; y++) {
      const r = (lat[y]! * Math.PI) / 180;
      s.fill(Math.sin(r), y * W, (y + 1) * W); c.fill(Math.cos(r), y * W, (y + 1) * W);
    }
    names.push('sin_lat', 'cos_lat'); planes.push(s, c);
  }
  if (o.orography !== undefined) {
    check('orography', o.orography);
    let n = 0, s1 = 0, s2 = 0;
    for (let i = 0; i < cells; i++) { const v = o.orography[i]!; if (Number.isFinite(v)) { n++; s1 += v; s2 += v * v; } }
    const m = n > 0 ? s1 / n : 0;
    const sd = n > 0 ? Math.sqrt(Math.max(0, s2 / n - m * m)) || 1 : 1;
    names.push('orography');
    planes.push(Float32Array.from({ length: cells }, (_, i) => { const v = o.orography![i]!; return Number.isFinite(v) ? (v - m) / sd : 0; }));
  }
  const data = new Float32Array(names.length * cells);
  planes.forEach((p, i) => data.set(p, i * cells));
  return { names, data, height: H, width: W };
}
