// The samplers by name, for the CLI and the tasks: a typed record of functions that share the Sampler signature,
// and the settings a user may give them by name (the grid, EDM's churn).
import type { Tensor } from '@climadiff/torch';
import type { Sampler } from './types.js';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { ancestralSample } from './ancestral.js';
import { ddimSample } from './ddim.js';
import { reverseSdeSample } from './sde.js';
import { probabilityFlowSample } from './ode.js';
import { predictorCorrectorSample } from './pc.js';
import { dpmSolverSample, type DpmSolverOptions } from './dpmpp.js';
import { edmSample, type EdmOptions } from './edm.js';
import { GRID_KINDS, type GridKind, type GridSpec } from './grids.js';

/** DPM-Solver++ with its order and eta fixed (the registry's named variants). */
function dpmSolverVariant(order: number, eta: number): Sampler<DpmSolverOptions> {
  return (model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: DpmSolverOptions = {}) =>
    dpmSolverSample(model, schedule, init, { ...options, order, eta });
}

export const SAMPLER_REGISTRY = {
  ancestral: ancestralSample,
  ddim: ddimSample,
  sde: reverseSdeSample,
  ode: probabilityFlowSample,
  pc: predictorCorrectorSample,
  'dpm++2m': dpmSolverVariant(2, 0),
  'dpm++2m-sde': dpmSolverVariant(2, 1),
  'dpm++3m': dpmSolverVariant(3, 0),
  edm: edmSample,
} as const satisfies Record<string, Sampler>;

export type SamplerName = keyof typeof SAMPLER_REGISTRY;
export const SAMPLER_NAMES = Object.keys(SAMPLER_REGISTRY) as SamplerName[];

/**
 * The sampler and number of solver steps of `sample`, the task commands and the library's generate/sampleRun when none
 * is given (docs/benchmarks.md, "Samplers against NFE", measures the choice).
 */
export const DEFAULT_SAMPLING: { readonly sampler: SamplerName; readonly steps: number } = { sampler: 'ancestral', steps: 256 };

/** The grid each sampler walks unless told otherwise (the seed's samplers: uniform in t; the fast ones: Karras). */
export const DEFAULT_GRID: Record<SamplerName, GridKind> = {
  ancestral: 'uniform-t', ddim: 'uniform-t', sde: 'uniform-t', ode: 'uniform-t', pc: 'uniform-t',
  'dpm++2m': 'karras', 'dpm++2m-sde': 'karras', 'dpm++3m': 'karras', edm: 'karras',
};

/** The samplers that draw fresh noise at every step (the others are deterministic maps of the initial latent). */
export const STOCHASTIC_SAMPLERS: ReadonlySet<SamplerName> = new Set(['ancestral', 'sde', 'pc', 'dpm++2m-sde', 'edm']);

/** The sampler of a name; an unknown name is an error listing the valid ones. */
export function samplerByName(name: string): Sampler {
  if (!Object.hasOwn(SAMPLER_REGISTRY, name)) throw new Error(`unknown sampler '${name}' (valid: ${SAMPLER_NAMES.join(', ')})`);
  return SAMPLER_REGISTRY[name as SamplerName];
}

/** What a user may set on a sampler by name (CLI flags, task and run options). */
export interface SamplerSettings {
  /** The grid kind (default: DEFAULT_GRID of the sampler). */
  grid?: GridKind;
  /** Karras grid's rho. */
  rho?: number;
  /** The grid's truncation (grids.ts defaultTruncation). */
  logsnrMin?: number;
  logsnrMax?: number;
  /** EDM only: S_churn, S_tmin, S_tmax, S_noise. */
  churn?: number;
  churnMin?: number;
  churnMax?: number;
  churnNoise?: number;
}

/**
 * The sampler options for `name` from user settings, each checked to apply: rho needs a Karras grid, the churn
 * settings the edm sampler. Without any grid setting the sampler keeps its own default grid (and truncation).
 */
export function samplerSettings(name: SamplerName, s: SamplerSettings = {}): { grid?: GridSpec } & Pick<EdmOptions, 'churn' | 'churnMin' | 'churnMax' | 'churnNoise'> {
  if (!Object.hasOwn(SAMPLER_REGISTRY, name)) throw new Error(`unknown sampler '${String(name)}' (valid: ${SAMPLER_NAMES.join(', ')})`);
  if (s.grid !== undefined && !GRID_KINDS.includes(s.grid)) throw new Error(`unknown grid '${String(s.grid)}' (valid: ${GRID_KINDS.join(', ')})`);
  const out: ReturnType<typeof samplerSettings> = {};
  const gridGiven = s.grid !== undefined || s.rho !== undefined || s.logsnrMin !== undefined || s.logsnrMax !== undefined;
  if (gridGiven) {
    const kind = s.grid ?? DEFAULT_GRID[name];
    if (s.rho !== undefined && kind !== 'karras') throw new Error(`rho applies to the karras grid only (this one is '${kind}')`);
    if (s.logsnrMax !== undefined && kind === 'uniform-t') throw new Error("the uniform-t grid takes a logsnrMin truncation only (its last level is lambda(t_start / T))");
    out.grid = {
      kind, ...(s.rho !== undefined ? { rho: s.rho } : {}),
      ...(s.logsnrMin !== undefined ? { logsnrMin: s.logsnrMin } : {}), ...(s.logsnrMax !== undefined ? { logsnrMax: s.logsnrMax } : {}),
    };
  }
  const churn = { churn: s.churn, churnMin: s.churnMin, churnMax: s.churnMax, churnNoise: s.churnNoise };
  const given = Object.entries(churn).filter(([, v]) => v !== undefined);
  if (given.length > 0 && name !== 'edm') throw new Error(`${given.map(([k]) => k).join(', ')}: churn settings apply to the edm sampler only (this one is '${name}')`);
  for (const [k, v] of given) (out as Record<string, unknown>)[k] = v;
  return out;
}
