// The seed's training loss (v-prediction MSE) and the weighted loss family of Kingma & Gao
// (001_5e42003193798b1e.txt eqs 2.71-2.72, 2.86-2.90, 2.94; A.43).
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import type { Schedule } from '../schedule.js';
import type { Denoiser } from '../parameterisation.js';
import {
  type MaskOptions, type Reduction, type LogsnrProposal, fillUnobserved, reducePerExample, squaredError,
  scheduleProposal, perExampleOption, checkEps,
} from './common.js';
import { priorLoss } from './vdm.js';
import { onDevice, randOn, randnOn } from '../tensor-utils.js';

export interface VLossOptions extends MaskOptions {
  generator?: Generator;
  /** Fixed t per example (number or [B]); default t ~ U(0, 1). */
  t?: Tensor | number;
  /** Fixed noise, shape of x; default drawn from `generator`. */
  eps?: Tensor;
  /** Default 'mean' (per-example mean over observed elements). */
  reduction?: Reduction;
  context?: unknown;
}

export interface VLossResult {
  /** Per-example loss [B]. */
  loss: Tensor;
  t: Tensor;
  logsnr: Tensor;
}

/**
 * The seed's training loss: ||v - v_hat(z_t, lambda_t)||^2 with t ~ U(0, 1), i.e. lambda ~ p(lambda), and
 * v = alpha eps - sigma x (eqs 2.71-2.72, A.43). A model of any parameterisation is scored on v.
 */
export function vLoss(model: Denoiser, x: Tensor, schedule: Schedule, options: VLossOptions = {}): VLossResult {
  const B = x.shape[0]!;
  const t = options.t === undefined ? randOn([B], { dtype: x.dtype, device: x.device, generator: options.generator }) : perExampleOption(options.t, x, 't');
  const logsnr = schedule.logsnr(t);
  const eps = options.eps === undefined ? randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }) : checkEps(options.eps, x);
  const xf = fillUnobserved(x, options.mask, options.fill);
  const { err } = squaredError(model, xf, eps, logsnr, 'v', options.context);
  return { loss: reducePerExample(err, options.mask, options.reduction ?? 'mean'), t, logsnr };
}

/**
 * A weighting function w(lambda) of the weighted loss (eq. 2.86), or the name of one:
 * - 'elbo': w = 1, the diffusion term of the ELBO (eqs 2.82, 2.85);
 * - 'eps-mse', 'x-mse', 'v-mse': the w for which L_w equals E_{t~U(0,1)} of the squared error of eps, x or v
 *   under `schedule`. With ||x - x_hat||^2 = exp(-lambda) ||eps - eps_hat||^2 and
 *   ||v - v_hat||^2 = (1 + exp(-lambda)) ||eps - eps_hat||^2 (eqs 2.70-2.73), E_t[c(lambda) ||eps - eps_hat||^2]
 *   = int p(lambda) c(lambda) ||eps - eps_hat||^2 dlambda = 1/2 int w ||eps - eps_hat||^2 dlambda for
 *   w = 2 p(lambda) c(lambda): w_eps = 2p, w_x = 2p exp(-lambda), w_v = 2p (1 + exp(-lambda)).
 *   For the alpha-cosine schedule (eq. 2.69) w_v = 2 exp(-lambda/2) / (pi (t1 - t0)); eq. 2.94 prints a
 *   quarter of this (see docs/diffusion.md).
 */
export type Weighting = 'elbo' | 'eps-mse' | 'x-mse' | 'v-mse' | ((logsnr: Tensor) => Tensor);

/** w(lambda) as a function of a logSNR tensor, for a named weighting under `schedule` (see Weighting). */
export function weightingFunction(weighting: Weighting, schedule: Schedule): (logsnr: Tensor) => Tensor {
  if (typeof weighting === 'function') return weighting;
  switch (weighting) {
    case 'elbo': return (l) => torch.onesLike(l);
    case 'eps-mse': return (l) => schedule.density(l).mul(2);
    case 'x-mse': return (l) => schedule.density(l).mul(l.neg().exp()).mul(2);
    case 'v-mse': return (l) => schedule.density(l).mul(l.neg().exp().add(1)).mul(2);
    default: throw new Error(`weighting must be 'elbo', 'eps-mse', 'x-mse', 'v-mse' or a function, got ${String(weighting)}`);
  }
}

export interface WeightedLossOptions extends MaskOptions {
  weighting: Weighting;
  generator?: Generator;
  /** Distribution lambda is drawn from (importance sampling, eq. 2.88); default the schedule's p(lambda). */
  lambdaSampler?: LogsnrProposal;
  /** Fixed lambda per example (number or [B]); its density is still taken from the sampler. */
  logsnr?: Tensor | number;
  /** Fixed noise, shape of x. */
  eps?: Tensor;
  /** Default 'mean'; 'sum' gives eq. 2.87 with the squared norm exactly. */
  reduction?: Reduction;
  context?: unknown;
}

export interface WeightedLossResult {
  /** diffusion + prior, per example [B] (eq. 2.86). */
  loss: Tensor;
  /** One-sample estimate of 1/2 int w ||eps - eps_hat||^2 dlambda: w(lambda)/p(lambda) * 1/2 ||eps - eps_hat||^2 (eqs 2.88-2.90). */
  diffusion: Tensor;
  /** w(lambda_min) KL(q(z_1|x) || N(0, I)), the weighted prior term of eq. 2.87 (no learnable parameters). */
  prior: Tensor;
  logsnr: Tensor;
  /** The importance weight w(lambda)/p(lambda) per example. */
  importanceWeight: Tensor;
}

/**
 * Weighted loss of Kingma & Gao, eq. 2.87, with the importance-weighted one-sample Monte-Carlo estimator of
 * eqs 2.88-2.90: lambda ~ p(lambda), eps ~ N(0, I), diffusion = w(lambda)/p(lambda) * 1/2 ||eps - eps_hat||^2.
 * Unbiased for L_w over the sampler's support (tested against quadrature).
 */
export function weightedLoss(model: Denoiser, x: Tensor, schedule: Schedule, options: WeightedLossOptions): WeightedLossResult {
  const B = x.shape[0]!;
  const w = weightingFunction(options.weighting, schedule);
  const sampler = options.lambdaSampler ?? scheduleProposal(schedule);
  // a user's proposal may not know about devices
  const logsnr = options.logsnr === undefined
    ? onDevice(sampler.sample(B, { dtype: x.dtype, device: x.device, generator: options.generator }), x.device)
    : perExampleOption(options.logsnr, x, 'logsnr');
  const eps = options.eps === undefined ? randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }) : checkEps(options.eps, x);
  const reduction = options.reduction ?? 'mean';
  const xf = fillUnobserved(x, options.mask, options.fill);
  const { err } = squaredError(model, xf, eps, logsnr, 'eps', options.context);
  const importanceWeight = w(logsnr).div(sampler.density(logsnr));
  const diffusion = importanceWeight.mul(reducePerExample(err, options.mask, reduction)).mul(0.5); // eq. 2.90
  const lmin = torch.scalarTensor(schedule.logsnrMin, { dtype: x.dtype, device: x.device });
  const prior = priorLoss(x, schedule.logsnrMin, { mask: options.mask, fill: options.fill, reduction }).mul(w(lmin));
  return { loss: diffusion.add(prior), diffusion, prior, logsnr, importanceWeight };
}
