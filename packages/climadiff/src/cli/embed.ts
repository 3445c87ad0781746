// `climadiff embed`: embeddings q(w|x) of windows of a data file by a representation model (docs/representation.md).
import type { Command } from 'commander';
import * as torch from '@climadiff/torch';
import { embedRun } from '../run/embed-run.js';
import { representationEval } from '../run/represent-eval.js';
import { SAMPLER_NAMES, type SamplerName } from '../tasks/generate.js';
import { InvalidArgumentError } from 'commander';
import { countBar, type CountBar } from '../train/progress.js';
import { commandLine, positiveInt, positiveNumber } from './options.js';
import { startsOption } from './tasks.js';
import type { StartSpec } from '../tasks/cases.js';
import { formatTimeParts, decodeTimeParts } from '../data/time-parts.js';

export function register(program: Command): void {
  program.command('embed')
    .description('the latent w of windows of a data file under a representation model (train --representation d): posterior means and log-variances as CF NetCDF/Zarr, a PCA picture by month, analogues')
    .requiredOption('--checkpoint <dir>', 'run folder, exported model folder or builtin:NAME of a representation model')
    .option('--data <file>', "NetCDF/Zarr file with the model's variables on its grid (default: the model's own data)")
    .requiredOption('--out <file>', 'embeddings.nc (NetCDF-3), .nc4 (NetCDF-4) or .zarr; the PCA picture goes beside it (.png)')
    .option('--starts <spec>', "windows: 'every:Nd[:test|validation|train|all]' (every N days through a split) or dates 'YYYY-MM-DD[ hh:mm],...' (default: non-overlapping windows through the whole file)", startsOption)
    .option('--nearest <k>', 'also find the k training windows (one a day) nearest in w to every window: analogues', positiveInt)
    .option('--no-picture', 'no PCA picture')
    .option('--batch <n>', 'windows per encoder batch', positiveInt, 16)
    .option('--threads <n>', 'intra-op threads (default: all cores)', positiveInt)
    .action(async (o: { checkpoint: string; data?: string; out: string; starts?: StartSpec; nearest?: number; picture: boolean; batch: number; threads?: number }, cmd: Command) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const bars = new Map<string, CountBar>();
      let r;
      try {
        r = await embedRun({
          checkpoint: o.checkpoint, ...(o.data ? { data: o.data } : {}), out: o.out, ...(o.starts ? { starts: o.starts } : {}), ...(o.nearest ? { nearest: o.nearest } : {}),
          ...(o.picture ? {} : { picture: null }), batch: o.batch, history: commandLine(cmd),
          log: (m) => process.stderr.write(`${m}\n`),
          onProgress: (done, total, what) => {
            let bar = bars.get(what);
            if (!bar) { for (const b of bars.values()) b.stop(); bar = countBar(`embed ${what}`, total, { unit: 'windows' }); bars.set(what, bar); }
            bar.update(done);
          },
        });
      } finally {
        for (const b of bars.values()) b.stop();
      }
      const { embeddings: e, bank, neighbours: nb } = r;
      process.stdout.write(`${r.files.join(', ')}: ${e.n} windows, w in ${e.dim} dimensions\n`);
      if (bank && nb) {
        const fmt = (v: number): string => formatTimeParts(decodeTimeParts({ ...bank.timeUnits, attrs: {}, values: Float64Array.of(v) })[0]!);
        const show = Math.min(e.n, 5);
        for (let q = 0; q < show; q++) {
          const list = Array.from({ length: nb.k }, (_, j) => nb.index[q * nb.k + j]!).filter((i) => i >= 0).map((i, j) => `${fmt(bank.times[i]!)} (${nb.distance[q * nb.k + j]!.toFixed(2)})`);
          process.stdout.write(`  ${formatTimeParts(decodeTimeParts({ ...e.timeUnits, attrs: {}, values: e.times.subarray(q, q + 1) })[0]!)}: ${list.join(', ')}\n`);
        }
        if (e.n > show) process.stdout.write(`  ... (${e.n - show} more in ${o.out}: analogue, analogue_distance, bank)\n`);
      }
    });
}

export function registerEval(program: Command): void {
  program.command('embed-eval')
    .description("the acceptance report of a representation model (docs/representation.md): active units and KL, linear probes of season and temperature anomaly against PCA and a random encoder, ELBO with and without w, samples like held-out clips, analogue forecasts")
    .requiredOption('--checkpoint <dir>', 'the representation model (run folder, exported folder or builtin:NAME)')
    .option('--baseline <dir>', 'the unconditional model trained on the same data and normalisation (ELBO comparison)')
    .option('--data <file>', "the data (default: the model's own)")
    .requiredOption('--out <dir>', 'report folder (report.md, report.json, embeddings.png, like-VAR.gif)')
    .option('--train-every <days>', 'days between training windows', positiveNumber, 2)
    .option('--test-every <days>', 'days between test windows', positiveNumber, 1)
    .option('--elbo-windows <n>', 'test windows whose ELBO is estimated', positiveInt, 32)
    .option('--elbo-steps <n>', 'Gauss-Legendre nodes of the ELBO diffusion integral', positiveInt, 16)
    .option('--clips <n>', 'test clips sampled given w(x) and given prior draws', positiveInt, 8)
    .option('--members <n>', 'samples per clip', positiveInt, 2)
    .option('--sampler <name>', `sampler of the samples (${SAMPLER_NAMES.join(', ')})`, (v) => { if (!(SAMPLER_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${SAMPLER_NAMES.join(', ')}`); return v; }, 'ddim')
    .option('--steps <n>', 'sampler steps', positiveInt, 50)
    .option('--seed <s>', 'seed of the draws (w, ELBO noise, bootstrap)', (v) => Number(v), 0)
    .option('--threads <n>', 'intra-op threads (default: all cores)', positiveInt)
    .action(async (o: { checkpoint: string; baseline?: string; data?: string; out: string; trainEvery: number; testEvery: number; elboWindows: number; elboSteps: number;
      clips: number; members: number; sampler: string; steps: number; seed: number; threads?: number }) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const bars = new Map<string, CountBar>();
      let r;
      try {
        r = await representationEval({
          checkpoint: o.checkpoint, ...(o.baseline ? { baseline: o.baseline } : {}), ...(o.data ? { data: o.data } : {}), out: o.out,
          trainEvery: o.trainEvery, testEvery: o.testEvery, elboWindows: o.elboWindows, elboSteps: o.elboSteps, likeClips: o.clips, members: o.members,
          sampler: o.sampler as SamplerName, steps: o.steps, seed: o.seed,
          log: (m) => process.stderr.write(`${m}\n`),
          onProgress: (done, total, what) => {
            let bar = bars.get(what);
            if (!bar) { for (const b of bars.values()) b.stop(); bar = countBar(what, total, { unit: what === 'sample' ? 'steps' : 'windows' }); bars.set(what, bar); }
            bar.update(done);
          },
        });
      } finally {
        for (const b of bars.values()) b.stop();
      }
      process.stdout.write(`${r.files.join('\n')}\n`);
    });
}
