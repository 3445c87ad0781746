// The trainer's data-parallel helpers (docs/training.md): numbers agreed on by every rank, and a rank's part of a
// whole batch from a data source that ignores \`shard\`.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { TrainBatch } from './types.js';

/** Numbers reduced over the group's ranks (float64); themselves without a group. */
export function agreeAll(group: torch.distributed.ProcessGroup | null, values: number[], op: 'sum' | 'max'): number[] {
  if (!group) return values;
  const t = torch.tensor(values, { dtype: 'float64' });
  try {
    group.allReduce(t, { op });
    return t.toArray() as number[];
  } finally { t.dispose(); }
}

/** Rows [lo, hi) of a whole batch for `rank` of `count` parts (Batch.part set); the whole batch is disposed. */
export function cutBatch(b: TrainBatch, rank: number, count: number, dispose: (b: TrainBatch) => void): TrainBatch {
  const total = b.x.shape[0]!;
  const lo = Math.floor((rank * total) / count), hi = Math.floor(((rank + 1) * total) / count);
  const rows = (t: Tensor | undefined) => t?.slice(0, lo, hi).contiguous();
  const part: TrainBatch = { x: rows(b.x)!, mask: rows(b.mask), statics: rows(b.statics), date: rows(b.date), part: { offset: lo, total } };
  dispose(b);
  return part;
}
