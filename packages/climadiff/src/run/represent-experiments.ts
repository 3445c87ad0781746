// The experiments of `climadiff embed-eval` (run/represent-eval.ts): the ELBO with and without w, samples given w(x)
// against samples given prior draws, analogue forecasts in w and in PCA space, and the randomly initialised encoder
// the probes compare against.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { ClipSource } from '../data/clip-source.js';
import { isPrecipitationLike } from '../data/normalise.js';
import { decodeTimeParts } from '../data/time-parts.js';
import { asDenoiser } from '../models/index.js';
import { LatentEncoder, gaussianKl, sampleLatent, type Posterior } from '../models/encoder.js';
import { elbo } from '../diffusion/likelihood.js';
import { sourceTime, windowTimes } from '../tasks/cases.js';
import { encodeWindows, normalisedWindow, windowDateFeatures, type Embeddings } from '../tasks/embed.js';
import { generate } from '../tasks/generate.js';
import type { GenerationModel } from '../tasks/model.js';
import { nearestNeighbours, patternCorrelation, seasonOf, weightedRmse } from '../eval/analogues.js';
import { bootstrapCI } from '../eval/probes.js';
import { weatherDiagnostics } from '../eval/weather.js';
import { mulberry32 } from '../eval/random.js';
import { renderPanels } from '../viz/panels.js';
import { encodeGIF } from '../viz/render.js';
import { mean } from './represent-report.js';
import type { RepresentationEvalOptions } from './represent-eval.js';

/** A set of windows of the evaluation: embeddings, the normalised and physical frames, the months. */
export interface Windows {
  emb: Embeddings;
  /** Normalised first F frames [C*F*H*W] per window (PCA features). */
  norm: Float32Array[];
  /** Physical next F frames per window (analogue forecasts). */
  next: Float32Array[];
  /** Physical first F frames (test windows only: samples are compared with them). */
  first: Float32Array[];
  /** Month (0-11) of every frame of the first F. */
  months: number[][];
}

export function monthsOf(source: ClipSource, start: number, frames: number): number[] {
  const t = sourceTime(source, 'the data');
  return decodeTimeParts({ ...t, values: windowTimes(t, start, frames) }).map((p) => p.month - 1);
}

export function concatEmbeddings(a: Embeddings, b: Embeddings): Embeddings {
  const cat = (x: Float32Array, y: Float32Array): Float32Array => { const o = new Float32Array(x.length + y.length); o.set(x); o.set(y, x.length); return o; };
  const t = new Float64Array(a.n + b.n); t.set(a.times); t.set(b.times, a.n);
  return { ...a, n: a.n + b.n, mean: cat(a.mean, b.mean), logvar: cat(a.logvar, b.logvar), starts: [...a.starts, ...b.starts], times: t, months: [...a.months, ...b.months] };
}

/** Posterior means of a randomly initialised encoder of the model's architecture (its head drawn too: PyTorch's Linear init). */
export async function randomEncoderFeatures(m: GenerationModel, source: ClipSource, trainStarts: number[], testStarts: number[], seed: number, where: string): Promise<{ train: Float32Array[]; test: Float32Array[] }> {
  const c = m.model.config, rep = c.representation!;
  torch.manualSeed(seed + 1);
  const enc = new LatentEncoder(rep, c.inChannels + c.condChannels, c.groups, c.boundary);
  torch.noGrad(() => {
    const fan = enc.head.weight.shape[1]!, bound = 1 / Math.sqrt(fan);
    enc.head.weight.copy_(torch.rand(enc.head.weight.shape).mul(2 * bound).sub(bound));
    enc.head.bias!.copy_(torch.rand(enc.head.bias!.shape).mul(2 * bound).sub(bound));
  });
  enc.eval();
  const posterior = (x: Tensor, cond: Tensor | null): Posterior => enc.forward(x, c.condChannels > 0 ? cond : null);
  const d = rep.dim;
  const rowsOf = (e: Embeddings): Float32Array[] => Array.from({ length: e.n }, (_, i) => e.mean.subarray(i * d, (i + 1) * d));
  return {
    train: rowsOf(await encodeWindows(m, source, trainStarts, { where, posterior })),
    test: rowsOf(await encodeWindows(m, source, testStarts, { where, posterior })),
  };
}

