// Probability-flow ODE with Heun's method (Song et al. 2021, eq. 13; Karras et al. 2022, "Elucidating the design
// space of diffusion-based generative models", Alg. 1) for 001_5e42003193798b1e.txt eqs 2.48-2.55.
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, alphaOf, predict, samplingGrid, sigmaOf } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

/** The angle phi of the latent z = cos(phi) x + sin(phi) eps at logSNR l: tan(phi) = sigma / alpha = exp(-l / 2). */
export function angleOf(l: number): number {
  return Math.atan(Math.exp(-l / 2));
}

/**
 * The deterministic ODE with the marginals of eq. 2.48: dz/dt = f(z, t) - g(t)^2 s(z, t) / 2. With f = -g^2 z / 2
 * (eq. 2.49), g^2 = sigma_t^2 |dlambda/dt| (eq. 2.50) and Tweedie's score (eq. 2.78), written in the angle phi of
 * alpha = cos(phi), sigma = sin(phi) (dphi = -alpha sigma dlambda / 2) it is the same ODE for every schedule:
 *   dz/dphi = alpha eps_hat - sigma x_hat = v_hat   (eq. 2.71),
 * bounded and smooth from phi = pi/2 (pure noise) to 0, with no cancellation of O(g^2) terms, whatever the range of
 * the grid (for the alpha-cosine schedule phi is linear in t, so the uniform grid is uniform in phi). Heun
 * (trapezoidal predictor-corrector) between consecutive grid levels, two model calls per step; the last step returns
 * x_hat (the Euler step to noise level zero, as in Karras et al. Alg. 1). Deterministic given z_1.
 * Default: T = 100 on the uniform grid (2T - 1 network evaluations).
 */
export function probabilityFlowSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: SampleOptions = {}): SampleResult {
  const l = samplingGrid('probabilityFlowSample', schedule, options, { steps: 100, grid: { kind: 'uniform-t' } });
  const T = l.length - 1;
  const phi = l.map(angleOf);
  const velocity = (z: Tensor, k: number): { v: Tensor; x: Tensor } => {
    const { x, eps } = predict(model, z, l[k]!, options);
    return { v: eps.mul(alphaOf(l[k]!)).sub(x.mul(sigmaOf(l[k]!))), x };
  };
  const run = new SamplingRun('probabilityFlowSample', init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const h = phi[k + 1]! - phi[k]!; // negative: noise decreases
      const { v: v1, x } = velocity(z, k);
      if (k === T - 1) return { z: x, x };
      const { v: v2 } = velocity(z.add(v1.mul(h)), k + 1); // Euler predictor, slope at its end
      return { z: z.add(v1.add(v2).mul(h / 2)), x }; // trapezoidal corrector
    });
  }
  return run.result();
}
