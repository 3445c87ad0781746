// The forward (noising) process of a variance-preserving diffusion.
import type { Tensor } from '@climadiff/torch';
import { alphaSigma } from './schedule.js';
import { bcast, randnFrom, type NoiseSource } from './tensor-utils.js';

/** Samples z_t ~ q(z_t | x) = N(alpha_t x, sigma_t^2 I) (eq. 2.51); returns z and the noise used. */
export function diffuse(x: Tensor, logsnr: Tensor, options: { eps?: Tensor; generator?: NoiseSource } = {}): { z: Tensor; eps: Tensor } {
  const eps = options.eps ?? randnFrom(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator });
  const { alpha, sigma } = alphaSigma(logsnr);
  return { z: bcast(alpha, x).mul(x).add(bcast(sigma, x).mul(eps)), eps };
}

/**
 * q(z_t | z_s) for s < t (logsnrS > logsnrT): z_t = alpha_{t|s} z_s + sigma_{t|s} eps (eq. 2.53, A.1-A.12),
 * alpha_{t|s} = alpha_t / alpha_s, sigma_{t|s}^2 = sigma_t^2 - alpha_{t|s}^2 sigma_s^2
 * = -expm1(lambda_t - lambda_s) sigma_t^2 (the stable form).
 */
export function transition(logsnrS: Tensor, logsnrT: Tensor): { alphaTS: Tensor; sigmaTS: Tensor; sigma2TS: Tensor } {
  const s = alphaSigma(logsnrS);
  const t = alphaSigma(logsnrT);
  const sigma2TS = logsnrT.sub(logsnrS).expm1().neg().mul(t.sigma.square());
  return { alphaTS: t.alpha.div(s.alpha), sigmaTS: sigma2TS.sqrt(), sigma2TS };
}

/**
 * Posterior q(z_s | z_t, x) = N(mu, std^2 I) for s < t (eqs 2.61-2.62; 002 App. B):
 * mu = alpha_{t|s} sigma_s^2 / sigma_t^2 z_t + alpha_s sigma_{t|s}^2 / sigma_t^2 x,
 * std = sigma_{t|s} sigma_s / sigma_t.
 */
export function posterior(zt: Tensor, x: Tensor, logsnrS: Tensor, logsnrT: Tensor): { mean: Tensor; std: Tensor; variance: Tensor } {
  const s = alphaSigma(logsnrS);
  const t = alphaSigma(logsnrT);
  const { alphaTS, sigma2TS } = transition(logsnrS, logsnrT);
  const sigma2T = t.sigma.square();
  const cz = alphaTS.mul(s.sigma.square()).div(sigma2T);
  const cx = s.alpha.mul(sigma2TS).div(sigma2T);
  const variance = sigma2TS.mul(s.sigma.square()).div(sigma2T);
  const mean = bcast(cz, zt).mul(zt).add(bcast(cx, x).mul(x));
  return { mean, variance: bcast(variance, zt), std: bcast(variance.sqrt(), zt) };
}
