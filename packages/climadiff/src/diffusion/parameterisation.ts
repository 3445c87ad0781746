// Parameterisations of a denoiser's output and the converters between them. With z = alpha x + sigma eps
// (eq. 2.51), every prediction determines (x_hat, eps_hat):
//   x:     x_hat given;                 eps_hat = (z - alpha x_hat) / sigma
//   eps:   x_hat = (z - sigma eps_hat) / alpha                     (eq. 2.70)
//   v:     x_hat = alpha z - sigma v_hat, eps_hat = sigma z + alpha v_hat   (eqs 2.71, 2.73; A.41)
//   score: alpha x_hat = z + sigma^2 s (Tweedie, eq. 2.78), so eps_hat = -sigma s
import type { Tensor } from '@climadiff/torch';
import { alphaSigma } from './schedule.js';
import { bcast } from './tensor-utils.js';

export type Parameterisation = 'x' | 'eps' | 'v' | 'score';
export const PARAMETERISATIONS: readonly Parameterisation[] = ['x', 'eps', 'v', 'score'];

/** A denoising model: (z_t, logSNR per example, optional context) -> prediction in `parameterisation`. */
export interface Denoiser {
  readonly parameterisation: Parameterisation;
  (z: Tensor, logsnr: Tensor, context?: unknown): Tensor;
}

/** Attaches a parameterisation to a plain function. */
export function denoiser(parameterisation: Parameterisation, fn: (z: Tensor, logsnr: Tensor, context?: unknown) => Tensor): Denoiser {
  return Object.assign((z: Tensor, logsnr: Tensor, context?: unknown) => fn(z, logsnr, context), { parameterisation });
}

export interface Predictions {
  x: Tensor;
  eps: Tensor;
}

/** (x_hat, eps_hat) from a prediction of any parameterisation; logsnr is per example ([B] or scalar). */
export function toXEps(pred: Tensor, from: Parameterisation, z: Tensor, logsnr: Tensor): Predictions {
  const { alpha: a, sigma: s } = alphaSigma(logsnr);
  const alpha = bcast(a, z);
  const sigma = bcast(s, z);
  switch (from) {
    case 'x': return { x: pred, eps: z.sub(alpha.mul(pred)).div(sigma) };
    case 'eps': return { x: z.sub(sigma.mul(pred)).div(alpha), eps: pred };
    case 'v': return { x: alpha.mul(z).sub(sigma.mul(pred)), eps: sigma.mul(z).add(alpha.mul(pred)) };
    case 'score': {
      const eps = sigma.mul(pred).neg();
      return { x: z.sub(sigma.mul(eps)).div(alpha), eps };
    }
  }
}

/** The prediction in parameterisation `to` from (x_hat, eps_hat). */
export function fromXEps(p: Predictions, to: Parameterisation, logsnr: Tensor): Tensor {
  if (to === 'x') return p.x;
  if (to === 'eps') return p.eps;
  const { alpha: a, sigma: s } = alphaSigma(logsnr);
  const alpha = bcast(a, p.x);
  const sigma = bcast(s, p.x);
  if (to === 'v') return alpha.mul(p.eps).sub(sigma.mul(p.x)); // eq. 2.71
  return p.eps.neg().div(sigma); // score
}

/** Converts a prediction from one parameterisation to another. */
export function convertPrediction(pred: Tensor, from: Parameterisation, to: Parameterisation, z: Tensor, logsnr: Tensor): Tensor {
  if (from === to) return pred;
  return fromXEps(toXEps(pred, from, z, logsnr), to, logsnr);
}

/** Runs a denoiser and returns (x_hat, eps_hat) whatever its parameterisation. */
export function predictXEps(model: Denoiser, z: Tensor, logsnr: Tensor, context?: unknown): Predictions {
  return toXEps(model(z, logsnr, context), model.parameterisation, z, logsnr);
}

/** Wraps a denoiser so that it outputs another parameterisation (guidance wrappers return x). */
export function reparameterise(model: Denoiser, to: Parameterisation): Denoiser {
  if (model.parameterisation === to) return model;
  return denoiser(to, (z, logsnr, context) => convertPrediction(model(z, logsnr, context), model.parameterisation, to, z, logsnr));
}
