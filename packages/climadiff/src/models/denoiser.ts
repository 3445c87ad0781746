// A network as a diffusion-core Denoiser: (z, logsnr, context?) => prediction, in the parameterisation the network
// itself declares. The one wrapper the trainer, the samplers, the tasks and the tests use: the network is the single
// source of truth for what it predicts (a training config no longer says it separately).
import type { Tensor } from '@climadiff/torch';
import { denoiser, type Denoiser, type Parameterisation } from '../diffusion/parameterisation.js';

/** A network that predicts, from z_t and the noise level (and conditioning), the quantity it declares. */
export interface DenoisingNetwork {
  /** What forward predicts ('v' when a network does not say: the seed's choice). */
  readonly parameterisation?: Parameterisation;
  forward(x: Tensor, logsnr: Tensor, cond?: Tensor, date?: Tensor, latent?: Tensor): Tensor;
}

/** The parameterisation of a network's output. */
export function networkParameterisation(net: DenoisingNetwork): Parameterisation {
  return net.parameterisation ?? 'v';
}

/** What a conditioned model takes besides z and the noise level: static fields, the clip's date features, the latent w. */
export interface ModelContext {
  /** Conditioning fields [B, S, H, W] or [B, S, F, H, W]. */
  cond?: Tensor | undefined;
  /** Date features [B, D]. */
  date?: Tensor | undefined;
  /** The latent w [B, d] of a representation model. */
  latent?: Tensor | undefined;
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
    return { cond: c.cond ?? defaults.cond, date: c.date ?? defaults.date, latent: c.latent ?? defaults.latent };
  }
  return defaults;
}

/** The context as the trainer and samplers pass it: the bare fields tensor when there is no date or latent (as before). */
export function packContext(c: ModelContext): Tensor | ModelContext | undefined {
  if (c.date === undefined && c.latent === undefined) return c.cond;
  return c;
}

/**
 * Wraps net.forward as a Denoiser in the network's parameterisation. The conditioning is options.{cond, date, latent},
 * overridden per call by the call's context (a Tensor: the fields; or { cond, date, latent }).
 */
export function asDenoiser(model: DenoisingNetwork, options: AsDenoiserOptions = {}): Denoiser {
  return denoiser(networkParameterisation(model), (z, logsnr, context) => {
    const c = resolveContext(context, options);
    return model.forward(z, logsnr, c.cond, c.date, c.latent);
  });
}
