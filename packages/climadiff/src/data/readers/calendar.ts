// CF time: "UNIT since REFERENCE" decoded in the CF calendars (CF conventions §4.4.1). Dates are counted as
// day numbers within each calendar so that adding an offset never needs a date library.
import { DataError } from '../types.js';

export type Calendar = 'standard' | 'proleptic_gregorian' | 'julian' | 'noleap' | 'all_leap' | '360_day';

export interface DecodedTime {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  /** ISO-8601-like text, e.g. '1958-02-01T00:00:00' (years padded to 4 digits, may be outside 1..9999). */
  iso: string;
}

/** Normalise a CF calendar name (aliases: gregorian → standard, 365_day → noleap, 366_day → all_leap). */
export function normaliseCalendar(name: string | undefined): Calendar {
  const c = (name ?? 'standard').trim().toLowerCase();
  switch (c) {
    case '': case 'standard': case 'gregorian': return 'standard';
    case 'proleptic_gregorian': return 'proleptic_gregorian';
    case 'julian': return 'julian';
    case 'noleap': case '365_day': return 'noleap';
    case 'all_leap': case '366_day': return 'all_leap';
    case '360_day': return '360_day';
    default:
      throw new DataError('bad-calendar', `unsupported calendar '${name}' (valid: standard, gregorian, proleptic_gregorian, julian, noleap, 365_day, all_leap, 366_day, 360_day)`);
  }
}

const CUM_NOLEAP = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const CUM_LEAP = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335];

// Julian day numbers (Fliegel & Van Flandern style, valid for negative years with floor division).
function gregToJdn(y: number, m: number, d: number): number {
  const a = Math.floor((14 - m) / 12);
  const yy = y + 4800 - a;
  const mm = m + 12 * a - 3;
  return d + Math.floor((153 * mm + 2) / 5) + 365 * yy + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400) - 32045;
}
function julToJdn(y: number, m: number, d: number): number {
  const a = Math.floor((14 - m) / 12);
  const yy = y + 4800 - a;
  const mm = m + 12 * a - 3;
  return d + Math.floor((153 * mm + 2) / 5) + 365 * yy + Math.floor(yy / 4) - 32083;
}
function jdnToGreg(j: number): [number, number, number] {
  const a = j + 32044;
  const b = Math.floor((4 * a + 3) / 146097);
  const c = a - Math.floor(146097 * b / 4);
  const d = Math.floor((4 * c + 3) / 1461);
  const e = c - Math.floor(1461 * d / 4);
  const m = Math.floor((5 * e + 2) / 153);
  return [100 * b + d - 4800 + Math.floor(m / 10), m + 3 - 12 * Math.floor(m / 10), e - Math.floor((153 * m + 2) / 5) + 1];
}
function jdnToJul(j: number): [number, number, number] {
  const c = j + 32082;
  const d = Math.floor((4 * c + 3) / 1461);
  const e = c - Math.floor(1461 * d / 4);
  const m = Math.floor((5 * e + 2) / 153);
  return [d - 4800 + Math.floor(m / 10), m + 3 - 12 * Math.floor(m / 10), e - Math.floor((153 * m + 2) / 5) + 1];
}
const GREGORIAN_START_JDN = 2299161; // 1582-10-15 (the day after Julian 1582-10-04)

export function dayNumber(cal: Calendar, y: number, m: number, d: number): number {
  switch (cal) {
    case 'proleptic_gregorian': return gregToJdn(y, m, d);
    case 'julian': return julToJdn(y, m, d);
    case 'standard': {
      const after = y > 1582 || (y === 1582 && (m > 10 || (m === 10 && d >= 15)));
      return after ? gregToJdn(y, m, d) : julToJdn(y, m, d);
    }
    case 'noleap': return y * 365 + CUM_NOLEAP[m - 1]! + d - 1;
    case 'all_leap': return y * 366 + CUM_LEAP[m - 1]! + d - 1;
    case '360_day': return y * 360 + (m - 1) * 30 + d - 1;
  }
}

