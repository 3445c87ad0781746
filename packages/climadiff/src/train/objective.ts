// The training objective: the diffusion schedule of a config, the model as a diffusion-core denoiser, and
// the per-example loss of the configured kind.
import type * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { alphaCosineSchedule, vLoss, weightedLoss, randOn, randnOn, onDevice, scheduleProposal, type Denoiser, type Schedule, type Weighting } from '../diffusion/index.js';
import type { DiffusionConfig, TrainConfig } from './config.js';
import type { TrainableModel } from './types.js';
import { asDenoiser, networkParameterisation, packContext, resolveContext, type DenoisingNetwork } from '../models/denoiser.js';
import { gaussianKl, sampleLatent } from '../models/encoder.js';
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
  generator: torch.Generator, model?: TrainableModel, part?: { offset: number; total: number }): Tensor {
  let data = x, penalty: Tensor | null = null;
  if (model?.encode) {
    const e = model.encode(x, observed);
    data = e.x;
    penalty = e.logDerivative.mul(transformWeight(cfg, x.shape[1]!));
  }
  if (model?.latentDim && model.posterior) {
    const r = representationTerm(cfg, model, data, observed, context, generator, part);
    context = r.context;
    penalty = penalty ? penalty.sub(r.kl) : r.kl.neg();
  }
  const noise = part ? partNoise(cfg, schedule, data, part, generator) : {};
  let loss: Tensor;
  if (cfg.loss === 'v') loss = vLoss(den, data, schedule, { generator, mask: observed, context, ...noise }).loss;
  else {
    const weighting = cfg.loss.slice('weighted:'.length) as Weighting;
    loss = weightedLoss(den, data, schedule, { weighting, generator, mask: observed, context, ...noise }).loss;
  }
  return penalty ? loss.sub(penalty) : loss;
}

/**
 * A representation model's part of the joint objective of 002_b831863fd030c65c.txt sec. 4,
 * E_{w ~ q(w|x)} L_VDM(x, w) + beta KL(q(w|x) || N(0, I)): w drawn by reparameterisation (the draw comes first from the
 * loss generator, for the whole global batch when data-parallel) and handed to the denoiser in the context; the KL is
 * returned per element of the example (divided by its observed element count D), the scale of the diffusion term,
 * which is a mean over elements. With loss 'weighted:elbo' and beta = 1 the sum is therefore the bound of sec. 4 in
 * nats per element, less the constant reconstruction term L_0 (and with the prior term L_1 included).
 */
export function representationTerm(cfg: TrainConfig, model: TrainableModel, data: Tensor, observed: Tensor | undefined, context: unknown,
  generator: torch.Generator, part?: { offset: number; total: number }): { context: unknown; kl: Tensor } {
  const c = resolveContext(context);
  const q = model.posterior!(data, c.cond);
  const B = data.shape[0]!, d = model.latentDim!;
  const o = { dtype: q.mean.dtype, device: q.mean.device, generator };
  const eps = part ? randnOn([part.total, d], o).slice(0, part.offset, part.offset + B) : randnOn([B, d], o);
  const w = sampleLatent(q, { eps });
  const kl = gaussianKl(q).mul(cfg.klWeight);
  return { context: packContext({ ...c, latent: w }), kl: observed ? kl.div(observed.reshape([B, -1]).sum([1]).to(kl.dtype).clampMin(1)) : kl.div(data.numel() / B) };
}

/**
 * The loss noise of rows [offset, offset + B) of a batch of `total` examples: the draws the loss makes for the whole
 * batch in one process (t ~ U(0, 1), or the weighted loss's logSNR proposal, then eps), of which these rows are kept.
 * Every example's noise then depends on its place in the global batch only, not on how the batch is split over ranks.
 */
function partNoise(cfg: TrainConfig, schedule: Schedule, x: Tensor, part: { offset: number; total: number }, generator: torch.Generator): { t?: Tensor; logsnr?: Tensor; eps: Tensor } {
  const B = x.shape[0]!;
  if (part.offset < 0 || part.offset + B > part.total) throw new Error(`rows [${part.offset}, ${part.offset + B}) are not part of a batch of ${part.total}`);
  const o = { dtype: x.dtype, device: x.device, generator };
  const rows = (t: Tensor): Tensor => t.slice(0, part.offset, part.offset + B);
  const first = cfg.loss === 'v' ? randOn([part.total], o) : onDevice(scheduleProposal(schedule).sample(part.total, o), x.device);
  const eps = rows(randnOn([part.total, ...x.shape.slice(1)], o));
  return cfg.loss === 'v' ? { t: rows(first), eps } : { logsnr: rows(first), eps };
}

/** lambda of the transform's log-derivative term: config.transformWeight, or 1 / channels. */
export function transformWeight(cfg: TrainConfig, channels: number): number {
  return cfg.transformWeight ?? 1 / channels;
}
