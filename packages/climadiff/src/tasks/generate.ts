// Generation from a trained model, unconditional or conditioned on what is known, in physical units: the one function
// sampling and every task (forecast, interpolate, infill, downscale) call. It turns dates into the model's date
// features and the normalisation's months, known physical values into the model's space, runs a sampler of the
// registry with reconstruction guidance (Ho et al. 2022; 001 sec. 2.7.8), the replacement method or both, and maps
// the samples back to physical units by the exact inverse normalisation (clamped values counted).
//
// Guidance weights. Our w_r multiplies the gradient of each example's *sum* of squared errors over its known
// elements (diffusion/guidance.ts). The seed's code takes a *mean* over every element the mean runs over (batch x
// known elements, N of them) with w_r = 1e6, so its weight corresponds to w_sum = w_mean / N here.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { denormalise, needsMonths, normalise, seasonalBasis, seasonalMean, type ClampCounts } from '../data/normalise.js';
import { dateFeatureCount, dateFeatures, type DateFeatureKind } from '../data/dates.js';
import { decodeTimeParts, monthPosition, type TimeParts } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import { asDenoiser, resolvePrecision, withPrecision, type Precision } from '../models/index.js';
import type { InverseCounts } from '../models/transform.js';
import { denoiser, type Denoiser } from '../diffusion/parameterisation.js';
import { observationGuidance, reconstructionGuidance, replacementHook } from '../diffusion/guidance.js';
import { DEFAULT_SAMPLING, samplerByName, samplerSettings, SAMPLER_NAMES, type SamplerName, type SamplerSettings } from '../diffusion/samplers/registry.js';
import { exampleSeed, type NoiseSource } from '../diffusion/tensor-utils.js';
import type { GenerationModel } from './model.js';

/** How what is known steers the sampler. */
export type GuidanceMethod = 'reconstruction' | 'replacement' | 'reconstruction+replacement';
export const GUIDANCE_METHODS: readonly GuidanceMethod[] = ['reconstruction', 'replacement', 'reconstruction+replacement'];

export interface Guidance {
  method: GuidanceMethod;
  /** w_r on the per-example sum of squared errors (ignored by 'replacement'). */
  weight: number;
}

/**
 * What is known. `values`: physical values at known elements of the samples ([n, C, F, H, W], C order; anything where
 * `known` is 0), with an optional observation-error variance per channel (physical units squared; channels without
 * a value transform only). `linear`: observations y = A(x) of the physical samples by a differentiable operator
 * (e.g. block means for downscaling), y shaped [n, C, ...]; residuals are divided by scale, so that the sum of squared
 * errors is in units of each channel's typical change (physical units per model-space unit): one number per channel
 * (scale[c]), or one per element of y (a Float32Array as long as y) where that change depends on the value, as for a
 * square-root transform.
 */
export type Observation =
  | { kind: 'values'; values: Float32Array; known: Uint8Array; errorVariance?: number[] }
  | { kind: 'linear'; y: Float32Array; yShape: number[]; operator: (x: Tensor) => Tensor; scale: number[] | Float32Array };

export interface GenerateOptions {
  /** Number of samples (one batch). */
  n: number;
  /** Frames per sample (default: the model's training clip length). */
  frames?: number;
  /** The time of every frame of every sample (n x frames, in `timeUnits`): the date each sample is generated for. */
  times?: Float64Array | null;
  /** Units and calendar of `times` (default: the run's time axis). */
  timeUnits?: { units: string; calendar: string };
  /** Solver steps of the sampler (defaults: DEFAULT_SAMPLING), with its grid and churn settings. */
  steps?: number;
  sampler?: SamplerName;
  sampling?: SamplerSettings;
  /**
   * The noise: one generator for the batch, or one per sample (CPU generators on every device, so a seed gives the
   * same samples up to rounding). Default: one per sample, seeded by (seed, sample index), so that sample i does not
   * depend on n or on how samples are batched.
   */
  generator?: NoiseSource;
  seed?: number;
  observation?: Observation;
  guidance?: Guidance;
  /**
   * A representation model's latent w, [n, d] row-major (e.g. the posterior means of encoded clips: samples *like*
   * them). Default for such a model: w ~ N(0, I), the prior, drawn per sample from its own stream of `seed`.
   */
  latent?: Float32Array;
  precision?: Precision | 'auto';
  device?: string;
  onStep?: (step: number, steps: number) => void;
}

