// The truth of `climadiff score` (run/score.ts): one file as it is (with its land fraction for the land and ocean
// regions), or many files and a selection read through a source, and the selection a forecast file records.
import { DataError, type ClimateDataset, type Coordinate, type Variable } from '../data/types.js';
import { timeKey } from '../data/readers/index.js';
import { coordinateCalendar, formatTimeParts, type TimeParts } from '../data/time-parts.js';
import { isLatitude, isLongitude } from '../data/statics.js';
import type { ScorecardTraining } from '../eval/scorecard.js';
import { dateKey, datesOf, type ForecastSet } from './score-inputs.js';
import { dataVariableNames, openDataset, openSource } from '../data/readers/index.js';
import { openSelectedSource, SourceSelectionSchema, type SourceSelection } from '../data/select-source.js';
import { sourceDataset } from '../data/clip-source.js';

/** Names of land fraction variables (besides standard_name land_area_fraction / land_binary_mask). */
export const LAND_NAMES = ['sftlf', 'lsm', 'landsea', 'land_sea_mask', 'lsmask', 'landmask', 'slmsk', 'land_fraction', 'landfrac'];

/** The truth from one file as it is, with its land fraction variable when the land or ocean regions want it. */
export async function truthFile(truth: string, variables: string[], wantLand: boolean): Promise<{ ds: ClimateDataset; landName: string | null }> {
  const src = await openSource(truth);
  let landName: string | null = null;
  try {
    const missing = variables.filter((v) => !src.variables.has(v));
    if (missing.length) {
      throw new DataError('unknown-variable', `the truth file ${truth} has no variable ${missing.map((v) => `'${v}'`).join(', ')} (it has ${dataVariableNames(src).join(', ') || 'no data variable'})`);
    }
    for (const v of src.variables.values()) {
      const sn = v.attrs['standard_name'];
      if (sn === 'land_area_fraction' || sn === 'land_binary_mask' || LAND_NAMES.includes(v.name.toLowerCase())) { landName = v.name; break; }
    }
  } finally {
    src.close();
  }
  if (wantLand && !landName) {
    throw new DataError('bad-option', `the land and ocean regions need a land fraction variable in the truth file (${LAND_NAMES.slice(0, 4).join(', ')}, ... or standard_name land_area_fraction); ${truth} has none`);
  }
  return { ds: await openDataset(truth, { variables: [...variables, ...(wantLand && landName && !variables.includes(landName) ? [landName] : [])] }), landName };
}

/** The truth from many files and/or a selection, read into memory through a source (data/select-source.ts). */
export async function selectedTruth(truth: string, variables: string[], select: SourceSelection | null): Promise<{ ds: ClimateDataset; landName: null }> {
  const source = await openSelectedSource(truth, variables, select);
  try { return { ds: await sourceDataset(source), landName: null }; } finally { source.close?.(); }
}

/** The selection a forecast file records (climadiff_selection), validated. */
export function recordedSelection(json: string, path: string): SourceSelection | null {
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { throw new DataError('bad-file', `${path}: its climadiff_selection attribute is not JSON`); }
  if (parsed === null) return null;
  const r = SourceSelectionSchema.safeParse(parsed);
  if (!r.success) throw new DataError('bad-file', `${path}: its climadiff_selection attribute is not a selection (${r.error.issues.map((i) => i.message).join('; ')})`);
  return r.data;
}

/** The truth's variables and axes aligned with the forecasts: the truth step of every verified frame, and the grid. */
export interface AlignedTruth {
  /** The truth variable of each forecast variable. */
  tv: Variable[];
  /** The truth's time coordinate, its length, calendar and decoded dates. */
  tc: Coordinate;
  T: number;
  calendar: string;
  truthDates: TimeParts[];
  geoLat: number[] | null;
  geoLon: number[] | null;
  /** Truth step of frame f of case n at n * F + f. */
  idx: Int32Array;
  /** Whether the longitudes wrap around the globe. */
  periodicLon: boolean;
  /** Whether every case's frames are consecutive truth steps. */
  consecutive: boolean;
  /** Truth step of every case's first frame. */
  starts: number[];
}

/**
 * Checks the truth against the forecasts (dimensions, grid, units) and finds the truth step of every verified frame
 * by its calendar date (rounded to the minute), so files in other units or calendars match.
 */
