// Forecast, interpolation and infilling: tasks that know some values of a window of frames and generate the rest,
// each building its known part (mask and values) and calling the shared ensemble runner (tasks/ensemble.ts) with
// reconstruction guidance, replacement, or both (001 sec. 2.7.8; Ho et al. 2022).
import type { ClipSource } from '../data/clip-source.js';
import { coordinateCalendar } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import { permutation } from '../eval/random.js';
import { generate } from './generate.js';
import { checkSourceMatchesModel, frameStepOf, readWindow, sourceTime, windowTimes } from './cases.js';
import { oneShot, repeatMembers, runCases, type BatchProducer, type CaseSpec, type Ensemble, type EnsembleOptions } from './ensemble.js';
import type { GenerationModel } from './model.js';
import { resolvePrecision } from '../models/index.js';

/** Shared set-up: the source checked against the model, its time axis and grid. */
function setUp(m: GenerationModel, source: ClipSource, where: string) {
  checkSourceMatchesModel(source, m.runData, where);
  const time = sourceTime(source, where);
  return { time, timeUnits: { units: time.units, calendar: coordinateCalendar(time) }, C: source.channels.length, HW: source.height * source.width };
}

function ensembleOf(m: GenerationModel, task: string, r: Awaited<ReturnType<typeof runCases>>, N: number, frames: number, truth: Float32Array, known: Uint8Array | null,
  starts: number[], times: Float64Array, timeUnits: { units: string; calendar: string }, frameStep: number, o: EnsembleOptions, settings: Record<string, unknown>): Ensemble {
  const { runData } = m;
  return {
    task, variables: runData.variables, units: runData.units, data: r.data,
    shape: [o.members, N, runData.variables.length, frames, runData.height, runData.width], truth, known, starts, times, timeUnits, frameStep,
    lat: runData.lat, lon: runData.lon, nfe: r.nfe, seconds: r.seconds, clamped: r.clamped,
    settings: { members: o.members, steps: o.steps ?? 256, sampler: o.sampler ?? 'ancestral', sampling: o.sampling ?? {}, guidance: o.guidance ?? null, seed: o.seed ?? 0, batch: o.batch ?? 16,
      precision: resolvePrecision(o.precision, o.device ?? 'cpu'), ...settings },
  };
}

// ------------------------------------------------------------------------------------------------
// Forecast

export interface ForecastOptions extends EnsembleOptions {
  /** Source index of each case's first forecast frame (lead 1). */
  starts: number[];
  /** Known frames before the start (k; default 4, less than the model's clip length). */
  known?: number;
  /** Frames to forecast (default: one window, F - k); longer leads roll the window forward. */
  leads?: number;
}

/**
 * Ensemble forecasts: k known frames, then the following frames. A lead beyond one window is reached by autoregressive
 * rollout: the window slides by F - k frames, conditioning each member on its own last k frames (known or generated).
 * The output holds the forecast frames only (lead 1 first); the truth is the file's frames there (NaN beyond its end).
 */
