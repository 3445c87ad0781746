// The main job as library functions (the CLI and `npm run demo` are thin wrappers): train a space-time U-Net on
// clips of a NetCDF/Zarr file, sample new sequences from a run's checkpoint in physical units, describe a run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { z } from 'zod';
import { openClipSource } from '../data/file-source.js';
import { splitDatasets } from '../data/dataset.js';
import { fileStaticFields, isLongitude } from '../data/statics.js';
import { denormalise, parseNormStats, type NormStats } from '../data/normalise.js';
import { DataError, type ClimateDataset, type Coordinate } from '../data/types.js';
import { writeNetCDF } from '../data/writers/netcdf.js';
import { writeZarr } from '../data/writers/zarr.js';
import { UNet3D, unet3dConfig, asDenoiser, resolvePrecision, withPrecision, type Precision, type UNet3DConfig, type UNet3DConfigInput } from '../models/index.js';
import { train, loadTrainedModel, type TrainConfigInput, type TrainProgress, type TrainResult } from '../train/index.js';
import { loadCheckpoint, CheckpointError } from '../train/checkpoint.js';
import { readMetrics } from '../train/metrics.js';
import * as samplers from '../diffusion/samplers/index.js';
import type { Schedule } from '../diffusion/schedule.js';
import { encodeGIF, renderFrames } from '../viz/render.js';

/** What a run folder remembers about its data, so samples come back on the same grid and in the same units. */
const RunDataSchema = z.object({
  source: z.string(),
  variables: z.array(z.string()).min(1),
  units: z.array(z.string().nullable()),
  frames: z.number().int().positive(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  lat: z.array(z.number()).nullable(),
  lon: z.array(z.number()).nullable(),
  test: z.array(z.number().int()),
  /** Static conditioning channels (statics.safetensors in the run folder), [] for none. */
  statics: z.array(z.string()).default([]),
});
export type RunData = z.infer<typeof RunDataSchema>;

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
  onProgress?: (p: TrainProgress) => void;
  onLog?: (m: string) => void;
}

/** A global longitude axis (spacing times count covers 360 degrees) wraps: periodic padding in the U-Net. */
function isGlobalLon(lon: Coordinate | undefined): boolean {
  if (!lon || lon.values.length < 2 || !isLongitude(lon)) return false;
  const v = lon.values;
  const step = Math.abs(v[1]! - v[0]!);
  return Math.abs(step * v.length - 360) < step * 0.51;
}

