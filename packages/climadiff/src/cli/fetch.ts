// `climadiff data fetch ncar-samples`: real climate sample files from Debian's libncarg-data.
import type { Command } from 'commander';
import { ensureNcarSamples, NCAR_SAMPLE_FILES } from '../data/ncar-samples.js';
import { DataError } from '../data/types.js';

const SOURCES = ['ncar-samples'] as const;

export function register(data: Command): void {
  data.command('fetch')
    .description('download sample data into the cache (ncar-samples: real NetCDF files from Debian\'s libncarg-data)')
    .argument('<source>', `what to fetch: ${SOURCES.join(', ')}`)
    .action((source: string) => {
      if (!(SOURCES as readonly string[]).includes(source)) {
        throw new DataError('unknown-source', `unknown sample source '${source}'; valid: ${SOURCES.join(', ')}`);
      }
      const r = ensureNcarSamples((m) => process.stderr.write(`${m}\n`));
      process.stdout.write(`${r.message}\n`);
      for (const [f, info] of Object.entries(NCAR_SAMPLE_FILES)) process.stdout.write(`  ${f.padEnd(28)} ${info.about}\n`);
    });
}
