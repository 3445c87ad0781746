// `climadiff embed-eval`: the acceptance report of a representation model (docs/representation.md). On the run's
// training windows (probes fitted, analogue bank) and held-out test windows (probes scored):
//  - posterior collapse: active units, KL per window;
//  - linear probes of season (balanced accuracy) and of the window's northern-hemisphere land temperature anomaly (R^2)
//    from w, from a d-component PCA of the normalised window and from a randomly initialised encoder, bootstrap CIs;
//  - the ELBO with w (E_q L_VDM + KL, seed 002 sec. 4) against an unconditional model's on the same windows;
//  - samples given w(x) against samples given w ~ N(0, I): clip-mean RMSE and anomaly correlation with x, diagnostics;
//  - analogue forecasts: the next frames of a test window from its nearest training window in w, against PCA analogues
//    and a random training window of the same season.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { DataError } from '../data/types.js';
import type { ClipSource } from '../data/clip-source.js';
import { openSelectedSource } from '../data/select-source.js';
import { isPrecipitationLike } from '../data/normalise.js';
import { decodeTimeParts } from '../data/time-parts.js';
import { asDenoiser } from '../models/index.js';
import { LatentEncoder, gaussianKl, sampleLatent, type Posterior } from '../models/encoder.js';
import { elbo } from '../diffusion/likelihood.js';
import { chooseStarts, readWindow, sourceTime, windowTimes } from '../tasks/cases.js';
import { encodeWindows, normalisedWindow, windowDateFeatures, type Embeddings } from '../tasks/embed.js';
import { generate, type SamplerName } from '../tasks/generate.js';
import type { GenerationModel } from '../tasks/model.js';
import { activeUnits, klPerExample, nearestNeighbours, patternCorrelation, seasonOf, weightedMean, weightedRmse, SEASONS } from '../eval/analogues.js';
import { probe, bootstrapCI, type ProbeResult } from '../eval/probes.js';
import { pcaFeatures } from '../eval/pca.js';
import { latitudeWeights } from '../eval/area.js';
import { weatherDiagnostics } from '../eval/weather.js';
import { mulberry32 } from '../eval/random.js';
import { renderPanels } from '../viz/panels.js';
import { encodeGIF } from '../viz/render.js';
import { loadSamplingModel } from './model-store.js';
import { runSource } from './sample-report.js';
import { embeddingPicture } from './embed-run.js';
import { fmt, mean, reportMarkdown } from './represent-report.js';

export interface RepresentationEvalOptions {
  /** The representation model (run folder, exported folder or builtin:NAME). */
  checkpoint: string;
  /** An unconditional model trained on the same data and normalisation, for the ELBO comparison. */
  baseline?: string;
  /** Report folder (refused when it exists). */
  out: string;
  /** The data file (default: the model's own data). */
  data?: string;
  /** Days between training windows (default 2) and between test windows (default 1). */
  trainEvery?: number;
  testEvery?: number;
  /** Test windows whose ELBO is estimated (default 32), quadrature nodes (16), bin width in normalised units (1/256). */
  elboWindows?: number;
  elboSteps?: number;
  binWidth?: number;
  /** Test clips sampled given w(x) and given prior draws (default 8), members each (2), sampler and steps (ddim, 50). */
  likeClips?: number;
  members?: number;
  sampler?: SamplerName;
  steps?: number;
  seed?: number;
  log?: (m: string) => void;
  onProgress?: (done: number, total: number, what: string) => void;
}

