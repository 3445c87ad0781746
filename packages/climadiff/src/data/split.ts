// Train / validation / test split by contiguous time blocks. Neighbouring frames of a climate series are
// strongly correlated, so a random split of clips would leak: a validation clip would share frames (or
// near-identical neighbours) with training clips. Here the time axis is cut into `blocks` equal blocks,
// each block into a train, a validation and a test segment (in that order, sizes by `fractions`), and a
// gap of `gap` frames (default: one clip span) is left unused between consecutive segments. A clip
// belongs to a split only if all frames it touches lie inside one of that split's segments, so no frame
// index is ever seen by two splits, and frames of different splits are at least `gap` apart.
import { DataError } from './types.js';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

export interface SplitOptions {
  timeSteps: number;
  /** Frames per clip. */
  clipFrames: number;
  /** Step between the frames of a clip (default 1). */
  frameStride?: number;
  /** Step between successive clip starts inside a segment (default 1). */
  clipStep?: number;
  /** Relative sizes (default 0.8 / 0.1 / 0.1); a zero fraction gives an empty split. */
  fractions?: { train: number; validation: number; test: number };
  /** Number of time blocks, each split into train / validation / test (default 1). More blocks spread
   * every split over the whole record (e.g. all seasons and decades) at the cost of more gaps. */
  blocks?: number;
  /** Unused frames between segments of different splits (default: the clip span). */
  gap?: number;
  /** Frames b that do not follow frame b - 1 by one time step (missing steps between files, a season subset): no clip spans them. */
  breaks?: readonly number[];
}

/** A predicate: whether the clip [c, c + span) contains no break (a frame b with c < b < c + span). */
function breakFree(breaks: readonly number[] | undefined, span: number): (c: number) => boolean {
  if (!breaks || breaks.length === 0) return () => true;
  const sorted = Float64Array.from(breaks).sort();
  return (c) => {
    // the first break > c
    let lo = 0, hi = sorted.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m]! <= c) lo = m + 1; else hi = m; }
    return lo >= sorted.length || sorted[lo]! >= c + span;
  };
}

export interface SplitPart {
  /** Frame ranges [start, end) owned by this split. */
  ranges: [number, number][];
  /** First frame of every clip of this split, ascending. */
  starts: Int32Array;
}

export interface TimeSplit extends Record<SplitName, SplitPart> {
  /** Frames one clip touches: (clipFrames - 1) * frameStride + 1. */
  span: number;
  gap: number;
}

/** Clip span (frames touched by one clip). */
export function clipSpan(clipFrames: number, frameStride = 1): number {
  return (clipFrames - 1) * frameStride + 1;
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new DataError('bad-option', `${name} must be a positive integer, got ${v}`);
}

export function splitByTimeBlocks(o: SplitOptions): TimeSplit {
  const stride = o.frameStride ?? 1;
  const step = o.clipStep ?? 1;
  const blocks = o.blocks ?? 1;
  positiveInt('timeSteps', o.timeSteps); positiveInt('clipFrames', o.clipFrames);
  positiveInt('frameStride', stride); positiveInt('clipStep', step); positiveInt('blocks', blocks);
  const span = clipSpan(o.clipFrames, stride);
  const gap = o.gap ?? span;
  if (!Number.isInteger(gap) || gap < 0) throw new DataError('bad-option', `gap must be a non-negative integer, got ${gap}`);
  const fr = o.fractions ?? { train: 0.8, validation: 0.1, test: 0.1 };
  const fracs = SPLIT_NAMES.map((s) => fr[s]);
  if (fracs.some((f) => !(f >= 0)) || fracs.every((f) => f === 0)) {
    throw new DataError('bad-option', `split fractions must be non-negative and not all zero, got ${JSON.stringify(fr)}`);
  }
  const total = fracs.reduce((a, b) => a + b, 0);
  const used = SPLIT_NAMES.filter((_, i) => fracs[i]! > 0);
  const parts: Record<SplitName, { ranges: [number, number][]; starts: number[] }> = {
    train: { ranges: [], starts: [] }, validation: { ranges: [], starts: [] }, test: { ranges: [], starts: [] },
  };
  const ok = breakFree(o.breaks, span);
  const blockLen = Math.floor(o.timeSteps / blocks);
  for (let b = 0; b < blocks; b++) {
    const b0 = b * blockLen;
    const b1 = b === blocks - 1 ? o.timeSteps : b0 + blockLen;
    const gaps = b === blocks - 1 ? used.length - 1 : used.length; // a gap before the next block too
    const avail = b1 - b0 - gaps * gap;
    if (avail <= 0) continue;
    const sizes = used.map((s) => Math.floor((avail * fr[s]) / total));
    sizes[0]! += avail - sizes.reduce((a, c) => a + c, 0); // the rounding remainder goes to the first split
    let t = b0;
    used.forEach((s, i) => {
      const e = t + sizes[i]!;
      if (e > t) {
        parts[s].ranges.push([t, e]);
        for (let c = t; c + span <= e; c += step) if (ok(c)) parts[s].starts.push(c);
      }
      t = e + gap;
    });
  }
  for (const s of used) {
    if (parts[s].starts.length === 0) {
      throw new DataError('too-short', `the ${s} split gets no clip of ${span} frames: ${o.timeSteps} time steps in ${blocks} block(s) with gaps of ${gap} are too few (--validation none holds out a test split only; --split none trains on everything; or fewer --frames)`);
    }
  }
  const finish = (s: SplitName): SplitPart => ({ ranges: parts[s].ranges, starts: Int32Array.from(parts[s].starts) });
  return { train: finish('train'), validation: finish('validation'), test: finish('test'), span, gap };
}

