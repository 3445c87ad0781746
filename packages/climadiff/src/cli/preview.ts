// `climadiff data preview FILE --var v --out x.gif|x.png [--frames a:b] [--anomaly] [--scale k]`:
// a picture of a field sequence (PNG: first frame; GIF: animation) with a colour bar, units, frame dates,
// missing data hatched grey and coastlines. Refuses to overwrite an existing file unless --force.
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { intOption } from './options.js';
import { openDataset } from '../data/readers/open.js';
import { DataError } from '../data/types.js';
import { writePreview } from '../viz/preview.js';

function frameRange(value: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(value);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InvalidArgumentError("expected a:b with integers a < b (time steps a to b-1, e.g. 0:12)");
  return [Number(m[1]), Number(m[2])];
}

export function register(data: Command): void {
  data.command('preview')
    .description('draw a variable as PNG (first frame) or animated GIF with colour bar, dates, missing data and coastlines')
    .argument('<file>', 'NetCDF classic/64-bit offset, NetCDF-4 file, or Zarr v2/v3 directory')
    .requiredOption('--var <name>', 'variable to draw')
    .requiredOption('--out <path>', 'output picture, ending in .png or .gif')
    .option('--frames <a:b>', 'time steps a to b-1 (default: all)', frameRange)
    .option('--anomaly', 'draw anomalies from the smooth seasonal cycle of the frames shown (per-cell mean and 2 annual harmonics; the mean alone for under 9 months of frames; diverging colormap)')
    .option('--scale <k>', 'pixels per grid cell (default: automatic)', intOption(1, 64))
    .option('--delay <ms>', 'GIF frame delay in milliseconds', (v) => { const n = Number(v); if (!(n >= 0)) throw new InvalidArgumentError('expected milliseconds'); return n; }, 250)
    .option('--force', 'overwrite OUT if it exists')
    .action(async (file: string, opts: { var: string; out: string; frames?: [number, number]; anomaly?: boolean; scale?: number; delay: number; force?: boolean }) => {
      if (!/\.(png|gif)$/i.test(opts.out)) throw new DataError('bad-output', `output '${opts.out}' must end in .png or .gif`);
      if (existsSync(opts.out) && !opts.force) throw new DataError('output-exists', `${opts.out} exists; choose another name or pass --force`);
      const ds = await openDataset(file, { variables: [opts.var] });
      const anim = await writePreview(ds, opts.out, {
        variable: opts.var, delayMs: opts.delay,
        ...(opts.frames ? { frames: opts.frames } : {}), ...(opts.anomaly ? { anomaly: true } : {}), ...(opts.scale ? { scale: opts.scale } : {}),
      });
      process.stdout.write(`${opts.out}: ${anim.width}x${anim.height}, ${/\.gif$/i.test(opts.out) ? anim.frames.length : 1} frame(s), `
        + `colour range ${anim.vmin.toPrecision(4)} to ${anim.vmax.toPrecision(4)}\n`);
    });
}