interface Windows {
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


export async function representationEval(o: RepresentationEvalOptions): Promise<{ files: string[]; summary: Record<string, unknown> }> {
  const log = o.log ?? (() => {});
  if (existsSync(o.out)) throw new DataError('output-exists', `refusing to overwrite the existing report folder '${o.out}' (choose another name)`);
  const m = loadSamplingModel(o.checkpoint);
  const d = m.model.latentDim;
  if (d === 0) throw new DataError('bad-option', `${o.checkpoint} has no representation (trained without --representation)`);
  const base = o.baseline ? loadSamplingModel(o.baseline) : null;
  if (base && base.model.latentDim > 0) throw new DataError('bad-option', `--baseline ${o.baseline} is a representation model; give the unconditional model trained on the same data`);
  if (base && (base.runData.variables.join(',') !== m.runData.variables.join(',') || base.runData.frames !== m.runData.frames)) {
    throw new DataError('shape-mismatch', `--baseline ${o.baseline} was trained on ${base.runData.variables.join(', ')} (${base.runData.frames} frames), the representation model on ${m.runData.variables.join(', ')} (${m.runData.frames})`);
  }
  if (base && JSON.stringify(base.stats.channels.map((c) => [c.name, c.kind, c.transform, c.mean, c.std])) !== JSON.stringify(m.stats.channels.map((c) => [c.name, c.kind, c.transform, c.mean, c.std]))) {
    throw new DataError('bad-option', `--baseline ${o.baseline} normalises the data differently from ${o.checkpoint}: their bits/dim are densities of different variables (train both on the same data and normalisation)`);
  }
  const where = o.data ?? "the model's data";
  const source = o.data ? await openSelectedSource(o.data, m.runData.variables, m.runData.selection, { log }) : await runSource(m.runData, log);
  const F = m.runData.frames, C = m.runData.variables.length, H = m.runData.height, W = m.runData.width, HW = H * W;
  const trainStarts = chooseStarts(source, m.runData, { everyDays: o.trainEvery ?? 2, split: 'train' }, 0, 2 * F, where);
  const testStarts = chooseStarts(source, m.runData, { everyDays: o.testEvery ?? 1, split: 'test' }, 0, 2 * F, where);
  log(`${trainStarts.length} training and ${testStarts.length} test windows of ${F} frames (and the ${F} after each, for analogue forecasts)`);
  const progress = (what: string) => (done: number, total: number) => o.onProgress?.(done, total, what);

  // physical windows, the climatology (month x cell, per variable) of the training windows
  const climSum = new Float64Array(C * 12 * HW), climN = new Float64Array(C * 12 * HW);
  const readAll = async (starts: number[], train: boolean, what: string): Promise<Omit<Windows, 'emb'>> => {
    const w: Omit<Windows, 'emb'> = { norm: [], next: [], first: [], months: [] };
    for (const [i, s] of starts.entries()) {
      const nw = await normalisedWindow(m, source, s, F);
      w.norm.push(nw.data);
      w.next.push(await readWindow(source, s + F, F));
      const months = monthsOf(source, s, F);
      w.months.push(months);
      if (train) {
        for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) {
          const off = (c * F + f) * HW, k = (c * 12 + months[f]!) * HW;
          for (let j = 0; j < HW; j++) { const v = nw.raw[off + j]!; if (Number.isFinite(v)) { climSum[k + j] = climSum[k + j]! + v; climN[k + j] = climN[k + j]! + 1; } }
        }
      } else w.first.push(nw.raw);
      progress(what)(i + 1, starts.length);
    }
    return w;
  };
  const trainW: Windows = { ...(await readAll(trainStarts, true, 'read training windows')), emb: await encodeWindows(m, source, trainStarts, { where, onProgress: progress('encode training windows') }) };
  const testW: Windows = { ...(await readAll(testStarts, false, 'read test windows')), emb: await encodeWindows(m, source, testStarts, { where, onProgress: progress('encode test windows') }) };
  const clim = Float32Array.from(climSum, (s, i) => (climN[i]! > 0 ? s / climN[i]! : NaN));

