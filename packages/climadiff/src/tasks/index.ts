// climadiff/tasks: generation from a trained model (unconditional, or guided by what is known) and the conditional
// tasks built on it.
export * from './model.js';
export * from './dates.js';
export * from './generate.js';
export * from './cases.js';
export * from './ensemble.js';
export * from './conditional.js';
export * from './downscale.js';
export * from './embed.js';
