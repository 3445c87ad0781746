// climadiff/data: reading, writing, simulating and preparing climate fields.
export * from './types.js';
export * from './readers/index.js';
export * from './ncar-samples.js';
export * from './writers/index.js';
export * from './clip-source.js';
export * from './file-source.js';
export * from './dataset.js';
export * from './normalise.js';
export * from './split.js';
export * from './statics.js';
export * from './time-parts.js';
export * from './simulator/index.js';
