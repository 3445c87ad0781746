// The main job as library functions (the CLI and `npm run demo` are thin wrappers): train a space-time U-Net on
// clips of a NetCDF/Zarr file, sample new sequences from a run's checkpoint in physical units, describe a run.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { resolveDataFiles, type MultiFileSource } from '../data/multi-source.js';
import type { DatasetConfig } from '../data/dataset-config.js';
import { openSelectedSource, type SourceSelection } from '../data/select-source.js';
import type { ClipSource } from '../data/clip-source.js';
import { splitDatasets, splitOf } from '../data/dataset.js';
import { parseSplitSpec } from '../data/split.js';
import { fileStaticFields, isLongitude } from '../data/statics.js';
import { isPrecipitationLike, needsMonths, parseNormStats, type ChannelTransform, type NormKind, type NormStats } from '../data/normalise.js';
import { autoDateFeatures, dateFeatureCount, type DateFeatureKind } from '../data/dates.js';
import { coordinateCalendar, decodeTimeParts, formatTimeParts } from '../data/time-parts.js';
import { DataError, type Coordinate } from '../data/types.js';
import { UNet3D, unet3dConfig, resolvePrecision, type Precision, type UNet3DConfig, type UNet3DConfigInput } from '../models/index.js';
import { train, type TrainConfigInput, type TrainProgress, type TrainResult } from '../train/index.js';
import { loadCheckpoint, hasCheckpoint, CheckpointError } from '../train/checkpoint.js';
import { readMetrics } from '../train/metrics.js';
import { lockRun, type RunLock } from '../train/lock.js';
import { loadSamplingModel, readRunData, STATICS_FILE, type RunData } from './model-store.js';
import { generate, type GenerateResult, type SamplerName } from '../tasks/generate.js';
import { DEFAULT_SAMPLING, type SamplerSettings } from '../diffusion/samplers/registry.js';
import { sampleFrameTimes } from '../tasks/dates.js';
import type { GenerationModel } from '../tasks/model.js';

export { readRunData, type RunData } from './model-store.js';
export { samplesDataset, writeSamples, samplesGIF } from './samples.js';
import { samplesGIF } from './samples.js';

export type GridFit = 'reflect' | 'zeros' | 'crop' | 'error';
export const GRID_FITS: readonly GridFit[] = ['reflect', 'zeros', 'crop', 'error'];

export interface TrainRunOptions {
  data: string;
  variables: string[];
  runDir: string;
  frames?: number;
  config?: TrainConfigInput;
  model?: Partial<UNet3DConfigInput>;
  resume?: boolean;
  /**
   * Condition the model on the grid's static fields (land-sea mask from the file's land fraction or the missing
   * pattern, sin/cos latitude, orography when the file has it), concatenated to the input as channels.
   */
  statics?: boolean;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** Normalisation of every channel but learned-transform ones, applied after the channel's transform (default DEFAULT_NORMALISATION). */
  normalisation?: NormKind;
  /** Value transform per variable (default: 'sqrt' for precipitation-like variables, else 'none'). */
  transforms?: Record<string, ChannelTransform>;
  /** Date conditioning (default 'auto': time of year, and of day for sub-daily frames; 'none' without a time axis). */
  dates?: DateFeatureKind | 'auto';
  /** The split (parseSplitSpec: blocks, blocks:N, years:VAL:TEST, seasons:N; default blocks); kept by a resumed run. */
  split?: string;
  /** false: hold out no validation data (small datasets). */
  validation?: boolean;
  /** What to take of the files (box, level, coarsening, dates, months, every n); kept by a resumed run. */
  select?: SourceSelection;
  /**
   * A grid that the U-Net's levels do not divide: 'reflect' (default) or 'zeros' pads it inside the network (longitude
   * wrapped on global grids; models/config.ts gridPadding), so the loss, samples and scores stay on the file's own grid;
   * 'crop' keeps its central rows and columns that fit; 'error' refuses it.
   */
  fit?: GridFit;
  /** How to recreate the data on another machine (recorded in the run). */
  recipe?: RunData['recipe'];
  /** Stop this invocation at this step (a checkpoint is written). */
  untilStep?: number;
  /** A graceful stop and a wall-clock deadline (train/types.ts TrainOptions). */
  signal?: AbortSignal;
  deadline?: number;
  onProgress?: (p: TrainProgress) => void;
  onLog?: (m: string) => void;
  /** Data-parallel training over this group (train/types.ts TrainOptions.group): rank 0 alone writes the run folder. */
  group?: torch.distributed.ProcessGroup;
}