/** Generated values that the inverse transforms had to clamp, per variable. */
export interface ClampReport {
  variable: string;
  /** Below the learned transform's range (y < -1) or below the physical minimum (negative rain). */
  below: number;
  /** Above the learned transform's range (y > 1). */
  above: number;
  total: number;
}

/** Network evaluations of one generation: forward passes, and of those the ones that also ran a backward (guidance). */
export interface NetworkEvaluations { forward: number; backward: number }

export interface GenerateResult {
  /** Samples in physical units, [n, C, F, H, W]. */
  data: Float32Array;
  shape: [number, number, number, number, number];
  /** Time of every frame (n x F) in the time units used; null without a time axis. */
  times: Float64Array | null;
  clamped: ClampReport[];
  nfe: NetworkEvaluations;
  /** The precision the network ran in (o.precision resolved for the device: 'auto' or none is the device's default). */
  precision: Precision;
}

/** Generates o.n samples from the model as it is (weights, train/eval mode), in physical units. */
export function generate(m: GenerationModel, o: GenerateOptions): GenerateResult {
  const { model, stats, runData } = m;
  const n = o.n;
  if (!Number.isInteger(n) || n < 1) throw new DataError('bad-option', `generate: n must be a positive integer, got ${String(n)}`);
  const frames = o.frames ?? runData.frames;
  const steps = o.steps ?? DEFAULT_SAMPLING.steps;
  const samplerName = o.sampler ?? DEFAULT_SAMPLING.sampler;
  const sampler = samplerByName(samplerName);
  let samplerOptions: ReturnType<typeof samplerSettings>;
  try { samplerOptions = samplerSettings(samplerName, o.sampling); } catch (e) { throw new DataError('bad-option', (e as Error).message); }
  const device = o.device ?? 'cpu';
  const precision = resolvePrecision(o.precision, device);
  const C = model.config.inChannels, H = runData.height, W = runData.width;
  const shape: [number, number, number, number, number] = [n, C, frames, H, W];
  const size = C * frames * H * W;
  const dateKind = runData.dateFeatures as DateFeatureKind;
  const calendar = o.timeUnits?.calendar ?? runData.time?.calendar ?? 'standard';
  const times = o.times ?? null;
  if (times && times.length !== n * frames) throw new DataError('bad-option', `generate: ${times.length} frame times for ${n} samples of ${frames} frames`);
  const units = o.timeUnits ?? (runData.time ? { units: runData.time.units, calendar: runData.time.calendar } : null);
  if (times && !units) throw new DataError('bad-option', 'generate: frame times were given, but neither they nor the run have time units');
  const parts: TimeParts[] | null = times ? decodeTimeParts({ ...units!, attrs: {}, values: times }) : null;
  if ((dateKind !== 'none' || needsMonths(stats)) && !parts) throw new DataError('bad-option', 'generate: the model needs the date of every sample (it is conditioned on the date or normalised by monthly climatology)');
  // month positions (floor: the month of a monthly climatology; continuous for the seasonal cycle)
  const months = (i: number): number[] | null => (parts && needsMonths(stats) ? parts.slice(i * frames, (i + 1) * frames).map((p) => monthPosition(p, calendar)) : null);
  const block = { channels: C, frames, height: H, width: W };

  // tensors that outlive the sampler's scopes (the observations, the physical map), freed when generation ends
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => { owned.push(t.keep()); return t; };
  try {
    return torch.scope(() => generateIn(m, o, { n, frames, steps, sampler, samplerOptions, device, precision, shape, size, dateKind, calendar, times, parts, months, block, own }));
  } finally {
    for (const t of owned) t.dispose();
  }
}