export interface LabelSplitOptions extends Omit<SplitOptions, 'fractions' | 'blocks' | 'timeSteps'> {
  /** The split of every frame (null: unused), e.g. from calendarLabels. */
  labels: readonly (SplitName | null)[];
  /** Splits that may be empty (e.g. validation when the user asked for none). */
  optional?: readonly SplitName[];
}

/**
 * A split from a label per frame (years or seasons held out): each split owns the runs of frames with its label,
 * less the first `gap` frames after a frame of another split, so frames of different splits are at least `gap` apart;
 * clips lie inside one run and span no break.
 */
export function splitByLabels(o: LabelSplitOptions): TimeSplit {
  const stride = o.frameStride ?? 1, step = o.clipStep ?? 1;
  const T = o.labels.length;
  positiveInt('timeSteps', T); positiveInt('clipFrames', o.clipFrames); positiveInt('frameStride', stride); positiveInt('clipStep', step);
  const span = clipSpan(o.clipFrames, stride);
  const gap = o.gap ?? span;
  if (!Number.isInteger(gap) || gap < 0) throw new DataError('bad-option', `gap must be a non-negative integer, got ${gap}`);
  const ok = breakFree(o.breaks, span);
  // usable[i]: labelled, and no frame of another split within the `gap` frames before it
  const usable: (SplitName | null)[] = new Array(T).fill(null);
  const lastOf: Partial<Record<SplitName, number>> = {}; // the latest frame of each split so far
  for (let i = 0; i < T; i++) {
    const l = o.labels[i] ?? null;
    if (l === null) continue;
    let other = -Infinity;
    for (const s of SPLIT_NAMES) if (s !== l && lastOf[s] !== undefined) other = Math.max(other, lastOf[s]!);
    if (i - other > gap) usable[i] = l;
    lastOf[l] = i;
  }
  const parts: Record<SplitName, { ranges: [number, number][]; starts: number[] }> = {
    train: { ranges: [], starts: [] }, validation: { ranges: [], starts: [] }, test: { ranges: [], starts: [] },
  };
  for (let i = 0; i < T;) {
    const l = usable[i];
    if (l === null || l === undefined) { i++; continue; }
    let e = i;
    while (e < T && usable[e] === l) e++;
    parts[l].ranges.push([i, e]);
    for (let c = i; c + span <= e; c += step) if (ok(c)) parts[l].starts.push(c);
    i = e;
  }
  for (const s of SPLIT_NAMES) {
    if (parts[s].starts.length === 0 && !(o.optional ?? []).includes(s)) {
      const frames = o.labels.filter((x) => x === s).length;
      throw new DataError('too-short', `the ${s} split gets no clip of ${span} frames (${frames} frame(s) labelled ${s}, in runs shorter than a clip once ${gap}-frame gaps are left between splits; --validation none or --split none for short data)`);
    }
  }
  const finish = (s: SplitName): SplitPart => ({ ranges: parts[s].ranges, starts: Int32Array.from(parts[s].starts) });
  return { train: finish('train'), validation: finish('validation'), test: finish('test'), span, gap };
}

