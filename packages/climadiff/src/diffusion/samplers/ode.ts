// Probability-flow ODE with Heun's method (Song et al. 2021, eq. 13; Karras et al. 2022, "Elucidating the design
// space of diffusion-based generative models", Alg. 1) for 001_5e42003193798b1e.txt eqs 2.48-2.55.
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, alphaOf, checkInteger, predict, scheduleAt, sigmaOf, uniformTimes } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

/**
 * The deterministic ODE with the marginals of eq. 2.48: dz/dt = f(z, t) - g(t)^2 s(z, t) / 2. With f = -g^2 z / 2
 * (eq. 2.49), g^2 = sigma_t^2 / p(lambda_t) (eq. 2.50) and Tweedie's score (eq. 2.78) this is
 *   dz/dt = -g^2 (z + s) / 2 = alpha_t sigma_t v_hat / (2 p(lambda_t)),   v_hat = alpha_t eps_hat - sigma_t x_hat (eq. 2.71),
 * a form without the cancellation of two O(g^2) terms (for the alpha-cosine schedule it is dz/dphi = v_hat,
 * phi = pi/2 (t0 + t (t1 - t0)), so the ODE stays smooth up to t = 1 although g^2 grows without bound there).
 * Heun (trapezoidal predictor-corrector) on T uniform steps in t, two model calls per step; the last step returns
 * x_hat (the Euler step to noise level zero, as in Karras et al.). Deterministic given z_1. Default T = 100.
 */
export function probabilityFlowSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: SampleOptions = {}): SampleResult {
  const T = checkInteger('probabilityFlowSample', 'steps', options.steps ?? 100, 1);
  const ts = uniformTimes(T);
  const { logsnr: l, density: p } = scheduleAt(schedule, ts);
  const velocity = (z: Tensor, k: number): { d: Tensor; x: Tensor } => {
    const { x, eps } = predict(model, z, l[k]!, options);
    const [a, s] = [alphaOf(l[k]!), sigmaOf(l[k]!)];
    return { d: eps.mul(a).sub(x.mul(s)).mul((a * s) / (2 * p[k]!)), x };
  };
  const run = new SamplingRun('probabilityFlowSample', init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const h = ts[k + 1]! - ts[k]!; // negative: time runs from 1 to 0
      const { d: d1, x } = velocity(z, k);
      if (k === T - 1) return { z: x, x };
      const { d: d2 } = velocity(z.add(d1.mul(h)), k + 1); // Euler predictor, slope at its end
      return { z: z.add(d1.add(d2).mul(h / 2)), x }; // trapezoidal corrector
    });
  }
  return run.result();
}