export async function trainRun(o: TrainRunOptions): Promise<TrainResult & { data: RunData }> {
  const frames = o.frames ?? 8;
  const source = await openClipSource(o.data, o.variables);
  const runDataPath = join(o.runDir, 'run-data.json');
  if (o.resume && !existsSync(runDataPath)) throw new CheckpointError(`${o.runDir}: nothing to resume (no run-data.json)`);
  const useStatics = o.resume ? readRunData(o.runDir).statics.length > 0 : o.statics ?? false;
  const statics = useStatics ? await fileStaticFields(o.data, source) : null;
  if (statics && statics.names.length === 0) throw new DataError('bad-option', `${o.data}: no static fields found (no land fraction, latitude or orography)`);
  const { stats, train: trainSet, validation, test } = await splitDatasets(source, { frames, normalisation: 'per-variable', ...(statics ? { statics } : {}) });
  const runData: RunData = {
    source: o.data, variables: o.variables, units: source.channels.map((c) => c.units ?? null), frames,
    height: source.height, width: source.width,
    lat: source.lat ? Array.from(source.lat.values) : null, lon: source.lon ? Array.from(source.lon.values) : null,
    test: Array.from(test.starts), statics: statics?.names ?? [],
  };
  let modelConfig: UNet3DConfig;
  if (o.resume) {
    const ck = loadCheckpoint(o.runDir);
    modelConfig = unet3dConfig(ck.modelConfig as UNet3DConfigInput);
  } else {
    modelConfig = unet3dConfig({
      channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1, dropout: 0,
      ...o.model, inChannels: o.variables.length, condChannels: statics?.names.length ?? 0,
      boundary: { lon: isGlobalLon(source.lon) ? 'periodic' : 'zeros', lat: 'zeros', ...(o.model?.boundary ?? {}) },
    });
  }
  if (modelConfig.inChannels !== o.variables.length) {
    throw new DataError('shape-mismatch', `the run's model takes ${modelConfig.inChannels} channel(s) but ${o.variables.length} variable(s) were given`);
  }
  if (modelConfig.condChannels !== (statics?.names.length ?? 0)) {
    throw new DataError('shape-mismatch', `the run's model takes ${modelConfig.condChannels} static channel(s) but ${o.data} gives ${statics?.names.length ?? 0} (${statics?.names.join(', ') ?? 'none'})`);
  }
  const levels = modelConfig.channelMults.length - 1;
  if (source.height % 2 ** levels !== 0 || source.width % 2 ** levels !== 0) {
    throw new DataError('shape-mismatch', `the grid ${source.height}x${source.width} must be divisible by ${2 ** levels} for a U-Net with ${levels + 1} levels`);
  }
  mkdirSync(o.runDir, { recursive: true });
  writeFileSync(runDataPath, JSON.stringify(runData));
  const staticsTensor = () => (statics ? torch.tensor(statics.data, [statics.names.length, statics.height, statics.width]) : null);
  if (statics) torch.scope(() => torch.save({ statics: staticsTensor()! }, join(o.runDir, STATICS_FILE)));
  torch.manualSeed((o.config?.seed as number | undefined) ?? 0);
  const device = o.device ?? 'cpu';
  const model = new UNet3D(modelConfig);
  if (device !== 'cpu') model.to(device);
  const config = o.config ?? { minutes: 10 };
  // the trainer resolves the same way; previews sample in the run's precision
  const precision = resolvePrecision((config as { precision?: string }).precision, device);
  const result = await train({
    model, config, device, data: trainSet, validation, runDir: o.runDir, resume: o.resume ?? false,
    modelConfig, normStats: JSON.parse(JSON.stringify(stats)),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.onLog ? { onLog: o.onLog } : {}),
    // previews: the same seed every time, so successive GIFs show the same noise denoised by a better model
    preview: ({ step, schedule, samples, steps }) => {
      const r = torch.scope(() => generate(model, schedule, stats, runData, staticsTensor(), { n: samples, steps, seed: 0, precision, device }));
      mkdirSync(join(o.runDir, 'previews'), { recursive: true });
      writeFileSync(join(o.runDir, 'previews', `step-${String(step).padStart(6, '0')}.gif`), samplesGIF(r, undefined, `samples at step ${step}`));
    },
  });
  return { ...result, data: runData };
}

export type SamplerName = 'ancestral' | 'ddim' | 'sde' | 'ode' | 'pc';
export const SAMPLERS: readonly SamplerName[] = ['ancestral', 'ddim', 'sde', 'ode', 'pc'];

export interface SampleRunOptions {
  runDir: string;
  n?: number;
  frames?: number;
  steps?: number;
  sampler?: SamplerName;
  seed?: number;
  /** 'auto' (default: bf16-mixed where the hardware computes bf16 natively, else fp32), 'fp32', 'bf16-mixed', 'fp16-mixed'. */
  precision?: Precision | 'auto';
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  onStep?: (step: number, steps: number) => void;
}

export interface SampleRunResult {
  /** Samples in physical units, [n, C, F, H, W]. */
  data: Float32Array;
  shape: [number, number, number, number, number];
  runData: RunData;
  stats: NormStats;
}

const STATICS_FILE = 'statics.safetensors';

/** The run's static conditioning fields [S, H, W] (null when the model has none). */
function readStatics(runDir: string, runData: RunData): Tensor | null {
  if (runData.statics.length === 0) return null;
  const path = join(runDir, STATICS_FILE);
  if (!existsSync(path)) throw new CheckpointError(`${runDir}: the model is conditioned on ${runData.statics.join(', ')} but ${STATICS_FILE} is missing`);
  const t = torch.load(path).statics;
  const want = [runData.statics.length, runData.height, runData.width];
  if (!t || t.shape.join(',') !== want.join(',')) throw new CheckpointError(`${path}: expected a tensor 'statics' of shape [${want.join(', ')}]`);
  return t;
}

