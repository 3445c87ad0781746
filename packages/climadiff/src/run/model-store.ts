// Where sampling finds a trained model: a run folder (its latest checkpoint's EMA weights, run-data.json,
// statics.safetensors) or an exported model folder (model.json + ema.safetensors [+ statics.safetensors]), such as
// the reference models committed under packages/climadiff/models/NAME, named `builtin:NAME`.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { RunDataSchema, type RunData, type GenerationModel } from '../tasks/model.js';
import { parseNormStats } from '../data/normalise.js';
import { UNet3D, unet3dConfig, type UNet3DConfigInput } from '../models/index.js';
import { loadCheckpoint, CheckpointError } from '../train/checkpoint.js';
import { DiffusionConfigSchema } from '../train/config.js';
import { makeSchedule, checkParameterisation } from '../train/objective.js';


export { RunDataSchema, type RunData };

export const STATICS_FILE = 'statics.safetensors';
export const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'ema.safetensors';

const ExportedModelSchema = z.object({
  format: z.literal('climadiff-model'),
  version: z.literal(1),
  name: z.string(),
  modelConfig: z.unknown(),
  diffusionConfig: z.unknown(),
  normStats: z.unknown(),
  runData: RunDataSchema,
  training: z.object({ step: z.number().int(), samplesSeen: z.number().int(), elapsedMs: z.number(), trainConfig: z.unknown() }),
});
export type ExportedModel = z.infer<typeof ExportedModelSchema>;

export function readRunData(runDir: string): RunData {
  const p = join(runDir, 'run-data.json');
  if (!existsSync(p)) throw new CheckpointError(`${runDir}: not a training run (no run-data.json); train one with 'climadiff train'`);
  return RunDataSchema.parse(JSON.parse(readFileSync(p, 'utf8')));
}

/** The folder of the committed reference models (packages/climadiff/models). */
export function builtinModelsDir(): string {
  // dist/src/run -> package root
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models');
}

/** Names of the built-in models. */
export function builtinModels(): string[] {
  const dir = builtinModelsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => existsSync(join(dir, n, MODEL_FILE))).sort();
}

/** A model reference as a folder: `builtin:NAME` or a path (a run folder or an exported model). */
export function resolveModelPath(spec: string): string {
  if (!spec.startsWith('builtin:')) return spec;
  const name = spec.slice('builtin:'.length);
  const dir = join(builtinModelsDir(), name);
  if (!/^[\w-]+$/.test(name) || !existsSync(join(dir, MODEL_FILE))) {
    const have = builtinModels();
    throw new CheckpointError(`no built-in model '${name}' (built-in: ${have.length ? have.join(', ') : 'none'})`);
  }
  return dir;
}

/** A model loaded from a folder: what generation needs, and where it came from. */
export interface SamplingModel extends GenerationModel {
  step: number;
  /** The folder it came from. */
  dir: string;
}

function readStatics(dir: string, runData: RunData): Tensor | null {
  if (runData.statics.length === 0) return null;
  const path = join(dir, STATICS_FILE);
  if (!existsSync(path)) throw new CheckpointError(`${dir}: the model is conditioned on ${runData.statics.join(', ')} but ${STATICS_FILE} is missing`);
  const t = torch.load(path).statics;
  const want = [runData.statics.length, runData.height, runData.width];
  if (!t || t.shape.join(',') !== want.join(',')) throw new CheckpointError(`${path}: expected a tensor 'statics' of shape [${want.join(', ')}]`);
  return t.keep();
}

function buildModel(config: unknown, weights: Record<string, Tensor>, where: string): UNet3D {
  const model = new UNet3D(unet3dConfig(config as UNet3DConfigInput));
  try { model.loadStateDict(weights); } catch (e) {
    throw new CheckpointError(`${where} does not match the model built from its config: ${(e as Error).message}`);
  }
  return model.eval();
}

/** Loads `builtin:NAME`, an exported model folder, a run folder (its latest checkpoint, EMA weights) or RUN/best. */
export function loadSamplingModel(spec: string): SamplingModel {
  let dir = resolveModelPath(spec);
  // RUN/best or RUN/latest: that checkpoint of the run (the pointer files a run folder keeps)
  let which: 'latest' | 'best' = 'latest';
  const base = basename(dir);
  if ((base === 'best' || base === 'latest') && existsSync(join(dirname(dir), 'run-data.json')) && !(existsSync(dir) && statSync(dir).isDirectory())) {
    which = base; dir = dirname(dir);
  }
  if (existsSync(join(dir, MODEL_FILE))) {
    let m: ExportedModel;
    try { m = ExportedModelSchema.parse(JSON.parse(readFileSync(join(dir, MODEL_FILE), 'utf8'))); } catch (e) {
      throw new CheckpointError(`${join(dir, MODEL_FILE)} is not a valid exported model: ${(e as Error).message}`);
    }
    const weights = join(dir, WEIGHTS_FILE);
    if (!existsSync(weights)) throw new CheckpointError(`${dir}: ${WEIGHTS_FILE} is missing`);
    const model = buildModel(m.modelConfig, torch.load(weights), weights);
    const diffusion = DiffusionConfigSchema.parse(m.diffusionConfig);
    checkParameterisation(model, diffusion, join(dir, MODEL_FILE));
    return {
      model, schedule: makeSchedule(diffusion),
      stats: parseNormStats(m.normStats), runData: m.runData, statics: readStatics(dir, m.runData), step: m.training.step, dir,
    };
  }
  const runData = readRunData(dir);
  const ck = loadCheckpoint(dir, which);
  const model = buildModel(ck.modelConfig, ck.ema, `checkpoint ${ck.dir}`);
  const diffusion = DiffusionConfigSchema.parse(ck.diffusionConfig ?? ck.trainConfig.diffusion);
  checkParameterisation(model, diffusion, `checkpoint ${ck.dir}`);
  return {
    model, schedule: makeSchedule(diffusion),
    stats: parseNormStats(ck.normStats), runData, statics: readStatics(dir, runData), step: ck.step, dir,
  };
}

/**
 * Writes a run's latest checkpoint as an exported model: model.json (configs, statistics, data description, training
 * summary), ema.safetensors (float32 EMA weights, PyTorch names) and statics.safetensors. Written into a temporary
 * folder and renamed, so `outDir` is either the old or the complete new model.
 */
export function exportModel(runDir: string, outDir: string, name: string): string[] {
  const runData = readRunData(runDir);
  const ck = loadCheckpoint(runDir);
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const json: ExportedModel = {
    format: 'climadiff-model', version: 1, name, modelConfig: ck.modelConfig, diffusionConfig: ck.diffusionConfig ?? ck.trainConfig.diffusion,
    normStats: ck.normStats, runData,
    training: { step: ck.step, samplesSeen: ck.samplesSeen, elapsedMs: ck.elapsedMs, trainConfig: ck.trainConfig },
  };
  writeFileSync(join(tmp, MODEL_FILE), `${JSON.stringify(json, null, 1)}\n`);
  torch.scope(() => torch.save(Object.fromEntries(Object.entries(ck.ema).map(([k, v]) => [k, v.to('float32').contiguous()])), join(tmp, WEIGHTS_FILE)));
  if (runData.statics.length > 0) copyFileSync(join(runDir, STATICS_FILE), join(tmp, STATICS_FILE));
  const files = readdirSync(tmp).map((f) => join(outDir, f));
  // keep what else the folder holds (the model card, pictures): replace only the model's own files
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(outDir, f));
  rmSync(tmp, { recursive: true, force: true });
  return files;
}
