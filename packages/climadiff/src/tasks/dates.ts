// The dates samples are generated for: given as text in the run's calendar, or drawn from the training clips' starts.
import * as torch from '@climadiff/torch';
import { encodeTimeParts, parseDate } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import type { RunData } from './model.js';

/** Start times (run time units) of n samples: the given dates (sample i gets dates[i % length]), or seeded draws from the training clips' start times. */
export function sampleStartTimes(runData: RunData, n: number, seed: number, dates?: string[]): number[] | null {
  const t = runData.time;
  if (dates && dates.length > 0) {
    if (!t) throw new DataError('bad-option', 'dates were given, but the run has no time axis');
    const coord = { units: t.units, calendar: t.calendar, attrs: {} };
    const values = dates.map((d) => encodeTimeParts(parseDate(d, t.calendar), coord));
    return Array.from({ length: n }, (_, i) => values[i % values.length]!);
  }
  if (!t || t.trainStarts.length === 0) return null;
  const gen = new torch.Generator({ seed: BigInt(seed) * 7919n + 17n });
  const idx = torch.scope(() => Array.from(torch.randint(0, t.trainStarts.length, [n], { generator: gen }).toTypedArray() as BigInt64Array, Number));
  return idx.map((i) => t.trainStarts[i]!);
}

/** The time of every frame (n x frames, run units) of samples starting at sampleStartTimes; null without a time axis. */
export function sampleFrameTimes(runData: RunData, n: number, frames: number, seed: number, dates?: string[]): Float64Array | null {
  const starts = sampleStartTimes(runData, n, seed, dates);
  const t = runData.time;
  if (!starts || !t) return null;
  return Float64Array.from({ length: n * frames }, (_, k) => starts[Math.floor(k / frames)]! + (k % frames) * t.frameStep);
}
