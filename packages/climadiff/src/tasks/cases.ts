// The cases a conditional task runs on: a data file checked against the model (variables, units, grid), the start
// frames (given dates, or every N days of one of the run's splits), windows of frames read in physical units, and the
// times of every frame (continued beyond the file's end by the frame step, for long forecasts).
import type { ClipSource } from '../data/clip-source.js';
import { decodeTimeParts, encodeTimeParts, parseDate, timeUnitDays, coordinateCalendar, formatTimeParts } from '../data/time-parts.js';
import { DataError, type Coordinate } from '../data/types.js';
import type { RunData } from './model.js';

/** Throws unless the source holds the model's variables, in its units, on its grid. */
export function checkSourceMatchesModel(source: ClipSource, runData: RunData, where: string): void {
  const names = source.channels.map((c) => c.name);
  if (names.join(',') !== runData.variables.join(',')) {
    throw new DataError('shape-mismatch', `${where} gives the variables ${names.join(', ')}, but the model was trained on ${runData.variables.join(', ')}`);
  }
  source.channels.forEach((c, i) => {
    const want = runData.units[i] ?? null;
    if (want !== null && c.units !== undefined && c.units !== want) {
      throw new DataError('unit-mismatch', `${where}: ${c.name} is in '${c.units}', the model was trained on '${want}' (convert the file first)`);
    }
  });
  if (source.height !== runData.height || source.width !== runData.width) {
    throw new DataError('shape-mismatch', `${where} is on a ${source.height}x${source.width} grid, the model on ${runData.height}x${runData.width}`);
  }
}

/** The time axis of a source, required by the tasks (dates for the model, months for the normalisation). */
export function sourceTime(source: ClipSource, where: string): Coordinate & { units: string } {
  const t = source.time;
  const units = t?.units ?? (typeof t?.attrs['units'] === 'string' ? t.attrs['units'] : undefined);
  if (!t || !units || t.values.length < 2) throw new DataError('bad-time-units', `${where} has no usable time axis (a time coordinate with CF units and at least two steps is needed)`);
  return { ...t, units };
}

/** Frames [start, start + frames) of every channel, [C, frames, H, W] physical; NaN outside the file or where missing. */
export async function readWindow(source: ClipSource, start: number, frames: number): Promise<Float32Array> {
  const C = source.channels.length, HW = source.height * source.width;
  const out = new Float32Array(C * frames * HW).fill(NaN);
  const a = Math.max(0, start), b = Math.min(source.timeSteps, start + frames);
  if (a >= b) return out;
  const block = await source.read(a, b);
  const n = b - a;
  for (let c = 0; c < C; c++) {
    for (let f = 0; f < n; f++) {
      const src = (c * n + f) * HW;
      const dst = (c * frames + (a - start + f)) * HW;
      for (let j = 0; j < HW; j++) out[dst + j] = block.mask[src + j] ? NaN : block.data[src + j]!;
    }
  }
  return out;
}

/** The step between a time axis's frames (its last step, as windowTimes continues it). */
export function frameStepOf(time: { values: Float64Array }): number {
  const v = time.values;
  return v[v.length - 1]! - v[v.length - 2]!;
}

/** Times of frames [start, start + frames) of the axis, continued before and after it by its last step. */
export function windowTimes(time: Coordinate, start: number, frames: number): Float64Array {
  const v = time.values, T = v.length;
  const step = v[T - 1]! - v[T - 2]!;
  return Float64Array.from({ length: frames }, (_, f) => {
    const i = start + f;
    if (i < 0) return v[0]! + i * (v[1]! - v[0]!);
    if (i >= T) return v[T - 1]! + (i - T + 1) * step;
    return v[i]!;
  });
}

/** How the start frames of a task are chosen. */
export type StartSpec =
  /** Dates 'YYYY-MM-DD[ hh:mm]' (the frame at or after each date). */
  | { dates: string[] }
  /** Every `days` days through one of the run's splits (or the whole file), the first at its beginning. */
  | { everyDays: number; split: 'test' | 'validation' | 'train' | 'all'; max?: number };

/**
 * Start frames (indices of the source) for a task whose window reaches `before` frames before and `after` frames from
 * the start (the start itself included in after): every window must lie inside the file, and for a split inside that
 * split's time span. The run's splits are found by date (the run's test clips' and training ranges' times), so any
 * file covering those dates works.
 */
