// The U-Net as a diffusion-core Denoiser: (z, logsnr, context?) => prediction, with the model's parameterisation.
import type { Tensor } from '@climadiff/torch';
import { denoiser, type Denoiser } from '../diffusion/parameterisation.js';
import type { UNet3D } from './unet3d.js';

/** What a conditioned model takes besides z and the noise level: static fields and the clip's date features. */
export interface ModelContext {
  /** Conditioning fields [B, S, H, W] or [B, S, F, H, W]. */
  cond?: Tensor | undefined;
  /** Date features [B, D]. */
  date?: Tensor | undefined;
}

export type AsDenoiserOptions = ModelContext;

const isTensor = (v: unknown): v is Tensor => v !== null && typeof v === 'object' && 'shape' in v && 'ndim' in v;

/**
 * The context of one denoiser call: a Tensor is the conditioning fields, an object gives { cond, date }; what it does
 * not give comes from `defaults`.
 */
export function resolveContext(context: unknown, defaults: ModelContext = {}): ModelContext {
  if (isTensor(context)) return { ...defaults, cond: context };
  if (context !== undefined && context !== null && typeof context === 'object') {
    const c = context as ModelContext;
    return { cond: c.cond ?? defaults.cond, date: c.date ?? defaults.date };
  }
  return defaults;
}

/** The context as the trainer and samplers pass it: the bare fields tensor when there is no date (as before). */
export function packContext(c: ModelContext): Tensor | ModelContext | undefined {
  if (c.date === undefined) return c.cond;
  return c;
}

/**
 * Wraps model.forward as a Denoiser. The conditioning is options.{cond, date}, overridden per call by the call's
 * context (a Tensor: the fields; or { cond, date }).
 */
export function asDenoiser(model: UNet3D, options: AsDenoiserOptions = {}): Denoiser {
  return denoiser(model.config.parameterisation, (z, logsnr, context) => {
    const c = resolveContext(context, options);
    return model.forward(z, logsnr, c.cond, c.date);
  });
}