interface Resolved {
  n: number; frames: number; steps: number; sampler: ReturnType<typeof samplerByName>; samplerOptions: ReturnType<typeof samplerSettings>;
  device: string; precision: Precision;
  shape: [number, number, number, number, number]; size: number; dateKind: DateFeatureKind; calendar: string;
  times: Float64Array | null; parts: TimeParts[] | null; months: (i: number) => number[] | null; block: Block;
  own: <T extends Tensor>(t: T) => T;
}

function generateIn(m: GenerationModel, o: GenerateOptions, r: Resolved): GenerateResult {
  const { model, schedule, stats, runData } = m;
  const { n, frames, steps, sampler, samplerOptions, device, precision, shape, size, dateKind, calendar, times, parts, months, block, own } = r;
  const cond = m.statics ? m.statics.to(device).unsqueeze(0).expand([n, ...m.statics.shape]) : undefined;
  const D = dateFeatureCount(dateKind);
  const date = D > 0
    ? torch.tensor(Float32Array.from({ length: n * D }, (_, k) => dateFeatures(parts![Math.floor(k / D) * frames]!, dateKind, calendar)[k % D]!), [n, D]).to(device)
    : undefined;
  const latent = latentOf(model.latentDim, n, o, device);
  const nfe: NetworkEvaluations = { forward: 0, backward: 0 };
  const net = withPrecision(asDenoiser(model, { cond, date, latent }), precision, device);
  const counted: Denoiser = denoiser(net.parameterisation, (z, l, c) => {
    nfe.forward++;
    if (torch.isGradEnabled()) nfe.backward++; // guidance evaluates the model with a graph, then runs backward once
    return net(z, l, c);
  });
  let den: Denoiser = counted;
  let latentHook: ((z: Tensor, l: Tensor) => Tensor) | undefined;
  const generator = o.generator ?? Array.from({ length: n }, (_, i) => new torch.Generator({ seed: exampleSeed(o.seed ?? 0, i) }));
  const ob = o.observation;
  if (ob) {
    const g = o.guidance ?? { method: 'reconstruction+replacement', weight: 1 };
    if (!GUIDANCE_METHODS.includes(g.method)) throw new DataError('bad-option', `unknown guidance '${String(g.method)}' (valid: ${GUIDANCE_METHODS.join(', ')})`);
    if (!(Number.isFinite(g.weight) && g.weight >= 0)) throw new DataError('bad-option', `the guidance weight must be a finite number >= 0, got ${String(g.weight)}`);
    // weight 0 is the unguided prediction exactly (guidance.test.ts): no gradient is computed, so a run at w_r = 0
    // costs what unguided sampling costs
    if (ob.kind === 'values') {
      const known = checkKnown(ob, n * size);
      const { observed, mask } = modelSpaceObservations(m, ob, known, n, block, months, device, own);
      const useGrad = g.method !== 'replacement' && g.weight > 0;
      if (useGrad) {
        const observationVariance = errorVarianceTensor(m, ob.errorVariance, block, device, own);
        den = reconstructionGuidance(counted, { observed, mask, weight: g.weight, ...(observationVariance ? { observationVariance } : {}) });
      }
      if (g.method !== 'reconstruction') latentHook = replacementHook({ observed, mask, generator });
    } else {
      if (g.method !== 'reconstruction') throw new DataError('bad-option', `linear observations (downscaling) take reconstruction guidance only, got '${g.method}'`);
      const affine = physicalMap(m, n, block, months, device, own);
      const perElement = ob.scale instanceof Float32Array;
      if (ob.yShape[0] !== n || ob.yShape[1] !== block.channels || (perElement ? ob.scale.length !== ob.y.length : ob.scale.length !== block.channels)) {
        throw new DataError('bad-shape', `generate: linear observations must be shaped [${n}, ${block.channels}, ...] with one scale per channel or per element of y, got [${ob.yShape.join(', ')}] and ${ob.scale.length} scale(s)`);
      }
      for (const v of ob.scale) if (!(Number.isFinite(v) && v > 0)) throw new DataError('bad-value', `generate: every scale of a linear observation must be finite and > 0, got ${v}`);
      const scale = own((perElement ? torch.tensor(ob.scale as Float32Array, ob.yShape) : torch.tensor(Array.from(ob.scale), [1, block.channels, ...ob.yShape.slice(2).map(() => 1)])).to(device));
      const y = own(torch.tensor(ob.y, ob.yShape).to(device).div(scale));
      if (g.weight > 0) den = observationGuidance(counted, { y, A: (x) => ob.operator(affine(x)).div(scale), weight: g.weight });
    }
  }
  const transformCounts: InverseCounts[] = model.config.learnedTransforms.map(() => ({ below: 0, above: 0, total: 0 }));
  const normalised = torch.noGrad(() => {
    const x = sampler(den, schedule, shape, {
      steps, ...samplerOptions, generator, device, ...(latentHook ? { latentHook } : {}),
      ...(o.onStep ? { onStep: (i: { step: number; steps: number }) => o.onStep!(i.step, i.steps) } : {}),
    }).x;
    // learned transforms: back from [-1, 1] to u = x / std, by the exact inverse
    return model.decode(x, transformCounts).to('cpu').toFloat32Array();
  });
  const out = new Float32Array(normalised.length);
  const counts: ClampCounts = { below: [], total: [] };
  for (let i = 0; i < n; i++) {
    out.set(denormalise(stats, normalised.subarray(i * size, (i + 1) * size), null, block, months(i), counts), i * size);
  }
  const clamped = runData.variables.map((variable, c): ClampReport => {
    const k = model.config.learnedTransforms.findIndex((t) => t.channel === c);
    const tc = k >= 0 ? transformCounts[k]! : { below: 0, above: 0 };
    return { variable, below: tc.below + (counts.below[c] ?? 0), above: tc.above, total: counts.total[c] ?? 0 };
  });
  return { data: out, shape, times, clamped, nfe, precision };
}

