// climadiff/diffusion: schedules, forward process, parameterisations, losses, samplers, guidance and
// likelihood of variance-preserving diffusion, model-agnostic (a denoiser is any function).
export * from './schedule.js';
export * from './schedules.js';
export * from './parameterisation.js';
export * from './forward.js';
export * from './analytic.js';
export {
  bcast, perExample, sumPerExample, meanPerExample, onDevice, randnOn, randOn, randintOn, randnFrom, exampleSeed, type DrawOptions, type NoiseSource,
} from './tensor-utils.js';
export * from './losses/index.js';
export * from './likelihood.js';
export * from './samplers/index.js';
export * from './guidance.js';
