// climadiff/viz: colormaps, bitmap text, coastlines and PNG/GIF pictures of fields.
export * from './colormaps.js';
export * from './font.js';
export * from './coastlines.js';
export * from './render.js';
export * from './preview.js';
export * from './panels.js';
