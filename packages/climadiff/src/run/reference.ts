// The reference models (`builtin:NAME`): each trained by one fixed recipe (`scripts/train-reference NAME`), resumable
// across sessions and machines, exported with a model card to packages/climadiff/models/NAME. The recipe's choices
// and the measurements behind them are in docs/recipe.md.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import type { NormKind, ChannelTransform } from '../data/normalise.js';
import type { DateFeatureKind } from '../data/dates.js';
import type { UNet3DConfigInput } from '../models/index.js';
import type { TrainConfigInput, TrainProgress } from '../train/index.js';
import { CheckpointError, hasCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import { parseNormStats } from '../data/normalise.js';
import { readMetrics } from '../train/metrics.js';
import { trainRun, sampleRun, formatRunTime, type SampleRunResult } from './pipeline.js';
import { builtinModelsDir, exportModel, type RunData } from './model-store.js';
import { ensureRecipeData, writeSampleReport, type VariableVerdict } from './sample-report.js';

export interface ReferenceSpec {
  name: string;
  description: string;
  recipe: NonNullable<RunData['recipe']>;
  variables: string[];
  frames: number;
  statics: boolean;
  normalisation: NormKind;
  transforms: Record<string, ChannelTransform>;
  /** Date conditioning (default 'auto': time of year, and of day for sub-daily frames). */
  dates?: DateFeatureKind | 'auto';
  model: Partial<UNet3DConfigInput>;
  /** Training config; `steps` is the planned total, to be raised if the diagnostics still improve. */
  train: TrainConfigInput & { steps: number };
  /** The evaluation of the model card: clips, sampler steps, seed. */
  evaluation: { samples: number; steps: number; seed: number };
}

/** Ten simulated years of 6-hourly Earth-model output: years 1-8 train, 9 validation, 10 test (the default 0.8/0.1/0.1 time-block split). */
export const EARTH_RECIPE = { simulate: { model: 'earth' as const, frames: 14600, seed: 1, every: 6 } };

export const REFERENCES: Record<string, ReferenceSpec> = {
  earth: {
    name: 'earth',
    description: 'near-surface temperature and precipitation of the built-in Earth model, 32 x 64, clips of 8 frames 6 h apart',
    recipe: EARTH_RECIPE,
    variables: ['tas', 'pr'],
    frames: 8,
    statics: true,
    // seasonal since 2026-12-03: the monthly climatology put steps at month boundaries into the samples (docs/recipe.md)
    normalisation: 'seasonal',
    transforms: { pr: 'sqrt' },
    model: { channels: 16 },
    train: {
      seed: 0, steps: 19_200, batchSize: 8, precision: 'fp32',
      optimizer: { kind: 'adamw', lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }, // docs/recipe.md: 3e-4 beat 1e-3
      lrSchedule: { kind: 'constant', warmupSteps: 100 }, emaDecay: 0.999,
      validateEvery: 500, validation: { maxBatches: 8, elboSteps: 16, elboSamples: 1 }, checkpointEvery: 200, keepCheckpoints: 2, logEvery: 20,
    },
    evaluation: { samples: 64, steps: 256, seed: 0 },
  },
};

/**
 * The representation models of docs/representation.md (seed 002): the Earth data with per-variable normalisation and
 * no date input, so the season stays in x and only w can tell it to the U-Net; trained on the joint objective of seed
 * 002 sec. 4 (continuous-time ELBO weighting, beta = 1) for the budget of builtin:earth. 'earth-plain' is the same
 * recipe without w: the unconditional model whose ELBO the representation's is compared with.
 */
const REPRESENTATION_BASE = {
  recipe: EARTH_RECIPE, variables: ['tas', 'pr'], frames: 8, statics: true, normalisation: 'per-variable' as const, transforms: { pr: 'sqrt' as const },
  dates: 'none' as const, evaluation: { samples: 64, steps: 256, seed: 0 },
  train: { ...REFERENCES['earth']!.train, loss: 'weighted:elbo' as const, klWeight: 1 },
};
REFERENCES['earth-rep'] = {
  ...REPRESENTATION_BASE, name: 'earth-rep',
  description: 'a representation model of the built-in Earth model (tas, pr; 32 x 64, 8 frames of 6 h): encoder q(w|x), w in 16 dimensions, the U-Net conditioned on w',
  model: { channels: 16, representation: { dim: 16, encoder: 'clip' } },
};
REFERENCES['earth-plain'] = {
  ...REPRESENTATION_BASE, name: 'earth-plain',
  description: 'the unconditional twin of builtin:earth-rep (same data, normalisation, loss and budget; no w)',
  model: { channels: 16 },
};

export function referenceSpec(name: string): ReferenceSpec {
  const spec = REFERENCES[name];
  if (!spec) throw new Error(`no reference model '${name}' (known: ${Object.keys(REFERENCES).join(', ')})`);
  return spec;
}

/** The committed resumable checkpoint of a reference (milestones only): packages/climadiff/models/NAME/resume. */
export function milestoneDir(name: string): string { return join(builtinModelsDir(), name, 'resume'); }

export interface TrainReferenceOptions {
  runDir: string;
  /** Continue runDir, or the committed milestone when runDir has no checkpoint (else a fresh run). */
  resume: boolean;
  /** Wall-clock budget of this invocation (default: until the planned steps). */
  minutes?: number;
  /** Stop at this step (a checkpoint is written). */
  untilStep?: number;
  threads?: number;
  onProgress?: (p: TrainProgress) => void;
  log?: (m: string) => void;
}

/**
 * Trains (or continues) a reference model in runDir. A runDir without a checkpoint starts from the committed milestone
 * when there is one (copied in), so a fresh machine continues where the last session stopped.
 */
export async function trainReference(name: string, o: TrainReferenceOptions): Promise<{ step: number; resumed: boolean }> {
  const spec = referenceSpec(name);
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (o.threads) torch.setNumThreads(o.threads);
  const dataPath = await ensureRecipeData(spec.recipe, log);
  // what would be continued (the run folder, else the committed milestone) must have been trained by this recipe
  const from = o.resume ? (hasCheckpoint(o.runDir) ? o.runDir : existsSync(join(milestoneDir(name), 'latest')) ? milestoneDir(name) : null) : null;
  if (from) {
    const kinds = parseNormStats(loadCheckpoint(from).normStats).channels.map((c) => c.kind);
    const want = spec.variables.map((v) => (spec.transforms[v] === 'learned' ? 'per-variable' : spec.normalisation));
    if (kinds.join(',') !== want.join(',')) {
      throw new CheckpointError(`${from} was trained with ${kinds.join(', ')} normalisation, but the recipe of '${name}' now says ${want.join(', ')}: it cannot be continued; start afresh (scripts/train-reference ${name} without --resume, in an empty run folder)`);
    }
  }
  if (from && from !== o.runDir) {
    log(`starting from the committed milestone ${milestoneDir(name)}`);
    mkdirSync(o.runDir, { recursive: true });
    cpSync(milestoneDir(name), o.runDir, { recursive: true });
  }
  const resume = hasCheckpoint(o.runDir);
  await trainRun({
    data: dataPath, variables: spec.variables, runDir: o.runDir, frames: spec.frames, statics: spec.statics, resume,
    normalisation: spec.normalisation, transforms: spec.transforms, model: spec.model, recipe: spec.recipe, ...(spec.dates ? { dates: spec.dates } : {}),
    config: { ...spec.train, ...(o.minutes ? { minutes: o.minutes } : {}) }, ...(o.untilStep ? { untilStep: o.untilStep } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}), onLog: log,
  });
  return { step: loadCheckpoint(o.runDir).step, resumed: resume };
}