export function alignTruth(ds: ClimateDataset, truthPath: string, set: ForecastSet): AlignedTruth {
  const { first, variables, N, F, H, W, firstDates } = set;
  const tv = variables.map((name) => ds.variables.get(name)!);
  const v0 = tv[0]!;
  for (const v of tv) {
    const axes = v.dims.map((d) => ds.coords.get(d)?.axis);
    if (v.dims.length !== 3 || axes[0] !== 'T') {
      throw new DataError('wrong-dimensions', `the truth file ${truthPath}: '${v.name}' has dimensions (${v.dims.join(', ')}); expected (time, lat, lon)`);
    }
    if (v.dims[0] !== v0.dims[0]) throw new DataError('wrong-dimensions', `the truth file ${truthPath}: '${v.name}' and '${v0.name}' have different time axes`);
    if (v.shape[1] !== H || v.shape[2] !== W) {
      throw new DataError('grid-mismatch', `grid mismatch: ${first.path} is on a ${H}x${W} grid, but '${v.name}' in the truth file ${truthPath} is ${v.shape[1]}x${v.shape[2]}`);
    }
  }
  variables.forEach((name, c) => {
    const a = first.units[c], b = tv[c]!.units;
    if (a && b && a.trim() !== b.trim()) throw new DataError('units-mismatch', `'${name}' is in ${a} in ${first.path} but in ${b} in the truth file ${truthPath}`);
  });
  const tc = ds.coords.get(v0.dims[0]!)!;
  const latC = ds.coords.get(v0.dims[1]!), lonC = ds.coords.get(v0.dims[2]!);
  const geoLat = latC && isLatitude(latC) ? Array.from(latC.values) : null;
  const geoLon = lonC && isLongitude(lonC) ? Array.from(lonC.values) : null;
  const sameAxis = (a: number[] | null, b: Coordinate | undefined): boolean => !a || !b || a.length !== b.values.length || a.every((x, i) => Math.abs(x - b.values[i]!) <= 1e-3);
  if ((geoLat && first.lat && !sameAxis(first.lat, latC)) || (geoLon && first.lon && !sameAxis(first.lon, lonC))) {
    const span = (a: ArrayLike<number>) => `${Math.min(...Array.from(a))}..${Math.max(...Array.from(a))}`;
    throw new DataError('grid-mismatch', `grid mismatch: ${first.path} has latitudes ${span(first.lat!)} and longitudes ${span(first.lon ?? [])}, the truth file ${truthPath} ${span(latC!.values)} and ${span(lonC?.values ?? [])}`);
  }
  const T = tc.values.length;
  const calendar = coordinateCalendar(tc);
  const truthUnits = tc.units ?? String(tc.attrs['units'] ?? '');
  const truthDates = datesOf(tc.values, truthUnits, calendar);
  const truthIndex = new Map<string, number>();
  truthDates.forEach((p, t) => { const k = dateKey(p); if (!truthIndex.has(k)) truthIndex.set(k, t); });
  const idx = new Int32Array(N * F);
  for (let i = 0; i < N * F; i++) {
    const t = truthIndex.get(dateKey(firstDates[i]!));
    if (t === undefined) {
      throw new DataError('missing-time', `the truth file has no step for ${formatTimeParts(firstDates[i]!)} (frame ${(i % F) + 1} of case ${Math.floor(i / F) + 1} of ${first.path}); ${truthPath} covers ${formatTimeParts(truthDates[0]!)} to ${formatTimeParts(truthDates[T - 1]!)}`);
    }
    idx[i] = t;
  }
  const periodicLon = geoLon !== null && W > 1 && Math.abs(Math.abs(geoLon[1]! - geoLon[0]!) * W - 360) < Math.abs(geoLon[1]! - geoLon[0]!) * 0.51;
  const consecutive = Array.from({ length: N * F }, (_, i) => idx[i]! === idx[i - (i % F)]! + (i % F)).every(Boolean);
  const starts = Array.from({ length: N }, (_, n) => idx[n * F]!);
  return { tv, tc, T, calendar, truthDates, geoLat, geoLon, idx, periodicLon, consecutive, starts };
}

type TrainBounds = readonly [{ key: number; exclusive: boolean }, { key: number; exclusive: boolean }];

