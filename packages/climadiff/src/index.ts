// climadiff: video diffusion models for climate simulations.
export * as diffusion from './diffusion/index.js';
export * as data from './data/index.js';
export * as viz from './viz/index.js';
export * as evaluation from './eval/index.js';
export * as models from './models/index.js';
export * as train from './train/index.js';
export * as tasks from './tasks/index.js';
export * as run from './run/index.js';
