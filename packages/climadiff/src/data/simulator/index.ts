// The built-in simulators (docs/simulator.md): an Earth-like energy-balance model with moisture and
// precipitation on a lat-lon grid, and two-layer quasi-geostrophic turbulence with precipitation.
export { EarthSimulator, simulateEarth, earthStability, dailyInsolation, zonalWind, EARTH_PARAMS } from './earth.js';
export type { EarthOptions, EarthFrame } from './earth.js';
export { QGSimulator, simulateQG, QG_PARAMS } from './qg.js';
export type { QGOptions, QGFrame } from './qg.js';
export { landMask, isLand, globalGrid } from './landmask.js';
export { precipStats } from './common.js';
export type { PrecipStats } from './common.js';