export function chooseStarts(source: ClipSource, runData: RunData, spec: StartSpec, before: number, after: number, where = 'the data'): number[] {
  const time = sourceTime(source, where);
  const T = source.timeSteps;
  const lo = before, hi = T - after; // allowed start indices [lo, hi]
  if (hi < lo) throw new DataError('too-short', `${where} has ${T} time steps; a case needs ${before + after}`);
  if ('dates' in spec) {
    if (spec.dates.length === 0) throw new DataError('bad-option', 'no start dates were given');
    const cal = coordinateCalendar(time);
    return spec.dates.map((d) => {
      const value = encodeTimeParts(parseDate(d, cal), time);
      let i = 0;
      while (i < T && time.values[i]! < value - 1e-9) i++;
      // a date more than one frame step before the file begins is outside it too (not its first frame)
      const before0 = value < time.values[0]! - Math.abs(time.values[1]! - time.values[0]!) - 1e-9;
      if (before0 || i < lo || i > hi) {
        const first = formatTimeParts(decodeTimeParts({ ...time, values: time.values.subarray(lo, lo + 1) })[0]!);
        const last = formatTimeParts(decodeTimeParts({ ...time, values: time.values.subarray(hi, hi + 1) })[0]!);
        throw new DataError('bad-date', `start date ${d} is outside what ${where} allows for this task (${first} to ${last})`);
      }
      return i;
    });
  }
  if (!(Number.isFinite(spec.everyDays) && spec.everyDays > 0)) throw new DataError('bad-option', `every must be a positive number of days, got ${spec.everyDays}`);
  const [a, b] = splitSpan(source, time, runData, spec.split, where);
  const from = Math.max(lo, a + before), to = Math.min(hi, b - after);
  if (to < from) throw new DataError('too-short', `the ${spec.split} split of ${where} is too short for a case of ${before + after} frames`);
  const stepUnits = spec.everyDays / timeUnitDays(time);
  const starts: number[] = [];
  let next = time.values[from]!;
  for (let i = from; i <= to; i++) {
    if (time.values[i]! >= next - 1e-9) { starts.push(i); next = time.values[i]! + stepUnits; }
    if (spec.max !== undefined && starts.length >= spec.max) break;
  }
  return starts;
}

/** Frames [a, b) of the source covered by a split of the run (matched by date). */
function splitSpan(source: ClipSource, time: Coordinate & { units: string }, runData: RunData, split: 'test' | 'validation' | 'train' | 'all', where: string): [number, number] {
  if (split === 'all') return [0, source.timeSteps];
  const rt = runData.time;
  if (!rt) throw new DataError('bad-option', `the model's run has no time axis, so its ${split} split cannot be found in ${where}; give start dates instead`);
  const toSource = (runValue: number): number => {
    const p = decodeTimeParts({ units: rt.units, calendar: rt.calendar, attrs: {}, values: Float64Array.of(runValue) })[0]!;
    const v = encodeTimeParts(p, time);
    let i = 0;
    while (i < source.timeSteps && time.values[i]! < v - 1e-9) i++;
    return i;
  };
  const spanOf = (first: number, last: number): [number, number] => [toSource(first), Math.min(source.timeSteps, toSource(last) + 1)];
  if (split === 'train') {
    if (rt.trainStarts.length === 0) throw new DataError('bad-option', 'the run records no training clips');
    return spanOf(rt.trainStarts[0]!, rt.trainStarts[rt.trainStarts.length - 1]! + (runData.frames - 1) * rt.frameStep);
  }
  if (split === 'test') {
    if (runData.test.length === 0) throw new DataError('bad-option', 'the run records no test clips');
    // runData.test holds frame indices of the run's own source: their times are the run's first training time plus
    // whole frame steps from the first training clip (the source's axis is regular where the run was trained)
    const t0 = rt.trainStarts[0]!, i0 = runData.trainRanges[0]?.[0] ?? 0;
    const at = (i: number): number => t0 + (i - i0) * rt.frameStep;
    return spanOf(at(runData.test[0]!), at(runData.test[runData.test.length - 1]! + runData.frames - 1));
  }
  // validation: between the training ranges' end and the test split's beginning (the default split's order)
  const trainEnd = runData.trainRanges.length ? Math.max(...runData.trainRanges.map(([, e]) => e)) : null;
  if (trainEnd === null || runData.test.length === 0) throw new DataError('bad-option', 'the run records no validation split');
  const t0 = rt.trainStarts[0]!, i0 = runData.trainRanges[0]![0];
  const at = (i: number): number => t0 + (i - i0) * rt.frameStep;
  return spanOf(at(trainEnd), at(runData.test[0]! - 1));
}
