// Selection on decoded datasets: variables, time range, lat/lon box, level, longitude normalisation and
// mask-aware block-mean coarsening. Every step re-indexes data, mask and coordinate together, so arrays
// keep carrying their coordinates (DESIGN.md).
import { DataError, type ClimateDataset, type Coordinate, type Variable } from '../types.js';
import { decodeTime, type DecodedTime } from './calendar.js';
import { parseDateBound, timeKey, parseTimeUnits } from './calendar.js';

export type LonConvention = '-180..180' | '0..360';

export interface SelectOptions {
  /** Variables to keep (channels), in this order; default all. */
  variables?: string[];
  /** Inclusive date bounds ('1958', '1958-03', '1958-03-01T00:00'); either end may be omitted. */
  time?: [string | undefined, string | undefined];
  /** Time steps by index, [start, stop) (for time axes that are not dates, e.g. 'Month' 1..12). */
  timeIndex?: [number, number];
  /** Inclusive latitude bounds in degrees north. */
  lat?: [number, number];
  /** Inclusive longitude bounds in the chosen convention; lo > hi selects a box across the seam. */
  lon?: [number, number];
  /** One level value (exact, within 1e-6 relative) or an inclusive [lo, hi] range. */
  level?: number | [number, number];
  /** Block-mean factor for (lat, lon): one number for both. Trailing partial blocks are dropped. */
  coarsen?: number | [number, number];
  /** Longitude range to wrap into; default '-180..180' ([-180, 180)), or '0..360' ([0, 360)). */
  lonConvention?: LonConvention;
  /** Normalise longitude order and make latitude ascending (default true). */
  normalise?: boolean;
  /** Allow variables that are entirely missing after selection (default false: an 'all-missing' error). */
  allowAllMissing?: boolean;
}

/** The dimension recognised as the given CF axis, if any. */
export function dimOfAxis(ds: ClimateDataset, axis: 'T' | 'Y' | 'X' | 'Z'): string | undefined {
  for (const [k, c] of ds.coords) if (c.axis === axis) return k;
  return undefined;
}

/** Decode a time coordinate ('UNIT since DATE', or COARDS 'time_origin' with plain units). */
export function decodeTimeCoordinate(c: Coordinate): DecodedTime[] | null {
  const units = c.units ?? '';
  if (parseTimeUnits(units)) return decodeTime(c.values, units, c.calendar);
  const origin = c.attrs.time_origin;
  if (typeof origin === 'string' && /^\s*[A-Za-z]+\s*$/.test(units)) return decodeTime(c.values, `${units.trim()} since ${origin}`, c.calendar);
  return null;
}

/** Take `indices` along dimension `dim` of every variable that has it, and of its coordinate. */
export function takeAlong(ds: ClimateDataset, dim: string, indices: number[]): ClimateDataset {
  const variables = new Map<string, Variable>();
  for (const [k, v] of ds.variables) {
    const ax = v.dims.indexOf(dim);
    if (ax < 0) { variables.set(k, v); continue; }
    const outer = v.shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const n = v.shape[ax]!;
    const inner = v.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    const m = indices.length;
    const data = new Float32Array(outer * m * inner);
    const mask = v.mask ? new Uint8Array(outer * m * inner) : null;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const src = (o * n + indices[j]!) * inner;
        const dst = (o * m + j) * inner;
        data.set(v.data.subarray(src, src + inner), dst);
        if (mask) mask.set(v.mask!.subarray(src, src + inner), dst);
      }
    }
    const shape = v.shape.slice();
    shape[ax] = m;
    variables.set(k, { ...v, shape, data, mask: mask && mask.some((x) => x) ? mask : null });
  }
  const coords = new Map(ds.coords);
  const c = ds.coords.get(dim);
  if (c) coords.set(dim, { ...c, values: Float64Array.from(indices, (i) => c.values[i]!) });
  return { ...ds, variables, coords };
}

function requireDim(ds: ClimateDataset, axis: 'T' | 'Y' | 'X' | 'Z', what: string): string {
  const d = dimOfAxis(ds, axis);
  if (!d) {
    const known = [...ds.coords.values()].map((c) => `${c.name}${c.axis ? ` (${c.axis})` : ''}`).join(', ') || 'none';
    throw new DataError('wrong-dimensions', `cannot select by ${what}: no ${what} coordinate was found (coordinates: ${known})`);
  }
  return d;
}