export interface ElboComparison {
  windows: number;
  binWidth: number;
  quadratureSteps: number;
  /** Bits per dimension with w: E_q[L_VDM(x, w)] (one w ~ q per window) + KL / (D ln 2). */
  withW: { mean: number; low: number; high: number };
  /** The KL part of withW, in bits per dimension. */
  klBpd: number;
  /** The unconditional model's, and the paired difference withW - without (negative: w helps). */
  without: { mean: number; low: number; high: number } | null;
  difference: { mean: number; low: number; high: number } | null;
}

export async function elboComparison(m: GenerationModel, base: GenerationModel | null, source: ClipSource, testStarts: number[], o: RepresentationEvalOptions,
  onProgress: (done: number, total: number) => void): Promise<ElboComparison> {
  const n = Math.min(o.elboWindows ?? 32, testStarts.length);
  const pick = Array.from({ length: n }, (_, i) => testStarts[Math.floor((i * testStarts.length) / n)]!);
  const steps = o.elboSteps ?? 16, binWidth = o.binWidth ?? 1 / 256;
  const F = m.runData.frames, C = m.runData.variables.length, H = m.runData.height, W = m.runData.width;
  const withW: number[] = [], without: number[] = [];
  let klBits = 0;
  const batch = 4;
  for (let b0 = 0; b0 < n; b0 += batch) {
    const part = pick.slice(b0, b0 + batch);
    const windows = await Promise.all(part.map((s) => normalisedWindow(m, source, s, F)));
    const baseWindows = base ? await Promise.all(part.map((s) => normalisedWindow(base, source, s, F))) : null;
    torch.scope(() => torch.noGrad(() => {
      const stack = (ws: { data: Float32Array }[]): Tensor => torch.cat(ws.map((w) => torch.tensor(w.data, [1, C, F, H, W])), 0);
      const observed = torch.cat(windows.map((w) => torch.tensor(w.missing, [1, C, F, H, W])), 0).eq(0);
      const gen = new torch.Generator({ seed: BigInt((o.seed ?? 0) * 7919 + b0) });
      const cond = m.statics ? m.statics.unsqueeze(0).expand([part.length, ...m.statics.shape]) : undefined;
      const x = m.model.encode(stack(windows), observed).x;
      const q = m.model.posterior(x, cond ?? null);
      const w = sampleLatent(q, { generator: gen });
      const D = observed.reshape([part.length, -1]).sum([1]).to('float32');
      const kl = gaussianKl(q).div(D.mul(Math.LN2));
      const date = dateTensor(m, source, part);
      const r = elbo(asDenoiser(m.model, { cond, latent: w, date }), x, m.schedule, { method: 'quadrature', steps, samples: 1, generator: gen, mask: observed, binWidth });
      withW.push(...r.bpd.add(kl).toFloat32Array());
      klBits += kl.sum().item();
      if (base && baseWindows) {
        const bcond = base.statics ? base.statics.unsqueeze(0).expand([part.length, ...base.statics.shape]) : undefined;
        const bx = base.model.encode(stack(baseWindows), observed).x;
        const rb = elbo(asDenoiser(base.model, { cond: bcond, date: dateTensor(base, source, part) }), bx, base.schedule, { method: 'quadrature', steps, samples: 1, generator: new torch.Generator({ seed: BigInt((o.seed ?? 0) * 7919 + b0) }), mask: observed, binWidth });
        without.push(...rb.bpd.toFloat32Array());
      }
    }));
    onProgress(Math.min(b0 + batch, n), n);
  }
  const ci = (v: number[]) => { const r = bootstrapCI(v.length, (idx) => mean(idx.map((i) => v[i]!)), { seed: o.seed ?? 0 }); return { mean: r.estimate, low: r.low, high: r.high }; };
  return {
    windows: n, binWidth, quadratureSteps: steps, withW: ci(withW), klBpd: klBits / n,
    without: base ? ci(without) : null, difference: base ? ci(withW.map((v, i) => v - without[i]!)) : null,
  };
}

/** The date features [B, D] of windows (undefined for a model without date input). */
export function dateTensor(m: GenerationModel, source: ClipSource, starts: number[]): Tensor | undefined {
  const rows = starts.map((s) => windowDateFeatures(m, source, s));
  if (rows[0] === null) return undefined;
  return torch.cat(rows.map((r) => torch.tensor(r!, [1, r!.length])), 0);
}

