// The samplers by name, for the CLI and the tasks: a typed record of functions that share the Sampler signature.
import type { Sampler } from './types.js';
import { ancestralSample } from './ancestral.js';
import { ddimSample } from './ddim.js';
import { reverseSdeSample } from './sde.js';
import { probabilityFlowSample } from './ode.js';
import { predictorCorrectorSample } from './pc.js';

export const SAMPLER_REGISTRY = {
  ancestral: ancestralSample,
  ddim: ddimSample,
  sde: reverseSdeSample,
  ode: probabilityFlowSample,
  pc: predictorCorrectorSample,
} as const satisfies Record<string, Sampler>;

export type SamplerName = keyof typeof SAMPLER_REGISTRY;
export const SAMPLER_NAMES = Object.keys(SAMPLER_REGISTRY) as SamplerName[];

/** The sampler of a name; an unknown name is an error listing the valid ones. */
export function samplerByName(name: string): Sampler {
  if (!Object.hasOwn(SAMPLER_REGISTRY, name)) throw new Error(`unknown sampler '${name}' (valid: ${SAMPLER_NAMES.join(', ')})`);
  return SAMPLER_REGISTRY[name as SamplerName];
}
