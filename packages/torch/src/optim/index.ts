// torch.optim: optimizers, gradient clipping and learning-rate schedules (PyTorch's names in camelCase).
export { Optimizer } from './optimizer.js';
export type {
  OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState, Params, StateValue,
} from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions, SGDState } from './sgd.js';
export { Adam } from './adam.js';
export type { AdamOptions, AdamGroup, AdamState } from './adam.js';
export { AdamW } from './adamw.js';
export { clipGradNorm } from './clip-grad.js';
export type { ClipGradNormOptions } from './clip-grad.js';
export {
  LRScheduler, LambdaLR, CosineAnnealingLR, WarmupCosineLR, linearWarmup, warmupCosine,
} from './lr_scheduler.js';
export type { LrLambda, SchedulerStateDict, WarmupCosineOptions } from './lr_scheduler.js';
/** PyTorch's module path torch.optim.lr_scheduler. */
export * as lrScheduler from './lr_scheduler.js';
