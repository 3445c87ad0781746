// Training clips: normalised space-time blocks (channel, frame, lat, lon) with their missing-data mask,
// read on demand from a ClipSource, shuffled deterministically and batched as torch tensors
// [B, C, F, H, W]. `splitDatasets` builds the train / validation / test datasets of a time-block split
// with statistics fitted on the training frames only.
import * as torch from '@climadiff/torch';
import { Worker } from 'node:worker_threads';
import type { ClipSource } from './clip-source.js';
import { readBatch, readClip, type BatchArrays, type Clip, type ClipLayout } from './clip-reader.js';
import type { SourceSelection } from './select-source.js';
import { denormalise, fitNormStats, needsMonths, sourceMonths, type FitOptions, type NormKind, type NormStats } from './normalise.js';
import { dateFeatureCount, timeFeatures, type DateFeatureKind } from './dates.js';
import { calendarLabels, clipSpan, splitByLabels, splitByTimeBlocks, type CalendarSplit, type SplitOptions, type TimeSplit } from './split.js';
import { decodeTimeParts } from './time-parts.js';
import type { StaticFields } from './statics.js';
import { DataError } from './types.js';

export interface ClipDatasetOptions {
  /** Frames per clip. */
  frames: number;
  /** Step between a clip's frames (default 1). */
  frameStride?: number;
  /** First frames of the clips (default: every valid start, `clipStep` apart). */
  starts?: Int32Array;
  clipStep?: number;
  /** Normalisation statistics; null or absent: clips stay in physical units (missing still set to 0). */
  stats?: NormStats | null;
  /** Month index per time step for climatology statistics (default: from the time coordinate). */
  months?: ArrayLike<number>;
  /** Static conditioning fields, repeated over frames in batches. */
  statics?: StaticFields;
  /** Date features of each clip's first frame in batches (`batch.date`, [B, D]); needs a time coordinate. */
  dateFeatures?: DateFeatureKind;
  /** How to open the source again (files, variables, selection): lets `batches` read ahead in a worker thread. */
  reopen?: SourceSpec;
}

/** A source as files, variables and a selection (data/select-source.ts openSelectedSource). */
export interface SourceSpec {
  data: string | string[];
  variables: string[];
  select: SourceSelection | null;
}

export type { Clip } from './clip-reader.js';

export interface Batch {
  /** [B, C, F, H, W] float32. */
  x: torch.Tensor;
  /** [B, C, F, H, W] float32, 1 where missing. */
  mask: torch.Tensor;
  /** [B, S, F, H, W] float32 static channels, when the dataset has them. */
  statics?: torch.Tensor;
  /** [B, D] float32 date features of each clip's first frame, when the dataset has them. */
  date?: torch.Tensor;
  /** Clip indices (into the dataset) and first frames of the batch's clips. */
  indices: Int32Array;
  starts: Int32Array;
  /** Time index of every frame, B x F (for `toPhysical` with climatology statistics). */
  frameIndices: Int32Array;
  /** With BatchOptions.shard: these rows are rows [offset, offset + B) of a batch of `total` clips across all ranks. */
  part?: { offset: number; total: number };
}

export interface BatchOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Each epoch gets its own permutation from (seed, epoch). */
  epoch?: number;
  dropLast?: boolean;
  /**
   * Batches read ahead in a worker thread while the consumer works (e.g. a training step), for datasets that know how
   * to reopen their source (ClipDatasetOptions.reopen); 0 (default) reads each batch when it is asked for. The batches
   * are the same either way, bit for bit.
   */
  readAhead?: number;
  /**
   * Data-parallel training: every batch of `batchSize` clips (the global batch) is cut into `count` contiguous parts
   * and only part `rank` is read (Batch.part says where it lies). A batch of fewer clips than parts is skipped on
   * every rank alike, so all ranks see the same number of batches.
   */
  shard?: { rank: number; count: number };
}

export class ClipDataset {
  readonly source: ClipSource;
  readonly frames: number;
  readonly frameStride: number;
  readonly span: number;
  readonly starts: Int32Array;
  readonly stats: NormStats | null;
  readonly statics: StaticFields | null;
  readonly dateFeatures: DateFeatureKind;
  readonly reopen: SourceSpec | null;
  private readonly months: Float64Array | null;
  /** (T, D) date features of every time step. */
  private readonly features: Float32Array | null;

