// Calendar dates from a CF time coordinate ("<unit> since <date>", calendar attribute), enough for the
// month-of-year climatology and the frame labels of pictures. The readers decode time for their own
// purposes; this module only needs (year, month, day, hour, minute) and knows the CF calendars:
// standard/gregorian/proleptic_gregorian (proleptic Gregorian, Julian dates before 1582-10-15 are not
// special-cased), noleap/365_day, all_leap/366_day and 360_day.
import { DataError, type Coordinate } from './types.js';

export interface TimeParts { year: number; month: number; day: number; hour: number; minute: number; second: number }

const UNIT_DAYS: Record<string, number> = {
  day: 1, days: 1, d: 1,
  hour: 1 / 24, hours: 1 / 24, hr: 1 / 24, hrs: 1 / 24, h: 1 / 24,
  minute: 1 / 1440, minutes: 1 / 1440, min: 1 / 1440, mins: 1 / 1440,
  second: 1 / 86400, seconds: 1 / 86400, sec: 1 / 86400, secs: 1 / 86400, s: 1 / 86400,
};
const NOLEAP = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ALLLEAP = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface Parsed { unit: string; origin: TimeParts }

function parseUnits(units: string): Parsed {
  const m = /^\s*(\w+)\s+since\s+(-?\d{1,4})-(\d{1,2})(?:-(\d{1,2}))?(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?/i.exec(units);
  if (!m) throw new DataError('bad-time-units', `time units '${units}' are not of the form '<unit> since YYYY-MM-DD[ hh:mm:ss]'`);
  const unit = m[1]!.toLowerCase();
  if (!(unit in UNIT_DAYS) && unit !== 'months' && unit !== 'month' && unit !== 'years' && unit !== 'year') {
    throw new DataError('bad-time-units', `time unit '${m[1]}' is not one of days, hours, minutes, seconds, months, years`);
  }
  return {
    unit,
    origin: {
      year: Number(m[2]), month: Number(m[3]), day: Number(m[4] ?? 1),
      hour: Number(m[5] ?? 0), minute: Number(m[6] ?? 0), second: Number(m[7] ?? 0),
    },
  };
}

function fixedCalendar(calendar: string): number[] | 'd360' | null {
  switch (calendar) {
    case 'noleap': case '365_day': return NOLEAP;
    case 'all_leap': case '366_day': return ALLLEAP;
    case '360_day': return 'd360';
    default: return null;
  }
}

/** Splits a day count (from year 0 of a fixed-length calendar) into a date. */
function fromFixedDays(days: number, months: number[] | 'd360'): TimeParts {
  const lengths = months === 'd360' ? new Array<number>(12).fill(30) : months;
  const yearLen = lengths.reduce((a, b) => a + b, 0);
  const year = Math.floor(days / yearLen);
  let rem = days - year * yearLen;
  let month = 0;
  while (month < 11 && rem >= lengths[month]!) { rem -= lengths[month]!; month++; }
  return withClock(year, month + 1, rem);
}

function withClock(year: number, month: number, dayFrac: number): TimeParts {
  const day = Math.floor(dayFrac);
  let secs = Math.round((dayFrac - day) * 86400);
  if (secs >= 86400) secs = 86399;
  return { year, month, day: day + 1, hour: Math.floor(secs / 3600), minute: Math.floor((secs % 3600) / 60), second: secs % 60 };
}

/** Calendar dates of every value of a CF time coordinate. Throws DataError for units it cannot read. */
export function decodeTimeParts(coord: Pick<Coordinate, 'values' | 'units' | 'calendar' | 'attrs'>): TimeParts[] {
  const units = coord.units ?? (typeof coord.attrs['units'] === 'string' ? coord.attrs['units'] : undefined);
  if (units === undefined) throw new DataError('bad-time-units', 'the time coordinate has no units');
  const calAttr = coord.calendar ?? (typeof coord.attrs['calendar'] === 'string' ? coord.attrs['calendar'] : 'standard');
  const calendar = calAttr.toLowerCase();
  const { unit, origin } = parseUnits(units);
  const out: TimeParts[] = [];
  const fixed = fixedCalendar(calendar);
  for (const v of coord.values) {
    if (unit.startsWith('month') || unit.startsWith('year')) {
      // CF discourages these units; we read them as whole calendar months/years from the origin.
      const months = unit.startsWith('month') ? Math.floor(v) : Math.floor(v * 12);
      const total = origin.year * 12 + (origin.month - 1) + months;
      out.push({ ...origin, year: Math.floor(total / 12), month: (total % 12 + 12) % 12 + 1 });
      continue;
    }
    const offsetDays = v * UNIT_DAYS[unit]!;
    if (fixed === null) {
      const ms = Date.UTC(0, origin.month - 1, origin.day, origin.hour, origin.minute, origin.second);
      const d = new Date(ms);
      d.setUTCFullYear(origin.year);
      const t = new Date(d.getTime() + Math.round(offsetDays * 86400000));
      out.push({ year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(),
        hour: t.getUTCHours(), minute: t.getUTCMinutes(), second: t.getUTCSeconds() });
    } else {
      const lengths = fixed === 'd360' ? new Array<number>(12).fill(30) : fixed;
      let start = 0;
      for (let m = 0; m < origin.month - 1; m++) start += lengths[m]!;
      const yearLen = lengths.reduce((a, b) => a + b, 0);
      const originDays = origin.year * yearLen + start + origin.day - 1 + (origin.hour * 3600 + origin.minute * 60 + origin.second) / 86400;
      out.push(fromFixedDays(originDays + offsetDays, fixed));
    }
  }
  return out;
}

/** Month of year (0 = January ... 11 = December) of every time step. */
export function monthIndices(coord: Pick<Coordinate, 'values' | 'units' | 'calendar' | 'attrs'>): Int32Array {
  return Int32Array.from(decodeTimeParts(coord), (p) => p.month - 1);
}

/**
 * Month position of a date in [0, 12): (month - 1) + (day - 1 + time of day) / days in that month, in the given CF
 * calendar. Its floor is the month index (0 = January), and it runs continuously through the year: what the monthly
 * climatology (floor) and the seasonal-harmonic one (phase 2 pi position / 12) of data/normalise.ts read.
 */
export function monthPosition(p: TimeParts, calendar = 'standard'): number {
  const len = monthLengths(calendar.toLowerCase(), p.year)[p.month - 1]!;
  return p.month - 1 + (p.day - 1 + (p.hour * 3600 + p.minute * 60 + p.second) / 86400) / len;
}

/** Month positions (monthPosition) of every time step. */
export function monthPositions(coord: Pick<Coordinate, 'values' | 'units' | 'calendar' | 'attrs'>): Float64Array {
  const cal = calendarOf(coord);
  return Float64Array.from(decodeTimeParts(coord), (p) => monthPosition(p, cal));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** 'YYYY-MM-DD', with ' hh:mm' when the time of day is not midnight. */
export function formatTimeParts(p: TimeParts): string {
  const date = `${p.year < 0 ? '-' : ''}${pad(Math.abs(p.year), 4)}-${pad(p.month)}-${pad(p.day)}`;
  return p.hour === 0 && p.minute === 0 ? date : `${date} ${pad(p.hour)}:${pad(p.minute)}`;
}

function calendarOf(coord: Pick<Coordinate, 'calendar' | 'attrs'>): string {
  return (coord.calendar ?? (typeof coord.attrs['calendar'] === 'string' ? coord.attrs['calendar'] : 'standard')).toLowerCase();
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Month lengths of a year in a CF calendar. */
function monthLengths(calendar: string, year: number): number[] {
  const fixed = fixedCalendar(calendar);
  if (fixed === 'd360') return new Array<number>(12).fill(30);
  if (fixed) return fixed;
  return isLeap(year) ? ALLLEAP : NOLEAP;
}

/**
 * Position in the year as a fraction in [0, 1): (day of year - 1 + time of day / 24 h) / days in that year, in the
 * given CF calendar (a 360-day year has twelve 30-day months; a leap year of the standard calendar has 366 days).
 */
export function yearFraction(p: TimeParts, calendar = 'standard'): number {
  const lengths = monthLengths(calendar.toLowerCase(), p.year);
  let day = p.day - 1;
  for (let m = 0; m < p.month - 1; m++) day += lengths[m]!;
  const yearLen = lengths.reduce((a, b) => a + b, 0);
  return (day + dayFraction(p)) / yearLen;
}

/** Time of day as a fraction of 24 hours, in [0, 1). */
export function dayFraction(p: TimeParts): number {
  return (p.hour * 3600 + p.minute * 60 + p.second) / 86400;
}

/** Parses 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm' or 'YYYY-MM-DDThh:mm[:ss]' (checked against the calendar's month lengths). */
export function parseDate(text: string, calendar = 'standard'): TimeParts {
  const m = /^\s*(-?\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text);
  if (!m) throw new DataError('bad-date', `'${text}' is not a date of the form YYYY-MM-DD or 'YYYY-MM-DD hh:mm'`);
  const p: TimeParts = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4] ?? 0), minute: Number(m[5] ?? 0), second: Number(m[6] ?? 0) };
  const lengths = monthLengths(calendar.toLowerCase(), p.year);
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > lengths[p.month - 1]! || p.hour > 23 || p.minute > 59 || p.second > 59) {
    throw new DataError('bad-date', `'${text}' is not a valid date in the ${calendar} calendar`);
  }
  return p;
}