function nonEmpty(indices: number[], what: string, values: ArrayLike<number>): number[] {
  if (indices.length === 0) {
    const lo = Math.min(...Array.from(values)); const hi = Math.max(...Array.from(values));
    throw new DataError('empty-selection', `the ${what} selection matches nothing (the data cover ${lo} to ${hi})`);
  }
  return indices;
}

/** Wrap longitudes into the convention, sort ascending, drop a duplicated cyclic column; latitude ascending. */
/** A coordinate in degrees east (CF units or standard_name), as opposed to a projected or Cartesian x. */
function isLongitude(c: Coordinate): boolean {
  const units = (c.units ?? '').toLowerCase().replace(/[\s_]/g, '');
  return ['degreeseast', 'degreee', 'degreeeast', 'degreese', 'degrees', 'degree'].includes(units)
    || c.attrs.standard_name === 'longitude' || (/^(lon|long|longitude|nav_lon|xlon)$/i.test(c.name) && units === '');
}

export function normaliseGrid(ds: ClimateDataset, convention: LonConvention = '-180..180'): ClimateDataset {
  let out = ds;
  const xd = dimOfAxis(out, 'X');
  // Only a longitude wraps: a projected or Cartesian X (e.g. the QG model's km) keeps its order.
  if (xd && isLongitude(out.coords.get(xd)!)) {
    const c = out.coords.get(xd)!;
    const base = convention === '0..360' ? 0 : -180;
    const wrapped = Array.from(c.values, (x) => ((((x - base) % 360) + 360) % 360) + base);
    const order = wrapped.map((_, i) => i).sort((a, b) => wrapped[a]! - wrapped[b]! || a - b);
    const keep: number[] = [];
    for (const i of order) {
      const prev = keep.length > 0 ? wrapped[keep[keep.length - 1]!]! : NaN;
      if (Math.abs(wrapped[i]! - prev) < 1e-9) continue; // cyclic duplicate (e.g. both -180 and 180)
      keep.push(i);
    }
    out = takeAlong(out, xd, keep);
    const nc = out.coords.get(xd)!;
    out.coords.set(xd, { ...nc, values: Float64Array.from(keep, (i) => wrapped[i]!) });
  }
  const yd = dimOfAxis(out, 'Y');
  if (yd) {
    const c = out.coords.get(yd)!;
    const n = c.values.length;
    if (n > 1 && c.values[0]! > c.values[n - 1]!) out = takeAlong(out, yd, Array.from({ length: n }, (_, i) => n - 1 - i));
  }
  return out;
}

/**
 * Mean over (fy × fx) blocks of the lat/lon grid, counting only observed cells: a block with no observed
 * cell is missing. Coordinates become block means. Trailing rows/columns that do not fill a block are dropped.
 */