  constructor(source: ClipSource, o: ClipDatasetOptions) {
    this.source = source;
    this.frames = o.frames;
    this.frameStride = o.frameStride ?? 1;
    if (!Number.isInteger(this.frames) || this.frames < 1) throw new DataError('bad-option', `frames must be a positive integer, got ${o.frames}`);
    if (!Number.isInteger(this.frameStride) || this.frameStride < 1) throw new DataError('bad-option', `frameStride must be a positive integer, got ${o.frameStride}`);
    this.span = clipSpan(this.frames, this.frameStride);
    const step = o.clipStep ?? 1;
    this.starts = o.starts ?? Int32Array.from({ length: Math.max(0, Math.floor((source.timeSteps - this.span) / step) + 1) }, (_, i) => i * step);
    for (const s of this.starts) {
      if (s < 0 || s + this.span > source.timeSteps) throw new DataError('bad-range', `clip start ${s} with span ${this.span} is outside [0, ${source.timeSteps})`);
    }
    this.stats = o.stats ?? null;
    this.months = this.stats && needsMonths(this.stats) ? sourceMonths(source, o.months) : null;
    this.dateFeatures = o.dateFeatures ?? 'none';
    if (this.dateFeatures !== 'none' && !source.time) throw new DataError('no-time', `date features need a time coordinate, and the data have none`);
    this.features = this.dateFeatures === 'none' ? null : timeFeatures(source.time!, this.dateFeatures);
    this.statics = o.statics ?? null;
    this.reopen = o.reopen ?? null;
    if (this.statics && (this.statics.height !== source.height || this.statics.width !== source.width)) {
      throw new DataError('bad-shape', `static fields are ${this.statics.height}x${this.statics.width}, the data ${source.height}x${source.width}`);
    }
  }

  get length(): number { return this.starts.length; }
  /** (C, F, H, W) of one clip. */
  get clipShape(): [number, number, number, number] {
    return [this.source.channels.length, this.frames, this.source.height, this.source.width];
  }

  /** What a clip needs besides the source (plain data: the read-ahead worker receives it). */
  get layout(): ClipLayout {
    return {
      frames: this.frames, frameStride: this.frameStride, span: this.span, starts: this.starts, stats: this.stats, months: this.months,
      statics: this.statics, features: this.features, dateCount: dateFeatureCount(this.dateFeatures),
    };
  }

  /** Clip i: normalised data and mask. */
  clip(i: number): Promise<Clip> {
    return readClip(this.source, this.layout, i);
  }

  /**
   * Normalised clips or samples [B, C, F, H, W] back in physical units (float32 tensor), with the exact
   * inverse of this dataset's normalisation. `frameIndices` (B x F time indices, e.g. `batch.frameIndices`)
   * are needed for climatology statistics, whose mean depends on each frame's month; `mask` (1 = missing)
   * turns those entries into NaN.
   */
  toPhysical(x: torch.Tensor, frameIndices?: ArrayLike<number>, mask?: torch.Tensor): torch.Tensor {
    if (!this.stats) return x.to('float32');
    const [B, C, F, H, W] = x.shape as [number, number, number, number, number];
    if (x.shape.length !== 5 || C !== this.source.channels.length || H !== this.source.height || W !== this.source.width) {
      throw new DataError('bad-shape', `expected [B, ${this.source.channels.length}, F, ${this.source.height}, ${this.source.width}], got [${x.shape.join(', ')}]`);
    }
    if (this.months && (!frameIndices || frameIndices.length !== B * F)) {
      throw new DataError('bad-months', `climatology statistics need ${B} x ${F} frame indices to find each frame's month`);
    }
    const per = C * F * H * W;
    const all = x.to('float32').toFloat32Array();
    const m = mask ? Uint8Array.from(mask.toFloat32Array(), (v) => (v !== 0 ? 1 : 0)) : null;
    const out = new Float32Array(all.length);
    for (let b = 0; b < B; b++) {
      const months = this.months ? Array.from({ length: F }, (_, f) => this.months![frameIndices![b * F + f]!]!) : null;
      out.set(denormalise(this.stats, all.subarray(b * per, (b + 1) * per), m ? m.subarray(b * per, (b + 1) * per) : null,
        { channels: C, frames: F, height: H, width: W }, months), b * per);
    }
    return torch.tensor(out, [B, C, F, H, W]);
  }

  /** The clip order of an epoch: a permutation from (seed, epoch) via torch.randperm, or 0..n-1. */
  order(shuffle: boolean, seed = 0, epoch = 0): Int32Array {
    if (!shuffle) return Int32Array.from({ length: this.length }, (_, i) => i);
    const gen = new torch.Generator({ seed: BigInt(seed) * 1000003n + BigInt(epoch) });
    return torch.scope(() => Int32Array.from(torch.randperm(this.length, { generator: gen }).toTypedArray() as BigInt64Array, Number));
  }

