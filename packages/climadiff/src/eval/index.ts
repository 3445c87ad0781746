// climadiff/eval: diagnostics comparing generated clips with held-out data, their charts, and report.md.
export * from './fft.js';
export { validValues, clipsFromArray, type ClipArray } from './clips.js';
export * from './diagnostics.js';
export * from './spectra.js';
export * from './plots.js';
export * from './report.js';
export * from './weather.js';
export * from './series.js';
export * from './baselines.js';
export * from './interpolate-frames.js';
export * from './regrid.js';
export * from './laplace-fill.js';
export * from './area.js';
export * from './scores.js';
export * from './precip-scores.js';
export * from './bootstrap.js';
export * from './random.js';
export * from './analogues.js';
// probes.ts has its own bootstrapCI (one statistic over example indices); bootstrap.ts's (over cases, per lead) keeps the name
export { standardise, ridgeRegression, r2Score, balancedAccuracy, logisticRegression, probe, bootstrapCI as bootstrapIndicesCI } from './probes.js';
export { pcaFeatures, type PcaOptions, type PcaResult } from './pca.js';
export type { FeatureRows, Standardised, RidgeModel, LogisticOptions, LogisticModel, ProbeOptions, ProbeResult } from './probes.js';
export { lineChartPNG, barPanelsPNG, scatterChartPNG, MONTH_COLOURS, CATEGORY_COLOURS } from './chart-png.js';
