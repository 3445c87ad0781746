// Exact denoisers for data whose distribution is known in closed form: the reference against which
// samplers, losses, the ELBO and guidance are proven without training a network.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { alphaSigma } from './schedule.js';
import { denoiser, type Denoiser } from './parameterisation.js';

/**
 * x ~ N(mu, Sigma) in D dimensions (data of shape [B, ...] with D elements per example). For
 * z = alpha x + sigma eps the posterior mean is E[x | z] = mu + alpha Sigma (alpha^2 Sigma + sigma^2 I)^-1 (z - alpha mu).
 * Returns an x-parameterised denoiser.
 */
export function gaussianDenoiser(mu: Tensor, sigma: Tensor): Denoiser {
  const D = mu.numel();
  if (sigma.shape.length !== 2 || sigma.shape[0] !== D || sigma.shape[1] !== D) {
    throw new Error(`gaussianDenoiser: covariance must be ${D}x${D}, got [${sigma.shape.join(', ')}]`);
  }
  const eye = torch.eye(D, undefined, { dtype: sigma.dtype });
  return denoiser('x', (z, logsnr) => {
    const B = z.shape[0]!;
    const flat = z.reshape([B, D]);
    const { alpha, sigma: s } = alphaSigma(logsnr.expand([B]));
    const a = alpha.reshape([B, 1, 1]);
    // C_b = alpha_b^2 Sigma + sigma_b^2 I, one D x D system per example
    const C = a.square().mul(sigma).add(s.square().reshape([B, 1, 1]).mul(eye));
    const resid = flat.sub(alpha.reshape([B, 1]).mul(mu.reshape([1, D])));
    const r = torch.linalg.solve(C, resid.unsqueeze(-1)); // [B, D, 1]
    const x = mu.reshape([1, D]).add(a.mul(sigma.matmul(r)).squeeze(-1));
    return x.reshape(z.shape);
  });
}

export interface MixtureComponents {
  /** Mixture weights [K] (normalised internally). */
  weights: Tensor;
  /** Component means [K, D]. */
  means: Tensor;
  /** Component covariances [K, D, D]. */
  covariances: Tensor;
}

/**
 * x ~ sum_k pi_k N(mu_k, Sigma_k). E[x | z] = sum_k w_k(z) E_k[x | z] with responsibilities
 * w_k proportional to pi_k N(z; alpha mu_k, alpha^2 Sigma_k + sigma^2 I). Returns an x-parameterised denoiser.
 */
export function mixtureDenoiser(m: MixtureComponents): Denoiser {
  const [K, D] = m.means.shape as [number, number];
  const logPi = m.weights.div(m.weights.sum()).log();
  const eye = torch.eye(D, undefined, { dtype: m.means.dtype });
  return denoiser('x', (z, logsnr) => {
    const B = z.shape[0]!;
    const flat = z.reshape([B, 1, D]);
    const { alpha, sigma } = alphaSigma(logsnr.expand([B]));
    const a = alpha.reshape([B, 1, 1, 1]);
    const C = a.square().mul(m.covariances.unsqueeze(0)).add(sigma.square().reshape([B, 1, 1, 1]).mul(eye)); // [B, K, D, D]
    const resid = flat.sub(alpha.reshape([B, 1, 1]).mul(m.means.unsqueeze(0))); // [B, K, D]
    const r = torch.linalg.solve(C, resid.unsqueeze(-1)); // [B, K, D, 1]
    const maha = resid.unsqueeze(-2).matmul(r).reshape([B, K]);
    const [, logdet] = torch.linalg.slogdet(C) as [Tensor, Tensor];
    const logw = logPi.unsqueeze(0).sub(maha.add(logdet).mul(0.5));
    const w = logw.softmax(-1); // [B, K]
    const xk = m.means.unsqueeze(0).add(a.mul(m.covariances.unsqueeze(0).matmul(r)).squeeze(-1)); // [B, K, D]
    return w.unsqueeze(-1).mul(xk).sum([1]).reshape(z.shape);
  });
}
