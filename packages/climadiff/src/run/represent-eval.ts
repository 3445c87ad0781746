// `climadiff embed-eval`: the acceptance report of a representation model (docs/representation.md). On the run's
// training windows (probes fitted, analogue bank) and held-out test windows (probes scored):
//  - posterior collapse: active units, KL per window;
//  - linear probes of season (balanced accuracy) and of the window's northern-hemisphere land temperature anomaly (R^2)
//    from w, from a d-component PCA of the normalised window and from a randomly initialised encoder, bootstrap CIs;
//  - the ELBO with w (E_q L_VDM + KL, seed 002 sec. 4) against an unconditional model's on the same windows;
//  - samples given w(x) against samples given w ~ N(0, I): clip-mean RMSE and anomaly correlation with x, diagnostics;
//  - analogue forecasts: the next frames of a test window from its nearest training window in w, against PCA analogues
//    and a random training window of the same season.
// The experiments are run/represent-experiments.ts's, the report's text run/represent-report.ts's.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../data/types.js';
import { openSelectedSource } from '../data/select-source.js';
import { chooseStarts, readWindow } from '../tasks/cases.js';
import { encodeWindows, normalisedWindow, type Embeddings } from '../tasks/embed.js';
import { type SamplerName } from '../tasks/generate.js';
import { activeUnits, klPerExample, seasonOf, weightedMean, SEASONS } from '../eval/analogues.js';
import { probe } from '../eval/probes.js';
import { pcaFeatures } from '../eval/pca.js';
import { latitudeWeights } from '../eval/area.js';
import { loadSamplingModel } from './model-store.js';
import { runSource } from './sample-report.js';
import { embeddingPicture } from './embed-run.js';
import { fmt, mean, reportMarkdown } from './represent-report.js';
import { analogueForecasts, concatEmbeddings, elboComparison, likeGIF, monthsOf, randomEncoderFeatures, sampleComparison, type Windows } from './represent-experiments.js';

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

export { SEASONS };
