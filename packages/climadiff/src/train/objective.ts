// The training objective: the diffusion schedule of a config, the model as a diffusion-core denoiser, and
// the per-example loss of the configured kind.
import type * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { alphaCosineSchedule, vLoss, weightedLoss, type Denoiser, type Schedule, type Weighting } from '../diffusion/index.js';
import type { DiffusionConfig, TrainConfig } from './config.js';
import type { TrainableModel } from './types.js';
import { asDenoiser, networkParameterisation, type DenoisingNetwork } from '../models/denoiser.js';
import { ConfigError } from './config.js';

/** The diffusion schedule of a config. */
export function makeSchedule(d: DiffusionConfig): Schedule {
  return alphaCosineSchedule({ logsnrMin: d.logsnrMin, logsnrMax: d.logsnrMax, shift: d.shift });
}

/**
 * The network as a denoiser (models/denoiser.ts asDenoiser), after checking that a config which still names a
 * parameterisation (older runs) agrees with what the network declares: the network is the one source of truth.
 */
export function trainingDenoiser(model: TrainableModel, d: DiffusionConfig, where = 'the training config'): Denoiser {
  checkParameterisation(model, d, where);
  return asDenoiser(model);
}

/** Throws when a diffusion config names a parameterisation other than the network's. */
export function checkParameterisation(model: DenoisingNetwork, d: DiffusionConfig, where: string): void {
  const p = networkParameterisation(model);
  if (d.parameterisation !== undefined && d.parameterisation !== p) {
    throw new ConfigError(`${where} says the network predicts '${d.parameterisation}' but the network declares '${p}' (the model config's parameterisation is the one that counts; drop diffusion.parameterisation)`);
  }
}

/**
 * Per-example loss [B] of the configured kind. `observed` is true where data exist; `context` is passed to the
 * denoiser (the cond tensor, or { cond, date }). With a model that learns an input transform (model.encode), the
 * diffusion runs on the transformed data and the loss is  loss(y) - lambda * logDerivative  (ANCHORS.md: the seed's
 * mean (v_hat - v)^2 - mean(1[x > 0.01] log dy/dx)); lambda = config.transformWeight, by default 1 / C: the v-loss
 * is a mean over the C channels' elements, the log-derivative a mean over one channel's, so 1 / C puts both on the
 * per-element scale of the whole clip (the change of variables of a per-element negative log-likelihood).
 */
export function lossPerExample(cfg: TrainConfig, den: Denoiser, x: Tensor, schedule: Schedule, observed: Tensor | undefined, context: unknown,
  generator: torch.Generator, model?: TrainableModel): Tensor {
  let data = x, penalty: Tensor | null = null;
  if (model?.encode) {
    const e = model.encode(x, observed);
    data = e.x;
    penalty = e.logDerivative.mul(transformWeight(cfg, x.shape[1]!));
  }
  let loss: Tensor;
  if (cfg.loss === 'v') loss = vLoss(den, data, schedule, { generator, mask: observed, context }).loss;
  else {
    const weighting = cfg.loss.slice('weighted:'.length) as Weighting;
    loss = weightedLoss(den, data, schedule, { weighting, generator, mask: observed, context }).loss;
  }
  return penalty ? loss.sub(penalty) : loss;
}

/** lambda of the transform's log-derivative term: config.transformWeight, or 1 / channels. */
export function transformWeight(cfg: TrainConfig, channels: number): number {
  return cfg.transformWeight ?? 1 / channels;
}