  /** Batches as tensors [B, C, F, H, W]; the last one is smaller unless dropLast. */
  async *batches(o: BatchOptions): AsyncGenerator<Batch> {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new DataError('bad-option', `batchSize must be a positive integer, got ${o.batchSize}`);
    const readAhead = o.readAhead ?? 0;
    if (!Number.isInteger(readAhead) || readAhead < 0) throw new DataError('bad-option', `readAhead must be a non-negative integer, got ${o.readAhead}`);
    const order = this.order(o.shuffle ?? true, o.seed ?? 0, o.epoch ?? 0);
    const shard = o.shard;
    if (shard && !(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.rank) && shard.rank >= 0 && shard.rank < shard.count)) {
      throw new DataError('bad-option', `shard rank ${shard.rank} of ${shard.count} is not a part`);
    }
    const groups: Int32Array[] = [];
    const parts: { offset: number; total: number }[] = [];
    for (let b0 = 0; b0 < order.length; b0 += o.batchSize) {
      const idx = order.subarray(b0, Math.min(order.length, b0 + o.batchSize));
      if (idx.length < o.batchSize && o.dropLast) break;
      if (!shard) { groups.push(idx); continue; }
      if (idx.length < shard.count) continue;
      const lo = Math.floor((shard.rank * idx.length) / shard.count);
      const hi = Math.floor(((shard.rank + 1) * idx.length) / shard.count);
      groups.push(idx.subarray(lo, hi));
      parts.push({ offset: lo, total: idx.length });
    }
    const withPart = (b: Batch, k: number): Batch => (shard ? { ...b, part: parts[k]! } : b);
    if (readAhead > 0 && this.reopen && groups.length > 1) {
      let k = 0;
      for await (const b of readAheadBatches(this.reopen, this.layout, this.clipShape, groups, readAhead)) yield withPart(b, k++);
      return;
    }
    for (let k = 0; k < groups.length; k++) yield withPart(toBatch(await readBatch(this.source, this.layout, groups[k]!)), k);
  }
}

/** Typed arrays as a batch of tensors. */
function toBatch(a: BatchArrays): Batch {
  const [B, , F, H, W] = a.shape;
  const batch: Batch = { x: torch.tensor(a.x, a.shape), mask: torch.tensor(a.mask, a.shape), indices: a.indices, starts: a.starts, frameIndices: a.frameIndices };
  if (a.statics) batch.statics = torch.tensor(a.statics, [B, a.staticCount, F, H, W]);
  if (a.date) batch.date = torch.tensor(a.date, [B, a.date.length / B]);
  return batch;
}

/**
 * The batches `groups` read by a worker thread (data/batch-worker.ts) that opens the source again, up to `depth`
 * batches ahead of the consumer. The worker holds the event loop only while a batch is on its way, and stops when the
 * generator ends, early or not.
 */
async function* readAheadBatches(spec: SourceSpec, layout: ClipLayout, clipShape: [number, number, number, number],
  groups: Int32Array[], depth: number): AsyncGenerator<Batch> {
  const worker = new Worker(new URL('./batch-worker.js', import.meta.url), { workerData: { spec, layout, clipShape } });
  const waiting = new Map<number, { resolve: (a: BatchArrays) => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  const fail = (e: Error): void => { failure ??= e; for (const w of waiting.values()) w.reject(failure); waiting.clear(); };
  worker.on('message', (m: { id: number; batch?: BatchArrays; error?: { kind: string; message: string } }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    if (m.error) w.reject(new DataError(m.error.kind, m.error.message)); else w.resolve(m.batch!);
  });
  worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => fail(new DataError('read-ahead', `the read-ahead worker stopped (exit code ${code})`)));
  const request = (id: number): Promise<BatchArrays> => new Promise((resolve, reject) => {
    if (failure) { reject(failure); return; }
    waiting.set(id, { resolve, reject });
    worker.ref();
    worker.postMessage({ id, idx: groups[id] });
  });
  const inFlight: Promise<BatchArrays>[] = [];
  try {
    let next = 0;
    for (let k = 0; k < groups.length; k++) {
      while (next < groups.length && next < k + depth + 1) inFlight.push(request(next++));
      yield toBatch(await inFlight.shift()!);
    }
  } finally {
    // batches read ahead but not consumed are dropped; their rejections (the worker stopping) are expected
    for (const p of inFlight) p.catch(() => undefined);
    // the process must live until the worker has stopped, and a worker stopped while it was unreferenced does not
    // keep it alive by itself (the process would end here, silently): a timer holds it meanwhile
    const hold = setInterval(() => undefined, 1000);
    try { await worker.terminate(); } finally { clearInterval(hold); }
  }
}

