// `climadiff data simulate --model earth|qg --frames N --seed S --out file.nc|dir.zarr` (docs/simulator.md).
import { Command } from 'commander';
import { runSimulate, type SimulateOptions } from '../run/simulate.js';
import { intOption, positiveNumber, commandLine } from './options.js';

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
