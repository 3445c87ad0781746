// `climadiff embed`: the posterior q(w|x) of a representation model for windows of a data file, written as a CF
// dataset (time, latent), with a PCA picture coloured by month, and optionally the K training windows nearest to each
// window in w (analogues).
import { existsSync, writeFileSync } from 'node:fs';
import { DataError, type ClimateDataset, type Coordinate, type Variable } from '../data/types.js';
import { openSelectedSource } from '../data/select-source.js';
import type { ClipSource } from '../data/clip-source.js';
import { decodeTimeParts, formatTimeParts, timeUnitDays } from '../data/time-parts.js';
import { writeDataset } from '../data/writers/dataset.js';
import { chooseStarts, readWindow, sourceTime, type StartSpec } from '../tasks/cases.js';
import { encodeWindows, type Embeddings } from '../tasks/embed.js';
import type { GenerationModel } from '../tasks/model.js';
import { nearestNeighbours, klPerExample, activeUnits, type Neighbours } from '../eval/analogues.js';
import { pcaFeatures } from '../eval/pca.js';
import { scatterChartPNG, MONTH_COLOURS } from '../eval/chart-png.js';
import { loadSamplingModel } from './model-store.js';
import { runSource } from './sample-report.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface EmbedRunOptions {
  /** A run folder, an exported model folder or builtin:NAME of a representation model. */
  checkpoint: string;
  /** The data file (default: the model's own data). */
  data?: string;
  /** Output: .nc (NetCDF-3), .nc4 (NetCDF-4) or .zarr. */
  out: string;
  /** Windows to embed (default: non-overlapping windows through the whole file). */
  starts?: StartSpec;
  /** Also find the K nearest training windows (the run's training split, a window a day) of every window. */
  nearest?: number;
  /** The PCA picture (default: OUT with .png; null: none). */
  picture?: string | null;
  batch?: number;
  device?: string;
  history?: string;
  log?: (m: string) => void;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface EmbedRunResult {
  embeddings: Embeddings;
  /** The training windows searched for analogues, and the neighbours found. */
  bank: Embeddings | null;
  neighbours: Neighbours | null;
  files: string[];
}

/** Days of one frame step of a source's time axis. */
function frameDays(source: ClipSource): number {
  const t = sourceTime(source, 'the data');
  return Math.abs(t.values[1]! - t.values[0]!) * timeUnitDays(t);
}