/** Copies the run's latest checkpoint (with run-data and statics) to the committed milestone folder. */
export function saveMilestone(name: string, runDir: string): string {
  const ck = loadCheckpoint(runDir);
  const dest = milestoneDir(name);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const ckName = ck.dir.split('/').pop()!;
  cpSync(ck.dir, join(tmp, ckName), { recursive: true });
  writeFileSync(join(tmp, 'latest'), ckName);
  for (const f of ['run-data.json', 'statics.safetensors', 'metrics.jsonl', HISTORY_FILE]) if (existsSync(join(runDir, f))) cpSync(join(runDir, f), join(tmp, f));
  rmSync(dest, { recursive: true, force: true });
  cpSync(tmp, dest, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  return dest;
}

export interface FinishReferenceOptions {
  runDir: string;
  /** Override the recipe's evaluation size (clips, sampler steps), e.g. for a quick check; the card records what was used. */
  samples?: number;
  steps?: number;
  onSampleStep?: (step: number, steps: number) => void;
  log?: (m: string) => void;
}

/** Exports the run to models/NAME, samples the evaluation clips, writes the report and the model card. */
export async function finishReference(name: string, o: FinishReferenceOptions): Promise<string[]> {
  const spec = referenceSpec(name);
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const outDir = join(builtinModelsDir(), name);
  const files = exportModel(o.runDir, outDir, name);
  for (const f of ['loss_curve.png', 'loss_curve.svg']) if (existsSync(join(o.runDir, f))) { cpSync(join(o.runDir, f), join(outDir, f)); files.push(join(outDir, f)); }
  const ev = { ...spec.evaluation, ...(o.samples ? { samples: o.samples } : {}), ...(o.steps ? { steps: o.steps } : {}) };
  log(`sampling ${ev.samples} clips (${ev.steps} ancestral steps) for the model card`);
  const t0 = Date.now();
  const samples = sampleRun({ runDir: outDir, n: ev.samples, steps: ev.steps, seed: ev.seed, precision: 'fp32', ...(o.onSampleStep ? { onStep: o.onSampleStep } : {}) });
  const sampleSeconds = (Date.now() - t0) / 1000;
  const reportDir = join(outDir, 'evaluation');
  rmSync(reportDir, { recursive: true, force: true });
  const rep = await writeSampleReport({ outDir: reportDir, samples, title: `builtin:${name}: ${ev.samples} samples against the held-out year`, log });
  const card = join(outDir, 'MODEL_CARD.md');
  const summary = join(outDir, 'diagnostics.json');
  const step = loadCheckpoint(o.runDir).step;
  writeFileSync(summary, JSON.stringify({ step, verdicts: rep.verdicts.map((v) => ({ variable: v.variable, rows: v.rows })) }, null, 1));
  // the diagnostics against steps, every evaluation of this recipe across sessions: the exported model's, those of the
  // run (`reference evaluate`, carried by the milestone), then this one
  const historyPath = join(outDir, HISTORY_FILE);
  let history = readHistory(historyPath);
  for (const h of readHistory(join(o.runDir, HISTORY_FILE))) history = mergeHistory(history, h);
  history = mergeHistory(history, historyEntry(recipeKey(spec), step, ev.steps, samples, rep.verdicts));
  writeFileSync(historyPath, `${JSON.stringify(history, null, 1)}\n`);
  writeFileSync(card, modelCard({ ...spec, evaluation: ev }, o.runDir, samples, rep.verdicts, sampleSeconds, history));
  return [...files, card, summary, historyPath, ...rep.files];
}

export interface EvaluateReferenceOptions {
  runDir: string;
  samples: number;
  steps: number;
  onSampleStep?: (step: number, steps: number) => void;
  log?: (m: string) => void;
}

/**
 * An evaluation of the run's latest checkpoint (its EMA weights) while it trains, for the model card's curve of the
 * diagnostics against steps: `samples` clips of the ancestral sampler with `steps` steps (fewer than the final
 * evaluation's, recorded with the entry), the sample report in RUN/evaluations/step-N, the entry in RUN/history.json
 * (which the milestone carries and --finish merges). Nothing is exported.
 */
export async function evaluateReference(name: string, o: EvaluateReferenceOptions): Promise<HistoryEntry> {
  const spec = referenceSpec(name);
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  log(`evaluating the latest checkpoint of ${o.runDir}: ${o.samples} clips, ${o.steps} ancestral steps`);
  const samples = sampleRun({ runDir: o.runDir, n: o.samples, steps: o.steps, seed: spec.evaluation.seed, precision: 'fp32', ...(o.onSampleStep ? { onStep: o.onSampleStep } : {}) });
  const step = samples.step; // of the weights that sampled (the training may have written another checkpoint since)
  const reportDir = join(o.runDir, 'evaluations', `step-${step}`);
  rmSync(reportDir, { recursive: true, force: true });
  const rep = await writeSampleReport({ outDir: reportDir, samples, title: `${name} at step ${step}: ${o.samples} samples against the held-out year`, log });
  const entry = historyEntry(recipeKey(spec), step, o.steps, samples, rep.verdicts);
  const path = join(o.runDir, HISTORY_FILE);
  writeFileSync(path, `${JSON.stringify(mergeHistory(readHistory(path), entry), null, 1)}\n`);
  return entry;
}

/**
 * Key figures of one evaluation, per variable: checks passed and the worst point of each check. `recipe` is the
 * recipeKey of the model evaluated (absent in entries written before it existed).
 */
export interface HistoryEntry { recipe?: string; step: number; clips: number; samplerSteps?: number; variables: Record<string, { passed: number; checks: number; measured: Record<string, string> }> }

/**
 * A short hash of everything in a recipe that makes another model (data, variables, normalisation, transforms, date
 * input, network, training settings), but not the planned number of steps, which may be raised while it trains.
 */
export function recipeKey(spec: ReferenceSpec): string {
  const { steps: _planned, ...train } = spec.train;
  const what = { recipe: spec.recipe, variables: spec.variables, frames: spec.frames, statics: spec.statics, normalisation: spec.normalisation,
    transforms: spec.transforms, dates: spec.dates ?? 'auto', model: spec.model, train };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 12);
}

