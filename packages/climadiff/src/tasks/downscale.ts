// Downscaling: coarse fields (block means by an integer factor K, area-weighted by cos(latitude) on geographic grids)
// to the model's grid, by observation guidance on the linear operator A = block mean (Ho et al. 2022's guidance for
// linear observations; diffusion/guidance.ts observationGuidance). The coarse input is either a file on the coarse
// grid or the block means of a file on the model's grid (whose fine fields are then the truth).
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { ClipSource } from '../data/clip-source.js';
import { coordinateCalendar } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import { blockMean } from '../eval/regrid.js';
import { frameStepOf, readWindow, sourceTime, windowTimes } from './cases.js';
import { oneShot, runCases, type CaseSpec, type Ensemble, type EnsembleOptions } from './ensemble.js';
import type { GenerationModel } from './model.js';
import { resolvePrecision } from '../models/index.js';

export interface DownscaleOptions extends EnsembleOptions {
  /** Source index of each window's first frame. */
  starts: number[];
  /** Integer block size K (the model's grid is K times finer in each direction). */
  factor: number;
}

/** Row weights of the block mean: cos(latitude) on geographic grids, else 1. */
export function blockRowWeights(lat: number[] | null, H: number): Float64Array {
  return Float64Array.from({ length: H }, (_, i) => (lat ? Math.max(0, Math.cos((lat[i]! * Math.PI) / 180)) : 1));
}

/** A = area-weighted block mean over K x K cells as a differentiable map [..., H, W] -> [..., H/K, W/K] (5-D input). */
export function blockMeanOperator(rowWeights: Float64Array, K: number): (x: Tensor) => Tensor {
  const H = rowWeights.length, h = H / K;
  const denom = Float32Array.from({ length: h }, (_, i) => { let s = 0; for (let r = i * K; r < (i + 1) * K; r++) s += rowWeights[r]!; return s * K; });
  const w = torch.tensor(Float32Array.from(rowWeights), [1, 1, 1, H, 1]).keep();
  const d = torch.tensor(denom, [1, 1, 1, h, 1]).keep();
  return (x: Tensor) => {
    const [n, C, F, , W] = x.shape as [number, number, number, number, number];
    return x.mul(w.to(x.device).to(x.dtype)).reshape([n, C, F, h, K, W / K, K]).sum([6]).sum([4]).div(d.to(x.device).to(x.dtype));
  };
}

/**
 * The residual scale of every observation (physical units per model-space unit near it), so that one guidance weight
 * means the same for every variable and every block. Untransformed channels: std. Square-root channels: 2 std sqrt(y_b)
 * with y_b the block's own mean (d(t^2)/dt at t = sqrt(y)); the linearised block mean J of the physical field then has
 * J J^T / s^2 = 1/K^2 in every block (uniform weights: sum_j (1/K^2)^2 4 std^2 y_j / (4 std^2 y_b) = 1/K^2), as for an
 * untransformed channel, however the rain is spread within the block. (One scale per channel, from the mean over all
 * blocks, gave a block the effective weight y_b / mean(y): the guidance overshot in heavy rain, with members at
 * 850 mm/h where the data's maximum is 16.) Blocks drier than 1% of the channel's mean take the scale of that floor.
 * Learned transforms: the observations' standard deviation. y is [n, C, ...]; one scale per element of y.
 */
export function residualScales(m: GenerationModel, y: Float32Array, n: number): Float32Array {
  const C = m.stats.channels.length;
  const per = y.length / (n * C);
  const out = new Float32Array(y.length);
  m.stats.channels.forEach((ch, c) => {
    let s = 0, s2 = 0, k = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) {
      const v = y[(i * C + c) * per + j]!;
      if (Number.isFinite(v)) { s += v; s2 += v * v; k++; }
    }
    const mean = k ? s / k : 0;
    const sd = k > 1 ? Math.sqrt(Math.max(0, s2 / k - mean * mean)) : 0;
    const floor = 0.01 * Math.max(mean, 0);
    for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) {
      const at = (i * C + c) * per + j;
      let scale = ch.transform === 'none' ? ch.std : ch.transform === 'sqrt' ? 2 * ch.std * Math.sqrt(Math.max(y[at]!, floor)) : sd;
      if (!(scale > 0) || !Number.isFinite(scale)) scale = ch.std;
      out[at] = scale;
    }
  });
  return out;
}

/** Block-mean mismatch of generated fields against the coarse input, per variable: RMS and RMS / spatial std of the input. */
export interface BlockMismatch { variable: string; rms: number; relative: number }

/**
 * Downscaling ensembles. `source` is on the model's grid (the truth; its block means are the input) or K times coarser
 * (the input itself; no truth). Guidance is reconstruction on A = block mean (default weight K^2: at high SNR
 * w A A^T = I, a projection onto A x = y). The block-mean mismatch of the members is measured before any projection.
 */
