// DDPM sampling (004_22bcb44419df31bb.txt Alg. 3; Ho, Jain & Abbeel 2020, Alg. 2) for a discrete beta schedule.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, noiseLike, predict, samplingGrid } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface DdpmSampleOptions extends SampleOptions {
  /**
   * The discrete chain beta_1..beta_T (e.g. ddpmBetas({ T: 1000 }).betas, 004 sec. 3.1). Without it the chain is
   * read off the sampler's grid (options.grid; default uniform in t): alphaBar_i = sigmoid(lambda_{T-i}), alphaBar_0 = 1
   * (on the uniform grid lambda(i / T)).
   */
  betas?: Tensor | readonly number[];
  /** sigma_t^2 of Alg. 3 line 7: 'posterior' (default) beta~_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t), or 'beta' (beta_t). */
  variance?: 'posterior' | 'beta';
}

/**
 * From z_T ~ N(0, I), for t = T..2 (Alg. 3 lines 4-8), with eps_hat = g_t(z_t) (any parameterisation, converted):
 *   z_{t-1} = (z_t - beta_t / sqrt(1 - alphaBar_t) eps_hat) / sqrt(1 - beta_t) + sigma_t eps,
 * and at t = 1 (line 9) x = (z_1 - beta_1 / sqrt(1 - alphaBar_1) eps_hat) / sqrt(1 - beta_1), which is x_hat(z_1).
 * The model is called at lambda_t = log(alphaBar_t / (1 - alphaBar_t)). With sigma_t^2 = beta~_t (the variance of
 * q(z_{t-1} | z_t, x), 004 sec. 3.1.3) each step is the ancestral step of eqs 2.59-2.62 on the chain's logSNR grid;
 * 'beta' is Ho et al.'s other choice. One step per beta; T = betas.length (or `steps`, default 1000).
 */
export function ddpmSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: DdpmSampleOptions = {}): SampleResult {
  const fn = 'ddpmSample';
  const variance = options.variance ?? 'posterior';
  if (variance !== 'posterior' && variance !== 'beta') throw new Error(`${fn}: variance must be 'posterior' or 'beta', got ${String(variance)}`);
  let logAlphaBar: number[]; // log alphaBar_i, i = 0..T
  if (options.betas !== undefined) {
    const b = options.betas instanceof torch.Tensor ? Array.from(options.betas.toFloat64Array()) : Array.from(options.betas);
    if (b.length < 1 || !b.every((x) => x > 0 && x < 1)) throw new Error(`${fn}: betas must be a non-empty list of numbers in (0, 1)`);
    if (options.steps !== undefined && options.steps !== b.length) throw new Error(`${fn}: steps (${options.steps}) must equal betas.length (${b.length})`);
    if (options.grid !== undefined) throw new Error(`${fn}: betas and grid both define the chain; give one`);
    logAlphaBar = [0];
    for (const x of b) logAlphaBar.push(logAlphaBar[logAlphaBar.length - 1]! + Math.log1p(-x));
  } else {
    const grid = samplingGrid(fn, schedule, options, { steps: 1000, grid: { kind: 'uniform-t' } }).reverse(); // i = 0 is data
    logAlphaBar = grid.map((l, i) => (i === 0 ? 0 : -Math.log1p(Math.exp(-l)))); // log sigmoid(lambda)
  }
  const T = logAlphaBar.length - 1;
  const abar = logAlphaBar.map(Math.exp);
  const beta = (t: number) => -Math.expm1(logAlphaBar[t]! - logAlphaBar[t - 1]!); // 1 - alphaBar_t / alphaBar_{t-1}
  const logsnr = (t: number) => logAlphaBar[t]! - Math.log(-Math.expm1(logAlphaBar[t]!));
  const run = new SamplingRun(fn, init, logsnr(T), T, options);
  for (let t = T; t >= 1; t--) {
    run.step(T - t, logsnr(t), t > 1 ? logsnr(t - 1) : Infinity, (z) => {
      const bt = beta(t);
      const { x, eps } = predict(model, z, logsnr(t), options);
      const mean = z.sub(eps.mul(bt / Math.sqrt(1 - abar[t]!))).div(Math.sqrt(1 - bt)); // Alg. 3 lines 5 and 9
      if (t === 1) return { z: mean, x };
      const v = variance === 'beta' ? bt : (bt * (1 - abar[t - 1]!)) / (1 - abar[t]!);
      return { z: mean.add(noiseLike(z, options).mul(Math.sqrt(v))), x };
    });
  }
  return run.result();
}
