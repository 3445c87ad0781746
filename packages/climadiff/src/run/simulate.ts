// Runs a built-in simulator (docs/simulator.md) and writes CF NetCDF or Zarr through the shared writers; used by
// `climadiff data simulate` and by the reference recipes (run/sample-report.ts), so it lives below the CLI.
import { countBar } from '../train/progress.js';
import { DataError } from '../data/types.js';
import type { ClimateDataset } from '../data/types.js';
import { simulateEarth } from '../data/simulator/earth.js';
import { simulateQG } from '../data/simulator/qg.js';
import { writeDataset } from '../data/writers/dataset.js';
import { outputKindOf } from '../data/writers/convert.js';

export interface SimulateOptions {
  model: string; frames: number; seed: number; out: string;
  lat?: number; lon?: number; size?: number; spinup?: number; every: number; progress: boolean; overwrite?: boolean;
}

/** Runs the simulation the options describe and writes it; resolves when the file is complete. */
export async function runSimulate(opts: SimulateOptions, history?: string): Promise<ClimateDataset> {
  if (opts.model !== 'earth' && opts.model !== 'qg') {
    throw new DataError('bad-option', `simulate: --model must be 'earth' or 'qg' (got '${opts.model}')`);
  }
  outputKindOf(opts.out); // a bad extension fails before simulating
  if (opts.model === 'earth' && opts.size !== undefined) throw new DataError('bad-option', 'simulate: --size is for --model qg; use --lat/--lon for earth');
  if (opts.model === 'qg' && (opts.lat !== undefined || opts.lon !== undefined)) throw new DataError('bad-option', 'simulate: --lat/--lon are for --model earth; use --size for qg');
  // a bar on a terminal, a line every 10 s elsewhere (logs of background jobs)
  const bar = opts.progress ? countBar(`simulate ${opts.model}`, opts.frames, { unit: 'frames' }) : null;
  let ds: ClimateDataset;
  try {
    const common = { frames: opts.frames, seed: opts.seed, everyHours: opts.every, spinupDays: opts.spinup, onFrame: (i: number) => bar?.update(i + 1) };
    ds = opts.model === 'earth'
      ? simulateEarth({ ...common, nlat: opts.lat ?? 32, nlon: opts.lon ?? 64 })
      : simulateQG({ ...common, size: opts.size ?? 64 });
  } finally {
    bar?.stop();
  }
  await writeDataset(ds, opts.out, { history, ...(opts.overwrite !== undefined ? { overwrite: opts.overwrite } : {}) });
  return ds;
}
