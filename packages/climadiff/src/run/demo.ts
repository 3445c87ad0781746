// The main job (`npm run demo`): the reference data (ten simulated years of the Earth model: temperature and
// precipitation, cached), a space-time U-Net trained for a bounded time by the reference recipe (date conditioning,
// climatology anomalies for temperature, the learned transform for precipitation), samples for dates drawn from the
// training calendar, and a run folder with the checkpoint, NetCDF samples, GIFs of samples beside held-out clips and
// report.md: the demo model's acceptance checks beside those committed for builtin:earth (its model card), per variable,
// on physical values and anomalies.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainRun, sampleRun, writeSamples } from './pipeline.js';
import { builtinModelsDir } from './model-store.js';
import { EARTH_RECIPE, REFERENCES } from './reference.js';
import { ensureRecipeData, writeSampleReport, type VariableVerdict } from './sample-report.js';
import type { TrainProgress } from '../train/trainer.js';
import { resolvePrecision, type Precision } from '../models/precision.js';
import { hasCheckpoint } from '../train/checkpoint.js';
import type { AcceptanceRow } from '../eval/weather.js';
import { DEFAULT_SAMPLING } from '../diffusion/samplers/registry.js';

export interface DemoOptions {
  out: string;
  minutes: number;
  samples?: number;
  sampleSteps?: number;
  seed?: number;
  /** Training and sampling precision (default 'auto': bf16-mixed on CPUs with native bf16, else fp32). */
  precision?: Precision | 'auto';
  log?: (m: string) => void;
  onProgress?: (p: TrainProgress) => void;
  /** Sampler progress (after training has ended). */
  onSampleStep?: (step: number, steps: number) => void;
}

/** The committed acceptance rows of a built-in model (models/NAME/diagnostics.json), or null when it has none yet. */
export function committedVerdicts(name: string): { step: number; verdicts: { variable: string; rows: AcceptanceRow[] }[] } | null {
  const p = join(builtinModelsDir(), name, 'diagnostics.json');
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as { step: number; verdicts: { variable: string; rows: AcceptanceRow[] }[] };
}

/** A markdown table: each check of the demo model beside the reference model's committed figure. */
function comparison(demo: VariableVerdict[], demoSteps: number, ref: ReturnType<typeof committedVerdicts>): string {
  const lines = ['## This run beside the reference model', ''];
  if (!ref) lines.push('builtin:earth has no committed evaluation yet (`scripts/train-reference earth --finish` writes it).', '');
  lines.push(`| variable | check | this run (${demoSteps} steps) | builtin:earth${ref ? ` (${ref.step} steps, model card)` : ''} | target |`, '|---|---|---|---|---|');
  for (const v of demo) {
    const r = ref?.verdicts.find((x) => x.variable === v.variable);
    for (const row of v.rows) {
      const other = r?.rows.find((x) => x.name === row.name);
      const mark = (x: { measured: string; pass: boolean }) => `${x.measured}${x.pass ? '' : ' (miss)'}`;
      lines.push(`| ${v.variable} | ${row.name} | ${mark(row)} | ${other ? mark(other) : 'n/a'} | ${row.target} |`);
    }
  }
  return lines.join('\n');
}

export async function runDemo(o: DemoOptions): Promise<string[]> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const spec = REFERENCES.earth!;
  const dataPath = await ensureRecipeData(EARTH_RECIPE, log);
  const precision = resolvePrecision(o.precision);
  // Run again on the same folder, the demo continues its run (bit-for-bit resume) instead of refusing to overwrite it.
  const resume = hasCheckpoint(o.out);
  log(`${resume ? 'continuing the run in' : 'training'} on ${spec.variables.join(' + ')} clips of ${spec.frames} frames for ${o.minutes} minute(s) in ${precision} -> ${o.out}` +
    `${resume ? ' (--out elsewhere for a fresh one)' : ''}`);
  const trained = await trainRun({
    data: dataPath, variables: spec.variables, runDir: o.out, frames: spec.frames, statics: spec.statics, model: spec.model, resume,
    normalisation: spec.normalisation, transforms: spec.transforms, recipe: spec.recipe,
    // the reference recipe for a bounded time: validation, checkpoints and previews at a pace a short run sees
    config: { ...spec.train, steps: undefined, minutes: o.minutes, seed: o.seed ?? 0, precision, validateEvery: 250, validation: { maxBatches: 2, elboSteps: 16, elboSamples: 1 },
      checkpointEvery: 100, keepCheckpoints: 3, logEvery: 10, previewEvery: 200, previewSamples: 2, previewSteps: 32 },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  log(`trained ${trained.step} steps; last loss ${trained.lastLoss?.toFixed(4)}`);
  const n = o.samples ?? 8;
  const steps = o.sampleSteps ?? DEFAULT_SAMPLING.steps;
  log(`sampling ${n} sequences with the ${DEFAULT_SAMPLING.sampler} sampler (${steps} steps), for dates drawn from the training years`);
  const samples = sampleRun({ runDir: o.out, n, frames: spec.frames, steps, seed: o.seed ?? 0, precision, ...(o.onSampleStep ? { onStep: o.onSampleStep } : {}) });
  const history = `climadiff demo --minutes ${o.minutes}`;
  await writeSamples(samples, join(o.out, 'samples.nc'), history, { overwrite: true }); // the demo's own output, replaced atomically
  const ref = committedVerdicts('earth');
  const report = await writeSampleReport({
    outDir: o.out, samples, log, title: `climadiff demo: Earth-model temperature and precipitation after ${o.minutes} minute(s) of training`,
    extra: 'Samples: `samples.nc` (with `valid_time`, the date each sample was generated for). Loss curve: ![](loss_curve.png)\n\n' +
      'With a few samples the diagnostics are noisy; `npx climadiff sample --checkpoint builtin:earth --n 64 --report DIR` evaluates the reference model as its model card does.',
  });
  // the comparison goes first, under the title
  const md = readFileSync(join(o.out, 'report.md'), 'utf8').split('\n');
  const at = md.findIndex((l, i) => i > 0 && l.startsWith('## '));
  md.splice(at < 0 ? md.length : at, 0, comparison(report.verdicts, trained.step, ref), '');
  writeFileSync(join(o.out, 'report.md'), md.join('\n'));
  return [join(o.out, 'samples.nc'), ...report.files];
}
