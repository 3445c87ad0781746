// `climadiff data info FILE`: variables, dimensions, coordinates, units, time range, missing fraction.
import type { Command } from 'commander';
import { describeFile, formatSummary } from '../data/readers/describe.js';

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