export function coarsen(ds: ClimateDataset, fy: number, fx: number): ClimateDataset {
  if (!Number.isInteger(fy) || !Number.isInteger(fx) || fy < 1 || fx < 1) {
    throw new DataError('bad-selection', `coarsening factors must be positive integers, got ${fy} x ${fx}`);
  }
  const yd = requireDim(ds, 'Y', 'latitude');
  const xd = requireDim(ds, 'X', 'longitude');
  const variables = new Map<string, Variable>();
  let ny2 = 0; let nx2 = 0;
  for (const [k, v] of ds.variables) {
    const ya = v.dims.indexOf(yd);
    const xa = v.dims.indexOf(xd);
    if (ya < 0 || xa < 0) { variables.set(k, v); continue; }
    if (xa !== v.dims.length - 1 || ya !== v.dims.length - 2) {
      throw new DataError('wrong-dimensions', `variable '${k}' has dimensions (${v.dims.join(', ')}); coarsening needs latitude and longitude last`);
    }
    const ny = v.shape[ya]!; const nx = v.shape[xa]!;
    ny2 = Math.floor(ny / fy); nx2 = Math.floor(nx / fx);
    if (ny2 === 0 || nx2 === 0) throw new DataError('bad-selection', `coarsening by ${fy} x ${fx} leaves nothing of a ${ny} x ${nx} grid`);
    const outer = v.data.length / (ny * nx);
    const data = new Float32Array(outer * ny2 * nx2);
    const mask = new Uint8Array(data.length);
    let anyMissing = false;
    for (let o = 0; o < outer; o++) {
      for (let by = 0; by < ny2; by++) {
        for (let bx = 0; bx < nx2; bx++) {
          let s = 0; let cnt = 0;
          for (let y = by * fy; y < (by + 1) * fy; y++) {
            for (let x = bx * fx; x < (bx + 1) * fx; x++) {
              const i = (o * ny + y) * nx + x;
              if (v.mask && v.mask[i]) continue;
              const val = v.data[i]!;
              if (Number.isNaN(val)) continue;
              s += val; cnt++;
            }
          }
          const j = (o * ny2 + by) * nx2 + bx;
          if (cnt === 0) { data[j] = NaN; mask[j] = 1; anyMissing = true; } else data[j] = s / cnt;
        }
      }
    }
    const shape = v.shape.slice();
    shape[ya] = ny2; shape[xa] = nx2;
    variables.set(k, { ...v, shape, data, mask: anyMissing ? mask : null });
  }
  const coords = new Map(ds.coords);
  const blockMean = (c: Coordinate, f: number) => {
    const n = Math.floor(c.values.length / f);
    const vals = new Float64Array(n);
    for (let b = 0; b < n; b++) { let s = 0; for (let i = b * f; i < (b + 1) * f; i++) s += c.values[i]!; vals[b] = s / f; }
    return { ...c, values: vals };
  };
  coords.set(yd, blockMean(ds.coords.get(yd)!, fy));
  coords.set(xd, blockMean(ds.coords.get(xd)!, fx));
  return { ...ds, variables, coords };
}

export function missingFraction(v: Variable): number {
  if (!v.mask || v.data.length === 0) return 0;
  let m = 0;
  for (let i = 0; i < v.mask.length; i++) m += v.mask[i]!;
  return m / v.mask.length;
}