/**
 * The diagnostics-against-steps history after one more evaluation: the evaluations of the same recipe at other steps,
 * and this one (replacing an earlier one at its step), by step. Evaluations of another recipe (a model since retrained
 * differently) are dropped: their curve belongs to another model.
 */
export function mergeHistory(history: HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return [...history.filter((h) => h.recipe === entry.recipe && h.step !== entry.step), entry].sort((a, b) => a.step - b.step);
}

const HISTORY_FILE = 'history.json';

function readHistory(path: string): HistoryEntry[] {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as HistoryEntry[] : [];
}

function historyEntry(recipe: string, step: number, samplerSteps: number, samples: SampleRunResult, verdicts: VariableVerdict[]): HistoryEntry {
  return {
    recipe, step, clips: samples.shape[0], samplerSteps,
    variables: Object.fromEntries(verdicts.map((v) => [v.variable, {
      passed: v.rows.filter((r) => r.pass).length, checks: v.rows.length, measured: Object.fromEntries(v.rows.map((r) => [r.name, r.measured])),
    }])),
  };
}

/** 'training clips start 2000-01-01 .. 2007-10-10, test clips start ...' from the run's time axis (a regular one). */
function splitText(runData: RunData): string {
  const t = runData.time;
  if (!t || t.trainStarts.length === 0 || runData.trainRanges.length === 0 || runData.test.length === 0) return 'see run data';
  const at = (index: number) => formatRunTime(runData, t.trainStarts[0]! + (index - runData.trainRanges[0]![0]) * t.frameStep);
  return `training clips start ${formatRunTime(runData, t.trainStarts[0]!)} .. ${formatRunTime(runData, t.trainStarts[t.trainStarts.length - 1]!)}, ` +
    `held-out (test) clips ${at(runData.test[0]!)} .. ${at(runData.test[runData.test.length - 1]!)}, validation between`;
}