/** Encodes windows of a file with a representation model and writes them (see EmbedRunOptions). */
export async function embedRun(o: EmbedRunOptions): Promise<EmbedRunResult> {
  const log = o.log ?? (() => {});
  const picture = o.picture === undefined ? o.out.replace(/\.(nc4?|zarr)$/, '') + '.png' : o.picture;
  if (!/\.(nc|nc4|zarr)$/.test(o.out)) throw new DataError('bad-option', `--out must end in .nc (NetCDF-3), .nc4 (NetCDF-4) or .zarr, got '${o.out}'`);
  for (const f of [o.out, picture]) if (f && existsSync(f)) throw new DataError('output-exists', `refusing to overwrite existing '${f}' (choose another name)`);
  if (o.nearest !== undefined && !(Number.isInteger(o.nearest) && o.nearest >= 1)) throw new DataError('bad-option', `--nearest must be a positive integer, got ${String(o.nearest)}`);
  const m = loadSamplingModel(o.checkpoint);
  if (m.model.latentDim === 0) throw new DataError('bad-option', `${o.checkpoint} has no representation (trained without --representation): there is nothing to embed with`);
  if ((o.device ?? 'cpu') !== 'cpu') m.model.to(o.device!);
  const where = o.data ?? "the model's data";
  const source = o.data ? await openSelectedSource(o.data, m.runData.variables, m.runData.selection, { log }) : await runSource(m.runData, log);
  const F = m.runData.frames;
  const spec = o.starts ?? { everyDays: F * frameDays(source), split: 'all' as const };
  const starts = chooseStarts(source, m.runData, spec, 0, F, where);
  const enc = { ...(o.batch ? { batch: o.batch } : {}), ...(o.device ? { device: o.device } : {}) };
  const embeddings = await encodeWindows(m, source, starts, { ...enc, where, onProgress: (d, t) => o.onProgress?.(d, t, 'windows') });
  let bank: Embeddings | null = null, neighbours: Neighbours | null = null;
  if (o.nearest) {
    const own = o.data ? await runSource(m.runData, log) : source;
    bank = await trainingBank(m, own, enc, (d, t) => o.onProgress?.(d, t, 'training windows'));
    // a window never has itself, or a window overlapping it, as an analogue (same dates in the model's own data)
    const span = F * frameDays(source) - 1e-9;
    const days = (e: Embeddings, i: number, s: ClipSource): number => e.times[i]! * timeUnitDays(sourceTime(s, 'the data'));
    neighbours = nearestNeighbours(embeddings.mean, bank.mean, embeddings.dim, o.nearest,
      (q, b) => Math.abs(days(embeddings, q, source) - days(bank!, b, own)) < span);
  }
  const files: string[] = [];
  await writeDataset(embeddingsDataset(m, source, embeddings, bank, neighbours), o.out, { ...(o.history ? { history: o.history } : {}) });
  files.push(o.out);
  if (picture && embeddings.n < 3) log(`${embeddings.n} window(s): no PCA picture (it needs at least 3)`);
  else if (picture) {
    writeFileSync(picture, embeddingPicture(embeddings, `q(w|x) means of ${embeddings.n} windows of ${where}`));
    files.push(picture);
  }
  const au = embeddings.n >= 2 ? activeUnits(embeddings.mean, embeddings.dim) : null;
  const kl = klPerExample(embeddings.mean, embeddings.logvar, embeddings.dim);
  log(`${embeddings.n} windows, d = ${embeddings.dim}: KL to the prior ${(kl.reduce((a, b) => a + b, 0) / kl.length).toFixed(3)} nats per window on average${au ? `; ${au.active.length} active unit(s) (Cov over windows of E_q[w_i] > 0.01)` : ''}`);
  return { embeddings, bank, neighbours, files };
}

export interface LikeClip {
  /** E_q[w] of the clip, [d]. */
  latent: Float32Array;
  /** The clip itself in physical units [C, F, H, W] (NaN where missing). */
  clip: Float32Array;
  /** Its first frame's date 'YYYY-MM-DD hh:mm'. */
  date: string;
}

/** The window of `data` (default: the model's own data) at or after `start`, and its posterior mean: samples like it. */
export async function encodeLike(checkpoint: string, data: string | undefined, start: string, log: (m: string) => void = () => {}): Promise<LikeClip> {
  const m = loadSamplingModel(checkpoint);
  if (m.model.latentDim === 0) throw new DataError('bad-option', `${checkpoint} has no representation (trained without --representation): --like needs one`);
  const where = data ?? "the model's data";
  const source = data ? await openSelectedSource(data, m.runData.variables, m.runData.selection, { log }) : await runSource(m.runData, log);
  const [s] = chooseStarts(source, m.runData, { dates: [start] }, 0, m.runData.frames, where);
  const e = await encodeWindows(m, source, [s!], { where });
  const date = formatTimeParts(decodeTimeParts({ ...e.timeUnits, attrs: {}, values: e.times })[0]!);
  return { latent: e.mean, clip: await readWindow(source, s!, m.runData.frames), date };
}

/** q(w|x) of the run's training windows, one a day. */
export async function trainingBank(m: GenerationModel, source: ClipSource, enc: { batch?: number; device?: string }, onProgress?: (done: number, total: number) => void): Promise<Embeddings> {
  const starts = chooseStarts(source, m.runData, { everyDays: Math.max(1, frameDays(source)), split: 'train' }, 0, m.runData.frames, "the model's data");
  return encodeWindows(m, source, starts, { ...enc, where: "the model's training data", ...(onProgress ? { onProgress } : {}) });
}

