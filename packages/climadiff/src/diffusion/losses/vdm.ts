// Terms of the variational lower bound of a variance-preserving diffusion (002_b831863fd030c65c.txt sec. 3.3
// and App. D; 001_5e42003193798b1e.txt eqs 2.81-2.84): the discrete-time diffusion loss with T steps, the
// prior loss and the reconstruction loss.
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import type { Schedule } from '../schedule.js';
import { predictXEps, type Denoiser } from '../parameterisation.js';
import { diffuse } from '../forward.js';
import { randnOn } from '../tensor-utils.js';
import {
  type MaskOptions, type Reduction, fillUnobserved, reducePerExample, checkEps, uniformStep,
} from './common.js';

export interface VdmLossOptions extends MaskOptions {
  /** Number of steps T; s(i) = (i - 1)/T, t(i) = i/T. */
  steps: number;
  /** 'x': (SNR(s) - SNR(t)) ||x - x_hat||^2; 'eps': (SNR(s)/SNR(t) - 1) ||eps - eps_hat||^2. Default 'eps'. */
  form?: 'x' | 'eps';
  generator?: Generator;
  /** Fixed step index per example in {1, ..., T} (int tensor [B]); default i ~ U{1, ..., T}. */
  i?: Tensor;
  eps?: Tensor;
  /** Default 'sum' (nats, the KL terms of the bound). */
  reduction?: Reduction;
  context?: unknown;
}

export interface VdmLossResult {
  /** Per-example unbiased estimate of L_T = sum_i E KL(q(z_s|z_t,x) || p(z_s|z_t)) [B]. */
  loss: Tensor;
  i: Tensor;
  logsnrS: Tensor;
  logsnrT: Tensor;
}

/**
 * Discrete-time diffusion loss with T steps (002_b831863fd030c65c.txt App. D):
 * L_T = T/2 E_{i ~ U{1..T}, eps} [(SNR(s) - SNR(t)) ||x - x_hat(z_t)||^2]. Since
 * ||x - x_hat||^2 = ||eps - eps_hat||^2 / SNR(t) (eq. 2.70 of 001), the eps form has the weight
 * SNR(s)/SNR(t) - 1 = expm1(lambda_s - lambda_t); the eps form printed in 002 (weight SNR(s) - SNR(t) on the
 * eps error) drops this 1/SNR(t). Both forms are computed from their own error and agree per sample.
 */
export function vdmDiffusionLoss(model: Denoiser, x: Tensor, schedule: Schedule, options: VdmLossOptions): VdmLossResult {
  const T = options.steps;
  const B = x.shape[0]!;
  const i = options.i ?? uniformStep(T, B, options.generator, x.device);
  const iv = i.to(x.dtype);
  const logsnrT = schedule.logsnr(iv.div(T));
  const logsnrS = schedule.logsnr(iv.sub(1).div(T));
  const eps = options.eps === undefined ? randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }) : checkEps(options.eps, x);
  const xf = fillUnobserved(x, options.mask, options.fill);
  const { z } = diffuse(xf, logsnrT, { eps });
  const pred = predictXEps(model, z, logsnrT, options.context);
  const reduction = options.reduction ?? 'sum';
  let weight: Tensor;
  let err: Tensor;
  if ((options.form ?? 'eps') === 'x') {
    weight = logsnrS.exp().sub(logsnrT.exp()); // SNR(s) - SNR(t)
    err = xf.sub(pred.x).square();
  } else {
    weight = logsnrS.sub(logsnrT).expm1(); // SNR(s)/SNR(t) - 1
    err = eps.sub(pred.eps).square();
  }
  const loss = weight.mul(reducePerExample(err, options.mask, reduction)).mul(T / 2);
  return { loss, i, logsnrS, logsnrT };
}

export interface PriorLossOptions extends MaskOptions {
  /** Default 'sum' (nats). */
  reduction?: Reduction;
}

/**
 * Prior loss KL(q(z_1|x) || N(0, I)) at lambda_1 = logsnrMin (002 sec. 3.3; 001 eqs 2.57-2.58, 2.84), per element
 * 1/2 (alpha^2 x^2 + sigma^2 - 1 - log sigma^2) = 1/2 (sigmoid(lambda) (x^2 - 1) + softplus(lambda)),
 * the second form exact and free of cancellation at lambda = -30.
 */
