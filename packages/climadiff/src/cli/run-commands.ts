// `climadiff train`, `climadiff sample`, `climadiff info`: the main job's commands.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { trainRun, sampleRun, writeSamples, runInfo, SAMPLERS, type SamplerName } from '../run/pipeline.js';
import { parseTrainConfig } from '../train/config.js';
import { DataError } from '../data/types.js';
import { positiveInt, positiveNumber, commandLine } from './options.js';
import * as torch from '@climadiff/torch';
import { runDemo } from '../run/demo.js';
import { progressBar as trainProgressBar, countBar, type CountBar } from '../train/progress.js';

const THREADS_HELP = 'intra-op threads (default: all cores)';

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { throw new DataError('missing-file', `config ${path}: no such file`); }
  try { return JSON.parse(text) as Record<string, unknown>; } catch (e) {
    throw new DataError('bad-config', `config ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  program.command('train')
    .description('train a space-time diffusion U-Net on clips of a NetCDF/Zarr file (checkpoints, metrics, loss curve in --out)')
    .requiredOption('--data <file>', 'NetCDF or Zarr file with (time, lat, lon) variables')
    .requiredOption('--vars <names>', 'comma-separated variables used as channels')
    .requiredOption('--out <dir>', 'run folder (runs/NAME)')
    .option('--config <file>', 'training config JSON (validated; see TrainConfigSchema)')
    .option('--frames <n>', 'frames per training clip', positiveInt, 8)
    .option('--steps <n>', 'total optimizer steps', positiveInt)
    .option('--minutes <m>', 'wall-clock budget of this invocation in minutes', positiveNumber)
    .option('--batch-size <n>', 'clips per batch', positiveInt)
    .option('--statics', 'condition on the grid\'s static fields: land-sea mask (from the file\'s land fraction), sin/cos latitude, orography')
    .option('--preview-every <n>', 'write previews/step-NNNNNN.gif (samples from the EMA weights) every n steps', positiveInt)
    .option('--resume', 'continue from the run folder\'s latest checkpoint, bit for bit (with the same --threads)')
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .action(async (o: { data: string; vars: string; out: string; config?: string; frames: number; steps?: number; minutes?: number; batchSize?: number; previewEvery?: number; statics?: boolean; resume?: boolean; threads?: number }) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const cfg = { ...readConfig(o.config), ...(o.steps ? { steps: o.steps } : {}), ...(o.minutes ? { minutes: o.minutes } : {}),
        ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.previewEvery ? { previewEvery: o.previewEvery } : {}) };
      if (cfg.steps === undefined && cfg.minutes === undefined) cfg.minutes = 10;
      const config = parseTrainConfig(cfg, o.config ?? 'training options');
      const bar = trainProgressBar();
      let result;
      try {
        result = await trainRun({
          data: o.data, variables: o.vars.split(',').map((s) => s.trim()).filter(Boolean), runDir: o.out, frames: o.frames,
          config, resume: o.resume ?? false, statics: o.statics ?? false, onProgress: bar.onProgress,
          onLog: (m) => process.stderr.write(`\n${m}\n`),
        });
      } finally {
        bar.stop();
      }
      process.stdout.write(`trained to step ${result.step} (${result.stopReason}); last loss ${result.lastLoss?.toFixed(4) ?? 'n/a'}; checkpoint ${result.checkpoint}\n`);
    });

  program.command('sample')
    .description('generate sequences from a run\'s checkpoint (EMA weights), in physical units on the training grid')
    .requiredOption('--checkpoint <dir>', 'run folder written by climadiff train')
    .requiredOption('--out <file>', 'samples.nc, samples.zarr or samples.gif')
    .option('--n <n>', 'number of sequences', positiveInt, 4)
    .option('--frames <n>', 'frames per sequence (may exceed the training length)', positiveInt)
    .option('--steps <n>', 'sampler steps', positiveInt, 256)
    .option('--sampler <name>', `one of ${SAMPLERS.join(', ')}`, 'ancestral')
    .option('--seed <s>', 'random seed', (v) => Number(v), 0)
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .action((o: { checkpoint: string; out: string; n: number; frames?: number; steps: number; sampler: string; seed: number; threads?: number }, cmd: Command) => {
      if (o.threads) torch.setNumThreads(o.threads);
      if (!SAMPLERS.includes(o.sampler as SamplerName)) throw new DataError('bad-option', `--sampler must be one of ${SAMPLERS.join(', ')}, got '${o.sampler}'`);
      const progress: { bar: CountBar | null } = { bar: null };
      let r;
      try {
        r = sampleRun({ runDir: o.checkpoint, n: o.n, ...(o.frames ? { frames: o.frames } : {}), steps: o.steps,
          sampler: o.sampler as SamplerName, seed: o.seed, onStep: (s, total) => {
            progress.bar ??= countBar(`sample (${o.sampler})`, total);
            progress.bar.update(s + 1);
          } });
      } finally {
        progress.bar?.stop();
      }
      writeSamples(r, o.out, commandLine(cmd));
      process.stdout.write(`${o.out}: ${r.shape[0]} sequence(s) of ${r.shape[2]} frames, ${r.shape[3]}x${r.shape[4]}\n`);
    });

  program.command('info')
    .description('describe a run: config, data, steps, losses, parameter count')
    .argument('<run>', 'run folder')
    .action((run: string) => {
      process.stdout.write(`${JSON.stringify(runInfo(run), null, 2)}\n`);
    });
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('the main job: simulate, train for a bounded time, sample, and write a run folder with a report')
    .option('--out <dir>', 'run folder', 'runs/demo')
    .option('--minutes <m>', 'training time in minutes', positiveNumber, 10)
    .option('--samples <n>', 'sequences to generate', positiveInt, 4)
    .option('--sample-steps <n>', 'ancestral sampler steps', positiveInt, 100)
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .action(async (o: { out: string; minutes: number; samples: number; sampleSteps: number; threads?: number }) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const bar = trainProgressBar();
      const sampling: { bar: CountBar | null } = { bar: null };
      let files: string[];
      try {
        files = await runDemo({ out: o.out, minutes: o.minutes, samples: o.samples, sampleSteps: o.sampleSteps, onProgress: bar.onProgress,
          log: (m) => { bar.stop(); process.stderr.write(`${m}\n`); },
          onSampleStep: (s, total) => {
            if (sampling.bar === null) { bar.stop(); sampling.bar = countBar('sample (ancestral)', total); }
            sampling.bar.update(s + 1);
          } });
      } finally {
        bar.stop();
        sampling.bar?.stop();
      }
      process.stdout.write(`demo run folder ${o.out}:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
    });
}
