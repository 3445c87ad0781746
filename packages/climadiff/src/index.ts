// climadiff: video diffusion models for climate simulations.
export * as diffusion from './diffusion/index.js';
export * as data from './data/index.js';
export * as viz from './viz/index.js';
export * as evaluation from './eval/index.js';