/**
 * The value of a date in a CF time coordinate's units and calendar (the inverse of decodeTimeParts for day, hour,
 * minute and second units), e.g. hours since 2000-01-01 in the noleap calendar.
 */
export function encodeTimeParts(p: TimeParts, coord: Pick<Coordinate, 'units' | 'calendar' | 'attrs'>): number {
  const units = coord.units ?? (typeof coord.attrs['units'] === 'string' ? coord.attrs['units'] : undefined);
  if (units === undefined) throw new DataError('bad-time-units', 'the time coordinate has no units');
  const { unit, origin } = parseUnits(units);
  if (!(unit in UNIT_DAYS)) throw new DataError('bad-time-units', `dates cannot be encoded in '${unit}' (use days, hours, minutes or seconds)`);
  const calendar = calendarOf(coord);
  const fixed = fixedCalendar(calendar);
  const days = (q: TimeParts): number => {
    if (fixed === null) {
      const d = new Date(Date.UTC(2000, q.month - 1, q.day, q.hour, q.minute, q.second));
      d.setUTCFullYear(q.year);
      return d.getTime() / 86400000;
    }
    const lengths = fixed === 'd360' ? new Array<number>(12).fill(30) : fixed;
    let start = 0;
    for (let m = 0; m < q.month - 1; m++) start += lengths[m]!;
    return q.year * lengths.reduce((a, b) => a + b, 0) + start + q.day - 1 + dayFraction(q);
  };
  return (days(p) - days(origin)) / UNIT_DAYS[unit]!;
}

/** The calendar named by a time coordinate (lower case; 'standard' when none is given). */
export function coordinateCalendar(coord: Pick<Coordinate, 'calendar' | 'attrs'>): string { return calendarOf(coord); }

/** Length of one unit of a CF time coordinate in days (e.g. 1/24 for hours). */
export function timeUnitDays(coord: Pick<Coordinate, 'units' | 'attrs'>): number {
  const units = coord.units ?? (typeof coord.attrs['units'] === 'string' ? coord.attrs['units'] : undefined);
  if (units === undefined) throw new DataError('bad-time-units', 'the time coordinate has no units');
  const { unit } = parseUnits(units);
  if (!(unit in UNIT_DAYS)) throw new DataError('bad-time-units', `time unit '${unit}' has no fixed length`);
  return UNIT_DAYS[unit]!;
}
