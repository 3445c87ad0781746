// `climadiff sample --report DIR`: generated clips against the run's held-out (test) clips, per variable, on physical
// values (the seed's histogram, QQ, bias map, spectra: eval/report.ts) and on anomalies from the training years'
// smooth seasonal cycle (eval/weather.ts: mean squared change, spectra, lag autocorrelation, QQ in anomaly standard
// deviations, variance-map R^2), with the acceptance of the reference models. A model that returns the climatology
// has no anomalies worth the name, so it fails the anomaly rows even where its physical maps look right.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveDataFiles } from '../data/multi-source.js';
import { openSelectedSource } from '../data/select-source.js';
import type { ClipSource } from '../data/clip-source.js';
import { fitNormStats, isPrecipitationLike, seasonalBasis, seasonalMean, sourceMonths, type NormStats } from '../data/normalise.js';
import { decodeTimeParts, monthPosition } from '../data/time-parts.js';
import { DataError } from '../data/types.js';
import { writeReport } from '../eval/report.js';
import { acceptance, weatherDiagnostics, weatherMarkdown, DEFAULT_CRITERIA, type AcceptanceRow, type WeatherCriteria, type WeatherDiagnostics } from '../eval/weather.js';
import { runSimulate } from './simulate.js';
import { samplesGIF, wetThreshold, type SampleRunResult } from './pipeline.js';
import type { RunData } from './model-store.js';

/** Where the output of a simulator recipe is cached ($CLIMADIFF_DATA_CACHE or ~/.cache/climadiff). */
export function recipeDataPath(recipe: NonNullable<RunData['recipe']>): string {
  const sim = recipe.simulate;
  const dir = process.env['CLIMADIFF_DATA_CACHE'] ?? join(homedir(), '.cache', 'climadiff');
  return join(dir, `${sim.model}-seed${sim.seed}-${sim.frames}x${sim.every}h.nc`);
}

/** The simulator's output of a recipe, simulated once (into a temporary name, then renamed) and cached. */
export async function ensureRecipeData(recipe: NonNullable<RunData['recipe']>, log: (m: string) => void = () => {}): Promise<string> {
  const path = recipeDataPath(recipe);
  if (existsSync(path)) return path;
  const sim = recipe.simulate;
  mkdirSync(dirname(path), { recursive: true });
  log(`simulating ${sim.frames} frames of '${sim.model}' (seed ${sim.seed}, every ${sim.every} h) -> ${path}`);
  const tmp = `${path}.tmp-${process.pid}.nc`;
  await runSimulate({ model: sim.model, frames: sim.frames, seed: sim.seed, out: tmp, every: sim.every, progress: true });
  renameSync(tmp, path);
  return path;
}

/** Whether every file of a data spec (resolveDataFiles) is on this machine. */
function dataPresent(spec: string): boolean {
  try { return resolveDataFiles(spec).length > 0; } catch { return false; }
}

/** The run's data: its source file, or (when that is not on this machine) the simulator's output by the run's recipe. */
export async function runSource(runData: RunData, log: (m: string) => void = () => {}): Promise<ClipSource> {
  if (dataPresent(runData.source)) return openSelectedSource(runData.source, runData.variables, runData.selection);
  if (!runData.recipe) throw new DataError('missing-file', `the run's data ${runData.source} are not on this machine (and the run has no recipe to recreate them)`);
  return openSelectedSource(await ensureRecipeData(runData.recipe, log), runData.variables, runData.selection);
}

/** Held-out clips [N, C, F, H, W] (physical units, NaN where missing) starting at least F frames apart, and their frames' times. */
export async function heldOutClips(source: ClipSource, runData: RunData, frames: number, maxClips = 256): Promise<{ data: Float32Array; count: number; starts: number[] }> {
  const starts: number[] = [];
  for (const s of runData.test) {
    if (s + frames > source.timeSteps) continue;
    if (starts.length === 0 || s >= starts[starts.length - 1]! + frames) starts.push(s);
  }
  if (starts.length === 0) throw new DataError('too-short', `the run's test split holds no clip of ${frames} frames`);
  const chosen = starts.length > maxClips ? Array.from({ length: maxClips }, (_, i) => starts[Math.floor((i * starts.length) / maxClips)]!) : starts;
  const C = source.channels.length, HW = source.height * source.width, per = C * frames * HW;
  const data = new Float32Array(chosen.length * per);
  for (let k = 0; k < chosen.length; k++) {
    const block = await source.read(chosen[k]!, chosen[k]! + frames);
    const d = block.data.map((v, i) => (block.mask[i] ? NaN : v));
    data.set(d.subarray(0, per), k * per);
  }
  return { data, count: chosen.length, starts: chosen };
}

