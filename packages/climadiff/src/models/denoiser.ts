// The U-Net as a diffusion-core Denoiser: (z, logsnr, context?) => prediction, with the model's parameterisation.
import type { Tensor } from '@climadiff/torch';
import { denoiser, type Denoiser } from '../diffusion/parameterisation.js';
import type { UNet3D } from './unet3d.js';

export interface AsDenoiserOptions {
  /** Conditioning fields passed to every call ([B, S, H, W] or [B, S, F, H, W]); a Tensor context overrides it. */
  cond?: Tensor;
}

/**
 * Wraps model.forward as a Denoiser. The conditioning is options.cond, or the call's context when that is a
 * Tensor (so samplers that pass a context per call can supply it), or { cond: Tensor }.
 */
export function asDenoiser(model: UNet3D, options: AsDenoiserOptions = {}): Denoiser {
  return denoiser(model.config.parameterisation, (z, logsnr, context) => {
    let cond: Tensor | undefined = options.cond;
    if (context !== undefined && context !== null && typeof context === 'object') {
      if ('cond' in context && (context as { cond?: Tensor }).cond !== undefined) cond = (context as { cond: Tensor }).cond;
      else if ('shape' in context && 'ndim' in context) cond = context as Tensor;
    }
    return model.forward(z, logsnr, cond);
  });
}