export interface LikeResult {
  clips: number;
  members: number;
  /** The clips [K, C, F, H, W] and samples [K * members, C, F, H, W] given w(x) and given prior draws (physical). */
  truth: Float32Array;
  conditional: Float32Array;
  unconditional: Float32Array;
  summary: {
    sampler: string; steps: number;
    perVariable: { variable: string; rmse: { conditional: number; unconditional: number; difference: { mean: number; low: number; high: number } };
      correlation: { conditional: number; unconditional: number; difference: { mean: number; low: number; high: number } };
      msc1: { conditional: number; unconditional: number }; varianceR2: { conditional: number; unconditional: number } }[];
  };
}

export function sampleComparison(m: GenerationModel, testW: Windows, testStarts: number[], source: ClipSource,
  h: { clipMean: (x: Float32Array, c: number) => Float64Array; clipAnomaly: (x: Float32Array, months: number[], c: number) => Float64Array; area: Float64Array },
  o: RepresentationEvalOptions, onProgress: (done: number, total: number) => void): LikeResult {
  const K = Math.min(o.likeClips ?? 8, testStarts.length), M = o.members ?? 2;
  const idx = Array.from({ length: K }, (_, i) => Math.floor((i * testStarts.length) / K));
  const F = m.runData.frames, C = m.runData.variables.length, HW = m.runData.height * m.runData.width, size = C * F * HW, d = m.model.latentDim;
  const time = sourceTime(source, 'the data');
  const times = Float64Array.from({ length: K * M * F }, (_, k) => windowTimes(time, testStarts[idx[Math.floor(k / (M * F))]!]!, F)[k % F]!);
  const latent = Float32Array.from({ length: K * M * d }, (_, k) => testW.emb.mean[idx[Math.floor(k / (M * d))]! * d + (k % d)]!);
  const sampler = o.sampler ?? 'ddim', steps = o.steps ?? 50;
  const common = { n: K * M, frames: F, times, timeUnits: { units: time.units, calendar: testW.emb.timeUnits.calendar }, steps, sampler, seed: o.seed ?? 0 };
  let done = 0;
  const step = () => onProgress(++done, 2 * steps);
  const cond = generate(m, { ...common, latent, onStep: step }).data;
  const uncond = generate(m, { ...common, onStep: step }).data;
  const truth = new Float32Array(K * size);
  idx.forEach((i, k) => truth.set(testW.first[i]!, k * size));
  const perVariable = m.runData.variables.map((variable, c) => {
    const score = (samples: Float32Array) => idx.map((i, k) => {
      const x = testW.first[i]!, months = testW.months[i]!;
      const xm = h.clipMean(x, c), xa = h.clipAnomaly(x, months, c);
      let r = 0, a = 0;
      for (let j = 0; j < M; j++) {
        const s = samples.subarray((k * M + j) * size, (k * M + j + 1) * size);
        r += weightedRmse(h.clipMean(s, c), xm, h.area) / M;
        a += patternCorrelation(h.clipAnomaly(s, months, c), xa, h.area) / M;
      }
      return { rmse: r, corr: a };
    });
    const sc = score(cond), su = score(uncond);
    const paired = (f: (k: number) => number) => { const r = bootstrapCI(K, (ix) => mean(ix.map(f)), { seed: o.seed ?? 0 }); return { mean: r.estimate, low: r.low, high: r.high }; };
    const channel = (data: Float32Array, n: number): Float32Array => {
      const out = new Float32Array(n * F * HW);
      for (let i = 0; i < n; i++) out.set(data.subarray(i * size + c * F * HW, i * size + (c + 1) * F * HW), i * F * HW);
      return out;
    };
    const ref = { data: channel(truth, K), shape: [K, F, m.runData.height, m.runData.width] as const };
    const diag = (data: Float32Array) => weatherDiagnostics({ data: channel(data, K * M), shape: [K * M, F, m.runData.height, m.runData.width] as const }, ref, { maxK: Math.min(1, F - 1) });
    const dc = diag(cond), du = diag(uncond);
    return {
      variable,
      rmse: { conditional: mean(sc.map((s) => s.rmse)), unconditional: mean(su.map((s) => s.rmse)), difference: paired((k) => sc[k]!.rmse - su[k]!.rmse) },
      correlation: { conditional: mean(sc.map((s) => s.corr)), unconditional: mean(su.map((s) => s.corr)), difference: paired((k) => sc[k]!.corr - su[k]!.corr) },
      msc1: { conditional: dc.msc.ratio[0]!, unconditional: du.msc.ratio[0]! }, varianceR2: { conditional: dc.varianceMap.r2, unconditional: du.varianceMap.r2 },
    };
  });
  return { clips: K, members: M, truth, conditional: cond, unconditional: uncond, summary: { sampler, steps, perVariable } };
}

