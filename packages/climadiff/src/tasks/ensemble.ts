// Ensembles of a conditional task: M members for each of N cases, generated in batches of whole cases (every member
// of a case in the same batch), in physical units, with the truth and what the model was given kept beside them.
// Cases that are already done (a resumed run) are skipped; each finished case is reported as it completes.
import * as torch from '@climadiff/torch';
import type { Precision } from '../models/index.js';
import { DataError } from '../data/types.js';
import { exampleSeed } from '../diffusion/tensor-utils.js';
import type { SamplerSettings } from '../diffusion/samplers/registry.js';
import { generate, type Guidance, type NetworkEvaluations, type Observation, type SamplerName, type ClampReport } from './generate.js';
import type { GenerationModel } from './model.js';

export interface EnsembleOptions {
  /** Members per case (M). */
  members: number;
  steps?: number;
  sampler?: SamplerName;
  /** The sampler's grid and churn settings. */
  sampling?: SamplerSettings;
  guidance?: Guidance;
  seed?: number;
  /** Examples (members x cases) per network batch (default 16; at least one case's members). */
  batch?: number;
  precision?: Precision | 'auto';
  device?: string;
  /** Cases already done (by index): skipped, their members taken from here. */
  done?: Map<number, Float32Array>;
  /** After each finished case: its members [M, C, F, H, W]. */
  onCase?: (index: number, members: Float32Array) => void;
  /** Progress: cases finished, sampler step within the current batch. */
  onProgress?: (p: EnsembleProgress) => void;
  /** A graceful stop: checked between batches of cases; the finished cases have gone to onCase (EnsembleStopped). */
  signal?: AbortSignal;
  /**
   * Several processes sharing the cases (data-parallel generation): this one generates the pending cases k with
   * k mod count = rank and leaves the others' members zero (run/task-run.ts gathers every rank's cases).
   */
  share?: { rank: number; count: number };
}

/** Thrown when EnsembleOptions.signal stopped a run between batches: `done` of `cases` are finished (and reported). */
export class EnsembleStopped extends Error {
  override name = 'EnsembleStopped';
  constructor(readonly done: number, readonly cases: number, readonly reason: string) {
    super(`stopped (${reason}) after ${done} of ${cases} case(s)`);
  }
}

export interface EnsembleProgress { casesDone: number; cases: number; step: number; steps: number; batchCases: number }

/** An ensemble of a task, in physical units. */
export interface Ensemble {
  task: string;
  variables: string[];
  units: (string | null)[];
  /** Members [M, N, C, F, H, W]. */
  data: Float32Array;
  shape: [number, number, number, number, number, number];
  /** The truth [N, C, F, H, W] (NaN where unknown), when the data hold it. */
  truth: Float32Array | null;
  /** What the model was given [N, C, F, H, W] (1 = known), for tasks that condition on values. */
  known: Uint8Array | null;
  /** Source frame index of each case's first frame. */
  starts: number[];
  /** Time of every frame [N, F] in timeUnits. */
  times: Float64Array;
  timeUnits: { units: string; calendar: string };
  /** The data's time step between frames (timeUnits). */
  frameStep: number;
  lat: number[] | null;
  lon: number[] | null;
  /** Network evaluations and wall time of the cases generated in this call (not of resumed ones). */
  nfe: NetworkEvaluations;
  seconds: number;
  clamped: ClampReport[];
  /** The task's settings, recorded with the output. */
  settings: Record<string, unknown>;
}

/** One case: frame times, and how it conditions the model (the same for each of its members). */
export interface CaseSpec {
  times: Float64Array;
  /** The observation of the case, for M members (values repeated per member, or observations stacked). */
  observation: (members: number) => Observation;
}

/** What a batch of whole cases produced: members [cases x M, C, F, H, W], case-major. */
export interface BatchOutput { data: Float32Array; nfe: NetworkEvaluations; clamped: ClampReport[] }

/**
 * Produces the members of a batch of cases (indices into the task's cases), with one generator per example (case-major,
 * as the members); the default (oneShot) is one guided generation of the whole window; a forecast rolls windows
 * forward instead.
 */
export type BatchProducer = (batch: number[], generators: torch.Generator[], onStep: (step: number, steps: number) => void) => BatchOutput;

/** The default producer: each case's window generated at once, conditioned on its observation. */
export function oneShot(m: GenerationModel, cases: CaseSpec[], frames: number, timeUnits: { units: string; calendar: string }, o: EnsembleOptions): BatchProducer {
  const M = o.members;
  return (batch, generators, onStep) => {
    const n = batch.length * M;
    // examples are case-major: case batch[j], member i at j * M + i
    const times = new Float64Array(n * frames);
    batch.forEach((k, j) => { for (let i = 0; i < M; i++) times.set(cases[k]!.times, (j * M + i) * frames); });
    const observation = mergeObservations(batch.map((k) => cases[k]!.observation(M)));
    return generate(m, {
      n, frames, times, timeUnits, steps: o.steps ?? 256, sampler: o.sampler ?? 'ancestral', generator: generators,
      ...(o.sampling ? { sampling: o.sampling } : {}), ...(observation ? { observation } : {}), ...(o.guidance ? { guidance: o.guidance } : {}),
      ...(o.precision ? { precision: o.precision } : {}), ...(o.device ? { device: o.device } : {}), onStep,
    });
  };
}

