// Samplers: each one plain function (model, schedule, init, options) -> { x, trajectory? }.
export type { SampleOptions, SampleResult, StepInfo, Sampler } from './types.js';
export { ancestralSample } from './ancestral.js';
export { ddimSample, type DdimOptions } from './ddim.js';
export { reverseSdeSample, type ReverseSdeOptions } from './sde.js';
export { probabilityFlowSample } from './ode.js';
export { annealedLangevinSample, type AnnealedLangevinOptions } from './langevin.js';
export { predictorCorrectorSample, type PredictorCorrectorOptions } from './pc.js';
export { ddpmSample, type DdpmSampleOptions } from './ddpm.js';
export { SAMPLER_REGISTRY, SAMPLER_NAMES, samplerByName, type SamplerName } from './registry.js';