/** The embeddings as a CF dataset: w_mean, w_logvar (time, latent), kl (time); analogues against a bank of windows. */
export function embeddingsDataset(m: GenerationModel, source: ClipSource, e: Embeddings, bank: Embeddings | null, nb: Neighbours | null): ClimateDataset {
  const t = sourceTime(source, 'the data');
  const timeCoord = (name: string, values: Float64Array, longName: string): Coordinate => ({
    name, values, ...(name === 'time' ? { axis: 'T' as const } : {}), units: t.units, ...(t.calendar ? { calendar: t.calendar } : {}),
    attrs: { standard_name: 'time', long_name: longName, ...(t.calendar ? { calendar: t.calendar } : {}) },
  });
  const coords = new Map<string, Coordinate>();
  coords.set('time', timeCoord('time', e.times, `first frame of each window of ${m.runData.frames} frames`));
  coords.set('latent', { name: 'latent', values: Float64Array.from({ length: e.dim }, (_, i) => i), attrs: { long_name: 'dimension of the latent w' } });
  const variables = new Map<string, Variable>();
  const v = (name: string, dims: string[], shape: number[], data: Float32Array, attrs: Record<string, string | number>, units?: string): void => {
    variables.set(name, { name, dims, shape, data, mask: null, ...(units ? { units } : {}), attrs });
  };
  v('w_mean', ['time', 'latent'], [e.n, e.dim], e.mean, { long_name: 'posterior mean E_q[w] of q(w|x)' });
  v('w_logvar', ['time', 'latent'], [e.n, e.dim], e.logvar, { long_name: 'posterior log-variance log sigma^2 of q(w|x)' });
  v('kl', ['time'], [e.n], Float32Array.from(klPerExample(e.mean, e.logvar, e.dim)), { long_name: 'KL(q(w|x) || N(0, I))' }, 'nats');
  if (bank && nb) {
    coords.set('neighbour', { name: 'neighbour', values: Float64Array.from({ length: nb.k }, (_, i) => i), attrs: { long_name: 'rank of the analogue, nearest first' } });
    coords.set('bank', timeCoord('bank', bank.times, 'first frame of each training window searched for analogues'));
    v('bank_w_mean', ['bank', 'latent'], [bank.n, e.dim], bank.mean, { long_name: 'posterior mean of the training windows' });
    v('analogue', ['time', 'neighbour'], [e.n, nb.k], Float32Array.from(nb.index), { long_name: 'index into bank of the nearest training windows in w (bank_time = bank[analogue])', missing_value: -1 });
    v('analogue_distance', ['time', 'neighbour'], [e.n, nb.k], Float32Array.from(nb.distance), { long_name: 'Euclidean distance in w to the analogue' });
  }
  return { variables, coords, attrs: { title: 'climadiff embeddings: q(w|x) of a representation model', source: m.runData.source, Conventions: 'CF-1.8' } };
}

/** The embeddings' means projected on their first two principal components, one colour per month. */
export function embeddingPicture(e: Embeddings, title: string): Buffer {
  const rows = Array.from({ length: e.n }, (_, i) => e.mean.subarray(i * e.dim, (i + 1) * e.dim));
  const d = Math.min(2, e.dim);
  const p = pcaFeatures(rows, rows, d);
  const x = p.train.map((r) => r[0]!), y = d > 1 ? p.train.map((r) => r[1]!) : p.train.map(() => 0);
  const pct = (i: number): string => (p.explained[i] !== undefined ? ` (${(100 * p.explained[i]!).toFixed(0)}% of the variance)` : '');
  return scatterChartPNG({ title, xTitle: `PC 1${pct(0)}`, yTitle: `PC 2${pct(1)}`, x, y, category: e.months.map((mo) => mo - 1), categories: MONTHS, colours: MONTH_COLOURS, width: 720, height: 540 });
}