/** How frames are assigned to splits by date. */
export type CalendarSplit =
  /** Whole years held out; every other year trains. */
  | { kind: 'years'; validation: readonly number[]; test: readonly number[] }
  /**
   * Seasons (DJF, MAM, JJA, SON; December counts with the following January) numbered from the first one in the data:
   * season r is test when r % every == every - 1 and validation when r % every == floor((every - 1) / 2) (the seed's
   * "every fifth season is test" is every = 5: seasons 4, 9, ... test, 2, 7, ... validation).
   */
  | { kind: 'seasons'; every: number };

/** The split of every frame from its date (year, month). With validation: false no frame is labelled validation. */
export function calendarLabels(dates: readonly { year: number; month: number }[], rule: CalendarSplit, o: { validation?: boolean } = {}): (SplitName | null)[] {
  const withVal = o.validation ?? true;
  if (rule.kind === 'years') {
    const v = new Set(rule.validation), t = new Set(rule.test);
    for (const y of v) if (t.has(y)) throw new DataError('bad-option', `the year ${y} cannot be both validation and test`);
    const years = new Set(dates.map((d) => d.year));
    for (const y of [...v, ...t]) if (!years.has(y)) throw new DataError('bad-option', `the held-out year ${y} is not in the data (${Math.min(...years)}-${Math.max(...years)})`);
    return dates.map((d) => (t.has(d.year) ? 'test' : v.has(d.year) ? (withVal ? 'validation' : null) : 'train'));
  }
  const every = rule.every;
  if (!Number.isInteger(every) || every < 3) throw new DataError('bad-option', `seasons: every must be an integer >= 3 (one season in every is test, one validation), got ${every}`);
  const index = (d: { year: number; month: number }): number => (d.month === 12 ? d.year + 1 : d.year) * 4 + Math.floor((d.month % 12) / 3);
  const r0 = dates.length ? index(dates[0]!) : 0;
  return dates.map((d) => {
    const r = (index(d) - r0) % every;
    return r === every - 1 ? 'test' : r === Math.floor((every - 1) / 2) ? (withVal ? 'validation' : null) : 'train';
  });
}

/**
 * A split as the CLI and configs write it: 'blocks' or 'blocks:N' (N time blocks, each 0.8 / 0.1 / 0.1),
 * 'years:VAL:TEST' (comma-separated years, e.g. 'years:2008:2009,2010'), 'seasons:N' (calendarLabels), 'none' (every
 * frame trains: nothing held out, for files too short to split).
 */
export function parseSplitSpec(spec: string): { blocks?: number; calendar?: CalendarSplit; holdOut?: false } {
  const [kind, ...rest] = spec.trim().split(':');
  if (kind === 'none' && rest.length === 0) return { holdOut: false };
  const years = (t: string | undefined, what: string): number[] => {
    const v = (t ?? '').split(',').map((x) => x.trim()).filter(Boolean).map(Number);
    if (!v.every(Number.isInteger)) throw new DataError('bad-option', `split '${spec}': the ${what} years must be integers`);
    return v;
  };
  if (kind === 'blocks' && rest.length <= 1) {
    if (rest.length === 0) return {};
    const n = Number(rest[0]);
    if (!Number.isInteger(n) || n < 1) throw new DataError('bad-option', `split '${spec}': blocks:N needs an integer N >= 1`);
    return { blocks: n };
  }
  if (kind === 'years' && rest.length === 2) {
    const test = years(rest[1], 'test');
    if (test.length === 0) throw new DataError('bad-option', `split '${spec}': give at least one test year (years:VALIDATION:TEST)`);
    return { calendar: { kind: 'years', validation: years(rest[0], 'validation'), test } };
  }
  if (kind === 'seasons' && rest.length === 1) return { calendar: { kind: 'seasons', every: Number(rest[0]) } };
  throw new DataError('bad-option', `unknown split '${spec}' (valid: blocks, blocks:N, years:VALIDATION:TEST with comma-separated years, seasons:N, none)`);
}
