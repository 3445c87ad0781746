// `climadiff train`, `climadiff sample`, `climadiff info`: the main job's commands.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { resolvePrecision, type Precision } from '../models/precision.js';
import { trainRun, sampleRun, writeSamples, runInfo, DEFAULT_NORMALISATION, GRID_FITS, type GridFit } from '../run/pipeline.js';
import { writeSampleReport } from '../run/sample-report.js';
import { encodeLike } from '../run/embed-run.js';
import { modelFingerprint } from '../run/task-run.js';
import { loadSamplingModel } from '../run/model-store.js';
import { CHANNEL_TRANSFORMS, SEASONAL_HARMONICS, type ChannelTransform, type NormKind } from '../data/normalise.js';
import { DATE_FEATURE_KINDS, type DateFeatureKind } from '../data/dates.js';
import { parseSplitSpec } from '../data/split.js';
import type { SourceSelection } from '../data/select-source.js';
import { readDatasetConfig } from '../data/dataset-config.js';
import { parseTrainConfig, type TrainConfig } from '../train/config.js';
import { hasCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import { DataError } from '../data/types.js';
import { DEFAULT_SAMPLING } from '../diffusion/samplers/registry.js';
import { WorkersFailed, positiveInt, positiveNumber, commandLine, addSamplerOptions, samplerFromFlags, addSelectionOptions, selectionFromFlags, gracefulStop, untilOption, timeLimitOption, ResumableStop, type SamplerFlags, type SelectionFlags } from './options.js';
import * as torch from '@climadiff/torch';
import { runDemo } from '../run/demo.js';
import { addLaunchOptions, joinGroup, launchIfAsked, type LaunchFlags } from './launch.js';
import { progressBar as trainProgressBar, countBar, type CountBar } from '../train/progress.js';

const THREADS_HELP = 'intra-op threads (default: all cores)';
const PRECISION_HELP = 'fp32 | bf16-mixed | fp16-mixed (CUDA) | auto: bf16-mixed where the CPU has native bf16 (AVX512-BF16/AMX) or on CUDA, else fp32';
const DEVICE_HELP = "cpu, cuda or cuda:N";

/** --precision as the trainer and samplers take it (validated for the device: fp16-mixed needs CUDA). */
function precisionOption(p: string | undefined, device: string): Precision {
  try { return resolvePrecision(p, device); } catch (e) { throw new DataError('bad-option', `--precision: ${(e as Error).message}`); }
}
function deviceOption(d: string): string {
  if (!/^(cpu|cuda(:\d+)?)$/.test(d)) throw new InvalidArgumentError("expected cpu, cuda or cuda:N");
  if (d.startsWith('cuda') && !torch.cuda.isAvailable()) throw new InvalidArgumentError('CUDA is not available in this engine (a CPU build of PyTorch, or no GPU visible)');
  return d;
}

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { throw new DataError('missing-file', `config ${path}: no such file`); }
  try { return JSON.parse(text) as Record<string, unknown>; } catch (e) {
    throw new DataError('bad-config', `config ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** --transform pr=learned,tas=none */
function transformsOption(v: string): Record<string, ChannelTransform> {
  const out: Record<string, ChannelTransform> = {};
  for (const part of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (!m || !CHANNEL_TRANSFORMS.includes(m[2]!.trim() as ChannelTransform)) throw new InvalidArgumentError(`expected VAR=${CHANNEL_TRANSFORMS.join('|')}[,VAR=...], got '${part}'`);
    out[m[1]!.trim()] = m[2]!.trim() as ChannelTransform;
  }
  return out;
}
function normalisationOption(v: string): NormKind {
  if (v !== 'per-variable' && v !== 'climatology' && v !== 'seasonal') throw new InvalidArgumentError("expected 'per-variable', 'climatology' or 'seasonal'");
  return v;
}
function datesKindOption(v: string): DateFeatureKind | 'auto' {
  if (v !== 'auto' && !DATE_FEATURE_KINDS.includes(v as DateFeatureKind)) throw new InvalidArgumentError(`expected auto, ${DATE_FEATURE_KINDS.join(', ')}`);
  return v as DateFeatureKind | 'auto';
}

/**
 * A resumed run's training config without its budget (the resuming command gives that); a cosine schedule keeps
 * decaying to the end the run first had (its steps).
 */
function resumedConfig(c: TrainConfig): Record<string, unknown> {
  const ls = c.lrSchedule.kind === 'warmup-cosine' && c.lrSchedule.totalSteps === undefined && c.steps !== undefined
    ? { ...c.lrSchedule, totalSteps: c.steps } : c.lrSchedule;
  return { ...c, lrSchedule: ls, steps: undefined, minutes: undefined };
}

export function register(program: Command): void {
  const trainCmd = program.command('train')
    .description('train a space-time diffusion U-Net on clips of a NetCDF/Zarr file (checkpoints, metrics, loss curve in --out)')
    .option('--dataset <file>', 'dataset config JSON (data, variables, transforms, selection, split, fit; docs/data.md); flags given as well override it')
    .option('--data <files>', "NetCDF/Zarr data with (time, lat, lon) variables: one file, a comma-separated list, a quoted glob ('data/tas_*.nc') or a directory; several files are joined along time in calendar order")
    .option('--vars <names>', 'comma-separated variables used as channels')
    .requiredOption('--out <dir>', 'run folder (runs/NAME)')
    .option('--config <file>', 'training config JSON (validated; see TrainConfigSchema)')
    .option('--frames <n>', 'frames per training clip', positiveInt, 8)
    .option('--steps <n>', 'total optimizer steps', positiveInt)
    .option('--minutes <m>', 'wall-clock budget of this invocation in minutes', positiveNumber)
    .option('--batch-size <n>', 'clips per batch', positiveInt)
    .option('--channels <n>', 'U-Net base channels (width; default 32)', positiveInt)
    .option('--representation <d>', 'a representation model (seed 002; docs/representation.md): an encoder q(w|x) with w in d dimensions, the U-Net conditioned on w, trained on the joint loss with beta KL', positiveInt)
    .option('--encoder <kind>', "the representation's encoder: clip (space-time convolutions over the clip; default) | frame (space only, the clip's first frame)", (v) => { if (v !== 'clip' && v !== 'frame') throw new InvalidArgumentError("expected 'clip' or 'frame'"); return v; })
    .option('--kl-weight <beta>', 'beta of the KL term (default 1, the bound of seed 002 sec. 4; other values are a beta-VAE objective, not a bound)', (v) => { const x = Number(v); if (!(Number.isFinite(x) && x >= 0)) throw new InvalidArgumentError('expected a number >= 0'); return x; })
    .option('--statics', 'condition on the grid\'s static fields: land-sea mask (from the file\'s land fraction), sin/cos latitude, orography')
    .option('--preview-every <n>', 'write previews/step-NNNNNN.gif (samples from the EMA weights) every n steps', positiveInt)
    .option('--normalisation <kind>', `per-variable | climatology (anomalies from the training years' monthly means) | seasonal (anomalies from a smooth seasonal cycle per cell: mean and ${SEASONAL_HARMONICS} annual harmonics) of every channel but a learned-transform one, after its transform (default ${DEFAULT_NORMALISATION})`, normalisationOption)
    .option('--transform <spec>', `value transform per variable, VAR=${CHANNEL_TRANSFORMS.join('|')}[,...] (default: sqrt for precipitation, none otherwise; docs/recipe.md)`, transformsOption)
    .option('--dates <kind>', `date conditioning: auto (time of year, and of day for sub-daily frames) | ${DATE_FEATURE_KINDS.join(' | ')}`, datesKindOption, 'auto')
    .option('--split <spec>', "held-out data: blocks (default; 0.8/0.1/0.1 of the time axis), blocks:N (N time blocks), years:VAL:TEST (comma-separated years), seasons:N (one season in N test, one validation; the seed held out every fifth), none (nothing held out: files too short to split)")
    .option('--validation <none>', "'none': hold out no validation data (small datasets; the test split stays)", (v) => { if (v !== 'none') throw new InvalidArgumentError("expected 'none'"); return v; });
  addSelectionOptions(trainCmd, 'train on')
    .option('--fit <how>', "a grid the U-Net's levels do not divide: reflect (default) | zeros (pad inside the network, longitude wrapped on global grids; data, loss and outputs stay on the file's grid) | crop (keep the central rows and columns that fit) | error", (v) => { if (!(GRID_FITS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${GRID_FITS.join(', ')}`); return v; })
    .option('--resume', 'continue from the run folder\'s latest checkpoint, bit for bit (with the same --threads)')
    .option('--until <HH:MM>', 'stop, with a checkpoint written, before this local time (the next time the clock shows it)', untilOption)
    .option('--time-limit <t>', 'stop, with a checkpoint written, within this time: minutes or SLURM\'s [D-]HH:MM[:SS]', timeLimitOption)
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .option('--precision <p>', `${PRECISION_HELP} (recorded in the run)`)
    .option('--device <d>', DEVICE_HELP, deviceOption, 'cpu');
  addLaunchOptions(trainCmd, 'data-parallel training (--batch-size is the global batch, cut into one part per worker)')
    .action(async (o: { dataset?: string; data?: string; vars?: string; out: string; config?: string; frames: number; steps?: number; minutes?: number; batchSize?: number; previewEvery?: number; statics?: boolean; resume?: boolean; threads?: number; precision?: string; device: string;
      normalisation?: NormKind; transform?: Record<string, ChannelTransform>; dates: DateFeatureKind | 'auto'; channels?: number; split?: string; validation?: 'none';
      fit?: GridFit; until?: number; timeLimit?: number; representation?: number; encoder?: 'clip' | 'frame'; klWeight?: number } & SelectionFlags & LaunchFlags, cmd: Command) => {
      const started = Date.now();
      // the launcher: this process starts the workers (each runs this same command with torchrun's environment)
      const code = await launchIfAsked(o);
      if (code !== null) {
        if (code === 75) throw new ResumableStop('the workers stopped with a checkpoint written, resumable: run the same command with --resume');
        if (code !== 0) throw new WorkersFailed(`data-parallel training failed (a worker exited with code ${code}); the last checkpoint in ${o.out} is intact: run the same command with --resume`, code);
        return;
      }
      // a worker (of this launcher, of torchrun, of srun) joins the group its environment describes
      const { group, device, dispose: leaveGroup } = joinGroup(o);
      const main = (group?.rank ?? 0) === 0;
      const ds = o.dataset ? readDatasetConfig(o.dataset) : null;
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      const data = o.data ?? (ds ? (Array.isArray(ds.data) ? ds.data.join(',') : ds.data) : undefined);
      const variables = o.vars ? o.vars.split(',').map((s) => s.trim()).filter(Boolean) : ds?.variables;
      if (!data || !variables?.length) throw new DataError('bad-option', 'train needs --data and --vars, or a --dataset config that gives them');
      const select: SourceSelection = { ...(ds?.select ?? {}), ...selectionFromFlags(o) };
      const split = o.split ?? ds?.split;
      if (split) parseSplitSpec(split); // a bad spec fails before anything is read
      const validation = o.validation === 'none' ? false : ds?.validation;
      const transforms = o.transform ?? ds?.transforms as Record<string, ChannelTransform> | undefined;
      const normalisation = o.normalisation ?? ds?.normalisation;
      const fit = o.fit ?? ds?.fit;
      if (o.threads) torch.setNumThreads(o.threads);
      // a resumed run keeps its training config (schedule, optimizer, ...) unless --config is given; its budget (steps,
      // minutes) is this command's
      const resumed = o.resume && !o.config && hasCheckpoint(o.out) ? resumedConfig(loadCheckpoint(o.out).trainConfig) : null;
      const file: Record<string, unknown> = resumed ?? readConfig(o.config);
      const precision = precisionOption(o.precision ?? (file['precision'] as string | undefined), o.device);
      const cfg: Record<string, unknown> = { ...file, ...(o.steps ? { steps: o.steps } : {}), ...(o.minutes ? { minutes: o.minutes } : {}),
        ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.previewEvery ? { previewEvery: o.previewEvery } : {}), ...(o.klWeight !== undefined ? { klWeight: o.klWeight } : {}), precision };
      if (o.encoder && !o.representation) throw new DataError('bad-option', '--encoder needs --representation d');
      if (o.representation && o.resume) throw new DataError('bad-option', '--representation describes a new model; a resumed run keeps the model it has');
      if (cfg['steps'] === undefined && cfg['minutes'] === undefined) cfg['minutes'] = 10;
      // a time budget without a step count: a cosine schedule has no end to decay to, so the rate stays constant
      // after its warm-up (give --steps, or lrSchedule in --config, for a decay)
      if (cfg['steps'] === undefined && cfg['lrSchedule'] === undefined) {
        cfg['lrSchedule'] = { kind: 'constant', warmupSteps: 100 };
        process.stderr.write('note: no --steps, so the learning rate is constant after 100 warm-up steps (give --steps for the cosine decay)\n');
      }
      const config = parseTrainConfig(cfg, o.config ?? 'training options');
      const bar = main ? trainProgressBar() : { onProgress: undefined, stop: () => undefined };
      // SIGINT / SIGTERM (what SLURM and Kubernetes send before a limit or an eviction) / SIGUSR1 (sbatch --signal=USR1@120)
      const stop = gracefulStop(['SIGINT', 'SIGTERM', 'SIGUSR1'], 'finishing the step and writing a checkpoint');
      const deadlines = [o.until, o.timeLimit !== undefined ? started + o.timeLimit : undefined].filter((d): d is number => d !== undefined);
      let result;
      try {
        result = await trainRun({
          signal: stop.signal, ...(deadlines.length ? { deadline: Math.min(...deadlines) } : {}),
          data, variables, runDir: o.out, frames: given('frames') ? o.frames : ds?.frames ?? o.frames,
          config, resume: o.resume ?? false, statics: o.statics ?? ds?.statics ?? false, device: device ?? o.device, onProgress: bar.onProgress,
          dates: given('dates') ? o.dates : (ds?.dates as DateFeatureKind | 'auto' | undefined) ?? o.dates,
          ...(normalisation ? { normalisation } : {}), ...(transforms ? { transforms } : {}),
          ...(o.channels || o.representation ? { model: { ...(o.channels ? { channels: o.channels } : {}), ...(o.representation ? { representation: { dim: o.representation, ...(o.encoder ? { encoder: o.encoder } : {}) } } : {}) } } : {}),
          ...(split ? { split } : {}), ...(validation !== undefined ? { validation } : {}),
          ...(Object.keys(select).length ? { select } : {}), ...(fit ? { fit } : {}),
          onLog: (m) => process.stderr.write(`\n${m}\n`), ...(group ? { group } : {}),
        });
      } finally {
        stop.dispose();
        bar.stop();
      }
      leaveGroup();
      if (main) process.stdout.write(`trained to step ${result.step} (${result.stopReason}); last loss ${result.lastLoss?.toFixed(4) ?? 'n/a'}; checkpoint ${result.checkpoint}\n`);
      if (result.stopReason === 'signal' || result.stopReason === 'deadline') {
        throw new ResumableStop(`stopped at step ${result.step} (${result.stopReason === 'signal' ? result.signalReason : 'before the time limit'}), resumable: run the same command with --resume`);
      }
    });

  const sample = program.command('sample')
    .description('generate sequences from a run\'s checkpoint (EMA weights), in physical units on the training grid')
    .requiredOption('--checkpoint <dir>', 'run folder written by climadiff train (its latest checkpoint; RUN/best: the lowest validation loss), an exported model folder, or builtin:NAME (e.g. builtin:earth)')
    .requiredOption('--out <file>', 'samples.nc, samples.zarr or samples.gif')
    .option('--dates <list>', "comma-separated first-frame dates 'YYYY-MM-DD[ hh:mm]' (sample i gets date i mod count; default: drawn from the training calendar)")
    .option('--report <dir>', 'also write diagnostics of the samples against the run\'s held-out data (physical values and anomalies) into this folder')
    .option('--n <n>', 'number of sequences', positiveInt, 4)
    .option('--frames <n>', 'frames per sequence (may exceed the training length)', positiveInt)
    .option('--like <file>', 'a representation model: sample like the clip of this NetCDF/Zarr file that starts at --start (conditioned on its E_q[w]; for the same dates)')
    .option('--start <date>', "the first frame of the --like clip, 'YYYY-MM-DD[ hh:mm]'");
  addSamplerOptions(sample, DEFAULT_SAMPLING)
    .option('--seed <s>', 'random seed', (v) => Number(v), 0)
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .option('--precision <p>', PRECISION_HELP)
    .option('--device <d>', DEVICE_HELP, deviceOption, 'cpu')
    .action(async (o: SamplerFlags & { checkpoint: string; out: string; n: number; frames?: number; seed: number; threads?: number; precision?: string; device: string;
      dates?: string; report?: string; like?: string; start?: string }, cmd: Command) => {
      if (o.threads) torch.setNumThreads(o.threads);
      if ((o.like === undefined) !== (o.start === undefined)) throw new DataError('bad-option', '--like FILE and --start DATE go together');
      if (o.like && o.dates) throw new DataError('bad-option', '--like samples for the dates of its clip: --dates does not apply');
      if (o.like && o.frames) throw new DataError('bad-option', '--like samples clips as long as the encoded one: --frames does not apply');
      const precision = precisionOption(o.precision, o.device);
      // before sampling, not after it: the writers refuse to overwrite anyway, but minutes of sampling would be lost
      if (existsSync(o.out)) throw new DataError('output-exists', `refusing to overwrite existing '${o.out}' (choose another name)`);
      if (o.report && existsSync(o.report)) throw new DataError('output-exists', `refusing to overwrite the existing report folder '${o.report}' (choose another name)`);
      const { sampler, steps, sampling } = samplerFromFlags(o);
      const like = o.like ? await encodeLike(o.checkpoint, o.like, o.start!, (m) => process.stderr.write(`${m}\n`)) : null;
      const dates = like ? [like.date] : o.dates?.split(',').map((d) => d.trim()).filter(Boolean);
      const progress: { bar: CountBar | null } = { bar: null };
      let r;
      const t0 = performance.now();
      try {
        r = sampleRun({ runDir: o.checkpoint, n: o.n, ...(o.frames ? { frames: o.frames } : {}), steps, sampler, sampling, seed: o.seed, precision, device: o.device, ...(dates?.length ? { dates } : {}),
          ...(like ? { latent: like.latent } : {}), onStep: (s, total) => {
            progress.bar ??= countBar(`sample (${o.sampler})`, total);
            progress.bar.update(s + 1);
          } });
      } finally {
        progress.bar?.stop();
      }
      const seconds = (performance.now() - t0) / 1000;
      await writeSamples(r, o.out, commandLine(cmd), like ? { reference: { data: like.clip, clips: 1, label: `clip of ${like.date} (encoded)` } } : {});
      if (like) process.stdout.write(`conditioned on E_q[w] of the clip of ${o.like} starting ${like.date}\n`);
      process.stdout.write(`${o.out}: ${r.shape[0]} sequence(s) of ${r.shape[2]} frames, ${r.shape[3]}x${r.shape[4]}; ${r.nfe.forward} network evaluations (${sampler}, ${steps} steps) in ${seconds.toFixed(1)} s\n`);
      for (const c of r.clamped) if (c.below + c.above > 0) process.stdout.write(`${c.variable}: ${c.below} value(s) below and ${c.above} above the transform's range clamped (of ${c.total})\n`);
      if (o.report) {
        const rep = await writeSampleReport({ outDir: o.report, samples: r, title: `Samples of ${o.checkpoint} against its held-out data`, log: (m) => process.stderr.write(`${m}\n`) });
        for (const v of rep.verdicts) process.stdout.write(`${v.variable}: ${v.rows.filter((x) => x.pass).length}/${v.rows.length} acceptance checks pass\n`);
        process.stdout.write(`report: ${join(o.report, 'report.md')}\n`);
      }
    });

  program.command('info')
    .description('describe a run: config, data, steps, losses, parameter count')
    .argument('<run>', 'run folder')
    .option('--fingerprint', "print only the model's fingerprint (SHA-256 of its sampling weights: names, shapes, bytes); takes builtin:NAME and exported folders too")
    .option('--precision <p>', `with --fingerprint: append the precision the network would run in on this machine (${PRECISION_HELP}), so outputs of one model in two precisions are told apart`)
    .action((run: string, o: { fingerprint?: boolean; precision?: string }) => {
      if (o.precision !== undefined && !o.fingerprint) throw new DataError('bad-option', '--precision goes with --fingerprint');
      if (o.fingerprint) {
        const precision = o.precision !== undefined ? ` ${precisionOption(o.precision, 'cpu')}` : '';
        process.stdout.write(`${modelFingerprint(loadSamplingModel(run).model)}${precision}\n`);
        return;
      }
      process.stdout.write(`${JSON.stringify(runInfo(run), null, 2)}\n`);
    });
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('the main job: simulate, train for a bounded time, sample, and write a run folder with a report')
    .option('--out <dir>', 'run folder', 'runs/demo')
    .option('--minutes <m>', 'training time in minutes', positiveNumber, 10)
    .option('--samples <n>', 'sequences to generate', positiveInt, 8)
    .option('--sample-steps <n>', 'steps of the default sampler (DEFAULT_SAMPLING)', positiveInt, 100)
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .option('--precision <p>', PRECISION_HELP)
    .action(async (o: { out: string; minutes: number; samples: number; sampleSteps: number; threads?: number; precision?: string }) => {
      if (o.threads) torch.setNumThreads(o.threads);
      const precision = precisionOption(o.precision, 'cpu');
      const bar = trainProgressBar();
      const sampling: { bar: CountBar | null } = { bar: null };
      let files: string[];
      try {
        files = await runDemo({ out: o.out, minutes: o.minutes, samples: o.samples, sampleSteps: o.sampleSteps, precision, onProgress: bar.onProgress,
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