/**
 * The default normalisation (of every channel but learned-transform ones): anomalies from the training years' smooth
 * seasonal cycle per cell. docs/recipe.md has the measurements that chose it. Anomalies beat per-variable scaling on
 * temperature. A monthly climatology steps at month boundaries: models trained on it (builtin:earth until its retraining)
 * put those steps into their physical samples, 5.9 K^2 against the data's 0.0065 K^2 of area-mean squared 6-hourly
 * change.
 */
export const DEFAULT_NORMALISATION: NormKind = 'seasonal';

/**
 * The default transform of a variable: square root for precipitation, none otherwise. Measured (docs/recipe.md) at equal
 * wall time on the reference data, sqrt reproduced the dry fraction and upper quantiles where the learned transform,
 * early in training, did not; the learned transform stays one option away (--transform pr=learned).
 */
export function defaultTransform(name: string, units?: string, standardName?: string): ChannelTransform {
  return isPrecipitationLike(name, units, standardName) ? 'sqrt' : 'none';
}

/** 0.01 mm/h (the seed's wet threshold) in a channel's units; 0 when the units are not a rain rate. */
export function wetThreshold(units: string | undefined): number {
  const u = (units ?? '').trim();
  if (/^mm ?(h|hr)-1$|^mm\/(h|hr)$/.test(u)) return 0.01;
  if (/^mm ?(d|day)-1$|^mm\/(d|day)$/.test(u)) return 0.24;
  if (u === 'kg m-2 s-1') return 0.01 / 3600;
  return 0;
}

/** A global longitude axis (spacing times count covers 360 degrees) wraps: periodic padding in the U-Net. */
function isGlobalLon(lon: Coordinate | undefined): boolean {
  if (!lon || lon.values.length < 2 || !isLongitude(lon)) return false;
  const v = lon.values;
  const step = Math.abs(v[1]! - v[0]!);
  return Math.abs(step * v.length - 360) < step * 0.51;
}

/**
 * Trains a run folder (new, or resumed). One writer per folder (train/lock.ts): an existing folder is locked before
 * anything in it is read, a new one before it is created, so a refused second trainer changes nothing.
 */
export async function trainRun(o: TrainRunOptions): Promise<TrainResult & { data: RunData }> {
  // data-parallel: rank 0 holds the lock and writes; the other ranks only read
  const main = (o.group?.rank ?? 0) === 0;
  const early = main && existsSync(o.runDir) ? await lockRun(o.runDir) : null;
  try {
    return await trainRunIn(o, early || !main ? null : () => lockRun(o.runDir));
  } finally {
    await early?.release();
  }
}