export function fromDayNumber(cal: Calendar, n: number): [number, number, number] {
  switch (cal) {
    case 'proleptic_gregorian': return jdnToGreg(n);
    case 'julian': return jdnToJul(n);
    case 'standard': return n >= GREGORIAN_START_JDN ? jdnToGreg(n) : jdnToJul(n);
    case 'noleap': case 'all_leap': {
      const len = cal === 'noleap' ? 365 : 366;
      const cum = cal === 'noleap' ? CUM_NOLEAP : CUM_LEAP;
      const y = Math.floor(n / len);
      const doy = n - y * len;
      let m = 11;
      while (cum[m]! > doy) m--;
      return [y, m + 1, doy - cum[m]! + 1];
    }
    case '360_day': {
      const y = Math.floor(n / 360);
      const doy = n - y * 360;
      return [y, Math.floor(doy / 30) + 1, (doy % 30) + 1];
    }
  }
}

function daysInMonth(cal: Calendar, y: number, m: number): number {
  const ny = m === 12 ? y + 1 : y;
  const nm = m === 12 ? 1 : m + 1;
  return dayNumber(cal, ny, nm, 1) - dayNumber(cal, y, m, 1);
}

const UNIT_SECONDS: Array<[RegExp, number]> = [
  [/^(seconds?|secs?|s)$/i, 1],
  [/^(minutes?|mins?)$/i, 60],
  [/^(hours?|hrs?|hr|h)$/i, 3600],
  [/^(days?|d)$/i, 86400],
  [/^(weeks?)$/i, 7 * 86400],
];

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

interface RefDate { y: number; mo: number; d: number; h: number; mi: number; s: number }

