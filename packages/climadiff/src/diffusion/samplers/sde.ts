// Reverse-time SDE by Euler-Maruyama (001_5e42003193798b1e.txt eqs 2.48-2.55; Song et al. 2021, "Score-based
// generative modeling through stochastic differential equations", sec. 4.1 and App. D).
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, checkNumber, checkInteger, noiseLike, predict, scheduleAt, sigmaOf, sigmoid, uniformTimes } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface ReverseSdeOptions extends SampleOptions {
  /** logSNR at which integration starts (default max(schedule.logsnrMin, -10)); see reverseSdeSample. */
  logsnrStart?: number;
}

/**
 * Euler-Maruyama on the reverse-time SDE dz = [f(z, t) - g(t)^2 s(z, t)] dt + g(t) dw (eq. 2.55) of the
 * variance-preserving process (eqs 2.49-2.50): f = -g^2 z / 2 and g(t)^2 = d/dt log(1 + exp(-lambda_t))
 * = sigma_t^2 |dlambda/dt| = sigma_t^2 / p(lambda_t), from the schedule's density; the score is
 * s = -eps_hat / sigma_t (eq. 2.78). With G = g(t)^2 dt, one step from t to s = t - dt is
 *   z_s = (1 + G/2) z_t - (G / sigma_t) eps_hat + sqrt(G) eps.
 * EM is stable only while G stays small, and for the truncated cosine g^2 = pi (t1 - t0) tan(pi/2 (t0 + t (t1 - t0)))
 * reaches ~1e7 at t = 1 (lambda = -30): the first step of any uniform grid would blow up. So the T uniform steps
 * run from t(logsnrStart) (default lambda = -10, where q(z_t) is N(0, I) up to alpha^2 = 4.5e-5, the premise of
 * eq. 2.57) down to 0, and z_1 ~ N(0, I) serves as the latent there. The last step returns x_hat. Default T = 1000.
 */
export function reverseSdeSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: ReverseSdeOptions = {}): SampleResult {
  const T = checkInteger('reverseSdeSample', 'steps', options.steps ?? 1000, 1);
  const start = Math.max(schedule.logsnrMin, checkNumber('reverseSdeSample', 'logsnrStart', options.logsnrStart ?? -10, -Infinity));
  if (!(start < schedule.logsnrMax)) throw new Error(`reverseSdeSample: logsnrStart ${start} must be below the schedule's logsnrMax ${schedule.logsnrMax}`);
  const tStart = torch.scope(() => Math.min(1, schedule.t(torch.scalarTensor(start, { dtype: 'float64' })).item()));
  const ts = uniformTimes(T, tStart);
  const { logsnr: l, density: p } = scheduleAt(schedule, ts);
  const run = new SamplingRun('reverseSdeSample', init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const { x, eps } = predict(model, z, l[k]!, options);
      if (k === T - 1) return { z: x, x };
      const G = (sigmoid(-l[k]!) / p[k]!) * (ts[k]! - ts[k + 1]!); // g(t)^2 dt, eq. 2.50
      const zs = z.mul(1 + G / 2).sub(eps.mul(G / sigmaOf(l[k]!))).add(noiseLike(z, options).mul(Math.sqrt(G)));
      return { z: zs, x };
    });
  }
  return run.result();
}
