// `climadiff data info FILE`: variables, dimensions, coordinates, units, time range, missing fraction.
import type { Command } from 'commander';
import { describeFile, formatSummary } from '../data/readers/describe.js';
import { compareNormalisations } from '../run/normalisation-check.js';

export function register(data: Command): void {
  data.command('info')
    .description('show variables, dimensions, coordinates, units, time range and missing fraction of a NetCDF/Zarr file')
    .argument('<file>', 'NetCDF classic/64-bit offset, NetCDF-4 file, or Zarr v2/v3 directory')
    .option('--group <path>', 'HDF5/netCDF-4 group to describe', '/')
    .option('--calendar <name>', 'override the time calendar (e.g. noleap)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: { group: string; calendar?: string; json?: boolean }) => {
      const s = await describeFile(file, { group: opts.group, ...(opts.calendar ? { calendar: opts.calendar } : {}) });
      process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : formatSummary(s));
    });
}

export function registerNormalisations(data: Command): void {
  data.command('normalisations')
    .description("what each normalisation (per-variable, climatology, seasonal) leaves for a model to generate: fitted on the training years, the held-out anomalies' mean square and that of their one-frame change")
    .argument('<file>', 'NetCDF/Zarr file with (time, lat, lon) variables')
    .requiredOption('--vars <names>', 'comma-separated variables')
    .option('--json', 'print the rows as JSON')
    .action(async (file: string, o: { vars: string; json?: boolean }) => {
      const rows = await compareNormalisations(file, o.vars.split(',').map((v) => v.trim()).filter(Boolean));
      if (o.json) { process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`); return; }
      const lines = ['| variable | normalisation | held-out anomaly mean square | share of the total | one-frame change mean square |', '|---|---|---|---|---|'];
      for (const r of rows) {
        const u = r.units ? ` ${r.units}^2` : '';
        lines.push(`| ${r.variable} | ${r.kind} | ${r.anomalyMeanSquare.toPrecision(4)}${u} | ${(100 * r.share).toFixed(1)}% | ${r.changeMeanSquare.toPrecision(4)}${u} |`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
