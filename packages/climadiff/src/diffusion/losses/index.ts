// Diffusion losses: every loss returns per-example values [B] so callers can mask and weight.
export * from './common.js';
export * from './weighted.js';
export * from './vdm.js';
export * from './ddpm.js';
