// Clips and batches as plain typed arrays, without torch: what ClipDataset (data/dataset.ts) turns into tensors, and
// what the read-ahead worker (data/batch-worker.ts) computes off the main thread. Both call the same functions, so a
// batch read ahead is bit for bit the batch read in place.
import type { ClipSource } from './clip-source.js';
import { normalise, type NormStats } from './normalise.js';
import type { StaticFields } from './statics.js';
import { DataError } from './types.js';

/** Everything a clip needs besides its source: a ClipDataset's settings (plain data, so a worker can receive them). */
export interface ClipLayout {
  frames: number;
  frameStride: number;
  /** Time steps a clip covers: (frames - 1) * frameStride + 1. */
  span: number;
  starts: Int32Array;
  stats: NormStats | null;
  /** Month index per time step, for climatology statistics. */
  months: Float64Array | null;
  statics: StaticFields | null;
  /** (T, dateCount) date features of every time step. */
  features: Float32Array | null;
  dateCount: number;
}

export interface Clip {
  /** (C, F, H, W), normalised, 0 where missing. */
  data: Float32Array;
  /** (C, F, H, W), 1 where missing. */
  mask: Uint8Array;
  shape: [number, number, number, number];
  start: number;
  /** Time index of every frame. */
  frameIndices: Int32Array;
}

/** A batch as typed arrays: x and mask [B, C, F, H, W], statics [B, S, F, H, W], date [B, D]. */
export interface BatchArrays {
  shape: [number, number, number, number, number];
  x: Float32Array;
  mask: Float32Array;
  statics: Float32Array | null;
  staticCount: number;
  date: Float32Array | null;
  indices: Int32Array;
  starts: Int32Array;
  frameIndices: Int32Array;
}

/** Clip i of a layout: its frames read from the source, normalised, 0 where missing. */
export async function readClip(source: ClipSource, l: ClipLayout, i: number): Promise<Clip> {
  if (!Number.isInteger(i) || i < 0 || i >= l.starts.length) throw new DataError('bad-index', `clip ${i} is outside [0, ${l.starts.length})`);
  const start = l.starts[i]!;
  const C = source.channels.length, F = l.frames, H = source.height, W = source.width;
  const frame = H * W;
  const block = await source.read(start, start + l.span);
  const data = new Float32Array(C * F * frame);
  const mask = new Uint8Array(C * F * frame);
  const frameIndices = Int32Array.from({ length: F }, (_, f) => start + f * l.frameStride);
  for (let c = 0; c < C; c++) {
    for (let f = 0; f < F; f++) {
      const src = (c * block.frames + f * l.frameStride) * frame;
      data.set(block.data.subarray(src, src + frame), (c * F + f) * frame);
      mask.set(block.mask.subarray(src, src + frame), (c * F + f) * frame);
    }
  }
  const shape = { channels: C, frames: F, height: H, width: W };
  const out = l.stats
    ? normalise(l.stats, data, mask, shape, l.months ? Array.from(frameIndices, (t) => l.months![t]!) : null)
    : data.map((v, k) => (mask[k] !== 0 ? 0 : v));
  return { data: out, mask, shape: [C, F, H, W], start, frameIndices };
}

/** The clips `idx` of a layout as one batch of typed arrays. */
export async function readBatch(source: ClipSource, l: ClipLayout, idx: ArrayLike<number>): Promise<BatchArrays> {
  const B = idx.length, C = source.channels.length, F = l.frames, H = source.height, W = source.width;
  const per = C * F * H * W;
  const x = new Float32Array(B * per), m = new Float32Array(B * per);
  const starts = new Int32Array(B), frameIndices = new Int32Array(B * F);
  for (let b = 0; b < B; b++) {
    const clip = await readClip(source, l, idx[b]!);
    x.set(clip.data, b * per);
    for (let k = 0; k < per; k++) m[b * per + k] = clip.mask[k]!;
    starts[b] = clip.start;
    frameIndices.set(clip.frameIndices, b * F);
  }
  let statics: Float32Array | null = null;
  const S = l.statics?.names.length ?? 0;
  if (l.statics && S > 0) {
    const cells = H * W;
    statics = new Float32Array(B * S * F * cells);
    for (let b = 0; b < B; b++) for (let c = 0; c < S; c++) for (let f = 0; f < F; f++) {
      statics.set(l.statics.data.subarray(c * cells, (c + 1) * cells), ((b * S + c) * F + f) * cells);
    }
  }
  let date: Float32Array | null = null;
  if (l.features) {
    const D = l.dateCount;
    date = new Float32Array(B * D);
    for (let b = 0; b < B; b++) date.set(l.features.subarray(starts[b]! * D, (starts[b]! + 1) * D), b * D);
  }
  return { shape: [B, C, F, H, W], x, mask: m, statics, staticCount: S, date, indices: Int32Array.from(idx), starts, frameIndices };
}
