// Ancestral sampler (001_5e42003193798b1e.txt eqs 2.56-2.62; Ho et al. 2020; VDM, Kingma et al. 2021).
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { posterior } from '../forward.js';
import { perExample } from '../tensor-utils.js';
import { SamplingRun, noiseLike, predict, samplingGrid } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

/**
 * The seed's default sampler: T uniform steps t(i) = i / T down to 0 (eq. 2.56), starting from z_1 ~ N(0, I)
 * (eq. 2.58), each drawing z_s ~ p(z_s | z_t) = q(z_s | z_t, x = x_hat(z_t, lambda_t)) (eqs 2.59-2.62).
 * The last step (t = 1/T to 0) returns the denoised x_hat(z_{1/T}, lambda_{1/T}): the limit of the posterior mean
 * of eq. 2.61 as sigma_0 -> 0, as VDM and DDPM do (no noise is added at the last step). Default T = 1000; any grid
 * (options.grid) replaces the uniform one: each step is then the posterior step between consecutive levels.
 */
export function ancestralSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: SampleOptions = {}): SampleResult {
  const l = samplingGrid('ancestralSample', schedule, options, { steps: 1000, grid: { kind: 'uniform-t' } });
  const T = l.length - 1;
  const run = new SamplingRun('ancestralSample', init, l[0]!, T, options);
  for (let k = 0; k < T; k++) {
    run.step(k, l[k]!, l[k + 1]!, (z) => {
      const { x } = predict(model, z, l[k]!, options);
      if (k === T - 1) return { z: x, x };
      // eqs 2.61-2.62: mean and std of q(z_s | z_t, x) with x = x_hat
      const q = posterior(z, x, perExample(l[k + 1]!, z), perExample(l[k]!, z));
      return { z: q.mean.add(q.std.mul(noiseLike(z, options))), x };
    });
  }
  return run.result();
}