/** The `train` option, FROM,TO, as timeKey bounds (null without one); a bad date or FROM after TO is a DataError. */
export function trainPeriod(train: [string, string] | undefined): TrainBounds | null {
  if (!train) return null;
  if (train.length !== 2 || !train[0] || !train[1]) throw new DataError('bad-option', 'train must be two dates FROM,TO');
  const b = [trainBound(train[0], false), trainBound(train[1], true)] as const;
  if (!(b[0].key <= b[1].key)) throw new DataError('bad-option', `train: ${train[0]} is after ${train[1]}`);
  return b;
}

/**
 * The training steps of the climatology and damped-persistence baselines: the `train` period (inclusive) if given,
 * else every truth step before the first verified frame minus a gap of one case span. Notes a training period that
 * overlaps the verified frames.
 */
export function trainingSteps(train: [string, string] | undefined, trainBounds: TrainBounds | null, truthPath: string, truth: AlignedTruth, N: number, F: number, notes: string[]): { trainIdx: number[]; training: ScorecardTraining | null } {
  const { T, truthDates, idx } = truth;
  let trainIdx: number[] = [];
  let training: ScorecardTraining | null = null;
  if (trainBounds) {
    const [lo, hi] = trainBounds;
    for (let t = 0; t < T; t++) { const k = timeKey(truthDates[t]!); if (k >= lo.key && (hi.exclusive ? k < hi.key : k <= hi.key)) trainIdx.push(t); }
    if (trainIdx.length === 0) {
      throw new DataError('bad-option', `train ${train![0]},${train![1]}: the truth file ${truthPath} has no step in that period (it covers ${formatTimeParts(truthDates[0]!)} to ${formatTimeParts(truthDates[T - 1]!)})`);
    }
    const verified = new Set(idx);
    if (trainIdx.some((t) => verified.has(t))) notes.push('The training period overlaps the verified frames: the climatology and damped-persistence baselines have seen the truth they are scored on, so their scores are optimistic.');
  } else {
    let i0 = T, span = 1;
    for (let n = 0; n < N; n++) { i0 = Math.min(i0, ...Array.from(idx.subarray(n * F, (n + 1) * F))); span = Math.max(span, idx[n * F + F - 1]! - idx[n * F]! + 1); }
    trainIdx = Array.from({ length: Math.max(0, i0 - span) }, (_, t) => t);
    if (trainIdx.length > 0) {
      training = { from: '', to: '', steps: 0, years: [], rule: `default: every truth step before the first verified frame (${formatTimeParts(truthDates[i0]!)}) minus a gap of one case span (${span} steps)` };
    }
  }
  if (trainIdx.length > 0) {
    training = {
      from: formatTimeParts(truthDates[trainIdx[0]!]!), to: formatTimeParts(truthDates[trainIdx[trainIdx.length - 1]!]!), steps: trainIdx.length,
      years: [...new Set(trainIdx.map((t) => truthDates[t]!.year))].sort((a, b) => a - b),
      rule: training?.rule ?? `the train option (${train![0]} to ${train![1]}, inclusive)`,
    };
  }
  return { trainIdx, training };
}

/**
 * A training-period bound as a timeKey: 'YYYY', 'YYYY-MM', 'YYYY-MM-DD' or 'YYYY-MM-DD[T ]hh:mm[:ss]'. An end bound
 * given to year, month or day precision includes that whole period: it is the exclusive start of the next one.
 */
function trainBound(text: string, end: boolean): { key: number; exclusive: boolean } {
  const m = /^(-?\d{1,5})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?)?)?$/.exec(text.trim());
  if (!m) throw new DataError('bad-option', `train: cannot read the date '${text}' (expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm)`);
  const year = +m[1]!, month = m[2] ? +m[2] : 1, day = m[3] ? +m[3] : 1;
  if (month < 1 || month > 12 || day < 1 || day > 31) throw new DataError('bad-option', `train: '${text}' is not a valid date`);
  if (m[4] !== undefined) return { key: timeKey({ year, month, day, hour: +m[4], minute: +m[5]!, second: m[6] ? +m[6] : 0 }), exclusive: false };
  if (!end) return { key: timeKey({ year, month, day }), exclusive: false };
  // timeKey is linear in (year * 12 + month - 1) * 31 + day - 1, so month 13 and day 32 are the next year / month
  if (m[2] === undefined) return { key: timeKey({ year: year + 1, month: 1, day: 1 }), exclusive: true };
  if (m[3] === undefined) return { key: timeKey({ year, month: month + 1, day: 1 }), exclusive: true };
  return { key: timeKey({ year, month, day: day + 1 }), exclusive: true };
}
