// For sampling and evaluation: a trained model from a run folder, with its EMA weights (the sampling weights).
import type { Schedule, Denoiser } from '../diffusion/index.js';
import { DiffusionConfigSchema } from './config.js';
import { loadCheckpoint, CheckpointError, type LoadedCheckpoint } from './checkpoint.js';
import { makeSchedule, trainingDenoiser, type TrainableModel } from './trainer.js';

export interface TrainedModel<M extends TrainableModel> {
  /** The model with the EMA weights (or the raw weights with { ema: false }), in eval mode. */
  model: M;
  denoiser: Denoiser;
  schedule: Schedule;
  checkpoint: LoadedCheckpoint;
}

/**
 * Loads runDir's latest checkpoint into a model built by `build(modelConfig)` (the model config stored at
 * training time), with the EMA weights by default.
 */
export function loadTrainedModel<M extends TrainableModel>(runDir: string, build: (modelConfig: unknown) => M, options: { ema?: boolean } = {}): TrainedModel<M> {
  const checkpoint = loadCheckpoint(runDir);
  const model = build(checkpoint.modelConfig);
  try { model.loadStateDict(options.ema === false ? checkpoint.model : checkpoint.ema); } catch (e) {
    throw new CheckpointError(`checkpoint ${checkpoint.dir} does not match the model built from its config: ${(e as Error).message}`);
  }
  model.eval();
  const diffusion = DiffusionConfigSchema.parse(checkpoint.diffusionConfig ?? checkpoint.trainConfig.diffusion);
  return { model, denoiser: trainingDenoiser(model, diffusion, `checkpoint ${checkpoint.dir}`), schedule: makeSchedule(diffusion), checkpoint };
}
