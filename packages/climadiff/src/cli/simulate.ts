// `climadiff data simulate --model earth|qg --frames N --seed S --out file.nc|dir.zarr`: runs a built-in
// simulator (docs/simulator.md) and writes CF NetCDF or Zarr through the shared writers.
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { DataError } from '../data/types.js';
import type { ClimateDataset } from '../data/types.js';
import { simulateEarth } from '../data/simulator/earth.js';
import { simulateQG } from '../data/simulator/qg.js';
import { writeNetCDF } from '../data/writers/netcdf.js';
import { writeZarr } from '../data/writers/zarr.js';
import { outputKindOf } from '../data/writers/convert.js';
import { intOption, positiveNumber, commandLine } from './options.js';

export interface SimulateOptions {
  model: string; frames: number; seed: number; out: string;
  lat?: number; lon?: number; size?: number; spinup?: number; every: number; progress: boolean; overwrite?: boolean;
}

/** Runs the simulation the options describe and writes it; resolves when the file is complete. */
export async function runSimulate(opts: SimulateOptions, history?: string): Promise<ClimateDataset> {
  if (opts.model !== 'earth' && opts.model !== 'qg') {
    throw new DataError('bad-option', `simulate: --model must be 'earth' or 'qg' (got '${opts.model}')`);
  }
  const kind = outputKindOf(opts.out); // a bad extension fails before simulating
  if (opts.model === 'earth' && opts.size !== undefined) throw new DataError('bad-option', 'simulate: --size is for --model qg; use --lat/--lon for earth');
  if (opts.model === 'qg' && (opts.lat !== undefined || opts.lon !== undefined)) throw new DataError('bad-option', 'simulate: --lat/--lon are for --model earth; use --size for qg');
  const bar = opts.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: `simulate ${opts.model} [{bar}] {value}/{total} frames | eta {eta}s`, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(opts.frames, 0);
  let ds: ClimateDataset;
  try {
    const common = { frames: opts.frames, seed: opts.seed, everyHours: opts.every, spinupDays: opts.spinup, onFrame: (i: number) => bar?.update(i + 1) };
    ds = opts.model === 'earth'
      ? simulateEarth({ ...common, nlat: opts.lat ?? 32, nlon: opts.lon ?? 64 })
      : simulateQG({ ...common, size: opts.size ?? 64 });
  } finally {
    bar?.stop();
  }
  if (kind === 'netcdf') await writeNetCDF(ds, opts.out, { history, overwrite: opts.overwrite });
  else await writeZarr(ds, opts.out, { history, overwrite: opts.overwrite });
  return ds;
}

export function register(data: Command): void {
  data.command('simulate')
    .description('simulate the built-in Earth-like climate model or two-layer QG turbulence (docs/simulator.md)')
    .requiredOption('--model <model>', "'earth' (lat-lon temperature + precipitation) or 'qg' (two-layer quasi-geostrophic turbulence)")
    .requiredOption('--frames <n>', 'number of frames to write', intOption(1))
    .requiredOption('--out <path>', 'output path ending in .nc (NetCDF) or .zarr (Zarr); must not exist')
    .option('--seed <s>', 'random seed (same seed, identical output)', intOption(0), 0)
    .option('--lat <n>', 'earth: number of latitudes (default 32)', intOption(8))
    .option('--lon <n>', 'earth: number of longitudes (default 64)', intOption(16))
    .option('--size <n>', 'qg: grid points per side (even; default 64)', intOption(16))
    .option('--spinup <days>', 'model days simulated before the first frame (default earth 365, qg 300)', intOption(0))
    .option('--every <hours>', 'hours between frames', positiveNumber, 6)
    .option('--overwrite', 'replace an existing output')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: SimulateOptions, cmd: Command) => {
      await runSimulate(opts, commandLine(cmd));
    });
}