/** The latent w [n, d] of a representation model (given, or drawn from the prior); undefined for other models. */
function latentOf(d: number, n: number, o: GenerateOptions, device: string): Tensor | undefined {
  if (d === 0) {
    if (o.latent) throw new DataError('bad-option', 'generate: a latent w was given, but the model has no representation (trained without --representation)');
    return undefined;
  }
  if (o.latent) {
    if (o.latent.length !== n * d) throw new DataError('bad-shape', `generate: the latent must hold n x d = ${n} x ${d} values, got ${o.latent.length}`);
    if (!o.latent.every(Number.isFinite)) throw new DataError('bad-value', 'generate: the latent has non-finite values');
    return torch.tensor(o.latent, [n, d]).to(device);
  }
  // the prior, each sample from a stream of its own (not the sampler's noise stream)
  const rows = Array.from({ length: n }, (_, i) => torch.randn([1, d], { generator: new torch.Generator({ seed: exampleSeed(exampleSeed(o.seed ?? 0, i), LATENT_STREAM) }) }));
  return torch.cat(rows, 0).to(device);
}

/** The key of the latent's random stream (exampleSeed). */
const LATENT_STREAM = 0x1a7e;

function checkKnown(ob: { values: Float32Array; known: Uint8Array }, total: number): Uint8Array {
  if (ob.values.length !== total || ob.known.length !== total) throw new DataError('bad-shape', `generate: known values and mask must have ${total} entries (n x C x F x H x W), got ${ob.values.length} and ${ob.known.length}`);
  let k = 0;
  for (let i = 0; i < total; i++) {
    if (!ob.known[i]) continue;
    if (!Number.isFinite(ob.values[i]!)) throw new DataError('bad-value', `generate: known value ${i} is not finite`);
    k++;
  }
  if (k === 0) throw new DataError('bad-option', 'generate: the mask marks nothing as known (nothing to condition on)');
  if (k === total) throw new DataError('bad-option', 'generate: the mask marks everything as known (nothing to generate)');
  return ob.known;
}

type Block = { channels: number; frames: number; height: number; width: number };