export function likeGIF(m: GenerationModel, like: LikeResult, channel: number, variable: string): Uint8Array {
  const K = Math.min(4, like.clips), M = like.members, C = m.runData.variables.length, F = m.runData.frames, size = C * F * m.runData.height * m.runData.width;
  const firstMember = (data: Float32Array): Float32Array => { const out = new Float32Array(K * size); for (let k = 0; k < K; k++) out.set(data.subarray(k * M * size, (k * M + 1) * size), k * size); return out; };
  const units = m.runData.units[channel] ?? undefined;
  const precip = isPrecipitationLike(variable, units);
  const anim = renderPanels({
    rows: [
      { data: like.truth.subarray(0, K * size), count: K, channels: C, channel, label: 'held-out clips x' },
      { data: firstMember(like.conditional), count: K, channels: C, channel, label: 'samples given w = E_q[w|x]' },
      { data: firstMember(like.unconditional), count: K, channels: C, channel, label: 'samples given w ~ N(0, I)' },
    ],
    height: m.runData.height, width: m.runData.width, frames: F, ...(m.runData.lat ? { lat: m.runData.lat } : {}), ...(m.runData.lon ? { lon: m.runData.lon } : {}),
    title: `${variable}: held-out clips and samples like them`, ...(units ? { units } : {}), labels: Array.from({ length: F }, (_, f) => `frame ${f + 1}/${F}`),
    ...(precip ? { colormap: 'rain' as const, vmin: 0 } : {}),
  });
  return encodeGIF(anim, { delayMs: 300 });
}

export interface AnalogueResult {
  variable: string;
  /** Mean over test windows of the area-weighted RMSE of the next F frames (physical units). */
  w: number;
  pca: number;
  randomSameSeason: number;
  /** Mean ratio w / random same-season analogue (paired over test windows, bootstrap CI). */
  ratio: { mean: number; low: number; high: number };
}

export function analogueForecasts(trainW: Windows, testW: Windows, pca: { train: number[][]; test: number[][] }, m: GenerationModel, area: Float64Array, seed: number): AnalogueResult[] {
  const d = m.model.latentDim, F = m.runData.frames, HW = m.runData.height * m.runData.width;
  const nn = nearestNeighbours(testW.emb.mean, trainW.emb.mean, d, 1);
  const flat = (r: number[][]): Float64Array => Float64Array.from(r.flat());
  const nnPca = nearestNeighbours(flat(pca.test), flat(pca.train), pca.test[0]!.length, 1);
  const seasons = trainW.emb.months.map(seasonOf);
  const bySeason = [0, 1, 2, 3].map((s) => seasons.flatMap((v, i) => (v === s ? [i] : [])));
  const rand = mulberry32(seed + 17);
  const R = 20;
  const picks = testW.emb.months.map((mo) => { const pool = bySeason[seasonOf(mo)]!; return Array.from({ length: R }, () => pool[Math.floor(rand() * pool.length)]!); });
  const weights = Float64Array.from({ length: F * HW }, (_, k) => area[k % HW]!);
  return m.runData.variables.map((variable, c) => {
    const err = (forecast: Float32Array, truth: Float32Array): number => weightedRmse(forecast.subarray(c * F * HW, (c + 1) * F * HW), truth.subarray(c * F * HW, (c + 1) * F * HW), weights);
    const ew = testW.next.map((t, q) => err(trainW.next[nn.index[q]!]!, t));
    const ep = testW.next.map((t, q) => err(trainW.next[nnPca.index[q]!]!, t));
    const er = testW.next.map((t, q) => mean(picks[q]!.map((b) => err(trainW.next[b]!, t))));
    const r = bootstrapCI(ew.length, (ix) => mean(ix.map((i) => ew[i]!)) / mean(ix.map((i) => er[i]!)), { seed });
    return { variable, w: mean(ew), pca: mean(ep), randomSameSeason: mean(er), ratio: { mean: r.estimate, low: r.low, high: r.high } };
  });
}
