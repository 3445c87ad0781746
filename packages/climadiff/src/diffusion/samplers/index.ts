// Samplers: each one plain function (model, schedule, init, options) -> { x, trajectory? }.
export type { SampleOptions, SampleResult, StepInfo, Sampler } from './types.js';
export { ancestralSample } from './ancestral.js';
export { ddimSample, type DdimOptions } from './ddim.js';
export { reverseSdeSample, type ReverseSdeOptions } from './sde.js';
export { probabilityFlowSample, angleOf } from './ode.js';
export { dpmSolverSample, type DpmSolverOptions } from './dpmpp.js';
export { edmSample, type EdmOptions } from './edm.js';
export {
  GRID_KINDS, type GridKind, type GridSpec, uniformTimeGrid, uniformLogsnrGrid, karrasGrid, makeGrid, checkGrid, defaultTruncation,
  EDM_LOGSNR_MIN, EDM_LOGSNR_MAX,
} from './grids.js';
export { annealedLangevinSample, type AnnealedLangevinOptions } from './langevin.js';
export { predictorCorrectorSample, type PredictorCorrectorOptions } from './pc.js';
export { ddpmSample, type DdpmSampleOptions } from './ddpm.js';
export {
  SAMPLER_REGISTRY, SAMPLER_NAMES, DEFAULT_GRID, STOCHASTIC_SAMPLERS, samplerByName, samplerSettings, type SamplerName, type SamplerSettings,
} from './registry.js';