/** Known physical values in the model's space: normalised (with each frame's month), then the learned transforms. */
function modelSpaceObservations(m: GenerationModel, ob: { values: Float32Array }, known: Uint8Array, n: number, block: Block,
  months: (i: number) => number[] | null, device: string, own: <T extends Tensor>(t: T) => T): { observed: Tensor; mask: Tensor } {
  const size = block.channels * block.frames * block.height * block.width;
  const values = new Float32Array(n * size);
  const unknown = known.map((k) => (k ? 0 : 1));
  for (let i = 0; i < n; i++) {
    values.set(normalise(m.stats, ob.values.subarray(i * size, (i + 1) * size), unknown.subarray(i * size, (i + 1) * size), block, months(i)), i * size);
  }
  const shape = [n, block.channels, block.frames, block.height, block.width];
  const mask = own(torch.tensor(known, shape).to('bool').to(device));
  const observed = own(torch.noGrad(() => m.model.encode(torch.tensor(values, shape).to(device), mask).x));
  return { observed, mask };
}

/** Observation-error variances per channel (physical units^2) as a model-space tensor [1, C, 1, 1, 1]: s^2 / std^2. */
function errorVarianceTensor(m: GenerationModel, v: number[] | undefined, block: Block, device: string, own: <T extends Tensor>(t: T) => T): Tensor | null {
  if (!v || v.every((x) => x === 0)) return null;
  if (v.length !== block.channels) throw new DataError('bad-option', `an observation-error variance per channel is needed (${block.channels}), got ${v.length}`);
  const scaled = v.map((s2, c) => {
    const ch = m.stats.channels[c]!;
    if (!(Number.isFinite(s2) && s2 >= 0)) throw new DataError('bad-option', `observation-error variance of ${ch.name} must be a finite number >= 0, got ${s2}`);
    if (s2 > 0 && ch.transform !== 'none') throw new DataError('bad-option', `an observation-error variance for ${ch.name} needs a channel without a value transform (it has '${ch.transform}')`);
    return s2 / (ch.std * ch.std);
  });
  return own(torch.tensor(scaled, [1, block.channels, 1, 1, 1]).to(device));
}

/**
 * The differentiable map from the model's space to physical units, for observation operators defined on physical
 * fields: the learned transforms' inverse (UNet3D.decodeDifferentiable), then x = t^-1(y std + m) with the month's
 * climatology or the constant mean, t^-1 the square for 'sqrt' channels (of max(., 0)).
 */
export function physicalMap(m: GenerationModel, n: number, block: Block, months: (i: number) => number[] | null, device: string,
  own: <T extends Tensor>(t: T) => T = (t) => t.keep()): (x: Tensor) => Tensor {
  const { channels: C, frames: F, height: H, width: W } = block;
  const HW = H * W;
  const mean = new Float32Array(n * C * F * HW);
  for (let i = 0; i < n; i++) {
    const mi = months(i);
    for (let c = 0; c < C; c++) {
      const ch = m.stats.channels[c]!;
      for (let f = 0; f < F; f++) {
        const base = ((i * C + c) * F + f) * HW;
        if (ch.kind === 'climatology') mean.set(ch.climatology!.slice(Math.floor(mi![f]!) * HW, (Math.floor(mi![f]!) + 1) * HW), base);
        else if (ch.kind === 'seasonal') mean.set(seasonalMean(ch.seasonal!, seasonalBasis(mi![f]!), HW), base);
        else mean.fill(ch.mean, base, base + HW);
      }
    }
  }
  const meanT = own(torch.tensor(mean, [n, C, F, H, W]).to(device));
  const stdT = own(torch.tensor(m.stats.channels.map((c) => c.std), [1, C, 1, 1, 1]).to(device));
  const sqrt = m.stats.channels.map((c) => c.transform === 'sqrt');
  return (x: Tensor) => {
    const t = m.model.decodeDifferentiable(x).mul(stdT).add(meanT);
    if (!sqrt.some(Boolean)) return t;
    return torch.stack(t.unbind(1).map((ch, c) => (sqrt[c] ? ch.relu().square() : ch)), 1);
  };
}

export { SAMPLER_NAMES, type SamplerName };