/**
 * One channel of clips [n, F, H, W]; with `anomaly`, minus the smooth seasonal cycle (data/normalise.ts 'seasonal'
 * coefficients) at each frame's month position.
 */
function channelClips(data: Float32Array, n: number, C: number, F: number, HW: number, c: number, anomaly: { seasonal: number[]; positions: ArrayLike<number> } | null): Float32Array {
  const out = new Float32Array(n * F * HW);
  const basis = new Float64Array(anomaly ? anomaly.seasonal.length / HW : 0), cycle = new Float64Array(HW);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) {
    const src = ((i * C + c) * F + f) * HW, dst = (i * F + f) * HW;
    if (anomaly) seasonalMean(anomaly.seasonal, seasonalBasis(anomaly.positions[i * F + f]!, basis), HW, cycle);
    for (let j = 0; j < HW; j++) out[dst + j] = data[src + j]! - (anomaly ? cycle[j]! : 0);
  }
  return out;
}

export interface VariableVerdict {
  variable: string;
  anomaly: WeatherDiagnostics;
  physical: WeatherDiagnostics;
  rows: AcceptanceRow[];
}

export interface SampleReportResult { files: string[]; verdicts: VariableVerdict[] }

/** The acceptance rows of one variable: anomaly rows for every variable, QQ in anomaly std for temperature-like, dry fraction and relative QQ for precipitation. */
export function variableAcceptance(precip: boolean, anomaly: WeatherDiagnostics, physical: WeatherDiagnostics, criteria: Partial<WeatherCriteria> = DEFAULT_CRITERIA): AcceptanceRow[] {
  const c = { ...DEFAULT_CRITERIA, ...criteria };
  const onAnomalies = acceptance(anomaly, { ...c, qqScaledTol: precip ? null : c.qqScaledTol, qqRelativeTol: null, dryPoints: null })
    .map((r) => ({ ...r, name: `${r.name} (anomalies)` }));
  const onValues = precip ? acceptance(physical, { ...c, mscFactor: null, temporalFactor: null, spatialFactor: null, acfTol: null, varianceR2Min: null, qqScaledTol: null }) : [];
  return [...onAnomalies, ...onValues];
}

export interface SampleReportOptions {
  outDir: string;
  samples: SampleRunResult;
  title: string;
  /** Markdown added under the title (e.g. the model card's committed figures). */
  extra?: string;
  criteria?: Partial<WeatherCriteria>;
  log?: (m: string) => void;
}