  const lat = m.runData.lat, latW = latitudeWeights(lat, H);
  const area = Float64Array.from({ length: HW }, (_, j) => latW[Math.floor(j / W)]!);
  // northern-hemisphere land: the land-sea mask among the static fields (all cells without one), latitude > 0
  const maskIndex = m.runData.statics.indexOf('land_sea_mask');
  const land = maskIndex >= 0 && m.statics ? m.statics.select(0, maskIndex).toFloat32Array() : null;
  const nhLand = Float64Array.from(area, (a, j) => ((lat ? lat[Math.floor(j / W)]! > 0 : Math.floor(j / W) >= H / 2) && (!land || land[j]! > 0.5) ? a : 0));
  const tasIndex = m.runData.variables.findIndex((v, c) => /^(tas|t2m|t2|temp|temperature)$/i.test(v) || m.runData.units[c] === 'K');

  // the clip-mean anomaly field of channel c (mean over frames of x - climatology of the frame's month)
  const clipAnomaly = (x: Float32Array, months: number[], c: number): Float64Array => {
    const out = new Float64Array(HW);
    for (let f = 0; f < F; f++) {
      const off = (c * F + f) * HW, k = (c * 12 + months[f]!) * HW;
      for (let j = 0; j < HW; j++) out[j] = out[j]! + (x[off + j]! - clim[k + j]!) / F;
    }
    return out;
  };
  const clipMean = (x: Float32Array, c: number): Float64Array => {
    const out = new Float64Array(HW);
    for (let f = 0; f < F; f++) for (let j = 0; j < HW; j++) out[j] = out[j]! + x[(c * F + f) * HW + j]! / F;
    return out;
  };
  const rawOf = async (w: Windows, starts: number[], i: number): Promise<Float32Array> => w.first[i] ?? readWindow(source, starts[i]!, F);
  const anomalyTarget = async (w: Windows, starts: number[]): Promise<number[] | null> => {
    if (tasIndex < 0) return null;
    const out: number[] = [];
    for (let i = 0; i < starts.length; i++) out.push(weightedMean(clipAnomaly(await rawOf(w, starts, i), w.months[i]!, tasIndex), nhLand));
    return out;
  };

  // 1. posterior collapse
  const au = activeUnits(trainW.emb.mean, d);
  const klTest = klPerExample(testW.emb.mean, testW.emb.logvar, d);
  log(`active units: ${au.active.length} of ${d}; KL per test window ${fmt(mean(klTest))} nats`);

  // 2. probes: w, PCA of the normalised window, a randomly initialised encoder
  const rows = (e: Embeddings): Float32Array[] => Array.from({ length: e.n }, (_, i) => e.mean.subarray(i * d, (i + 1) * d));
  const pca = pcaFeatures(trainW.norm, testW.norm, d);
  const rand = await randomEncoderFeatures(m, source, trainStarts, testStarts, o.seed ?? 0, where);
  const season = (w: Windows): number[] => w.emb.months.map(seasonOf);
  const yTrainAnom = await anomalyTarget(trainW, trainStarts), yTestAnom = await anomalyTarget(testW, testStarts);
  const features: [string, ArrayLike<number>[], ArrayLike<number>[]][] = [
    ['w (posterior mean)', rows(trainW.emb), rows(testW.emb)], [`PCA of the window (${d} components)`, pca.train, pca.test], ['randomly initialised encoder', rand.train, rand.test],
  ];
  const seasonsSeen = new Set(season(trainW)).size;
  if (seasonsSeen < 2) log(`the training windows cover ${seasonsSeen} season: no season probe`);
  const probes = features.map(([name, tr, te]) => ({
    name,
    season: seasonsSeen >= 2 ? probe(tr, season(trainW), te, season(testW), 'classification', { classes: 4, seed: o.seed ?? 0 }) : null,
    anomaly: yTrainAnom && yTestAnom ? probe(tr, yTrainAnom, te, yTestAnom, 'regression', { seed: o.seed ?? 0 }) : null,
  }));
  for (const p of probes) log(`probe ${p.name}: season ${p.season ? `${fmt(p.season.score)} [${fmt(p.season.low)}, ${fmt(p.season.high)}]` : 'n/a'}${p.anomaly ? `, anomaly R^2 ${fmt(p.anomaly.score)} [${fmt(p.anomaly.low)}, ${fmt(p.anomaly.high)}]` : ''}`);

