// Annealed Langevin dynamics for NCSN (004_22bcb44419df31bb.txt Alg. 1; Song & Ermon 2019, "Generative modeling
// by estimating gradients of the data distribution", Alg. 1), driven by a variance-preserving denoiser.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, checkNumber, checkInteger, logsnrAt, noiseLike, predict, samplingGrid } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface AnnealedLangevinOptions extends SampleOptions {
  /** Langevin iterations per noise level (Alg. 1's T; default 100). */
  stepsPerLevel?: number;
  /** Alg. 1's epsilon: level i takes steps alpha_i = epsilon sigma_i^2 / sigma_L^2 (default sigma_L^2). */
  epsilon?: number;
  /** Explicit decreasing noise levels sigma_1 > ... > sigma_L (overrides the schedule, `grid` and `steps`). */
  sigmas?: readonly number[];
}

/**
 * NCSN perturbs data as x + sigma eps (variance exploding). Its state is the VP latent rescaled:
 * z = x_ve / sqrt(1 + sigma^2) with lambda = -2 log sigma, so the VP denoiser gives the NCSN score
 * s(x_ve, sigma) = -eps_hat(z, lambda) / sigma. Levels: sigma_i = exp(-lambda(t_i) / 2) at t_i uniform from 1 to 0
 * (L = `steps` levels, default 10; with ncsnSchedule they are 004 sec. 2.4.2's geometric sequence), or the levels of
 * options.grid (its finite entries: L = the grid's steps). From
 * x = sqrt(1 + sigma_1^2) z_1, each level runs n steps of
 *   x <- x + (alpha_i / 2) s(x, sigma_i) + sqrt(alpha_i) eps,   alpha_i = epsilon sigma_i^2 / sigma_L^2   (Alg. 1 lines 4-7).
 * epsilon / sigma_L^2 is the step relative to the variance at levels where sigma dominates the data. It must stay
 * below 4 for stability; a larger ratio mixes faster within a mode (too small a one leaves each data direction
 * with the excess variance of the level where it stopped mixing) but makes intermediate levels hotter, which
 * flattens mode weights. Default ratio 1 (epsilon = sigma_L^2): Song & Ermon's epsilon = 2e-5 at sigma_L = 0.01
 * (ratio 0.2) with n = 100 leaves ~15% excess variance on the Gaussian test, ratio 2 flattened the mixture's weights.
 * One `step` is one noise level; the last one ends with the denoising step x <- x + sigma_L^2 s(x, sigma_L) = x_hat
 * (Song & Ermon 2020). Latents passed to hooks, callbacks and the trajectory are VP (z at lambda_i).
 */
export function annealedLangevinSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: AnnealedLangevinOptions = {}): SampleResult {
  const fn = 'annealedLangevinSample';
  let sig: number[];
  if (options.sigmas !== undefined) {
    sig = Array.from(options.sigmas);
    if (sig.length < 1 || !sig.every((s, i) => s > 0 && Number.isFinite(s) && (i === 0 || s < sig[i - 1]!))) {
      throw new Error(`${fn}: sigmas must be positive, finite and strictly decreasing, got [${sig.join(', ')}]`);
    }
  } else if (options.grid !== undefined) {
    sig = samplingGrid(fn, schedule, options, { steps: 10, grid: { kind: 'uniform-t' } }).slice(0, -1).map((l) => Math.exp(-l / 2));
  } else {
    const L = checkInteger(fn, 'steps', options.steps ?? 10, 1);
    sig = logsnrAt(schedule, Array.from({ length: L }, (_, i) => (L === 1 ? 0 : 1 - i / (L - 1)))).map((l) => Math.exp(-l / 2));
  }
  const L = sig.length;
  const n = checkInteger(fn, 'stepsPerLevel', options.stepsPerLevel ?? 100, 1);
  const sigmaL = sig[L - 1]!;
  const epsilon = checkNumber(fn, 'epsilon', options.epsilon ?? sigmaL * sigmaL, 0, true);
  const l = sig.map((s) => -2 * Math.log(s)); // lambda_i
  const scale = sig.map((s) => Math.sqrt(1 + s * s)); // x_ve = scale_i z_vp
  const run = new SamplingRun(fn, init, l[0]!, L, options);
  for (let i = 0; i < L; i++) {
    run.step(i, l[i]!, l[i + 1] ?? Infinity, (z) => {
      const a = (epsilon * sig[i]! * sig[i]!) / (sigmaL * sigmaL); // Alg. 1 line 4
      let xve = z.mul(scale[i]!);
      let xhat: Tensor | undefined;
      for (let j = 0; j < n; j++) {
        const r = torch.scope(() => {
          const { x, eps } = predict(model, xve.div(scale[i]!), l[i]!, options);
          // Alg. 1 line 7 with s = -eps_hat / sigma_i
          return { x, next: xve.sub(eps.mul(a / (2 * sig[i]!))).add(noiseLike(xve, options).mul(Math.sqrt(a))) };
        });
        xhat?.dispose();
        xve.dispose();
        [xhat, xve] = [r.x, r.next];
      }
      if (i === L - 1) {
        const { x } = predict(model, xve.div(scale[i]!), l[i]!, options); // the final denoising step
        return { z: x, x };
      }
      return { z: xve.div(scale[i + 1]!), x: xhat! };
    });
  }
  return run.result();
}