export async function forecast(m: GenerationModel, source: ClipSource, o: ForecastOptions, where = 'the data'): Promise<Ensemble> {
  const { time, timeUnits, C, HW } = setUp(m, source, where);
  const F = m.runData.frames;
  const k = o.known ?? Math.min(4, F - 1);
  if (!Number.isInteger(k) || k < 1 || k >= F) throw new DataError('bad-option', `known frames must be an integer in 1..${F - 1} (the model generates clips of ${F} frames), got ${k}`);
  const newPer = F - k;
  const L = o.leads ?? newPer;
  if (!Number.isInteger(L) || L < 1) throw new DataError('bad-option', `leads must be a positive integer, got ${L}`);
  for (const s of o.starts) if (!Number.isInteger(s) || s - k < 0 || s >= source.timeSteps + 1) throw new DataError('bad-option', `a forecast starting at frame ${s} needs its ${k} known frames inside the file (${source.timeSteps} steps)`);
  const N = o.starts.length, M = o.members;
  const past = await Promise.all(o.starts.map((s) => readWindow(source, s - k, k)));
  const truth = new Float32Array(N * C * L * HW);
  for (let i = 0; i < N; i++) truth.set(await readWindow(source, o.starts[i]!, L), i * C * L * HW);
  const windows = Math.ceil(L / newPer);
  const produce: BatchProducer = (batch, generators, onStep) => {
    const n = batch.length * M;
    const out = new Float32Array(n * C * L * HW);
    // each example's conditioning frames [C, k, H, W], physical
    let state = batch.flatMap((c) => Array.from({ length: M }, () => past[c]!));
    const nfe = { forward: 0, backward: 0 };
    const clamped = m.runData.variables.map((variable) => ({ variable, below: 0, above: 0, total: 0 }));
    for (let w = 0; w < windows; w++) {
      const values = new Float32Array(n * C * F * HW).fill(NaN), known = new Uint8Array(n * C * F * HW);
      const times = new Float64Array(n * F);
      for (let e = 0; e < n; e++) {
        const s = o.starts[batch[Math.floor(e / M)]!]!;
        times.set(windowTimes(time, s - k + w * newPer, F), e * F);
        for (let c = 0; c < C; c++) for (let f = 0; f < k; f++) {
          const src = (c * k + f) * HW, dst = ((e * C + c) * F + f) * HW;
          for (let j = 0; j < HW; j++) {
            const v = state[e]![src + j]!;
            if (Number.isFinite(v)) { values[dst + j] = v; known[dst + j] = 1; }
          }
        }
      }
      const r = generate(m, {
        n, frames: F, times, timeUnits, steps: o.steps ?? 256, sampler: o.sampler ?? 'ancestral', generator: generators,
        ...(o.sampling ? { sampling: o.sampling } : {}),
        observation: { kind: 'values', values, known }, ...(o.guidance ? { guidance: o.guidance } : {}),
        ...(o.precision ? { precision: o.precision } : {}), ...(o.device ? { device: o.device } : {}),
        onStep: (step, steps) => onStep(w * steps + step, windows * steps),
      });
      nfe.forward += r.nfe.forward; nfe.backward += r.nfe.backward;
      r.clamped.forEach((c, i) => { clamped[i]!.below += c.below; clamped[i]!.above += c.above; clamped[i]!.total += c.total; });
      const nextState: Float32Array[] = [];
      for (let e = 0; e < n; e++) {
        for (let c = 0; c < C; c++) for (let f = k; f < F; f++) {
          const lead = w * newPer + (f - k);
          if (lead >= L) break;
          const src = ((e * C + c) * F + f) * HW;
          out.set(r.data.subarray(src, src + HW), ((e * C + c) * L + lead) * HW);
        }
        // the last k frames of this window condition the next one
        const st = new Float32Array(C * k * HW);
        for (let c = 0; c < C; c++) st.set(r.data.subarray(((e * C + c) * F + F - k) * HW, ((e * C + c) * F + F) * HW), c * k * HW);
        nextState.push(st);
      }
      state = nextState;
    }
    return { data: out, nfe, clamped };
  };
  const r = await runCases(m, N, L, produce, o);
  const times = new Float64Array(N * L);
  o.starts.forEach((s, i) => times.set(windowTimes(time, s, L), i * L));
  return ensembleOf(m, 'forecast', r, N, L, truth, null, o.starts, times, timeUnits, frameStepOf(time), o, { known: k, leads: L, windows });
}

// ------------------------------------------------------------------------------------------------
// Interpolation and infilling: one window, a known mask

/** A task over windows [s, s + F) with a known mask per case (C x F x H x W, 1 = known). */
async function maskedTask(m: GenerationModel, source: ClipSource, task: string, starts: number[], o: EnsembleOptions & { errorVariance?: number[] },
  knownOf: (caseIndex: number, window: Float32Array) => Uint8Array, settings: Record<string, unknown>, where: string): Promise<Ensemble> {
  const { time, timeUnits, C, HW } = setUp(m, source, where);
  const F = m.runData.frames;
  const per = C * F * HW;
  for (const s of starts) if (!Number.isInteger(s) || s < 0 || s + F > source.timeSteps) throw new DataError('bad-option', `a window of ${F} frames at frame ${s} does not fit in ${where} (${source.timeSteps} steps)`);
  const N = starts.length;
  const truth = new Float32Array(N * per);
  const known = new Uint8Array(N * per);
  for (let i = 0; i < N; i++) {
    const win = await readWindow(source, starts[i]!, F);
    truth.set(win, i * per);
    const kn = knownOf(i, win);
    for (let j = 0; j < per; j++) if (kn[j] && !Number.isFinite(win[j]!)) kn[j] = 0; // missing values are never known
    let count = 0;
    for (let j = 0; j < per; j++) count += kn[j]!;
    if (count === 0) throw new DataError('bad-option', `${task}: case ${i} (frame ${starts[i]}) has no known value`);
    if (count === per) throw new DataError('bad-option', `${task}: the mask hides nothing in case ${i} (frame ${starts[i]}): there is nothing to generate`);
    known.set(kn, i * per);
  }
  const cases: CaseSpec[] = starts.map((s, i) => ({
    times: windowTimes(time, s, F),
    observation: (M) => {
      const kn = known.subarray(i * per, (i + 1) * per);
      const vals = truth.slice(i * per, (i + 1) * per).map((v, j) => (kn[j] ? v : NaN));
      return { kind: 'values', values: repeatMembers(vals, M), known: repeatMembers(kn.slice(), M), ...(o.errorVariance ? { errorVariance: o.errorVariance } : {}) };
    },
  }));
  const r = await runCases(m, N, F, oneShot(m, cases, F, timeUnits, o), o);
  const times = new Float64Array(N * F);
  cases.forEach((c, i) => times.set(c.times, i * F));
  return ensembleOf(m, task, r, N, F, truth, known, starts, times, timeUnits, frameStepOf(time), o, settings);
}

