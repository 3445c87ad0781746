// The read-ahead worker of ClipDataset.batches (data/dataset.ts): opens the dataset's source again from its spec
// (files, variables, selection) and answers { id, idx } with the batch of clips idx as typed arrays (transferred, not
// copied), one request at a time, in order. Errors go back as { id, error }, so the consumer gets them as exceptions.
import { parentPort, workerData } from 'node:worker_threads';
import { readBatch, type BatchArrays, type ClipLayout } from './clip-reader.js';
import { openSelectedSource } from './select-source.js';
import type { SourceSpec } from './dataset.js';
import { DataError } from './types.js';

const { spec, layout, clipShape } = workerData as { spec: SourceSpec; layout: ClipLayout; clipShape: [number, number, number, number] };
const port = parentPort!;
const opened = openSelectedSource(spec.data, spec.variables, spec.select).then((source) => {
  const [C, , H, W] = clipShape;
  if (source.channels.length !== C || source.height !== H || source.width !== W) {
    throw new DataError('shape-mismatch', `the read-ahead worker's source is ${source.channels.length} x ${source.height} x ${source.width}, the dataset's ${C} x ${H} x ${W}`);
  }
  return source;
});
let queue: Promise<unknown> = Promise.resolve();

port.on('message', (m: { id: number; idx: Int32Array }) => {
  queue = queue.then(async () => {
    try {
      const batch: BatchArrays = await readBatch(await opened, layout, m.idx);
      const transfer = [batch.x.buffer, batch.mask.buffer, ...(batch.statics ? [batch.statics.buffer] : []), ...(batch.date ? [batch.date.buffer] : [])] as ArrayBuffer[];
      port.postMessage({ id: m.id, batch }, transfer);
    } catch (e) {
      const err = e as Error;
      port.postMessage({ id: m.id, error: { kind: err instanceof DataError ? err.kind : 'read-ahead', message: err.message } });
    }
  });
});
