// climadiff/data: reading, writing, simulating and preparing climate fields.
export * from './types.js';
