// Reverse-time SDE by Euler-Maruyama (001_5e42003193798b1e.txt eqs 2.48-2.55; Song et al. 2021, "Score-based
// generative modeling through stochastic differential equations", sec. 4.1 and App. D).
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, checkNumber, noiseLike, predict, samplingGrid, sigmaOf } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface ReverseSdeOptions extends SampleOptions {
  /** logSNR at which the default grid starts (default max(schedule.logsnrMin, -10)); see reverseSdeSample. */
  logsnrStart?: number;
}

/** log(1 + exp(-l)) without overflow: -log alpha^2 = -log sigmoid(l). */
function softplusNeg(l: number): number {
  return l >= 0 ? Math.log1p(Math.exp(-l)) : -l + Math.log1p(Math.exp(l));
}

/**
 * Euler-Maruyama on the reverse-time SDE dz = [f(z, t) - g(t)^2 s(z, t)] dt + g(t) dw (eq. 2.55) of the
 * variance-preserving process (eqs 2.49-2.50): f = -g^2 z / 2 and g(t)^2 = d/dt log(1 + exp(-lambda_t)), with the
 * score s = -eps_hat / sigma_t (eq. 2.78). With G = the integral of g^2 over the step, which is exactly
 * log(1 + exp(-lambda_t)) - log(1 + exp(-lambda_s)) whatever the grid, one step from lambda_t to lambda_s is
 *   z_s = (1 + G/2) z_t - (G / sigma_t) eps_hat + sqrt(G) eps.
 * EM is stable only while G stays small, and for the truncated cosine g^2 = pi (t1 - t0) tan(pi/2 (t0 + t (t1 - t0)))
 * reaches ~1e7 at t = 1 (lambda = -30): the first step of any uniform grid would blow up. So the default grid is the
 * uniform one from t(logsnrStart) (default lambda = -10, where q(z_t) is N(0, I) up to alpha^2 = 4.5e-5, the premise
 * of eq. 2.57) down to 0, and z_1 ~ N(0, I) serves as the latent there. The last step returns x_hat. Default T = 1000.
 */
export function reverseSdeSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: ReverseSdeOptions = {}): SampleResult {
  const fn = 'reverseSdeSample';
  const start = Math.max(schedule.logsnrMin, checkNumber(fn, 'logsnrStart', options.logsnrStart ?? -10, -Infinity));
  if (!(start < schedule.logsnrMax)) throw new Error(`${fn}: logsnrStart ${start} must be below the schedule's logsnrMax ${schedule.logsnrMax}`);
  const l = samplingGrid(fn, schedule, options, { steps: 1000, grid: { kind: 'uniform-t', logsnrMin: start } });
  const T = l.length - 1;
  const run = new SamplingRun(fn, init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const { x, eps } = predict(model, z, l[k]!, options);
      if (k === T - 1) return { z: x, x };
      const G = softplusNeg(l[k]!) - softplusNeg(l[k + 1]!); // the integral of g(t)^2 dt over the step, eq. 2.50
      const zs = z.mul(1 + G / 2).sub(eps.mul(G / sigmaOf(l[k]!))).add(noiseLike(z, options).mul(Math.sqrt(G)));
      return { z: zs, x };
    });
  }
  return run.result();
}