/** Apply a selection (see SelectOptions) in a fixed order: variables, normalise, time, level, box, coarsen. */
export function selectDataset(ds: ClimateDataset, opts: SelectOptions = {}): ClimateDataset {
  let out: ClimateDataset = ds;
  if (opts.variables && opts.variables.length > 0) {
    const variables = new Map<string, Variable>();
    for (const name of opts.variables) {
      const v = ds.variables.get(name);
      if (!v) {
        throw new DataError('unknown-variable', `unknown variable '${name}'; the variables are: ${[...ds.variables.keys()].join(', ') || 'none'}`);
      }
      variables.set(name, v);
    }
    out = { ...out, variables };
  }
  if (opts.normalise !== false) out = normaliseGrid(out, opts.lonConvention);
  if (opts.timeIndex) {
    const td = requireDim(out, 'T', 'time');
    const n = out.coords.get(td)!.values.length;
    const [a, b] = opts.timeIndex;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > n || a >= b) {
      throw new DataError('bad-selection', `time index range [${a}, ${b}) is not within the ${n} time steps (valid: 0 <= start < stop <= ${n})`);
    }
    out = takeAlong(out, td, Array.from({ length: b - a }, (_, i) => a + i));
  }
  if (opts.time && (opts.time[0] !== undefined || opts.time[1] !== undefined)) {
    const td = requireDim(out, 'T', 'time');
    const c = out.coords.get(td)!;
    const times = decodeTimeCoordinate(c);
    if (!times) throw new DataError('bad-selection', `cannot select by date: the time units '${c.units ?? ''}' are not 'UNIT since DATE'`);
    const lo = opts.time[0] !== undefined ? parseDateBound(opts.time[0], false) : -Infinity;
    const hi = opts.time[1] !== undefined ? parseDateBound(opts.time[1], true) : Infinity;
    const idx = times.map((t, i) => [timeKey(t), i] as const).filter(([k]) => k >= lo && k <= hi).map(([, i]) => i);
    if (idx.length === 0) {
      throw new DataError('empty-selection', `no time step between ${opts.time[0] ?? '-'} and ${opts.time[1] ?? '-'} (the data cover ${times[0]?.iso} to ${times[times.length - 1]?.iso})`);
    }
    out = takeAlong(out, td, idx);
  }
  if (opts.level !== undefined) {
    const zd = requireDim(out, 'Z', 'level');
    const vals = out.coords.get(zd)!.values;
    let idx: number[];
    if (typeof opts.level === 'number') {
      const want = opts.level;
      idx = Array.from(vals.keys()).filter((i) => Math.abs(vals[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)));
      if (idx.length === 0) throw new DataError('empty-selection', `no level ${want}; the levels are: ${Array.from(vals).join(', ')}`);
    } else {
      const [a, b] = opts.level;
      idx = nonEmpty(Array.from(vals.keys()).filter((i) => vals[i]! >= Math.min(a, b) && vals[i]! <= Math.max(a, b)), 'level', vals);
    }
    out = takeAlong(out, zd, idx);
  }
  if (opts.lat) {
    const yd = requireDim(out, 'Y', 'latitude');
    const vals = out.coords.get(yd)!.values;
    const [a, b] = opts.lat;
    out = takeAlong(out, yd, nonEmpty(Array.from(vals.keys()).filter((i) => vals[i]! >= Math.min(a, b) && vals[i]! <= Math.max(a, b)), 'latitude', vals));
  }
  if (opts.lon) {
    const xd = requireDim(out, 'X', 'longitude');
    const vals = out.coords.get(xd)!.values;
    const [a, b] = opts.lon;
    const all = Array.from(vals.keys());
    const idx = a <= b
      ? all.filter((i) => vals[i]! >= a && vals[i]! <= b)
      : [...all.filter((i) => vals[i]! >= a), ...all.filter((i) => vals[i]! <= b)];
    out = takeAlong(out, xd, nonEmpty(idx, 'longitude', vals));
  }
  if (opts.coarsen !== undefined) {
    const [fy, fx] = typeof opts.coarsen === 'number' ? [opts.coarsen, opts.coarsen] : opts.coarsen;
    if (fy !== 1 || fx !== 1) out = coarsen(out, fy, fx);
  }
  if (!opts.allowAllMissing) {
    for (const v of out.variables.values()) {
      if (v.data.length > 0 && missingFraction(v) === 1) {
        throw new DataError('all-missing', `variable '${v.name}' is entirely missing in the selection (${v.shape.join('x')} values, all fill/missing)`);
      }
    }
  }
  return out;
}

/** Stack variables of identical dimensions as channels: data (C, ...dims) plus a joint mask. */
export function toChannels(ds: ClimateDataset, names?: string[]): { names: string[]; dims: string[]; shape: number[]; data: Float32Array; mask: Uint8Array | null } {
  const list = names ?? [...ds.variables.keys()];
  const vars = list.map((n) => {
    const v = ds.variables.get(n);
    if (!v) throw new DataError('unknown-variable', `unknown variable '${n}'; the variables are: ${[...ds.variables.keys()].join(', ')}`);
    return v;
  });
  if (vars.length === 0) throw new DataError('empty-selection', 'no variables to stack');
  const first = vars[0]!;
  for (const v of vars) {
    if (v.dims.join(',') !== first.dims.join(',') || v.shape.join(',') !== first.shape.join(',')) {
      throw new DataError('wrong-dimensions', `variables '${first.name}' (${first.dims.join(', ')}; ${first.shape.join('x')}) and '${v.name}' (${v.dims.join(', ')}; ${v.shape.join('x')}) differ in dimensions and cannot be channels of one array`);
    }
  }
  const n = first.data.length;
  const data = new Float32Array(n * vars.length);
  let mask: Uint8Array | null = null;
  vars.forEach((v, c) => {
    data.set(v.data, c * n);
    if (v.mask) { mask ??= new Uint8Array(n * vars.length); mask.set(v.mask, c * n); }
  });
  return { names: list, dims: first.dims.slice(), shape: [vars.length, ...first.shape], data, mask };
}
