// DDIM (Song, Meng & Ermon 2021, "Denoising diffusion implicit models", eq. 12) written in logSNR form.
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, alphaOf, checkNumber, noiseLike, predict, samplingGrid, sigmaOf } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface DdimOptions extends SampleOptions {
  /** eta in [0, 1]: 0 is the deterministic DDIM (the default), 1 has the ancestral sampler's variance. */
  eta?: number;
}

/**
 * DDIM on the uniform grid of the ancestral sampler (eq. 2.56): with (x_hat, eps_hat) predicted at z_t,
 *   z_s = alpha_s x_hat + sqrt(sigma_s^2 - c^2) eps_hat + c eps,   c = eta * sigma~_{s|t},
 * where sigma~_{s|t}^2 = -expm1(lambda_t - lambda_s) sigma_s^2 is the posterior variance of eq. 2.62. eta = 0 is a
 * deterministic map of z_1 (the Euler step of the probability-flow ODE in the variables z / alpha and sigma / alpha);
 * eta = 1 draws from exactly the ancestral step's distribution (eqs 2.59-2.62). The last step returns x_hat.
 * Default: T = 250 on the uniform grid; eta = 0 is also DPM-Solver++'s first-order step (dpmpp.ts).
 */
export function ddimSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: DdimOptions = {}): SampleResult {
  const eta = checkNumber('ddimSample', 'eta', options.eta ?? 0, 0);
  if (eta > 1) throw new Error(`ddimSample: eta must be in [0, 1], got ${eta}`);
  const l = samplingGrid('ddimSample', schedule, options, { steps: 250, grid: { kind: 'uniform-t' } });
  const T = l.length - 1;
  const run = new SamplingRun('ddimSample', init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const { x, eps } = predict(model, z, l[k]!, options);
      if (k === T - 1) return { z: x, x };
      const [lt, ls] = [l[k]!, l[k + 1]!];
      const frac = -Math.expm1(lt - ls); // sigma~_{s|t}^2 / sigma_s^2
      const c = eta * sigmaOf(ls) * Math.sqrt(frac);
      const zs = x.mul(alphaOf(ls)).add(eps.mul(sigmaOf(ls) * Math.sqrt(1 - eta * eta * frac)));
      return { z: c > 0 ? zs.add(noiseLike(z, options).mul(c)) : zs, x };
    });
  }
  return run.result();
}