function modelCard(spec: ReferenceSpec, runDir: string, samples: SampleRunResult, verdicts: VariableVerdict[], sampleSeconds: number, history: HistoryEntry[]): string {
  const ck = loadCheckpoint(runDir);
  const metrics = existsSync(join(runDir, 'metrics.jsonl')) ? readMetrics(join(runDir, 'metrics.jsonl')) : [];
  const vals = metrics.filter((m) => typeof m.val_loss === 'number');
  const params = ((): number => { let n = 0; for (const t of Object.values(torch.load(join(builtinModelsDir(), spec.name, 'ema.safetensors')))) n += t.numel(); return n; })();
  const s = spec.recipe.simulate;
  const hours = ck.elapsedMs / 3_600_000;
  const lines: string[] = [];
  lines.push(`# Model card: builtin:${spec.name}`, '');
  lines.push(`${spec.description}. Load it with \`--checkpoint builtin:${spec.name}\` (e.g. \`npx climadiff sample --checkpoint builtin:${spec.name} --out s.nc --dates 2010-07-01 --report rep\`).`, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| data | \`climadiff data simulate --model ${s.model} --frames ${s.frames} --every ${s.every} --seed ${s.seed}\` (${s.frames / 1460} years of 6-hourly frames from 2000-01-01, noleap calendar); recreated from this recipe where the file is absent |`);
  lines.push(`| split | time blocks 0.8 / 0.1 / 0.1 (clip-span gaps between): ${splitText(samples.runData)} |`);
  lines.push(`| variables | ${spec.variables.join(', ')}; normalisation ${spec.normalisation} (after the transform; learned-transform channels are only scaled); transforms ${Object.entries(spec.transforms).map(([k, v]) => `${k}: ${v}`).join(', ')} |`);
  lines.push(`| conditioning | static fields (land-sea mask, sin/cos latitude); date (${samples.runData.dateFeatures}) |`);
  lines.push(`| model | UNet3D, ${params.toLocaleString('en')} parameters: ${JSON.stringify(spec.model)} (full config in model.json) |`);
  lines.push(`| training | \`scripts/train-reference ${spec.name}\`: ${JSON.stringify({ batchSize: spec.train.batchSize, lr: spec.train.optimizer?.lr, schedule: spec.train.lrSchedule, ema: spec.train.emaDecay, precision: spec.train.precision })} |`);
  lines.push(`| trained | step ${ck.step.toLocaleString('en')} of ${spec.train.steps.toLocaleString('en')} planned, ${ck.samplesSeen.toLocaleString('en')} clips, ${hours.toFixed(2)} h of training wall time |`);
  lines.push(`| machine | ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${torch.getNumThreads()} thread(s), engine PyTorch ${torch.backends.engine().version} (the last training session's machine) |`);
  lines.push(`| last validation loss | ${vals.length ? `${vals[vals.length - 1]!.val_loss} at step ${vals[vals.length - 1]!.step}` : 'n/a'} |`);
  lines.push(`| evaluation | ${spec.evaluation.samples} clips, ancestral sampler ${spec.evaluation.steps} steps, seed ${spec.evaluation.seed}, dates drawn from the training calendar (${sampleSeconds.toFixed(0)} s); report in [evaluation/report.md](evaluation/report.md) |`);
  lines.push('');
  lines.push('## Acceptance on the held-out year', '');
  for (const v of verdicts) {
    lines.push(`### ${v.variable}: ${v.rows.filter((r) => r.pass).length} of ${v.rows.length} checks pass`, '');
    lines.push('| check | measured | target | |', '|---|---|---|---|', ...v.rows.map((r) => `| ${r.name} | ${r.measured} | ${r.target} | ${r.pass ? 'pass' : '**miss**'} |`), '');
  }
  lines.push('## Validation loss and diagnostics against steps', '');
  for (const variable of spec.variables) {
    const names = [...new Set(history.flatMap((h) => Object.keys(h.variables[variable]?.measured ?? {})))];
    lines.push(`${variable}, every evaluation of this recipe (\`scripts/train-reference ${spec.name} --evaluate\` while it trains, the last by --finish):`, '',
      `| step | clips x sampler steps | checks passed | ${names.join(' | ')} |`, `|---|---|---|${names.map(() => '---').join('|')}|`,
      ...history.map((h) => {
        const v = h.variables[variable];
        return `| ${h.step} | ${h.clips} x ${h.samplerSteps ?? spec.evaluation.steps} | ${v ? `${v.passed}/${v.checks}` : ''} | ${names.map((n) => v?.measured[n] ?? '').join(' | ')} |`;
      }), '');
  }
  lines.push('Training and validation loss: ![loss curve](loss_curve.png)', '');
  if (vals.length) lines.push('| step | validation loss | bits/dim |', '|---|---|---|', ...vals.map((m) => `| ${m.step} | ${Number(m.val_loss).toFixed(4)} | ${typeof m.bpd === 'number' ? m.bpd.toFixed(3) : ''} |`), '');
  lines.push('## In PyTorch', '', 'The weights load into the PyTorch twin `interop/pytorch/unet3d.py` (same parameter names):', '', '```python',
    'import json, torch', 'from unet3d import UNet3D, load_safetensors', `m = json.load(open("packages/climadiff/models/${spec.name}/model.json"))`,
    'model = UNet3D(m["modelConfig"]); model.load_state_dict(load_safetensors(".../ema.safetensors")); model.eval()',
    '# v = model(z, logsnr, cond, date): cond = statics.safetensors["statics"] [S, H, W] per example, date = [sin, cos] of the time of year (+ time of day)',
    `# each channel enters as (t(x) - mean) / std with t its transform (sqrt for precipitation) and mean from m["normStats"]: ${
      spec.normalisation === 'seasonal' ? 'per cell sum_r seasonal[r] * [1, cos phi, sin phi, cos 2phi, sin 2phi][r], phi = 2 pi (month position) / 12'
        : spec.normalisation === 'climatology' ? 'per cell climatology[month]' : 'one number per channel'}`, '```', '');
  lines.push('## Resuming', '', `\`scripts/train-reference ${spec.name} --resume\` continues the committed milestone (\`resume/\`) bit for bit on the same machine, thread count and precision; on another machine it continues correctly but not bit for bit (other CPU kernels round differently).`, '');
  return lines.join('\n');
}
