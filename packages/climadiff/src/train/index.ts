// climadiff/train: the training loop, EMA, atomic checkpoints, metrics log and loss curve.
export * from './config.js';
export * from './ema.js';
export * from './checkpoint.js';
export * from './metrics.js';
export * from './trainer.js';
export * from './progress.js';
export * from './load.js';
export * from './lock.js';