export function priorLoss(x: Tensor, logsnrMin: number | Schedule, options: PriorLossOptions = {}): Tensor {
  const l = typeof logsnrMin === 'number' ? logsnrMin : logsnrMin.logsnrMin;
  const lt = torch.scalarTensor(l, { dtype: x.dtype, device: x.device });
  const a2 = lt.sigmoid();
  const softplus = lt.neg().logSigmoid().neg();
  const xf = fillUnobserved(x, options.mask, options.fill);
  const kl = xf.square().sub(1).mul(a2).add(softplus).mul(0.5);
  return reducePerExample(kl, options.mask, options.reduction ?? 'sum');
}

export interface ReconstructionOptions extends MaskOptions {
  /**
   * p(x|z_0) per element, proportional to q(z_0|x) (002 sec. 3.2), normalised over x:
   * - 'gaussian' (default): over continuous x, N(x; z_0/alpha_0, sigma_0^2/alpha_0^2), a density;
   * - 'discretized-gaussian': over bins of width binWidth centred on the data values.
   */
  decoder?: 'gaussian' | 'discretized-gaussian';
  /** Bin width of the discretised decoder (required for it). */
  binWidth?: number;
  /** [lowest, highest] data value: the first and last bins then extend to -inf / +inf. */
  dataRange?: [number, number];
  generator?: Generator;
  /** Default 'sum' (nats). */
  reduction?: Reduction;
}

/**
 * Reconstruction loss E_{q(z_0|x)} [-log p(x|z_0)] at lambda_0 = logsnrMax (002 sec. 3.3; 001 eq. 2.82).
 * With s = sigma_0/alpha_0 = exp(-lambda_0/2) and z_0 = alpha_0 x + sigma_0 eps:
 * - 'gaussian': the expectation is exact, 1/2 (log(2 pi) - lambda_0 + 1) per element;
 * - 'discretized-gaussian': -log(Phi((x + h - m)/s) - Phi((x - h - m)/s)), m = z_0/alpha_0, h = binWidth/2,
 *   i.e. -log(Phi(h/s - eps) - Phi(-h/s - eps)), estimated with one eps per element.
 */
export function reconstructionLoss(x: Tensor, logsnrMax: number | Schedule, options: ReconstructionOptions = {}): Tensor {
  const l = typeof logsnrMax === 'number' ? logsnrMax : logsnrMax.logsnrMax;
  const reduction = options.reduction ?? 'sum';
  const decoder = options.decoder ?? 'gaussian';
  if (decoder === 'gaussian') {
    const perElement = 0.5 * (Math.log(2 * Math.PI) - l + 1);
    return reducePerExample(torch.fullLike(x, perElement), options.mask, reduction);
  }
  if (decoder !== 'discretized-gaussian') throw new Error(`decoder must be 'gaussian' or 'discretized-gaussian', got ${String(decoder)}`);
  const bw = options.binWidth;
  if (!(typeof bw === 'number' && bw > 0)) throw new Error(`the discretized-gaussian decoder needs binWidth > 0, got ${String(bw)}`);
  const h = bw / 2 / Math.exp(-l / 2); // half bin width in units of s
  const eps = randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator });
  let a = eps.neg().sub(h);
  let b = eps.neg().add(h);
  if (options.dataRange) {
    const [lo, hi] = options.dataRange;
    const xf = fillUnobserved(x, options.mask, options.fill ?? lo);
    a = torch.where(xf.le(lo + bw / 2), -Infinity, a);
    b = torch.where(xf.ge(hi - bw / 2), Infinity, b);
  }
  return reducePerExample(logNormalIntervalProbability(a, b).neg(), options.mask, reduction);
}

/** log(Phi(b) - Phi(a)) for a < b elementwise, from whichever tail keeps precision. */
export function logNormalIntervalProbability(a: Tensor, b: Tensor): Tensor {
  // right of zero use Phi(b) - Phi(a) = Phi(-a) - Phi(-b)
  const right = a.add(b).gt(0);
  const lo = torch.where(right, b.neg(), a);
  const hi = torch.where(right, a.neg(), b);
  const lhi = hi.specialLogNdtr();
  const llo = lo.specialLogNdtr();
  return lhi.add(llo.sub(lhi).exp().neg().log1p());
}
