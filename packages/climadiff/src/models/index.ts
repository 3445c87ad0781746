// models: the space-time 3D U-Net (Ho et al. 2022) and its adapter to the diffusion core.
export { UNet3D, ModelInputError } from './unet3d.js';
export { unet3dConfig, ModelConfigError } from './config.js';
export type { UNet3DConfig, UNet3DConfigInput, BoundaryConfig, ModelParameterisation } from './config.js';
export { asDenoiser, networkParameterisation, resolveContext, packContext } from './denoiser.js';
export type { AsDenoiserOptions, DenoisingNetwork, ModelContext } from './denoiser.js';
export { SpaceConv, PointConv, ResBlock, Attention, Block, Upsample, sinusoidalEmbedding } from './layers.js';
export { PRECISIONS, PrecisionError, defaultPrecision, resolvePrecision, autocastDtype, inPrecision, withPrecision } from './precision.js';
export type { Precision } from './precision.js';
export { LatentEncoder, gaussianKl, sampleLatent } from './encoder.js';
export type { RepresentationConfig, EncoderKind, Posterior } from './encoder.js';
