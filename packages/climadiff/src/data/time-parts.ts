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

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** 'YYYY-MM-DD', with ' hh:mm' when the time of day is not midnight. */
export function formatTimeParts(p: TimeParts): string {
  const date = `${p.year < 0 ? '-' : ''}${pad(Math.abs(p.year), 4)}-${pad(p.month)}-${pad(p.day)}`;
  return p.hour === 0 && p.minute === 0 ? date : `${date} ${pad(p.hour)}:${pad(p.minute)}`;
}
