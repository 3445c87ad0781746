// `climadiff reference train|evaluate|milestone|finish NAME`: the reference models' fixed recipes (run/reference.ts), driven by
// scripts/train-reference.
import type { Command } from 'commander';
import * as torch from '@climadiff/torch';
import { evaluateReference, finishReference, referenceSpec, saveMilestone, trainReference, REFERENCES } from '../run/reference.js';
import { hasCheckpoint } from '../train/checkpoint.js';
import { ensureRecipeData } from '../run/sample-report.js';
import { CheckpointError } from '../train/checkpoint.js';
import { progressBar, countBar, type CountBar } from '../train/progress.js';
import { positiveInt, positiveNumber } from './options.js';

export function register(program: Command): void {
  const ref = program.command('reference').description(`train and export the reference models (${Object.keys(REFERENCES).join(', ')}) by their fixed recipes`);
  ref.command('train')
    .description('train a reference model (or continue it: --resume continues the run folder, or the committed milestone on a fresh machine)')
    .argument('<name>', Object.keys(REFERENCES).join(' | '))
    .option('--run-dir <dir>', 'run folder (default runs/reference-NAME)')
    .option('--resume', 'continue the run folder, or the committed milestone when the folder has no checkpoint')
    .option('--minutes <m>', 'wall-clock budget of this invocation', positiveNumber)
    .option('--until-step <n>', 'stop at this step', positiveInt)
    .option('--threads <n>', 'intra-op threads (bit-for-bit resumption needs the same count)', positiveInt)
    .action(async (name: string, o: { runDir?: string; resume?: boolean; minutes?: number; untilStep?: number; threads?: number }) => {
      referenceSpec(name);
      const runDir = o.runDir ?? `runs/reference-${name}`;
      if (!o.resume && hasCheckpoint(runDir)) throw new CheckpointError(`${runDir} already holds a run of '${name}'; pass --resume to continue it`);
      const bar = progressBar();
      try {
        const r = await trainReference(name, { runDir, resume: o.resume ?? false, onProgress: bar.onProgress, log: (m) => { bar.stop(); process.stderr.write(`${m}\n`); },
          ...(o.minutes ? { minutes: o.minutes } : {}), ...(o.untilStep ? { untilStep: o.untilStep } : {}), ...(o.threads ? { threads: o.threads } : {}) });
        process.stdout.write(`${name}: step ${r.step} in ${runDir}\n`);
      } finally { bar.stop(); }
    });
  ref.command('data')
    .description("print the path of a reference model's data (simulated once by its recipe and cached in ~/.cache/climadiff or $CLIMADIFF_DATA_CACHE)")
    .argument('<name>')
    .action(async (name: string) => {
      const spec = referenceSpec(name);
      process.stdout.write(`${await ensureRecipeData(spec.recipe, (m) => process.stderr.write(`${m}\n`))}\n`);
    });
  ref.command('milestone')
    .description('copy the run\'s latest checkpoint to the committed milestone folder (packages/climadiff/models/NAME/resume)')
    .argument('<name>')
    .option('--run-dir <dir>', 'run folder (default runs/reference-NAME)')
    .action((name: string, o: { runDir?: string }) => {
      referenceSpec(name);
      process.stdout.write(`${saveMilestone(name, o.runDir ?? `runs/reference-${name}`)}\n`);
    });
  ref.command('evaluate')
    .description("the sample report of the run's latest checkpoint while it trains (fewer clips and sampler steps than --finish): one more point of the model card's diagnostics against steps")
    .argument('<name>')
    .option('--run-dir <dir>', 'run folder (default runs/reference-NAME)')
    .option('--threads <n>', 'intra-op threads', positiveInt)
    .option('--samples <n>', 'clips', positiveInt, 32)
    .option('--steps <n>', 'ancestral sampler steps', positiveInt, 128)
    .action(async (name: string, o: { runDir?: string; threads?: number; samples: number; steps: number }) => {
      referenceSpec(name);
      if (o.threads) torch.setNumThreads(o.threads);
      const runDir = o.runDir ?? `runs/reference-${name}`;
      if (!hasCheckpoint(runDir)) throw new CheckpointError(`${runDir} holds no checkpoint of '${name}' to evaluate`);
      const sampling: { bar: CountBar | null } = { bar: null };
      try {
        const e = await evaluateReference(name, { runDir, samples: o.samples, steps: o.steps, log: (m) => process.stderr.write(`${m}\n`),
          onSampleStep: (s, total) => { sampling.bar ??= countBar('sample (ancestral)', total); sampling.bar.update(s + 1); } });
        sampling.bar?.stop();
        for (const [v, r] of Object.entries(e.variables)) process.stdout.write(`${name} step ${e.step}: ${v} ${r.passed} of ${r.checks} checks pass\n`);
        process.stdout.write(`report: ${runDir}/evaluations/step-${e.step}/report.md\n`);
      } finally { sampling.bar?.stop(); }
    });
  ref.command('finish')
    .description('export the EMA weights to packages/climadiff/models/NAME, sample the evaluation clips, write the report and the model card')
    .argument('<name>')
    .option('--run-dir <dir>', 'run folder (default runs/reference-NAME)')
    .option('--threads <n>', 'intra-op threads', positiveInt)
    .option('--samples <n>', 'evaluation clips (default: the recipe\'s)', positiveInt)
    .option('--steps <n>', 'evaluation sampler steps (default: the recipe\'s)', positiveInt)
    .action(async (name: string, o: { runDir?: string; threads?: number; samples?: number; steps?: number }) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const sampling: { bar: CountBar | null } = { bar: null };
      try {
        const files = await finishReference(name, { runDir: o.runDir ?? `runs/reference-${name}`, log: (m) => process.stderr.write(`${m}\n`),
          ...(o.samples ? { samples: o.samples } : {}), ...(o.steps ? { steps: o.steps } : {}),
          onSampleStep: (s, total) => { sampling.bar ??= countBar('sample (ancestral)', total); sampling.bar.update(s + 1); } });
        process.stdout.write(`${files.join('\n')}\n`);
      } finally { sampling.bar?.stop(); }
    });
}
