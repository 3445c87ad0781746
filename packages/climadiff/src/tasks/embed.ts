// Embeddings of climate states by a representation model (002_b831863fd030c65c.txt sec. 2): windows of a data file in
// physical units, normalised as the model was trained (each frame's month for climatology anomalies), passed through
// the model's learned transforms and its encoder, give q(w|x) = N(mu, diag sigma^2) per window.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Posterior } from '../models/encoder.js';
import type { ClipSource } from '../data/clip-source.js';
import { needsMonths, normalise } from '../data/normalise.js';
import { dateFeatureCount, dateFeatures, type DateFeatureKind } from '../data/dates.js';
import { coordinateCalendar, decodeTimeParts, monthPosition } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import { checkSourceMatchesModel, readWindow, sourceTime, windowTimes } from './cases.js';
import type { GenerationModel } from './model.js';

export interface Embeddings {
  /** Windows encoded, and d. */
  n: number;
  dim: number;
  /** Posterior means mu and log-variances log sigma^2, [n, d] row-major. */
  mean: Float32Array;
  logvar: Float32Array;
  /** First frame (index of the source) and its time (source units) per window. */
  starts: number[];
  times: Float64Array;
  /** Month (1-12) of each window's first frame. */
  months: number[];
  /** Units and calendar of `times`. */
  timeUnits: { units: string; calendar: string };
}

export interface EncodeOptions {
  /** The encoder (default: the model's own q(w|x)); x as the U-Net sees it, cond the static fields. */
  posterior?: (x: Tensor, cond: Tensor | null) => Posterior;
  /** Windows per encoder batch (default 16). */
  batch?: number;
  device?: string;
  onProgress?: (done: number, total: number) => void;
  /** Where the source came from, for messages. */
  where?: string;
}

/** The window starts [first, last] every `stride` frames of a source for windows of `frames` frames. */
export function slidingStarts(timeSteps: number, frames: number, stride: number, first = 0, last = timeSteps - frames): number[] {
  if (!Number.isInteger(stride) || stride < 1) throw new DataError('bad-option', `the stride must be a positive integer, got ${String(stride)}`);
  const out: number[] = [];
  for (let s = Math.max(0, first); s <= Math.min(last, timeSteps - frames); s += stride) out.push(s);
  return out;
}

/** One window in the model's normalised space [C, F, H, W] (missing values filled), and in physical units (NaN where missing). */
export async function normalisedWindow(m: GenerationModel, source: ClipSource, start: number, frames: number): Promise<{ data: Float32Array; raw: Float32Array; missing: Uint8Array; months: number[] | null }> {
  const raw = await readWindow(source, start, frames);
  const missing = Uint8Array.from(raw, (v) => (Number.isNaN(v) ? 1 : 0));
  const time = source.time;
  const months = needsMonths(m.stats)
    ? decodeTimeParts({ ...sourceTime(source, 'the data'), values: windowTimes(time!, start, frames) }).map((p) => monthPosition(p, coordinateCalendar(time!)))
    : null;
  const block = { channels: source.channels.length, frames, height: source.height, width: source.width };
  return { data: normalise(m.stats, raw, missing, block, months), raw, missing, months };
}

/** The model's date features of a window starting at `start` ([D], null for a model without date input). */
export function windowDateFeatures(m: GenerationModel, source: ClipSource, start: number): Float32Array | null {
  const kind = m.runData.dateFeatures as DateFeatureKind;
  if (dateFeatureCount(kind) === 0) return null;
  const time = sourceTime(source, 'the data');
  const [p] = decodeTimeParts({ ...time, values: windowTimes(time, start, 1) });
  return Float32Array.from(dateFeatures(p!, kind, coordinateCalendar(time)));
}

/** q(w|x) of windows of `source` starting at `starts`, each m.runData.frames long, with the model's encoder. */
export async function encodeWindows(m: GenerationModel, source: ClipSource, starts: number[], o: EncodeOptions = {}): Promise<Embeddings> {
  const d = m.model.latentDim;
  const where = o.where ?? 'the data';
  if (d === 0) throw new DataError('bad-option', 'the model has no representation (trained without --representation): there is nothing to embed with');
  checkSourceMatchesModel(source, m.runData, where);
  const time = sourceTime(source, where);
  const F = m.runData.frames, C = source.channels.length, H = source.height, W = source.width;
  for (const s of starts) if (!(Number.isInteger(s) && s >= 0 && s + F <= source.timeSteps)) throw new DataError('bad-option', `a window at frame ${s} does not fit in ${where} (${source.timeSteps} frames, windows of ${F})`);
  const batch = o.batch ?? 16;
  const device = o.device ?? 'cpu';
  const mean = new Float32Array(starts.length * d), logvar = new Float32Array(starts.length * d);
  const size = C * F * H * W;
  for (let b0 = 0; b0 < starts.length; b0 += batch) {
    const part = starts.slice(b0, b0 + batch);
    const data = new Float32Array(part.length * size), missing = new Uint8Array(part.length * size);
    for (const [i, s] of part.entries()) {
      const w = await normalisedWindow(m, source, s, F);
      data.set(w.data, i * size);
      missing.set(w.missing, i * size);
    }
    torch.scope(() => torch.noGrad(() => {
      const shape = [part.length, C, F, H, W];
      const observed = torch.tensor(missing, shape).eq(0).to(device);
      const x = m.model.encode(torch.tensor(data, shape).to(device), observed).x;
      const cond = m.statics ? m.statics.to(device).unsqueeze(0).expand([part.length, ...m.statics.shape]) : null;
      const q = o.posterior ? o.posterior(x, cond) : m.model.posterior(x, cond);
      mean.set(q.mean.to('cpu').toFloat32Array(), b0 * d);
      logvar.set(q.logvar.to('cpu').toFloat32Array(), b0 * d);
    }));
    o.onProgress?.(Math.min(b0 + batch, starts.length), starts.length);
  }
  const times = Float64Array.from(starts, (s) => time.values[s]!);
  const months = decodeTimeParts({ ...time, values: times }).map((p) => p.month);
  return { n: starts.length, dim: d, mean, logvar, starts, times, months, timeUnits: { units: time.units, calendar: coordinateCalendar(time) } };
}