  // 3. ELBO with w against the unconditional model on the same windows
  const elboOut = await elboComparison(m, base, source, testStarts, o, progress('ELBO'));

  // 4. samples given w(x) and given prior draws
  const like = sampleComparison(m, testW, testStarts, source, { clipMean, clipAnomaly, area }, o, progress('sample'));

  // 5. analogue forecasts of the next F frames
  const analogues = analogueForecasts(trainW, testW, pca, m, area, o.seed ?? 0);

  // report
  mkdirSync(o.out, { recursive: true });
  const files: string[] = [];
  const pic = join(o.out, 'embeddings.png');
  writeFileSync(pic, embeddingPicture(concatEmbeddings(trainW.emb, testW.emb), `q(w|x) means of ${trainW.emb.n} training and ${testW.emb.n} test windows, PCA, by month`));
  files.push(pic);
  for (const [c, v] of m.runData.variables.entries()) {
    const gif = join(o.out, `like-${v}.gif`);
    writeFileSync(gif, likeGIF(m, like, c, v));
    files.push(gif);
  }
  const summary = {
    checkpoint: o.checkpoint, baseline: o.baseline ?? null, dim: d, trainWindows: trainStarts.length, testWindows: testStarts.length,
    activeUnits: au, klPerTestWindow: { mean: mean(klTest), min: Math.min(...klTest), max: Math.max(...klTest) },
    probes: probes.map((p) => ({ name: p.name, season: p.season, anomaly: p.anomaly })), elbo: elboOut,
    samples: like.summary, analogues,
  };
  writeFileSync(join(o.out, 'report.json'), `${JSON.stringify(summary, null, 1)}\n`);
  writeFileSync(join(o.out, 'report.md'), reportMarkdown(o, summary, probes, like.summary, analogues, elboOut, au, klTest, d, tasIndex >= 0 ? m.runData.variables[tasIndex]! : null, land !== null));
  files.push(join(o.out, 'report.json'), join(o.out, 'report.md'));
  return { files, summary };
}

function monthsOf(source: ClipSource, start: number, frames: number): number[] {
  const t = sourceTime(source, 'the data');
  return decodeTimeParts({ ...t, values: windowTimes(t, start, frames) }).map((p) => p.month - 1);
}

function concatEmbeddings(a: Embeddings, b: Embeddings): Embeddings {
  const cat = (x: Float32Array, y: Float32Array): Float32Array => { const o = new Float32Array(x.length + y.length); o.set(x); o.set(y, x.length); return o; };
  const t = new Float64Array(a.n + b.n); t.set(a.times); t.set(b.times, a.n);
  return { ...a, n: a.n + b.n, mean: cat(a.mean, b.mean), logvar: cat(a.logvar, b.logvar), starts: [...a.starts, ...b.starts], times: t, months: [...a.months, ...b.months] };
}

/** Posterior means of a randomly initialised encoder of the model's architecture (its head drawn too: PyTorch's Linear init). */
async function randomEncoderFeatures(m: GenerationModel, source: ClipSource, trainStarts: number[], testStarts: number[], seed: number, where: string): Promise<{ train: Float32Array[]; test: Float32Array[] }> {
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

async function elboComparison(m: GenerationModel, base: GenerationModel | null, source: ClipSource, testStarts: number[], o: RepresentationEvalOptions,
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
function dateTensor(m: GenerationModel, source: ClipSource, starts: number[]): Tensor | undefined {
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

function sampleComparison(m: GenerationModel, testW: Windows, testStarts: number[], source: ClipSource,
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

function likeGIF(m: GenerationModel, like: LikeResult, channel: number, variable: string): Uint8Array {
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

function analogueForecasts(trainW: Windows, testW: Windows, pca: { train: number[][]; test: number[][] }, m: GenerationModel, area: Float64Array, seed: number): AnalogueResult[] {
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

export { SEASONS };