async function trainRunIn(o: TrainRunOptions, takeLock: (() => Promise<RunLock>) | null): Promise<TrainResult & { data: RunData }> {
  const frames = o.frames ?? 8;
  const runDataPath = join(o.runDir, 'run-data.json');
  if (o.resume && !existsSync(runDataPath)) throw new CheckpointError(`${o.runDir}: nothing to resume (no run-data.json)`);
  // a run folder holding a run is continued with resume, never trained over (checked before anything is written)
  if (!o.resume && hasCheckpoint(o.runDir)) throw new CheckpointError(`${o.runDir} already holds a run; pass --resume to continue it or choose another folder`);
  const before = o.resume ? readRunData(o.runDir) : null;
  let selection = o.select ?? before?.selection ?? null;
  if (before && JSON.stringify(selection) !== JSON.stringify(before.selection)) {
    throw new DataError('bad-option', `${o.runDir} was trained on the selection ${JSON.stringify(before.selection)}; a resumed run keeps it`);
  }
  let source = await openSelectedSource(o.data, o.variables, selection, { log: (m) => process.stderr.write(`${m}\n`) });
  const multiple = 2 ** ((o.model?.channelMults?.length ?? 3) - 1);
  if (!before && o.fit === 'crop' && (source.height % multiple !== 0 || source.width % multiple !== 0)) {
    const crop: [number, number] = [Math.floor(source.height / multiple) * multiple, Math.floor(source.width / multiple) * multiple];
    process.stderr.write(`--fit crop: the ${source.height}x${source.width} grid is cropped to its central ${crop[0]}x${crop[1]} (a multiple of ${multiple})\n`);
    selection = { ...(selection ?? {}), crop };
    source = await openSelectedSource(o.data, o.variables, selection);
  }
  const useStatics = before ? before.statics.length > 0 : o.statics ?? false;
  // static fields come from the first file (they do not change in time)
  const selected = source.original && source.selectPlane ? { original: source.original, selectPlane: source.selectPlane } : undefined;
  const firstFile = ((selected?.original ?? source) as Partial<MultiFileSource>).files?.[0]?.path ?? resolveDataFiles(o.data)[0]!;
  const statics = useStatics ? await fileStaticFields(firstFile, source, selected) : null;
  if (statics && statics.names.length === 0) throw new DataError('bad-option', `${o.data}: no static fields found (no land fraction, latitude or orography)`);
  const dateKind: DateFeatureKind = before ? before.dateFeatures as DateFeatureKind : !o.dates || o.dates === 'auto' ? autoDateFeatures(source.time) : o.dates;
  if (dateKind !== 'none' && !source.time) throw new DataError('bad-option', `${o.data}: date conditioning needs a time coordinate`);
  for (const v of Object.keys(o.transforms ?? {})) if (!o.variables.includes(v)) throw new DataError('bad-option', `a transform was given for '${v}', which is not one of the variables (${o.variables.join(', ')})`);
  const channels = Object.fromEntries(source.channels.map((c) => [c.name, { transform: o.transforms?.[c.name] ?? defaultTransform(c.name, c.units, c.standardName) }]));
  // on resume, the statistics the model was trained with (the data may be the same; the model must be)
  const resumeStats = o.resume ? parseNormStats(loadCheckpoint(o.runDir).normStats) : null;
  let splitSpec = o.split ?? before?.split ?? 'blocks';
  let withValidation = o.validation ?? before?.validation ?? true;
  if (before && (splitSpec !== before.split || withValidation !== before.validation)) {
    throw new DataError('bad-option', `${o.runDir} was split '${before.split}'${before.validation ? '' : ' without validation'}; a resumed run keeps its split`);
  }
  // monthly anomalies need dates: a time axis that is not 'UNIT since DATE' (e.g. 'Month' 1..12) trains per variable
  const datesKnown = autoDateFeatures(source.time) !== 'none';
  const defaultNormalisation = datesKnown ? DEFAULT_NORMALISATION : 'per-variable';
  if (!datesKnown && !o.normalisation && !o.resume) process.stderr.write(`note: the time axis of ${o.data} has no dates, so the normalisation is per-variable (monthly anomalies need dates)\n`);
  let parsedSplit = parseSplitSpec(splitSpec);
  // data too short for the default split (none was asked for): train on all of it, and say so
  if (!before && o.split === undefined && o.validation === undefined) {
    try {
      splitOf(source, { ...parsedSplit, frames });
    } catch (e) {
      if (!(e instanceof DataError) || e.kind !== 'too-short') throw e;
      process.stderr.write(`note: ${(e as Error).message.replace(/ \(--validation none.*$/, '')}: training on all ${source.timeSteps} time steps (--split none)\n`);
      splitSpec = 'none'; withValidation = false; parsedSplit = parseSplitSpec(splitSpec);
    }
  }
  if (parsedSplit.holdOut === false) process.stderr.write('warning: --split none: nothing is held out (no validation, no test clips); use it for files too short to split\n');
  else if (!withValidation) process.stderr.write('warning: no validation split: nothing is held out to watch for overfitting (the test split stays held out)\n');
  const { stats, split, train: trainSet, validation, test } = await splitDatasets(source, {
    ...parsedSplit, validation: withValidation,
    frames, normalisation: resumeStats ?? o.normalisation ?? defaultNormalisation, channels, dateFeatures: dateKind, ...(statics ? { statics } : {}),
    reopen: { data: o.data, variables: o.variables, select: selection },
  });
  const runData: RunData = {
    source: o.data, variables: o.variables, units: source.channels.map((c) => c.units ?? null), frames,
    height: source.height, width: source.width,
    lat: source.lat ? Array.from(source.lat.values) : null, lon: source.lon ? Array.from(source.lon.values) : null,
    test: Array.from(test.starts), trainRanges: split.train.ranges.map(([a, b]) => [a, b] as [number, number]),
    statics: statics?.names ?? [], dateFeatures: dateKind, split: splitSpec, validation: withValidation, selection, time: timeInfo(source, trainSet.starts), recipe: o.recipe ?? before?.recipe ?? null,
  };
  let modelConfig: UNet3DConfig;
  if (o.resume) {
    modelConfig = unet3dConfig(loadCheckpoint(o.runDir).modelConfig as UNet3DConfigInput);
  } else {
    const learned = stats.channels.flatMap((c, i) => (c.transform === 'learned' ? [{
      channel: i, hidden: 16,
      // the domain reaches a quarter beyond the training maximum (in units of the channel's std), so heavier rain
      // than seen in training can still be generated
      domainMax: 1.25 * Math.max(c.max ?? 0, c.std) / c.std,
      threshold: wetThreshold(c.units) / c.std,
    }] : []));
    modelConfig = unet3dConfig({
      channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1, dropout: 0,
      ...o.model, inChannels: o.variables.length, condChannels: statics?.names.length ?? 0,
      dateFeatures: dateFeatureCount(dateKind), learnedTransforms: learned,
      boundary: { lon: isGlobalLon(source.lon) ? 'periodic' : 'zeros', lat: 'zeros', ...(o.model?.boundary ?? {}) },
      gridPadding: o.fit === 'zeros' ? 'zeros' : o.fit === 'crop' || o.fit === 'error' ? 'none' : 'reflect',
    });
  }
  if (modelConfig.inChannels !== o.variables.length) {
    throw new DataError('shape-mismatch', `the run's model takes ${modelConfig.inChannels} channel(s) but ${o.variables.length} variable(s) were given`);
  }
  if (modelConfig.condChannels !== (statics?.names.length ?? 0)) {
    throw new DataError('shape-mismatch', `the run's model takes ${modelConfig.condChannels} static channel(s) but ${o.data} gives ${statics?.names.length ?? 0} (${statics?.names.join(', ') ?? 'none'})`);
  }
  const levels = modelConfig.channelMults.length - 1;
  if (modelConfig.gridPadding === 'none' && (source.height % 2 ** levels !== 0 || source.width % 2 ** levels !== 0)) {
    throw new DataError('shape-mismatch', `the grid ${source.height}x${source.width} must be divisible by ${2 ** levels} for a U-Net with ${levels + 1} levels (--fit reflect or zeros pads it inside the network, --fit crop keeps the central part that is; or select a box or coarsen)`);
  }
  const padded = [source.height, source.width].map((n) => Math.ceil(n / 2 ** levels) * 2 ** levels);
  if (!before && modelConfig.gridPadding !== 'none' && (padded[0] !== source.height || padded[1] !== source.width)) {
    process.stderr.write(`--fit ${modelConfig.gridPadding}: the ${source.height}x${source.width} grid is padded to ${padded[0]}x${padded[1]} inside the network; data, loss and outputs stay on ${source.height}x${source.width}\n`);
  }
  // data-parallel: every rank has read what it needs of the run folder before rank 0 writes into it
  o.group?.barrier();
  const staticsTensor = () => (statics ? torch.tensor(statics.data, [statics.names.length, statics.height, statics.width]) : null);
  const lock = takeLock ? await takeLock() : null;
  try {
    if ((o.group?.rank ?? 0) === 0) {
      mkdirSync(o.runDir, { recursive: true });
      writeFileSync(runDataPath, JSON.stringify(runData));
      // the dataset config of this run (data/dataset-config.ts), data paths absolute: the run's data from this file alone
      const dataset: DatasetConfig = {
        data: resolveDataFiles(o.data).map((f) => resolve(f)), variables: o.variables, frames,
        ...(o.transforms ? { transforms: o.transforms } : {}), normalisation: stats.channels.find((c) => c.kind !== 'per-variable')?.kind ?? 'per-variable',
        ...(selection ? { select: selection } : {}), split: splitSpec, validation: withValidation, statics: useStatics, dates: dateKind,
        fit: modelConfig.gridPadding !== 'none' ? modelConfig.gridPadding : selection?.crop ? 'crop' : 'error',
      };
      writeFileSync(join(o.runDir, 'dataset.json'), `${JSON.stringify(dataset, null, 1)}\n`);
      if (statics) torch.scope(() => torch.save({ statics: staticsTensor()! }, join(o.runDir, STATICS_FILE)));
    }
    torch.manualSeed((o.config?.seed as number | undefined) ?? 0);
    const device = o.device ?? 'cpu';
    const model = new UNet3D(modelConfig);
    if (device !== 'cpu') model.to(device);
    const config = o.config ?? { minutes: 10 };
    // the trainer resolves the same way; previews sample in the run's precision
    const precision = resolvePrecision((config as { precision?: string }).precision, device);
    const result = await train({
      model, config, device, data: trainSet, ...(validation.starts.length > 0 ? { validation } : {}), runDir: o.runDir, resume: o.resume ?? false,
      modelConfig, normStats: JSON.parse(JSON.stringify(stats)), ...(o.untilStep ? { untilStep: o.untilStep } : {}),
      ...(o.signal ? { signal: o.signal } : {}), ...(o.deadline !== undefined ? { deadline: o.deadline } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.onLog ? { onLog: o.onLog } : {}), ...(o.group ? { group: o.group } : {}),
      // previews: the same seed every time, so successive GIFs show the same noise denoised by a better model
      preview: ({ step, schedule, samples, steps }) => {
        const m: GenerationModel = { model, schedule, stats, runData, statics: staticsTensor() };
        const r = { ...sampleModel(m, { n: samples, steps, seed: 0, precision, device }), step };
        mkdirSync(join(o.runDir, 'previews'), { recursive: true });
        writeFileSync(join(o.runDir, 'previews', `step-${String(step).padStart(6, '0')}.gif`), samplesGIF(r, undefined, `samples at step ${step}`));
      },
    });
    return { ...result, data: runData };
  } finally {
    await lock?.release();
  }
}

