// The one signature every sampler shares (k-diffusion style): sampleX(model, schedule, init, options) -> { x }.
import type * as torch from '@climadiff/torch';
import type { Tensor, DType, Device } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import type { GridSpec } from './grids.js';

/** What a sampler reports after each step (see SampleOptions.onStep). */
export interface StepInfo {
  /** 0-based index of the step just taken. */
  step: number;
  /** Total number of steps of this run. */
  steps: number;
  /** logSNR at which the model was evaluated in this step (the step's starting level). */
  logsnr: number;
  /** The latent the step started from (the model's input). */
  z: Tensor;
  /** The denoised prediction x_hat(z, logsnr) of this step. */
  x: Tensor;
}

export interface SampleOptions {
  /** Number of solver steps T (default per sampler; one progress callback per step). */
  steps?: number;
  /**
   * The noise levels (grids.ts): an explicit grid (increasing logSNR levels ending in Infinity, T + 1 entries; then
   * `steps`, if given, must be T) or a spec (kind, rho, truncation) built with `steps` steps. Default: the sampler's.
   */
  grid?: readonly number[] | GridSpec;
  /**
   * The only source of randomness (initial noise and every step's noise): one generator, or one per example so that an
   * example's sample does not depend on the batch it is drawn in.
   */
  generator?: torch.Generator | readonly torch.Generator[];
  /** Passed to the denoiser as its third argument. */
  context?: unknown;
  /**
   * Called once per step, after the step. The tensors are valid during the call only: they are disposed as
   * the sampler moves on, so clone what you want to keep.
   */
  onStep?: (info: StepInfo) => void;
  /** Keep the latent after every step; the last entry is the final x. */
  returnTrajectory?: boolean;
  /**
   * Applied to the initial latent and to the latent after every step, at its new logSNR (per example, [B]);
   * after the last step to the final x, at logSNR +inf (clean data). The replacement method uses it.
   */
  latentHook?: (z: Tensor, logsnr: Tensor) => Tensor;
  /** dtype and device of the initial noise when `init` is a shape (defaults float32, cpu). */
  dtype?: DType;
  device?: Device;
}

export interface SampleResult {
  /** The samples, shaped like the latent ([B, ...]). */
  x: Tensor;
  /** With returnTrajectory: `steps` latents, the state after each step (the last one is x). */
  trajectory?: Tensor[];
}

/**
 * A sampler: draws x from the model's generative process. `init` is either the shape [B, ...] of the samples
 * (the initial latent is then drawn from N(0, I), eq. 2.58) or the initial latent itself.
 */
export type Sampler<O extends SampleOptions = SampleOptions> =
  (model: Denoiser, schedule: Schedule, init: number[] | Tensor, options?: O) => SampleResult;
