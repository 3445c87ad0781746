// `climadiff data convert IN OUT [--chunk-time N] [--vars a,b]`: NetCDF/Zarr in, NetCDF (.nc) or Zarr
// (.zarr) out, one time chunk at a time, with a progress bar on a terminal. Never overwrites OUT.
import * as path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { DataError } from '../data/types.js';
import { convertSource, openTimeChunked, outputKindOf } from '../data/writers/convert.js';
import { positiveInt, commandLine } from './options.js';

export function register(data: Command): void {
  data.command('convert')
    .description('convert NetCDF/Zarr to NetCDF (OUT.nc) or Zarr (OUT.zarr), reading and writing in time chunks')
    .argument('<in>', 'input NetCDF file or Zarr store')
    .argument('<out>', 'output path ending in .nc or .zarr (must not exist)')
    .option('--chunk-time <n>', 'time steps per chunk (and Zarr chunk length)', positiveInt)
    .option('--vars <names>', 'comma-separated variables to keep (default: all data variables)')
    .option('--netcdf-format <format>', "NetCDF output format: 'classic' or '64bit-offset'", '64bit-offset')
    .option('--zarr-version <v>', 'Zarr output version: 2 or 3', '2')
    .option('--zarr-compression <c>', "Zarr chunk compression: 'none' or 'gzip'", 'none')
    .option('--no-progress', 'no progress bar')
    .action(async (input: string, output: string, opts: {
      chunkTime?: number; vars?: string; netcdfFormat: string; zarrVersion: string; zarrCompression: string; progress: boolean;
    }, cmd: Command) => {
      outputKindOf(output); // a bad extension fails before reading anything
      if (path.resolve(input) === path.resolve(output)) throw new DataError('output-exists', `the output '${output}' is the input`);
      if (opts.netcdfFormat !== 'classic' && opts.netcdfFormat !== '64bit-offset') {
        throw new DataError('bad-option', `--netcdf-format must be 'classic' or '64bit-offset', got '${opts.netcdfFormat}'`);
      }
      if (opts.zarrVersion !== '2' && opts.zarrVersion !== '3') {
        throw new DataError('bad-option', `--zarr-version must be 2 or 3, got '${opts.zarrVersion}'`);
      }
      if (opts.zarrCompression !== 'none' && opts.zarrCompression !== 'gzip') {
        throw new DataError('bad-option', `--zarr-compression must be 'none' or 'gzip', got '${opts.zarrCompression}'`);
      }
      const vars = opts.vars?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      const source = await openTimeChunked(input, vars);
      const bar = opts.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: 'convert [{bar}] {value}/{total} time steps | eta {eta}s', hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(Math.max(1, source.timeLength), 0);
      try {
        await convertSource(source, output, {
          chunkTime: opts.chunkTime,
          history: commandLine(cmd),
          netcdfFormat: opts.netcdfFormat,
          zarrVersion: opts.zarrVersion === '3' ? 3 : 2,
          zarrCompression: opts.zarrCompression,
          onProgress: (done) => bar?.update(done),
        });
      } finally {
        bar?.stop();
        source.close();
      }
      process.stdout.write(`wrote ${output} (${source.timeLength} time steps)\n`);
    });
}
