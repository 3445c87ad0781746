// The DDPM "simple" loss and NCSN denoising score matching (004_22bcb44419df31bb.txt Alg. 2 and sec. 2.4).
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import { convertPrediction, type Denoiser } from '../parameterisation.js';
import { alphaFromLogsnr } from '../schedule.js';
import { bcast, randnOn } from '../tensor-utils.js';
import {
  type MaskOptions, type Reduction, fillUnobserved, reducePerExample, squaredError, checkEps, uniformStep,
} from './common.js';

export interface DdpmLossOptions extends MaskOptions {
  generator?: Generator;
  /** Fixed step per example in {1, ..., T} (int tensor [B]); default i ~ U{1, ..., T}. */
  i?: Tensor;
  eps?: Tensor;
  /** Default 'mean'; 'sum' is Alg. 2's ||.||^2. */
  reduction?: Reduction;
  context?: unknown;
}

export interface DdpmLossResult {
  loss: Tensor;
  /** The step of each example, 1-based. */
  i: Tensor;
  logsnr: Tensor;
}

/**
 * DDPM training loss (004 Alg. 2): i ~ U{1, ..., T}, eps ~ N(0, I),
 * ||eps - eps_hat(sqrt(abar_i) x + sqrt(1 - abar_i) eps, i)||^2. `logsnrs` [T] holds the logSNR of each step,
 * lambda_i = log(abar_i / (1 - abar_i)) (e.g. ddpmBetas().logsnr; for a continuous schedule,
 * schedule.logsnr(i / T)). The model is called with lambda_i and may have any parameterisation; its error is
 * scored on eps.
 */
export function ddpmLoss(model: Denoiser, x: Tensor, logsnrs: Tensor, options: DdpmLossOptions = {}): DdpmLossResult {
  if (logsnrs.ndim !== 1 || logsnrs.shape[0]! < 1) throw new Error(`ddpmLoss: logsnrs must be a 1-D tensor of the T step logSNRs, got shape [${logsnrs.shape.join(', ')}]`);
  const B = x.shape[0]!;
  const T = logsnrs.shape[0]!;
  const i = options.i ?? uniformStep(T, B, options.generator, x.device);
  const logsnr = logsnrs.to({ dtype: x.dtype, device: x.device }).indexSelect(0, i.sub(1));
  const eps = options.eps === undefined ? randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }) : checkEps(options.eps, x);
  const xf = fillUnobserved(x, options.mask, options.fill);
  const { err } = squaredError(model, xf, eps, logsnr, 'eps', options.context);
  return { loss: reducePerExample(err, options.mask, options.reduction ?? 'mean'), i, logsnr };
}

/** An NCSN score model s(x_tilde, sigma) ~ grad log q_sigma(x_tilde) for x_tilde = x + sigma eps (variance exploding). */
export type NoiseConditionalScore = (xTilde: Tensor, sigma: Tensor) => Tensor;

/**
 * The NCSN score of a (variance-preserving) denoiser of any parameterisation. x_tilde = x + sigma eps is
 * z / alpha for z = alpha x + alpha sigma eps, a VP latent with lambda = -2 log sigma, so
 * grad log q_sigma(x_tilde) = alpha * score_VP(alpha x_tilde, lambda).
 */
export function veScoreFromDenoiser(model: Denoiser, context?: unknown): NoiseConditionalScore {
  return (xTilde, sigma) => {
    const logsnr = sigma.log().mul(-2);
    const alpha = bcast(alphaFromLogsnr(logsnr), xTilde);
    const z = alpha.mul(xTilde);
    return alpha.mul(convertPrediction(model(z, logsnr, context), model.parameterisation, 'score', z, logsnr));
  };
}

export interface DsmLossOptions extends MaskOptions {
  generator?: Generator;
  /** Fixed noise level index per example in {1, ..., L} (int tensor [B]); default i ~ U{1, ..., L}. */
  i?: Tensor;
  eps?: Tensor;
  /** Default 'mean'; 'sum' is the squared norm of 004. */
  reduction?: Reduction;
}

export interface DsmLossResult {
  loss: Tensor;
  i: Tensor;
  sigma: Tensor;
}

/**
 * NCSN denoising score matching (004 sec. 2.4): one noise level sigma_i per example, i ~ U{1, ..., L}
 * (an unbiased estimate of 1/L sum_i), loss = lambda(sigma) l(sigma) with lambda(sigma) = sigma^2 and
 * l(sigma) = 1/2 ||s(x_tilde, sigma) + (x_tilde - x)/sigma^2||^2, x_tilde = x + sigma eps.
 */
export function dsmLoss(score: NoiseConditionalScore, x: Tensor, sigmas: Tensor | readonly number[], options: DsmLossOptions = {}): DsmLossResult {
  const B = x.shape[0]!;
  const sig = Array.isArray(sigmas)
    ? torch.tensor(sigmas as number[], { dtype: x.dtype, device: x.device })
    : (sigmas as Tensor).to({ dtype: x.dtype, device: x.device });
  if (sig.ndim !== 1 || sig.shape[0]! < 1) throw new Error(`sigmas must be a non-empty 1-D list, got shape [${sig.shape.join(', ')}]`);
  const L = sig.shape[0]!;
  const i = options.i ?? uniformStep(L, B, options.generator, x.device);
  const sigma = sig.indexSelect(0, i.sub(1));
  const eps = options.eps === undefined ? randnOn(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }) : checkEps(options.eps, x);
  const xf = fillUnobserved(x, options.mask, options.fill);
  const s = bcast(sigma, x);
  const xTilde = xf.add(s.mul(eps));
  const s2 = s.square();
  const err = score(xTilde, sigma).add(xTilde.sub(xf).div(s2)).square().mul(s2).mul(0.5);
  return { loss: reducePerExample(err, options.mask, options.reduction ?? 'mean'), i, sigma };
}