/** The time axis as a run records it: units, calendar, the step between a clip's frames, the training clips' start times. */
function timeInfo(source: ClipSource, trainStarts: Int32Array): RunData['time'] {
  const t = source.time;
  if (!t || t.values.length < 2) return null;
  const units = t.units ?? (typeof t.attrs['units'] === 'string' ? t.attrs['units'] : undefined);
  if (!units) return null;
  try { decodeTimeParts({ ...t, values: t.values.subarray(0, 1) }); } catch { return null; }
  return { units, calendar: coordinateCalendar(t), frameStep: Math.abs(t.values[1]! - t.values[0]!), trainStarts: Array.from(trainStarts, (i) => t.values[i]!) };
}

export interface SampleRunOptions {
  /** A run folder, an exported model folder or `builtin:NAME`. */
  runDir: string;
  n?: number;
  frames?: number;
  steps?: number;
  sampler?: SamplerName;
  /** The sampler's grid and churn settings. */
  sampling?: SamplerSettings;
  seed?: number;
  /**
   * First-frame dates of the samples ('YYYY-MM-DD[ hh:mm]' in the run's calendar), sample i getting dates[i % length];
   * default: drawn (with the seed) from the training clips' start times. Only for models conditioned on the date.
   */
  dates?: string[];
  /** 'auto' (default: bf16-mixed where the hardware computes bf16 natively, else fp32), 'fp32', 'bf16-mixed', 'fp16-mixed'. */
  precision?: Precision | 'auto';
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** A representation model's latent w: one row [d] for every sample, or [n, d] (default: drawn from the prior). */
  latent?: Float32Array;
  onStep?: (step: number, steps: number) => void;
}