/**
 * Runs N cases with M members each. Batches hold whole cases; member i of case k draws all its noise from its own
 * generator, seeded by (seed, k, i), so a member depends on the seed, its case and its index only: not on the batch
 * size, on the other cases of its batch, or on which cases were resumed (up to the rounding of batched arithmetic).
 * Returns the members [M, N, C, F, H, W].
 */
export async function runCases(m: GenerationModel, N: number, frames: number, produce: BatchProducer, o: EnsembleOptions): Promise<{
  data: Float32Array; nfe: NetworkEvaluations; seconds: number; clamped: ClampReport[];
}> {
  const M = o.members;
  if (!Number.isInteger(M) || M < 1) throw new DataError('bad-option', `members must be a positive integer, got ${String(M)}`);
  if (N === 0) throw new DataError('bad-option', 'no cases to run');
  const C = m.model.config.inChannels, H = m.runData.height, W = m.runData.width;
  const per = C * frames * H * W;
  const data = new Float32Array(M * N * per);
  const perCase = Math.max(1, Math.floor((o.batch ?? 16) / M));
  const nfe: NetworkEvaluations = { forward: 0, backward: 0 };
  const clamped: ClampReport[] = m.runData.variables.map((variable) => ({ variable, below: 0, above: 0, total: 0 }));
  const t0 = performance.now();
  // [M, N, ...] layout: member i of case k at ((i * N) + k) * per
  const place = (k: number, members: Float32Array): void => { for (let i = 0; i < M; i++) data.set(members.subarray(i * per, (i + 1) * per), (i * N + k) * per); };
  let finished = 0;
  const pending: number[] = [];
  for (let k = 0; k < N; k++) {
    const d = o.done?.get(k);
    if (!d) { if (!o.share || k % o.share.count === o.share.rank) pending.push(k); continue; }
    if (d.length !== M * per) throw new DataError('bad-resume', `the resumed case ${k} holds ${d.length} values, expected ${M * per}`);
    place(k, d);
    finished++;
  }
  for (let b = 0; b < pending.length; b += perCase) {
    // a turn of the event loop between batches, where a signal handler can ask for a stop
    if (o.signal) await new Promise<void>((resolve) => setImmediate(resolve));
    if (o.signal?.aborted) throw new EnsembleStopped(finished, N, String(o.signal.reason ?? 'aborted'));
    const batch = pending.slice(b, b + perCase);
    const generators = batch.flatMap((k) => Array.from({ length: M }, (_, i) => new torch.Generator({ seed: exampleSeed(o.seed ?? 0, k, i) })));
    const r = produce(batch, generators, (step, steps) => o.onProgress?.({ casesDone: finished, cases: N, step: step + 1, steps, batchCases: batch.length }));
    nfe.forward += r.nfe.forward; nfe.backward += r.nfe.backward;
    r.clamped.forEach((c, i) => { clamped[i]!.below += c.below; clamped[i]!.above += c.above; clamped[i]!.total += c.total; });
    batch.forEach((k, j) => {
      const members = r.data.slice(j * M * per, (j + 1) * M * per);
      place(k, members);
      finished++;
      o.onCase?.(k, members);
    });
  }
  return { data, nfe, seconds: (performance.now() - t0) / 1000, clamped };
}

/** One observation for a batch from one per case (each already shaped for that case's M members). */
export function mergeObservations(obs: Observation[]): Observation | null {
  if (obs.length === 0) return null;
  const first = obs[0]!;
  const concat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  if (first.kind === 'values') {
    const all = obs as Extract<Observation, { kind: 'values' }>[];
    const known = new Uint8Array(all.reduce((s, o) => s + o.known.length, 0));
    let at = 0;
    for (const o of all) { known.set(o.known, at); at += o.known.length; }
    return { kind: 'values', values: concat(all.map((o) => o.values)), known, ...(first.errorVariance ? { errorVariance: first.errorVariance } : {}) };
  }
  const all = obs as Extract<Observation, { kind: 'linear' }>[];
  const rows = all.reduce((s, o) => s + o.yShape[0]!, 0);
  const scale = first.scale instanceof Float32Array ? concat(all.map((o) => o.scale as Float32Array)) : first.scale;
  return { kind: 'linear', operator: first.operator, scale, y: concat(all.map((o) => o.y)), yShape: [rows, ...first.yShape.slice(1)] };
}

/** Repeats one case's block for M members. */
export function repeatMembers<T extends Float32Array | Uint8Array>(block: T, M: number): T {
  const out = new (block.constructor as new (n: number) => T)(block.length * M);
  for (let i = 0; i < M; i++) out.set(block, i * block.length);
  return out;
}