export interface InterpolateOptions extends EnsembleOptions {
  /** Source index of each window's first frame. */
  starts: number[];
  /** Every n-th frame of the window is known (0, n, 2n, ...), the others generated (default 2: the seed's experiment). */
  every?: number;
  /** Or the known frames of the window explicitly (0-based). */
  knownFrames?: number[];
}

/** Temporal interpolation: some frames of each window known (every n-th by default), the frames between generated. */
export async function interpolate(m: GenerationModel, source: ClipSource, o: InterpolateOptions, where = 'the data'): Promise<Ensemble> {
  const F = m.runData.frames;
  const every = o.every ?? 2;
  if (!o.knownFrames && (!Number.isInteger(every) || every < 2 || every >= F)) throw new DataError('bad-option', `every must be an integer in 2..${F - 1}, got ${every}`);
  const frames = o.knownFrames ?? Array.from({ length: Math.ceil(F / every) }, (_, i) => i * every);
  if (frames.length === 0 || frames.some((f) => !Number.isInteger(f) || f < 0 || f >= F)) throw new DataError('bad-option', `known frames must be integers in 0..${F - 1}, got ${frames.join(', ')}`);
  const C = m.runData.variables.length, HW = m.runData.height * m.runData.width;
  const mask = new Uint8Array(C * F * HW);
  for (let c = 0; c < C; c++) for (const f of frames) mask.fill(1, (c * F + f) * HW, (c * F + f + 1) * HW);
  return maskedTask(m, source, 'interpolate', o.starts, o, () => mask.slice(), { knownFrames: frames }, where);
}

/** Which cells an infill hides. */
export type InfillMask =
  /** The file's own missing values (generated where the file has none). */
  | { kind: 'missing' }
  /** A latitude-longitude box (degrees; lon ranges may cross the date line: from > to) hidden in every frame. */
  | { kind: 'box'; lat: [number, number]; lon: [number, number] }
  /** A random fraction of cells kept as "stations" (the same cells in every frame); the rest hidden. */
  | { kind: 'stations'; fraction: number; seed?: number };

export interface InfillOptions extends EnsembleOptions {
  starts: number[];
  mask: InfillMask;
  /** Observation-error variance per variable (physical units squared; stations with measurement error). */
  errorVariance?: number[];
}

/** The cells [H * W] an infill keeps (1) on the model's grid. */
export function infillCells(m: GenerationModel, mask: InfillMask): Uint8Array | null {
  const { height: H, width: W, lat, lon } = m.runData;
  if (mask.kind === 'missing') return null;
  const keep = new Uint8Array(H * W).fill(1);
  if (mask.kind === 'box') {
    if (!lat || !lon) throw new DataError('bad-option', 'a lat/lon box needs a model with latitude and longitude coordinates');
    const [la, lb] = mask.lat;
    const wrap = (x: number): number => ((x % 360) + 360) % 360;
    const [oa, ob] = mask.lon.map(wrap) as [number, number];
    const inLon = (x: number): boolean => (oa <= ob ? wrap(x) >= oa && wrap(x) <= ob : wrap(x) >= oa || wrap(x) <= ob);
    let hidden = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      if (lat[i]! >= Math.min(la, lb) && lat[i]! <= Math.max(la, lb) && inLon(lon[j]!)) { keep[i * W + j] = 0; hidden++; }
    }
    if (hidden === 0) throw new DataError('bad-option', `the box lat ${mask.lat.join('..')}, lon ${mask.lon.join('..')} holds no grid cell: the mask hides nothing`);
    return keep;
  }
  const p = mask.fraction;
  if (!(p > 0 && p < 1)) throw new DataError('bad-option', `the station fraction must be in (0, 1), got ${p}`);
  // a seeded permutation: exactly round(p * H * W) stations
  const order = permutation(H * W, mask.seed ?? 0);
  keep.fill(0);
  const count = Math.max(1, Math.round(p * H * W));
  for (let i = 0; i < count; i++) keep[order[i]!] = 1;
  return keep;
}

/** Infilling: hidden cells (a box, all but some stations, or the file's missing values) generated from the rest. */
export async function infill(m: GenerationModel, source: ClipSource, o: InfillOptions, where = 'the data'): Promise<Ensemble> {
  const cells = infillCells(m, o.mask);
  const C = m.runData.variables.length, F = m.runData.frames, HW = m.runData.height * m.runData.width;
  const knownOf = (_: number, win: Float32Array): Uint8Array => {
    const kn = new Uint8Array(C * F * HW);
    for (let q = 0; q < C * F; q++) for (let j = 0; j < HW; j++) kn[q * HW + j] = (cells ? cells[j]! : 1) && Number.isFinite(win[q * HW + j]!) ? 1 : 0;
    return kn;
  };
  return maskedTask(m, source, 'infill', o.starts, o, knownOf, { mask: o.mask, errorVariance: o.errorVariance ?? null }, where);
}