/** Writes report.md (acceptance summary and anomaly diagnostics), weather.json and per-variable physical reports under outDir. */
export async function writeSampleReport(o: SampleReportOptions): Promise<SampleReportResult> {
  const r = o.samples;
  const runData = r.runData;
  const [n, C, F, H, W] = r.shape;
  const HW = H * W;
  const source = await runSource(runData, o.log);
  const ref = await heldOutClips(source, runData, F);
  // anomalies from the training years' smooth seasonal cycle (mean and annual harmonics per cell, data/normalise.ts
  // 'seasonal'), fitted here on the source (transform none) for every channel. Not the monthly climatology: its steps at
  // month boundaries are several times the 6-hourly change of temperature (\`climadiff data normalisations\`), and
  // would dominate the change and spectrum diagnostics of clips that straddle a boundary.
  const clim: NormStats = await fitNormStats(source, { kind: 'seasonal', ranges: runData.trainRanges.length ? runData.trainRanges : undefined });
  if (!source.time) throw new DataError('no-time', 'anomaly diagnostics need the data\'s time axis');
  const refPositions = sourceMonths(source);
  const refFramePositions = Float64Array.from({ length: ref.count * F }, (_, k) => refPositions[ref.starts[Math.floor(k / F)]! + (k % F)]!);
  if (!r.times || !runData.time) throw new DataError('no-time', 'anomaly diagnostics need the samples\' dates (a model trained with a time axis)');
  const samplePositions = Float64Array.from(decodeTimeParts({ units: runData.time.units, calendar: runData.time.calendar, attrs: {}, values: r.times }), (p) => monthPosition(p, runData.time!.calendar));
  mkdirSync(o.outDir, { recursive: true });
  const files: string[] = [];
  const verdicts: VariableVerdict[] = [];
  const md: string[] = [`# ${o.title}`, ''];
  if (o.extra) md.push(o.extra.trim(), '');
  md.push(`${n} generated clips against ${ref.count} held-out clips (test split, starts at least ${F} frames apart) of ${F} frames on the ${H}x${W} grid. ` +
    'Anomalies are departures from the training years\' smooth seasonal cycle at each cell (its mean and two annual harmonics, at each frame\'s date: the samples\' dates for samples), so that the steps of a monthly climatology at month boundaries do not enter the diagnostics.', '');
  for (let c = 0; c < C; c++) {
    const variable = runData.variables[c]!;
    const units = runData.units[c] ?? undefined;
    const precip = isPrecipitationLike(variable, units);
    const seasonal = clim.channels[c]!.seasonal!;
    const sAnom = channelClips(r.data, n, C, F, HW, c, { seasonal, positions: samplePositions });
    const rAnom = channelClips(ref.data, ref.count, C, F, HW, c, { seasonal, positions: refFramePositions });
    const sPhys = channelClips(r.data, n, C, F, HW, c, null), rPhys = channelClips(ref.data, ref.count, C, F, HW, c, null);
    const scale = clim.channels[c]!.std;
    const anomaly = weatherDiagnostics({ data: sAnom, shape: [n, F, H, W] }, { data: rAnom, shape: [ref.count, F, H, W] }, { scale });
    const physical = weatherDiagnostics({ data: sPhys, shape: [n, F, H, W] }, { data: rPhys, shape: [ref.count, F, H, W] },
      precip ? { dryThreshold: wetThreshold(units) || 1e-3 * scale } : {});
    const rows = variableAcceptance(precip, anomaly, physical, o.criteria);
    verdicts.push({ variable, anomaly, physical, rows });
    md.push(`## ${variable}${units ? ` (${units})` : ''}`, '');
    md.push(`${rows.filter((x) => x.pass).length} of ${rows.length} acceptance checks pass.`, '');
    md.push('| check | measured | target | |', '|---|---|---|---|', ...rows.map((x) => `| ${x.name} | ${x.measured} | ${x.target} | ${x.pass ? 'pass' : '**miss**'} |`), '');
    const anomalyRows = rows.filter((x) => x.name.endsWith('(anomalies)')), valueRows = rows.filter((x) => !x.name.endsWith('(anomalies)'));
    md.push(weatherMarkdown(variable, 'anomalies', anomaly, anomalyRows).replace(/^#+ /gm, '### '), '');
    if (precip) md.push(weatherMarkdown(variable, 'physical values', physical, valueRows).replace(/^#+ /gm, '### '), '');
    // the seed's protocol on physical values, with pictures
    const sub = join(o.outDir, variable);
    files.push(...await writeReport(sub, {
      variable, ...(units ? { units } : {}), samples: { data: sPhys, shape: [n, F, H, W] }, reference: { data: rPhys, shape: [ref.count, F, H, W] },
      meta: { title: `${variable}: samples against held-out data (physical values)` },
      ...(runData.lat ? { lat: runData.lat } : {}), ...(runData.lon ? { lon: runData.lon } : {}),
    }));
    const gif = join(o.outDir, `${variable}_samples_vs_data.gif`);
    const shown = Math.min(ref.count, n, 4);
    writeFileSync(gif, samplesGIF({ ...r, data: r.data.subarray(0, shown * C * F * HW), shape: [shown, C, F, H, W] },
      { data: ref.data.subarray(0, shown * C * F * HW), clips: shown }, undefined, c));
    files.push(gif);
    md.push(`Physical values (histogram, QQ, bias map, spectra): [${variable}/report.md](${variable}/report.md). Held-out clips above, samples below: ![](${variable}_samples_vs_data.gif)`, '');
  }
  const clampRows = r.clamped.filter((x) => x.below + x.above > 0);
  if (clampRows.length) {
    md.push('## Clamped values', '', '| variable | below range / negative | above range | of |', '|---|---|---|---|',
      ...clampRows.map((x) => `| ${x.variable} | ${x.below} | ${x.above} | ${x.total} |`), '');
  }
  const json = join(o.outDir, 'weather.json');
  writeFileSync(json, JSON.stringify({ samples: n, reference: ref.count, frames: F, verdicts, clamped: r.clamped }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1));
  const report = join(o.outDir, 'report.md');
  writeFileSync(report, md.join('\n'));
  return { files: [report, json, ...files], verdicts };
}
