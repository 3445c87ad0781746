// Date conditioning: the time of year (and of day, where frames resolve it) of a clip as a few numbers a model
// can take, so that a sample is generated *for* a date. Features of a date p in calendar c:
//   year:      sin(2 pi phi), cos(2 pi phi),  phi = yearFraction(p, c)   (continuous across 31 Dec -> 1 Jan)
//   year+day:  the above and sin(2 pi tau), cos(2 pi tau),  tau = time of day / 24 h
import { DataError, type Coordinate } from './types.js';
import { dayFraction, decodeTimeParts, coordinateCalendar, timeUnitDays, yearFraction, type TimeParts } from './time-parts.js';

export type DateFeatureKind = 'none' | 'year' | 'year+day';
export const DATE_FEATURE_KINDS: readonly DateFeatureKind[] = ['none', 'year', 'year+day'];

/** Number of features of a kind. */
export function dateFeatureCount(kind: DateFeatureKind): number {
  return kind === 'none' ? 0 : kind === 'year' ? 2 : 4;
}

/** Names of the features (recorded with a run). */
export function dateFeatureNames(kind: DateFeatureKind): string[] {
  return ['sin_year', 'cos_year', 'sin_day', 'cos_day'].slice(0, dateFeatureCount(kind));
}

/** The features of one date. */
export function dateFeatures(p: TimeParts, kind: DateFeatureKind, calendar = 'standard'): number[] {
  if (kind === 'none') return [];
  const phi = 2 * Math.PI * yearFraction(p, calendar);
  const out = [Math.sin(phi), Math.cos(phi)];
  if (kind === 'year+day') {
    const tau = 2 * Math.PI * dayFraction(p);
    out.push(Math.sin(tau), Math.cos(tau));
  }
  return out;
}

/** Features of every time step of a time coordinate, (T, D) row-major. */
export function timeFeatures(time: Coordinate, kind: DateFeatureKind): Float32Array {
  const D = dateFeatureCount(kind);
  const parts = decodeTimeParts(time);
  const calendar = coordinateCalendar(time);
  const out = new Float32Array(parts.length * D);
  parts.forEach((p, t) => out.set(dateFeatures(p, kind, calendar), t * D));
  return out;
}

/**
 * The default kind for a time coordinate: time of day as well when consecutive steps are less than a day apart
 * (sub-daily frames can resolve a daily cycle), else the time of year only; 'none' without a decodable time axis.
 */
export function autoDateFeatures(time: Coordinate | undefined): DateFeatureKind {
  if (!time || time.values.length === 0) return 'none';
  try {
    decodeTimeParts({ ...time, values: time.values.subarray(0, 1) });
    if (time.values.length < 2) return 'year';
    const step = Math.abs(time.values[1]! - time.values[0]!) * timeUnitDays(time);
    return step < 1 - 1e-9 ? 'year+day' : 'year';
  } catch (e) {
    if (e instanceof DataError) return 'none';
    throw e;
  }
}
