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
        for (let c = t; c + span <= e; c += step) parts[s].starts.push(c);
      }
      t = e + gap;
    });
  }
  for (const s of used) {
    if (parts[s].starts.length === 0) {
      throw new DataError('too-short', `the ${s} split gets no clip of ${span} frames: ${o.timeSteps} time steps in ${blocks} block(s) with gaps of ${gap} are too few`);
    }
  }
  const finish = (s: SplitName): SplitPart => ({ ranges: parts[s].ranges, starts: Int32Array.from(parts[s].starts) });
  return { train: finish('train'), validation: finish('validation'), test: finish('test'), span, gap };
}
