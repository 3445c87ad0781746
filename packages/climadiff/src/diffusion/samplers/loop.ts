// What every sampler shares: the initial latent, the logSNR grid, and the bookkeeping of one step (memory
// scopes, grad mode, latent hook, progress callback, trajectory). The mathematics stays in each sampler.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Denoiser, Predictions } from '../parameterisation.js';
import { predictXEps } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { perExample, randnFrom } from '../tensor-utils.js';
import type { SampleOptions, SampleResult } from './types.js';
import { checkGrid, makeGrid, type GridSpec } from './grids.js';

/** sigmoid(l) without overflow, for logSNR coefficients in plain numbers: alpha^2 = sigmoid(l), sigma^2 = sigmoid(-l). */
export function sigmoid(l: number): number {
  return l >= 0 ? 1 / (1 + Math.exp(-l)) : Math.exp(l) / (1 + Math.exp(l));
}
export const alphaOf = (l: number): number => Math.sqrt(sigmoid(l));
export const sigmaOf = (l: number): number => Math.sqrt(sigmoid(-l));

/** An integer option that must be at least `min` (steps: at least 1). */
export function checkInteger(fn: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${fn}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** A number option that must be finite and at least `min` (or above it when `strict`). */
export function checkNumber(fn: string, name: string, value: unknown, min: number, strict = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (strict && value === min)) {
    throw new Error(`${fn}: ${name} must be a finite number ${strict ? '>' : '>='} ${min}, got ${String(value)}`);
  }
  return value;
}

/** lambda(t) at the given times, as plain numbers (float64). */
export function logsnrAt(schedule: Schedule, ts: number[]): number[] {
  return torch.scope(() => Array.from(schedule.logsnr(torch.tensor(ts, { dtype: 'float64' })).toFloat64Array()));
}

/**
 * The grid a sampler walks (grids.ts): options.grid as given (checked) or built from its spec, else the sampler's
 * default spec, with options.steps or the sampler's default number of steps.
 */
export function samplingGrid(fn: string, schedule: Schedule, options: SampleOptions, defaults: { steps: number; grid: GridSpec }): number[] {
  const g = options.grid;
  if (isGridArray(g)) {
    const grid = checkGrid(fn, g);
    if (options.steps !== undefined && options.steps !== grid.length - 1) {
      throw new Error(`${fn}: steps (${options.steps}) must equal the grid's number of steps (${grid.length - 1})`);
    }
    return grid;
  }
  const steps = checkInteger(fn, 'steps', options.steps ?? defaults.steps, 1);
  try {
    return makeGrid(schedule, steps, g ?? defaults.grid);
  } catch (e) {
    throw new Error(`${fn}: ${(e as Error).message}`);
  }
}

function isGridArray(g: SampleOptions['grid']): g is readonly number[] {
  return Array.isArray(g);
}

/** Runs the denoiser and returns (x_hat, eps_hat) whatever its parameterisation, at one logSNR for the batch. */
export function predict(model: Denoiser, z: Tensor, logsnr: number, options: SampleOptions): Predictions {
  return predictXEps(model, z, perExample(logsnr, z), options.context);
}

/** Fresh N(0, I) noise shaped like z, from the run's generator. */
export function noiseLike(z: Tensor, options: SampleOptions): Tensor {
  return randnFrom(z.shape, { dtype: z.dtype, device: z.device, generator: options.generator });
}

/**
 * One sampling run. `step` computes the next latent inside a memory scope with gradient recording off (a
 * guidance wrapper turns it back on for itself with torch.enableGrad), then applies the latent hook, reports
 * progress, records the trajectory and frees what is no longer needed.
 */
export class SamplingRun {
  /** The current latent. */
  z: Tensor;
  private readonly init: Tensor | undefined;
  private readonly trajectory: Tensor[] | undefined;

  constructor(fn: string, init: number[] | Tensor, logsnr0: number, private readonly steps: number,
    private readonly options: SampleOptions) {
    if (init instanceof torch.Tensor) {
      if (init.ndim < 1) throw new Error(`${fn}: the initial latent needs a batch dimension, got shape []`);
      this.init = init;
      this.z = init;
    } else {
      if (!Array.isArray(init) || init.length < 1 || !init.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`${fn}: init must be a shape [B, ...] of positive integers or the initial latent tensor, got ${String(init)}`);
      }
      // p(z_1) = N(0, I) (eq. 2.58)
      this.z = randnFrom(init, { dtype: options.dtype ?? 'float32', device: options.device, generator: options.generator });
    }
    if (options.latentHook) {
      const hook = options.latentHook;
      const z0 = this.z;
      this.z = torch.scope(() => torch.noGrad(() => hook(z0, perExample(logsnr0, z0))));
      if (z0 !== this.init && z0 !== this.z) z0.dispose();
    }
    this.trajectory = options.returnTrajectory ? [] : undefined;
  }

  /**
   * Step k: `next(z)` returns the latent at `nextLogsnr` (on the last step: the final x, whose logSNR is +inf)
   * and the step's x_hat, computed from the current latent whose model evaluation happened at `logsnr`.
   */
  step(k: number, logsnr: number, nextLogsnr: number, next: (z: Tensor) => { z: Tensor; x: Tensor }): void {
    const prev = this.z;
    const hook = this.options.latentHook;
    if (k === this.steps - 1) nextLogsnr = Infinity; // the final x is data
    const out = torch.scope(() => torch.noGrad(() => {
      const r = next(prev);
      return { z: hook ? hook(r.z, perExample(nextLogsnr, r.z)) : r.z, x: r.x };
    }));
    this.options.onStep?.({ step: k, steps: this.steps, logsnr, z: prev, x: out.x });
    this.z = out.z;
    // the previous latent is the caller's init, or an entry of the trajectory after the first step
    const recorded = this.trajectory !== undefined && k > 0;
    if (this.trajectory) this.trajectory.push(out.z);
    if (!recorded && prev !== this.init && prev !== out.z) prev.dispose();
    if (out.x !== out.z) out.x.dispose();
  }

  result(): SampleResult {
    return this.trajectory ? { x: this.z, trajectory: this.trajectory } : { x: this.z };
  }
}
