// The training objective: the diffusion schedule of a config, the model as a diffusion-core denoiser, and
// the per-example loss of the configured kind.
import type * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { alphaCosineSchedule, denoiser, vLoss, weightedLoss, type Denoiser, type Schedule, type Weighting } from '../diffusion/index.js';
import type { DiffusionConfig, TrainConfig } from './config.js';
import type { TrainableModel } from './types.js';

/** The diffusion schedule of a config. */
export function makeSchedule(d: DiffusionConfig): Schedule {
  return alphaCosineSchedule({ logsnrMin: d.logsnrMin, logsnrMax: d.logsnrMax, shift: d.shift });
}

/** A diffusion-core denoiser calling model.forward(z, logsnr, cond). */
export function modelDenoiser(model: TrainableModel, parameterisation: DiffusionConfig['parameterisation']): Denoiser {
  return denoiser(parameterisation, (z, logsnr, context) => model.forward(z, logsnr, context as Tensor | undefined));
}

/** Per-example loss [B] of the configured kind. `observed` is true where data exist. */
export function lossPerExample(cfg: TrainConfig, den: Denoiser, x: Tensor, schedule: Schedule, observed: Tensor | undefined, cond: Tensor | undefined, generator: torch.Generator): Tensor {
  if (cfg.loss === 'v') return vLoss(den, x, schedule, { generator, mask: observed, context: cond }).loss;
  const weighting = cfg.loss.slice('weighted:'.length) as Weighting;
  return weightedLoss(den, x, schedule, { weighting, generator, mask: observed, context: cond }).loss;
}
