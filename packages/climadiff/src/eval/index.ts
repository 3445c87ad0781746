// climadiff/eval: diagnostics comparing generated clips with held-out data, their charts, and report.md.
export * from './fft.js';
export { validValues, clipsFromArray, type ClipArray } from './clips.js';
export * from './diagnostics.js';
export * from './spectra.js';
export * from './plots.js';
export * from './report.js';
export * from './weather.js';
export * from './baselines.js';
export * from './scores.js';
export * from './random.js';