export function readRunData(runDir: string): RunData {
  const p = join(runDir, 'run-data.json');
  if (!existsSync(p)) throw new CheckpointError(`${runDir}: not a training run (no run-data.json); train one with 'climadiff train'`);
  return RunDataSchema.parse(JSON.parse(readFileSync(p, 'utf8')));
}

/** Loads the run's latest checkpoint (EMA weights) and samples new sequences in physical units. */
export function sampleRun(o: SampleRunOptions): SampleRunResult {
  const runData = readRunData(o.runDir);
  const { model, schedule, checkpoint } = loadTrainedModel(o.runDir, (c) => new UNet3D(unet3dConfig(c as UNet3DConfigInput)));
  if ((o.device ?? 'cpu') !== 'cpu') model.to(o.device!);
  return torch.scope(() => generate(model, schedule, parseNormStats(checkpoint.normStats), runData, readStatics(o.runDir, runData), o));
}

/** Samples o.n sequences of o.frames frames from the model as it is (weights, train/eval mode), in physical units. */
function generate(model: UNet3D, schedule: Schedule, stats: NormStats, runData: RunData, statics: Tensor | null, o: Omit<SampleRunOptions, 'runDir'>): SampleRunResult {
  const n = o.n ?? 4;
  const frames = o.frames ?? runData.frames;
  const steps = o.steps ?? 256;
  const sampler = o.sampler ?? 'ancestral';
  if (!SAMPLERS.includes(sampler)) throw new DataError('bad-option', `unknown sampler '${sampler}' (valid: ${SAMPLERS.join(', ')})`);
  const device = o.device ?? 'cpu';
  const precision = resolvePrecision(o.precision, device);
  // a CPU generator on every device: the same seed gives the same noise, and so the same samples up to rounding
  const generator = new torch.Generator({ seed: o.seed ?? 0 });
  const shape: [number, number, number, number, number] = [n, model.config.inChannels, frames, runData.height, runData.width];
  const options = { steps, generator, device, ...(o.onStep ? { onStep: (i: { step: number; steps: number }) => o.onStep!(i.step, i.steps) } : {}) };
  const cond = statics ? statics.to(device).unsqueeze(0).expand([n, ...statics.shape]) : undefined;
  const den = withPrecision(asDenoiser(model, cond ? { cond } : {}), precision, device);
  const normalised = torch.scope(() => torch.noGrad(() => {
    switch (sampler) {
      case 'ancestral': return samplers.ancestralSample(den, schedule, shape, options).x;
      case 'ddim': return samplers.ddimSample(den, schedule, shape, options).x;
      case 'sde': return samplers.reverseSdeSample(den, schedule, shape, options).x;
      case 'ode': return samplers.probabilityFlowSample(den, schedule, shape, options).x;
      case 'pc': return samplers.predictorCorrectorSample(den, schedule, shape, options).x;
    }
  }).toFloat32Array());
  const C = shape[1], F = shape[2], H = shape[3], W = shape[4];
  const out = new Float32Array(normalised.length);
  for (let i = 0; i < n; i++) {
    const block = normalised.subarray(i * C * F * H * W, (i + 1) * C * F * H * W);
    out.set(denormalise(stats, block, null, { channels: C, frames: F, height: H, width: W }), i * C * F * H * W);
  }
  return { data: out, shape, runData, stats };
}