export async function downscale(m: GenerationModel, source: ClipSource, o: DownscaleOptions, where = 'the data'): Promise<Ensemble & { mismatch: BlockMismatch[] }> {
  const { runData } = m;
  const K = o.factor;
  const H = runData.height, W = runData.width, F = runData.frames, C = runData.variables.length;
  if (!Number.isInteger(K) || K < 2) throw new DataError('bad-option', `the downscaling factor must be an integer >= 2, got ${K}`);
  if (H % K !== 0 || W % K !== 0) throw new DataError('shape-mismatch', `the factor ${K} does not divide the model's ${H}x${W} grid`);
  const names = source.channels.map((c) => c.name);
  if (names.join(',') !== runData.variables.join(',')) throw new DataError('shape-mismatch', `${where} gives ${names.join(', ')}, but the model was trained on ${runData.variables.join(', ')}`);
  const fine = source.height === H && source.width === W;
  const h = H / K, w = W / K;
  if (!fine && (source.height !== h || source.width !== w)) {
    throw new DataError('shape-mismatch', `${where} is on a ${source.height}x${source.width} grid: neither the model's ${H}x${W} grid nor ${K} times coarser (${h}x${w})`);
  }
  const time = sourceTime(source, where);
  const timeUnits = { units: time.units, calendar: coordinateCalendar(time) };
  for (const s of o.starts) if (!Number.isInteger(s) || s < 0 || s + F > source.timeSteps) throw new DataError('bad-option', `a window of ${F} frames at frame ${s} does not fit in ${where} (${source.timeSteps} steps)`);
  const rowW = blockRowWeights(runData.lat, H);
  const N = o.starts.length, per = C * F * H * W, cper = C * F * h * w;
  const truth = fine ? new Float32Array(N * per) : null;
  const coarse = new Float32Array(N * cper);
  for (let i = 0; i < N; i++) {
    const win = await readWindow(source, o.starts[i]!, F);
    if (fine) {
      truth!.set(win, i * per);
      coarse.set(blockMean({ data: win, shape: [C, F, H, W] }, K, { latWeights: rowW }).data, i * cper);
    } else coarse.set(win, i * cper);
  }
  for (let j = 0; j < coarse.length; j++) if (!Number.isFinite(coarse[j]!)) throw new DataError('bad-value', `the coarse input has missing values (case ${Math.floor(j / cper)}); downscaling needs complete coarse fields`);
  const A = blockMeanOperator(rowW, K);
  const scale = residualScales(m, coarse, N);
  const cases: CaseSpec[] = o.starts.map((s, i) => ({
    times: windowTimes(time, s, F),
    observation: (M) => {
      const y = new Float32Array(M * cper);
      const s = new Float32Array(M * cper);
      for (let k = 0; k < M; k++) {
        y.set(coarse.subarray(i * cper, (i + 1) * cper), k * cper);
        s.set(scale.subarray(i * cper, (i + 1) * cper), k * cper);
      }
      return { kind: 'linear', y, yShape: [M, C, F, h, w], operator: A, scale: s };
    },
  }));
  const opts: EnsembleOptions = { ...o, guidance: o.guidance ?? { method: 'reconstruction', weight: K * K } };
  const r = await runCases(m, N, F, oneShot(m, cases, F, timeUnits, opts), opts);
  const M = o.members;
  // mismatch of every member's block means against its case's input
  const mismatch = runData.variables.map((variable, c): BlockMismatch => {
    let se = 0, k = 0, s = 0, s2 = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < F * h * w; j++) { const v = coarse[i * cper + c * F * h * w + j]!; s += v; s2 += v * v; }
      for (let e = 0; e < M; e++) {
        const member = r.data.subarray((e * N + i) * per, (e * N + i + 1) * per);
        const bm = blockMean({ data: member.slice(c * F * H * W, (c + 1) * F * H * W), shape: [F, H, W] }, K, { latWeights: rowW }).data;
        for (let j = 0; j < bm.length; j++) { const d = bm[j]! - coarse[i * cper + c * F * h * w + j]!; se += d * d; k++; }
      }
    }
    const cells = N * F * h * w;
    const sd = Math.sqrt(Math.max(0, s2 / cells - (s / cells) ** 2));
    const rms = Math.sqrt(se / k);
    return { variable, rms, relative: sd > 0 ? rms / sd : NaN };
  });
  const times = new Float64Array(N * F);
  cases.forEach((cs, i) => times.set(cs.times, i * F));
  return {
    task: 'downscale', variables: runData.variables, units: runData.units, data: r.data, shape: [M, N, C, F, H, W], truth, known: null,
    starts: o.starts, times, timeUnits, frameStep: frameStepOf(time), lat: runData.lat, lon: runData.lon, nfe: r.nfe, seconds: r.seconds, clamped: r.clamped,
    settings: { members: M, steps: o.steps ?? 256, sampler: o.sampler ?? 'ancestral', sampling: o.sampling ?? {}, guidance: opts.guidance, seed: o.seed ?? 0, batch: o.batch ?? 16,
      precision: resolvePrecision(o.precision, o.device ?? 'cpu'), factor: K, input: fine ? 'block means of the data' : 'coarse file',
      scale: m.stats.channels.map((ch, c) => (ch.transform === 'sqrt' ? '2 std sqrt(block mean)' : scale[c * F * h * w]!)) },
    mismatch,
  };
}
