// EDM's stochastic sampler (Karras, Aittala, Aila & Laine 2022, "Elucidating the design space of diffusion-based
// generative models", Alg. 2): Heun steps in the noise level sigma, with "churn" noise added before each step.
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, alphaOf, checkNumber, noiseLike, predict, samplingGrid, sigmaOf } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface EdmOptions extends SampleOptions {
  /** S_churn: total churn; each step's gamma_i = min(S_churn / T, sqrt(2) - 1) inside [sMin, sMax]. Default 2.5. */
  churn?: number;
  /** S_tmin and S_tmax: churn only while sigma_i (variance-exploding, exp(-lambda / 2)) is in [sMin, sMax]. Defaults 0.75, 80. */
  churnMin?: number;
  churnMax?: number;
  /** S_noise: the added noise's scale, slightly above 1 to offset the denoiser's loss of detail. Default 1.05. */
  churnNoise?: number;
}

/**
 * Alg. 2 in the variance-exploding variables of the VP latent: x = z / alpha, sigma_i = exp(-lambda_i / 2), for which
 * the probability-flow ODE is dx/dsigma = (x - D(x; sigma)) / sigma = eps_hat (their eq. 4 with s(t) = alpha, and
 * Tweedie). Step i, with gamma_i as above:
 *   sigma^ = sigma_i (1 + gamma_i),   x^ = x_i + sqrt(sigma^^2 - sigma_i^2) S_noise eps            (lines 5-6)
 *   x_{i+1} = x^ + (sigma_{i+1} - sigma^) eps_hat(x^; sigma^)                                       (lines 7-8)
 *   if sigma_{i+1} > 0: x_{i+1} = x^ + (sigma_{i+1} - sigma^) (eps_hat(x^) + eps_hat(x_{i+1})) / 2    (lines 9-11)
 * The Euler step is evaluated as x_{i+1} = r x^ + (1 - r) D with r = sigma_{i+1} / sigma^ (the same number without the
 * cancellation of two large terms), the correction as the Euler result plus (sigma_{i+1} - sigma^)(eps' - eps) / 2.
 * The last step (to sigma = 0) is Euler only and returns D(x^; sigma^). With churn 0 this is Alg. 1, the
 * deterministic Heun sampler in sigma. Heun in sigma assumes eps_hat changes little over a step, so grids should
 * start at a moderate sigma (the default Karras grid starts at sigma = 80, lambda = -8.8); for grids from the
 * schedule's very end use probabilityFlowSample (Heun in the angle, bounded steps). Defaults: T = 20 steps on the
 * Karras grid (rho = 7), GenCast's churn settings (S_churn 2.5, S_tmin 0.75, S_tmax 80, S_noise 1.05; Price et al.
 * 2024, sec. A.2.1). Model calls: 2T - 1.
 */
export function edmSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: EdmOptions = {}): SampleResult {
  const fn = 'edmSample';
  const churn = checkNumber(fn, 'churn', options.churn ?? 2.5, 0);
  const sMin = checkNumber(fn, 'churnMin', options.churnMin ?? 0.75, 0);
  const sMax = checkNumber(fn, 'churnMax', options.churnMax ?? 80, 0);
  const sNoise = checkNumber(fn, 'churnNoise', options.churnNoise ?? 1.05, 0);
  const l = samplingGrid(fn, schedule, options, { steps: 20, grid: { kind: 'karras' } });
  const T = l.length - 1;
  const sig = l.map((x) => Math.exp(-x / 2)); // sigma_T = 0
  const gammaMax = Math.SQRT2 - 1;
  const hatLevel = (k: number): number => {
    const gamma = sig[k]! >= sMin && sig[k]! <= sMax ? Math.min(churn / T, gammaMax) : 0;
    return l[k]! - 2 * Math.log1p(gamma); // lambda of sigma^ = sigma_k (1 + gamma)
  };
  const run = new SamplingRun(fn, init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    const lh = hatLevel(k);
    // reported at the step's grid level lambda_k (the model sees lambda^ <= lambda_k after churn)
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      let zh = z;
      if (lh < l[k]!) {
        // x^ = x + sqrt(sigma^^2 - sigma_k^2) S_noise eps, in z = alpha x: z^ = (alpha^ / alpha_k) z + alpha^ sqrt(...) S_noise eps
        const sh = Math.exp(-lh / 2);
        zh = z.mul(alphaOf(lh) / alphaOf(l[k]!)).add(noiseLike(z, options).mul(alphaOf(lh) * Math.sqrt(sh * sh - sig[k]! ** 2) * sNoise));
      }
      const { x, eps } = predict(model, zh, lh, options);
      if (k === T - 1) return { z: x, x };
      const ln = l[k + 1]!;
      const r = Math.exp((lh - ln) / 2); // sigma_{k+1} / sigma^
      // Euler (lines 7-8) in z: z' = alpha' (r x^ + (1 - r) D) = (sigma'_vp / sigma^_vp) z^ + alpha' (1 - r) D
      const zEuler = zh.mul(sigmaOf(ln) / sigmaOf(lh)).add(x.mul(alphaOf(ln) * (1 - r)));
      const { eps: eps2 } = predict(model, zEuler, ln, options);
      // Heun (lines 9-11): x' + (sigma' - sigma^)(eps2 - eps) / 2, times alpha'
      const c = (alphaOf(ln) * (sig[k + 1]! - Math.exp(-lh / 2))) / 2;
      return { z: zEuler.add(eps2.sub(eps).mul(c)), x };
    });
  }
  return run.result();
}