/** Parse a CF reference date ('1958-1-1 00:00:00', '2000-01-01T06:00:00Z') or a COARDS time_origin ('01-JAN-0000:00:00:00'). */
export function parseReferenceDate(text: string): RefDate {
  const t = text.trim();
  let m = /^(-?\d+)-(\d{1,2})(?:-(\d{1,2}))?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?/.exec(t);
  if (m) {
    return { y: +m[1]!, mo: +m[2]!, d: m[3] ? +m[3] : 1, h: m[4] ? +m[4] : 0, mi: m[5] ? +m[5] : 0, s: m[6] ? +m[6] : 0 };
  }
  m = /^(\d{1,2})-([A-Za-z]{3})-(-?\d+)(?:[ :](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?/.exec(t);
  if (m && MONTHS.includes(m[2]!.toUpperCase())) {
    return { y: +m[3]!, mo: MONTHS.indexOf(m[2]!.toUpperCase()) + 1, d: +m[1]!, h: m[4] ? +m[4] : 0, mi: m[5] ? +m[5] : 0, s: m[6] ? +m[6] : 0 };
  }
  throw new DataError('bad-time-units', `cannot parse the reference date '${text}' (expected e.g. '1850-01-01 00:00:00')`);
}

/** Split CF time units 'days since 1850-01-01' into the unit and the reference date text. */
export function parseTimeUnits(units: string): { unit: string; since: string } | null {
  const m = /^\s*([A-Za-z_]+)\s+since\s+(.+?)\s*$/i.exec(units);
  return m ? { unit: m[1]!, since: m[2]! } : null;
}

function pad(n: number, w: number): string {
  const s = String(Math.abs(n)).padStart(w, '0');
  return n < 0 ? `-${s}` : s;
}

/**
 * Decode CF time values. `units` is 'UNIT since DATE'; months and years are counted as calendar months
 * (whole months added to the reference date, a fraction taken of that month's length), as NCL and cftime's
 * 360_day handling do — the only reading under which integer 'months since' axes land on month starts.
 */
export function decodeTime(values: ArrayLike<number>, units: string, calendar?: string): DecodedTime[] {
  const cal = normaliseCalendar(calendar);
  const parsed = parseTimeUnits(units);
  if (!parsed) throw new DataError('bad-time-units', `time units '${units}' are not of the form 'UNIT since DATE'`);
  const ref = parseReferenceDate(parsed.since);
  const unit = parsed.unit.toLowerCase();
  const monthly = /^(months?|mon)$/.test(unit) ? 1 : /^(years?|yr|yrs)$/.test(unit) ? 12 : 0;
  const unitSec = UNIT_SECONDS.find(([re]) => re.test(unit))?.[1];
  if (!monthly && unitSec === undefined) {
    throw new DataError('bad-time-units', `unknown time unit '${parsed.unit}' in '${units}' (valid: seconds, minutes, hours, days, weeks, months, years)`);
  }
  const refDay = dayNumber(cal, ref.y, ref.mo, ref.d);
  const refSec = ref.h * 3600 + ref.mi * 60 + ref.s;
  const out: DecodedTime[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isFinite(v)) throw new DataError('bad-time-values', `time value ${v} at index ${i} is not finite`);
    let day: number;
    let secs: number;
    if (monthly) {
      const months = v * monthly;
      const whole = Math.floor(months + 1e-9);
      const frac = Math.max(0, months - whole);
      let tot = ref.y * 12 + (ref.mo - 1) + whole;
      const y = Math.floor(tot / 12);
      const mo = tot - y * 12 + 1;
      tot = 0;
      const dim = daysInMonth(cal, y, mo);
      const t = refSec + frac * dim * 86400;
      day = dayNumber(cal, y, mo, Math.min(ref.d, dim)) + Math.floor(t / 86400);
      secs = t - Math.floor(t / 86400) * 86400;
    } else {
      const t = refSec + v * unitSec!;
      const whole = Math.floor(t / 86400);
      day = refDay + whole;
      secs = t - whole * 86400;
    }
    secs = Math.round(secs * 1000) / 1000;
    if (secs >= 86400) { day += 1; secs -= 86400; }
    const [y, mo, d] = fromDayNumber(cal, day);
    const hour = Math.floor(secs / 3600);
    const minute = Math.floor((secs - hour * 3600) / 60);
    const second = Math.round((secs - hour * 3600 - minute * 60) * 1000) / 1000;
    const sInt = Math.floor(second);
    const frac = second - sInt;
    const iso = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(sInt, 2)}${frac > 0 ? (frac.toFixed(3).slice(1)) : ''}`;
    out.push({ year: y, month: mo, day: d, hour, minute, second, iso });
  }
  return out;
}

/** A sortable number for comparing decoded times (year, month, day, seconds). */
export function timeKey(t: { year: number; month: number; day: number; hour?: number; minute?: number; second?: number }): number {
  return ((t.year * 12 + (t.month - 1)) * 31 + (t.day - 1)) * 86400 + (t.hour ?? 0) * 3600 + (t.minute ?? 0) * 60 + (t.second ?? 0);
}

/** Parse a user's date bound ('2005', '2005-03', '2005-03-15', '2005-03-15T06:00'). */
export function parseDateBound(text: string, end: boolean): number {
  const m = /^(-?\d{1,5})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?)?)?$/.exec(text.trim());
  if (!m) throw new DataError('bad-selection', `cannot parse the date '${text}' (expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss)`);
  const y = +m[1]!;
  // An end bound given to month or day precision includes the whole month or day.
  if (m[2] === undefined) return end ? timeKey({ year: y, month: 12, day: 31, hour: 23, minute: 59, second: 59.999 }) : timeKey({ year: y, month: 1, day: 1 });
  const mo = +m[2];
  if (m[3] === undefined) return end ? timeKey({ year: y, month: mo, day: 31, hour: 23, minute: 59, second: 59.999 }) : timeKey({ year: y, month: mo, day: 1 });
  const d = +m[3];
  if (m[4] === undefined) return end ? timeKey({ year: y, month: mo, day: d, hour: 23, minute: 59, second: 59.999 }) : timeKey({ year: y, month: mo, day: d });
  return timeKey({ year: y, month: mo, day: d, hour: +m[4], minute: m[5] ? +m[5] : 0, second: m[6] ? +m[6] : 0 });
}