/** Samples as a CF dataset: variables (sample, time, lat, lon) with the training data's coordinates and units. */
export function samplesDataset(r: SampleRunResult, history: string): ClimateDataset {
  const [n, C, F, H, W] = r.shape;
  const coords = new Map<string, Coordinate>();
  coords.set('sample', { name: 'sample', values: Float64Array.from({ length: n }, (_, i) => i), attrs: { long_name: 'sample index' } });
  coords.set('time', { name: 'time', values: Float64Array.from({ length: F }, (_, i) => i), axis: 'T', units: 'frames since 0001-01-01 00:00:00',
    attrs: { long_name: 'frame index within the generated sequence' } });
  coords.set('lat', { name: 'lat', values: Float64Array.from(r.runData.lat ?? Array.from({ length: H }, (_, i) => i)), axis: 'Y',
    ...(r.runData.lat ? { units: 'degrees_north' } : {}), attrs: {} });
  coords.set('lon', { name: 'lon', values: Float64Array.from(r.runData.lon ?? Array.from({ length: W }, (_, i) => i)), axis: 'X',
    ...(r.runData.lon ? { units: 'degrees_east' } : {}), attrs: {} });
  const variables = new Map<string, ClimateDataset['variables'] extends Map<string, infer V> ? V : never>();
  r.runData.variables.forEach((name, c) => {
    const data = new Float32Array(n * F * H * W);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) {
        const src = ((i * C + c) * F + f) * H * W;
        data.set(r.data.subarray(src, src + H * W), (i * F + f) * H * W);
      }
    }
    const units = r.runData.units[c];
    variables.set(name, { name, dims: ['sample', 'time', 'lat', 'lon'], shape: [n, F, H, W], data, mask: null,
      ...(units ? { units } : {}), attrs: { long_name: `${name} generated by climadiff` } });
  });
  return { variables, coords, attrs: { title: 'climadiff samples', source: r.runData.source, history } };
}

/** Writes samples to .nc, .zarr or .gif (by extension). */
export async function writeSamples(r: SampleRunResult, out: string, history: string, options: { overwrite?: boolean } = {}): Promise<void> {
  const overwrite = options.overwrite ?? false;
  if (out.endsWith('.gif')) {
    if (!overwrite && existsSync(out)) throw new DataError('output-exists', `refusing to overwrite existing '${out}' (choose another name)`);
    writeFileSync(out, samplesGIF(r));
    return;
  }
  const ds = samplesDataset(r, history);
  // awaited: a write error (an existing file, a full disk) is the command's error, not an unhandled rejection
  if (out.endsWith('.nc')) await writeNetCDF(ds, out, { history, overwrite });
  else if (out.endsWith('.zarr')) await writeZarr(ds, out, { history, overwrite });
  else throw new DataError('bad-option', `--out must end in .nc, .zarr or .gif, got '${out}'`);
}

/** An animated GIF of the first channel: every sample side by side (held-out clips above when given), one frame per time step; `caption` replaces the row labels in the title. */
export function samplesGIF(r: SampleRunResult, reference?: { data: Float32Array; clips: number }, caption?: string): Uint8Array {
  const [n, C, F, H, W] = r.shape;
  const rows: { data: Float32Array; count: number; label: string }[] = [];
  if (reference) rows.push({ data: reference.data, count: reference.clips, label: 'top: held-out data' });
  rows.push({ data: r.data, count: n, label: reference ? 'bottom: samples' : 'samples' });
  const cols = Math.max(...rows.map((row) => row.count));
  const gap = 1;
  const height = rows.length * H + (rows.length - 1) * gap, width = cols * W + (cols - 1) * gap;
  const framesOut: Float32Array[] = [];
  for (let f = 0; f < F; f++) {
    const img = new Float32Array(height * width).fill(Number.NaN);
    rows.forEach((row, ri) => {
      for (let k = 0; k < row.count; k++) {
        const base = ((k * C) * F + f) * H * W;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) img[(ri * (H + gap) + y) * width + k * (W + gap) + x] = row.data[base + y * W + x]!;
        }
      }
    });
    framesOut.push(img);
  }
  const units = r.runData.units[0];
  const anim = renderFrames({
    height, width, frames: framesOut, title: `${r.runData.variables[0]}  ${caption ?? rows.map((row) => row.label).join(', ')}`,
    labels: framesOut.map((_, f) => `frame ${f + 1}/${F}`), ...(units ? { units } : {}),
  }, { coastlines: false, scale: 2 });
  return encodeGIF(anim, { delayMs: 300 });
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