export interface SplitDatasetOptions extends Omit<SplitOptions, 'timeSteps' | 'clipFrames'> {
  frames: number;
  /** Statistics to use, or the kind to fit on the training frames (default 'per-variable'). */
  normalisation?: NormKind | NormStats;
  /** Per channel kind and transform when fitting (see FitOptions.channels). */
  channels?: FitOptions['channels'];
  dateFeatures?: DateFeatureKind;
  months?: ArrayLike<number>;
  statics?: StaticFields;
  /** Hold out by date (whole years, or every n-th season) instead of time blocks; needs a time coordinate. */
  calendar?: CalendarSplit;
  /** false: no validation split (small datasets); time blocks then split 0.9 / 0 / 0.1 unless fractions are given. */
  validation?: boolean;
  /** false: nothing held out, every clip trains (validation and test empty). */
  holdOut?: boolean;
  /** How to open the source again, for reading ahead in a worker (ClipDatasetOptions.reopen). */
  reopen?: SourceSpec;
}

/** The train/validation/test split of a source that `splitDatasets` uses (DataError 'too-short' when a split gets no clip). */
export function splitOf(source: ClipSource, o: Pick<SplitDatasetOptions, 'validation' | 'frames' | 'frameStride' | 'clipStep' | 'gap' | 'holdOut' | 'calendar' | 'fractions' | 'blocks'>): TimeSplit {
  const withVal = o.validation ?? true;
  const common = { clipFrames: o.frames, ...(o.frameStride ? { frameStride: o.frameStride } : {}), ...(o.clipStep ? { clipStep: o.clipStep } : {}),
    ...(o.gap !== undefined ? { gap: o.gap } : {}), ...(source.breaks?.length ? { breaks: source.breaks } : {}) };
  let split: TimeSplit;
  if (o.holdOut === false) {
    split = splitByLabels({ ...common, labels: new Array<'train'>(source.timeSteps).fill('train'), optional: ['validation', 'test'] });
  } else if (o.calendar) {
    if (!source.time) throw new DataError('no-time', 'a calendar split needs a time coordinate, and the data have none');
    const labels = calendarLabels(decodeTimeParts(source.time), o.calendar, { validation: withVal });
    split = splitByLabels({ ...common, labels, ...(withVal ? {} : { optional: ['validation'] as const }) });
  } else {
    const fractions = o.fractions ?? (withVal ? undefined : { train: 0.9, validation: 0, test: 0.1 });
    if (!withVal && fractions && fractions.validation > 0) throw new DataError('bad-option', 'no validation split was asked for, but the fractions give it a share');
    split = splitByTimeBlocks({ ...common, timeSteps: source.timeSteps, ...(o.blocks ? { blocks: o.blocks } : {}), ...(fractions ? { fractions } : {}) });
  }
  return split;
}

/**
 * Train / validation / test datasets of a time-block or calendar split, normalised with training statistics. Clips
 * never span the source's breaks (missing steps). Without validation the validation dataset has no clip.
 */
export async function splitDatasets(source: ClipSource, o: SplitDatasetOptions): Promise<{
  split: TimeSplit; stats: NormStats; train: ClipDataset; validation: ClipDataset; test: ClipDataset;
}> {
  const split = splitOf(source, o);
  const norm = o.normalisation ?? 'per-variable';
  const stats = typeof norm === 'string'
    ? await fitNormStats(source, { kind: norm, ranges: split.train.ranges, ...(o.months ? { months: o.months } : {}), ...(o.channels ? { channels: o.channels } : {}) })
    : norm;
  const make = (starts: Int32Array): ClipDataset => new ClipDataset(source, {
    frames: o.frames, frameStride: o.frameStride ?? 1, starts, stats,
    ...(o.months ? { months: o.months } : {}), ...(o.statics ? { statics: o.statics } : {}), ...(o.dateFeatures ? { dateFeatures: o.dateFeatures } : {}),
    ...(o.reopen ? { reopen: o.reopen } : {}),
  });
  return { split, stats, train: make(split.train.starts), validation: make(split.validation.starts), test: make(split.test.starts) };
}