export interface SampleRunResult extends GenerateResult {
  runData: RunData;
  stats: NormStats;
  /** The training step of the weights that sampled. */
  step: number;
}

/** Loads a model (run folder: latest checkpoint's EMA weights; exported; builtin:NAME) and samples in physical units. */
export function sampleRun(o: SampleRunOptions): SampleRunResult {
  const m = loadSamplingModel(o.runDir);
  if ((o.device ?? 'cpu') !== 'cpu') m.model.to(o.device!);
  return { ...sampleModel(m, o), step: m.step };
}

/** Unconditional samples of a loaded model for the given (or drawn) dates. */
function sampleModel(m: GenerationModel, o: Omit<SampleRunOptions, 'runDir'>): Omit<SampleRunResult, 'step'> {
  const n = o.n ?? 4;
  const frames = o.frames ?? m.runData.frames;
  if (o.dates && o.dates.length > 0 && m.runData.dateFeatures === 'none' && !needsMonths(m.stats)) {
    throw new DataError('bad-option', 'this model is not conditioned on the date (trained without date features): --dates has no effect');
  }
  const times = sampleFrameTimes(m.runData, n, frames, o.seed ?? 0, o.dates);
  const d = m.model.latentDim;
  const latent = o.latent && d > 0 && o.latent.length === d ? Float32Array.from({ length: n * d }, (_, k) => o.latent![k % d]!) : o.latent;
  const r = generate(m, {
    ...(latent ? { latent } : {}),
    n, frames, times, steps: o.steps ?? DEFAULT_SAMPLING.steps, sampler: o.sampler ?? DEFAULT_SAMPLING.sampler, ...(o.sampling ? { sampling: o.sampling } : {}), seed: o.seed ?? 0,
    ...(o.precision ? { precision: o.precision } : {}), ...(o.device ? { device: o.device } : {}), ...(o.onStep ? { onStep: o.onStep } : {}),
  });
  return { ...r, runData: m.runData, stats: m.stats };
}

