// `npm run bench -w climadiff` (part of `npm run bench`): the data loader against the training step it feeds. A 64 x 128
// simulated Earth (tas, pr) is written as ten NetCDF files and as one; batches of 8 clips of 8 frames (climatology
// anomalies, date features) are drawn from each, and the demo's U-Net trains on the same batch size and grid. The
// figure that matters is the loader's share of a training step: time spent waiting for data when loading does not
// overlap the step, and the waiting that is left when batches are read ahead in a worker thread (readAhead 2) while a
// step of --step-ms blocks the main thread (a GPU-speed step: libtorch calls block the thread that makes them).
// Prints one JSON object; docs/benchmarks.md holds a measured table.
//
//   node dist/bench/loader.js [--files 10] [--steps-per-file 60] [--batches 20] [--step-ms 100] [--threads T]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import { simulateEarth } from '../src/data/simulator/earth.js';
import { writeDataset } from '../src/data/writers/dataset.js';
import { sliceTime } from '../src/data/writers/common.js';
import { openDataSource } from '../src/data/multi-source.js';
import { splitDatasets } from '../src/data/dataset.js';
import { UNet3D, unet3dConfig } from '../src/models/index.js';
import { weightedLoss, alphaCosineSchedule } from '../src/diffusion/index.js';
import { asDenoiser } from '../src/models/denoiser.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 10), PER = arg('steps-per-file', 60), BATCHES = arg('batches', 20), THREADS = arg('threads', torch.getNumThreads());
const STEP_MS = arg('step-ms', 100);
const H = 64, W = 128, F = 8, B = 8;
torch.setNumThreads(THREADS);
const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

const dir = mkdtempSync(join(tmpdir(), 'climadiff-loader-'));
try {
  const t0 = performance.now();
  const ds = simulateEarth({ frames: FILES * PER, seed: 1, nlat: H, nlon: W, spinupDays: 2, everyHours: 6 });
  const simulateSeconds = (performance.now() - t0) / 1000;
  const single = join(dir, 'all.nc');
  await writeDataset(ds, single);
  const files: string[] = [];
  for (let k = 0; k < FILES; k++) {
    const f = join(dir, `part_${String(k).padStart(2, '0')}.nc`);
    await writeDataset(sliceTime(ds, 'time', k * PER, (k + 1) * PER), f);
    files.push(f);
  }
  const loader = async (spec: string | string[]): Promise<{ msPerBatch: number; fitSeconds: number }> => {
    const source = await openDataSource(spec, ['tas', 'pr']);
    const t = performance.now();
    const { train } = await splitDatasets(source, { frames: F, normalisation: 'climatology', dateFeatures: 'year+day' });
    const fitSeconds = (performance.now() - t) / 1000;
    const times: number[] = [];
    let k = 0, last = performance.now();
    for await (const batch of train.batches({ batchSize: B, shuffle: true, seed: 0 })) {
      const now = performance.now();
      times.push(now - last);
      for (const v of [batch.x, batch.mask, batch.date]) v?.dispose();
      last = performance.now();
      if (++k >= BATCHES) break;
    }
    source.close();
    return { msPerBatch: median(times), fitSeconds };
  };
  const one = await loader(single);
  const many = await loader(files);
  // waiting for data per step when every step blocks the main thread for STEP_MS, reading in place or ahead
  const overlapped = async (readAhead: number): Promise<number> => {
    const source = await openDataSource(files, ['tas', 'pr']);
    const { train } = await splitDatasets(source, { frames: F, normalisation: 'climatology', dateFeatures: 'year+day', reopen: { data: files, variables: ['tas', 'pr'], select: null } });
    const waits: number[] = [];
    const it = train.batches({ batchSize: B, shuffle: true, seed: 0, readAhead })[Symbol.asyncIterator]();
    for (let k = 0; k <= BATCHES; k++) {
      const t = performance.now();
      const r = await it.next();
      if (k > 0) waits.push(performance.now() - t); // the first batch has nothing to overlap with
      if (r.done) break;
      for (const v of [r.value.x, r.value.mask, r.value.date]) v?.dispose();
      const until = performance.now() + STEP_MS;
      while (performance.now() < until) { /* the step: the main thread is busy */ }
    }
    await it.return?.(undefined);
    source.close();
    return waits.reduce((a, b) => a + b, 0) / waits.length;
  };
  const waitInPlace = await overlapped(0), waitAhead = await overlapped(2);

  // the training step on the same batch: forward, loss, backward, optimizer (the demo's U-Net)
  const model = new UNet3D(unet3dConfig({ inChannels: 2, channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1, dateFeatures: 4 }));
  const opt = new torch.optim.AdamW(model.parameters(), { lr: 1e-4 });
  const schedule = alphaCosineSchedule();
  const gen = new torch.Generator({ seed: 0 });
  const stepMs: number[] = [];
  for (let s = 0; s < 4; s++) {
    const t = performance.now();
    torch.scope(() => {
      const x = torch.randn([B, 2, F, H, W], { generator: gen });
      const date = torch.randn([B, 4], { generator: gen });
      const den = asDenoiser(model, { date });
      const { loss } = weightedLoss(den, x, schedule, { weighting: 'eps-mse', generator: gen });
      opt.zeroGrad();
      loss.mean().backward();
      opt.step();
    });
    if (s > 0) stepMs.push(performance.now() - t); // the first step warms up
  }
  const step = median(stepMs);
  process.stdout.write(`${JSON.stringify({
    bench: 'loader', grid: [H, W], frames: F, batch: B, files: FILES, stepsPerFile: PER, threads: THREADS, simulateSeconds,
    singleFile: one, multiFile: many, trainStepMs: step,
    // waiting per step if loading does not overlap the step, as a share of the step
    waitingShareSingle: one.msPerBatch / (one.msPerBatch + step),
    waitingShareMulti: many.msPerBatch / (many.msPerBatch + step),
    multiOverSingle: many.msPerBatch / one.msPerBatch,
    // a step of stepMs blocking the main thread: mean wait for the next batch, as a share of the step
    stepMs: STEP_MS, waitInPlaceMs: waitInPlace, waitReadAheadMs: waitAhead,
    waitingShareInPlace: waitInPlace / STEP_MS, waitingShareReadAhead: waitAhead / STEP_MS,
  }, null, 1)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