/** 'YYYY-MM-DD hh:mm' of a time value of the run's axis. */
export function formatRunTime(runData: RunData, value: number): string {
  const t = runData.time;
  if (!t) return String(value);
  return formatTimeParts(decodeTimeParts({ units: t.units, calendar: t.calendar, attrs: {}, values: Float64Array.of(value) })[0]!);
}

/** A summary of a run folder: data, model, steps, losses, parameter count. */
export function runInfo(runDir: string): Record<string, unknown> {
  const runData = readRunData(runDir);
  const ck = loadCheckpoint(runDir);
  const modelConfig = unet3dConfig(ck.modelConfig as UNet3DConfigInput);
  const model = new UNet3D(modelConfig);
  const metrics = existsSync(join(runDir, 'metrics.jsonl')) ? readMetrics(join(runDir, 'metrics.jsonl')) : [];
  const losses = metrics.filter((m) => typeof m.loss === 'number');
  const vals = metrics.filter((m) => typeof m.val_loss === 'number');
  return {
    run: runDir, checkpoint: ck.dir, step: ck.step, samplesSeen: ck.samplesSeen,
    data: { source: runData.source, variables: runData.variables, units: runData.units, frames: runData.frames, grid: `${runData.height}x${runData.width}` },
    model: { parameters: model.parameterCount(), config: modelConfig },
    training: ck.trainConfig,
    lastLoss: losses.length ? losses[losses.length - 1]!.loss : null,
    lastValidation: vals.length ? { step: vals[vals.length - 1]!.step, loss: vals[vals.length - 1]!.val_loss, bpd: vals[vals.length - 1]!.bpd ?? null } : null,
  };
}

export type { Tensor };
