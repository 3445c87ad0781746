// `climadiff score`: ensembles written by the tasks (or by other models, with a member dimension) scored against a
// truth file, next to baselines built from that truth, into a scorecard folder (scorecard.json, scorecard.md, charts
// and example maps). The scores are eval/scores.ts's, the baselines eval/baselines.ts's, the assembly and rendering
// eval/scorecard.ts's; this module checks the options, scores every arm and writes the folder. The forecast files are
// read and checked by run/score-inputs.ts, the truth read and aligned (and the training steps chosen) by
// run/score-truth.ts, the baselines built by run/score-baselines.ts, the pictures drawn by run/score-figures.ts.
//
// Matching. Every frame of every forecast file has a valid time (readEnsembleFile); it is decoded to a calendar date
// (rounded to the minute) and looked up among the truth file's time steps decoded the same way, so files in other
// units or calendars match by date. Every forecast file must verify the same dates on the same grid.
//
// Baselines ('auto', by the task recorded in the first forecast file; files of other models count as forecasts):
//  - forecast: persistence (the truth at the step before lead 1 for every lead; where that value is missing, the
//    latest present value among the k known frames, settings.known), probabilistic climatology (member y = the same
//    calendar window of training year y, the cases' own year left out), damped persistence (a per-cell AR(1) of the
//    anomalies from each cell's smooth seasonal cycle fitted on the training steps, `members` stochastic members);
//  - interpolate: linear and natural-cubic interpolation in time from the frames the known mask marks as known;
//  - infill: harmonic (Laplace) fill from the known cells, the same fill of the anomalies from each cell's smooth
//    seasonal cycle (laplace-anomaly), and the probabilistic climatology (far inside a large hidden box the known cells
//    say little, and the climatology is the stronger bar);
//  - downscale: nearest / bilinear / bicubic upsampling of the truth's K x K block means (K = settings.factor,
//    cos-latitude row weights when the grid has latitudes).
// Climatology, damped persistence and laplace-anomaly need training steps: the `train` dates (inclusive) if given, else every truth
// step before the first verified frame minus a gap of one case span (F steps), so no training step lies in, or
// right before, a verified case. A baseline that cannot be built is skipped with a note in the scorecard.
//
// Masked tasks (interpolate, infill) are scored on the generated values only (known values masked out of the truth).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DataError } from '../data/types.js';
import { resolveDataFiles } from '../data/multi-source.js';
import { selectsAnything, type SourceSelection } from '../data/select-source.js';
import { alignTruth, recordedSelection, selectedTruth, trainingSteps, trainPeriod, truthFile } from './score-truth.js';
import { readForecastSet } from './score-inputs.js';
import { formatTimeParts, timeUnitDays, yearFraction } from '../data/time-parts.js';
import { isPrecipitationLike } from '../data/normalise.js';
import { commitDirectory, tempPathFor } from '../data/writers/common.js';
import { cellWeights, landOceanRegion, latitudeBandRegion, LATITUDE_BANDS } from '../eval/area.js';
import { scoreEnsemble, type EnsembleArray } from '../eval/scores.js';
import type { BaselineSeries } from '../eval/series.js';
import { AUTO_BASELINES, BASELINE_NAMES, buildBaseline, truthSeries, type BuiltBaseline, type ScoredVariable } from './score-baselines.js';
import { writeScoreFigures } from './score-figures.js';
import {
  buildScorecard, mainCrps, meanOverLeads, precipitationThresholds, scorecardJSON, scorecardMarkdown,
  type ArmScores, type Scorecard, type ScorecardArm, type VariableScoresInput,
} from '../eval/scorecard.js';

export interface ScoreFilesOptions {
  /** Ensemble files to score, each with the label of its arm (the first is usually 'climadiff'). */
  forecasts: { label: string; path: string }[];
  /**
   * The true fields: (time, lat, lon) variables named like the forecast variables, in one file or many (a list, a glob
   * or a directory, joined along time as for training).
   */
  truth: string;
  /**
   * What to take of the truth (box, level, coarsening, ...) so it is on the forecasts' grid; default the selection
   * recorded in the first forecast file (the model's run), none for files without one; null: none.
   */
  select?: SourceSelection | null;
  /** Output folder (must not exist or be empty, unless overwrite). */
  out: string;
  /** Variables to score (default: every ensemble variable of the first forecast file). */
  variables?: string[];
  /** Baseline names, 'auto' (default: by task) or [] for none (BASELINE_NAMES). */
  baselines?: string[] | 'auto';
  /** Training period [from, to] (dates, inclusive: 'YYYY', 'YYYY-MM', 'YYYY-MM-DD[Thh:mm]') for climatology and AR(1) fits. */
  train?: [string, string];
  /** Regions besides global: tropics, extratropics, northernExtratropics, southernExtratropics, land, ocean. */
  regions?: string[];
  /** Bootstrap resamples of the cases for the confidence intervals (default 1000; 0: no intervals). */
  bootstrap?: number;
  /** Seed of the bootstrap and of the damped-persistence members (default 0). */
  seed?: number;
  /** Members of the damped-persistence baseline (default 16). */
  members?: number;
  /**
   * The reference of the CRPS skill score: a forecast's label or a baseline's name (default 'climatology'). Its
   * interval is a paired bootstrap (the same resampled cases for both), so 1 - CRPSS = CRPS / CRPS_ref with its
   * interval compares two samplers or models on identical cases.
   */
  reference?: string;
  overwrite?: boolean;
  log?: (m: string) => void;
  /** Progress of the scoring: (arm-region-variable scorings done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Region names scoreFiles understands (besides 'global'). */
export const SCORE_REGIONS: readonly string[] = ['tropics', 'extratropics', 'northernExtratropics', 'southernExtratropics', 'land', 'ocean'];


const canon = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');


/**
 * Scores the forecast files against the truth file with baselines, writes the scorecard folder (see the file comment)
 * and returns the scorecard. Every bad input is a DataError naming the file or option.
 */
export async function scoreFiles(o: ScoreFilesOptions): Promise<Scorecard> {
  const log = o.log ?? (() => undefined);
  // ---- options
  if (!o.forecasts || o.forecasts.length === 0) throw new DataError('bad-option', 'give at least one forecast file to score');
  const labels = new Set<string>();
  for (const f of o.forecasts) {
    if (!f.label || !f.label.trim()) throw new DataError('bad-option', `the forecast ${f.path} has an empty label`);
    if (labels.has(f.label)) throw new DataError('bad-option', `two forecasts are labelled '${f.label}'; give each its own label (LABEL=FILE)`);
    if (f.label in BASELINE_NAMES) throw new DataError('bad-option', `the forecast label '${f.label}' is the name of a baseline; choose another label`);
    labels.add(f.label);
  }
  const B = o.bootstrap ?? 1000, seed = o.seed ?? 0, dpMembers = o.members ?? 16;
  if (!Number.isInteger(B) || B < 0) throw new DataError('bad-option', `bootstrap must be a non-negative integer (0: no intervals), got ${B}`);
  if (!Number.isInteger(seed) || seed < 0) throw new DataError('bad-option', `seed must be a non-negative integer, got ${seed}`);
  if (!Number.isInteger(dpMembers) || dpMembers < 1) throw new DataError('bad-option', `members must be a positive integer, got ${dpMembers}`);
  const regionNames = ['global'];
  for (const r of o.regions ?? []) {
    const name = SCORE_REGIONS.find((x) => canon(x) === canon(r)) ?? (canon(r) === 'global' ? 'global' : null);
    if (!name) throw new DataError('bad-option', `unknown region '${r}' (known: global, ${SCORE_REGIONS.join(', ')})`);
    if (!regionNames.includes(name)) regionNames.push(name);
  }
  if (o.baselines !== undefined && o.baselines !== 'auto') {
    for (const b of o.baselines) if (!(b in BASELINE_NAMES)) throw new DataError('bad-option', `unknown baseline '${b}' (known: ${Object.keys(BASELINE_NAMES).join(', ')}; or auto, none)`);
  }
  const trainBounds = trainPeriod(o.train);
  const out = resolve(o.out);
  let outIsEmptyDir = false;
  if (existsSync(out)) {
    const st = statSync(out);
    outIsEmptyDir = st.isDirectory() && readdirSync(out).length === 0;
    if (!outIsEmptyDir && !o.overwrite) throw new DataError('output-exists', `refusing to overwrite the existing ${st.isDirectory() ? 'folder' : 'file'} '${o.out}' (choose another name, or pass overwrite)`);
  }
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new DataError('missing-directory', `cannot write '${o.out}': folder '${dirname(out)}' does not exist`);

  const set = await readForecastSet(o.forecasts, o.variables);
  const { files, first, variables, N, F, H, W, firstDates, task, known, settings } = set;
  const HW = H * W;
  const notes: string[] = [];
  const baselineTask = task ?? 'forecast';
  if (task === null) notes.push('The forecast files record no climadiff task: they are scored as forecasts (lead 1 = their first frame).');
  let baselineNames: string[];
  if (o.baselines === undefined || o.baselines === 'auto') baselineNames = [...(AUTO_BASELINES[baselineTask] ?? [])];
  else {
    baselineNames = [...new Set(o.baselines)];
    for (const b of baselineNames) {
      if (!BASELINE_NAMES[b]!.includes(baselineTask)) throw new DataError('bad-option', `the baseline '${b}' does not apply to ${baselineTask} ensembles (it is for: ${BASELINE_NAMES[b]!.join(', ')}); for ${baselineTask}: ${Object.keys(BASELINE_NAMES).filter((n) => BASELINE_NAMES[n]!.includes(baselineTask)).join(', ')}`);
    }
  }

  // ---- truth: one file as it is, or many files / a selection read through a source
  const recorded = first.attrs['climadiff_selection'];
  const select = o.select !== undefined ? o.select : typeof recorded === 'string' ? recordedSelection(recorded, first.path) : null;
  const wantLand = regionNames.includes('land') || regionNames.includes('ocean');
  const viaSource = resolveDataFiles(o.truth).length > 1 || selectsAnything(select);
  if (viaSource && wantLand) {
    throw new DataError('bad-option', `the land and ocean regions read a land fraction from one truth file as it is; ${o.truth} is read ${selectsAnything(select) ? `with the selection ${JSON.stringify(select)}` : 'from several files'} (score the latitude regions, or give a single unselected truth file)`);
  }
  const { ds, landName } = viaSource ? await selectedTruth(o.truth, variables, select) : await truthFile(o.truth, variables, wantLand);
  const aligned = alignTruth(ds, o.truth, set);
  const { tv, tc, T, calendar, truthDates, geoLat, geoLon, idx, periodicLon, consecutive, starts } = aligned;


  // ---- training steps
  const { trainIdx, training } = trainingSteps(o.train, trainBounds, o.truth, aligned, N, F, notes);
  const calendarInfo = { yearOf: truthDates.map((p) => p.year), positionInYear: truthDates.map((p) => yearFraction(p, calendar)), period: 1 };

  // ---- regions
  let landFrac: Float32Array | null = null;
  if (wantLand && landName) {
    const lv = ds.variables.get(landName)!;
    if (lv.data.length < HW || lv.shape.slice(-2).join(',') !== `${H},${W}`) throw new DataError('grid-mismatch', `the land fraction '${landName}' of ${o.truth} is not on the ${H}x${W} grid (shape ${lv.shape.join('x')})`);
    const raw = lv.data.subarray(0, HW);
    let max = 0;
    for (const x of raw) if (Number.isFinite(x)) max = Math.max(max, x);
    const scale = lv.units === '%' || max > 1.5 ? 0.01 : 1;
    landFrac = Float32Array.from(raw, (x) => x * scale);
  }
  if (regionNames.some((r) => r !== 'global' && r !== 'land' && r !== 'ocean') && !geoLat) {
    throw new DataError('bad-option', `latitude-band regions need latitudes, but the truth file ${o.truth} has no latitude coordinate`);
  }
  const regions: { name: string; description: string; mask: Float32Array | null; cells: number }[] = [];
  for (const r of regionNames) {
    let mask: Float32Array | null = null, description = 'all cells';
    if (r === 'land' || r === 'ocean') {
      mask = landOceanRegion(landFrac!, r, 0.5);
      description = `${r} cells: land fraction '${landName}' ${r === 'land' ? '>=' : '<'} 0.5`;
    } else if (r !== 'global') {
      const bands = LATITUDE_BANDS[r]!;
      mask = latitudeBandRegion(geoLat!, W, bands);
      description = `latitudes ${bands.map(([s, n]) => `${s} to ${n}`).join(' and ')} degrees`;
    }
    let cells = 0;
    try { for (const w of cellWeights(H, W, { lat: geoLat, region: mask })) if (w > 0) cells++; } catch { cells = 0; }
    if (cells === 0) { notes.push(`The ${r} region has no cell on this grid: not scored.`); continue; }
    regions.push({ name: r, description, mask, cells });
  }

  // ---- leads
  const forecastLike = baselineTask === 'forecast';
  const frameKnown = Array.from({ length: F }, (_, f) => {
    if (!known) return false;
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) if (!known[(n * F + f) * HW + j]) return false;
    return true;
  });
  let leadValues: number[], leadLabels: string[], leadTitle: string;
  if (forecastLike) {
    const hpu = (() => { try { return timeUnitDays({ units: first.timeUnits.units, attrs: {} }) * 24; } catch { return NaN; } })();
    let step = F > 1 ? (first.times[1]! - first.times[0]!) * hpu : NaN;
    if (!Number.isFinite(step) && idx[0]! > 0) {
      try { step = (tc.values[idx[0]!]! - tc.values[idx[0]! - 1]!) * timeUnitDays(tc) * 24; } catch { step = NaN; }
    }
    if (Number.isFinite(step) && step > 0) {
      leadValues = Array.from({ length: F }, (_, f) => Math.round(((first.times[f]! - first.times[0]!) * hpu + step) * 1000) / 1000);
      leadLabels = leadValues.map((h) => `+${h} h`);
      leadTitle = 'lead time (hours)';
    } else {
      leadValues = Array.from({ length: F }, (_, f) => f + 1);
      leadLabels = leadValues.map((l) => `lead ${l}`);
      leadTitle = 'lead';
    }
  } else {
    leadValues = Array.from({ length: F }, (_, f) => f + 1);
    leadLabels = leadValues.map((l) => `frame ${l}`);
    leadTitle = 'frame';
  }
  const caseDates = Array.from({ length: N }, (_, n) => Array.from({ length: F }, (_, f) => formatTimeParts(firstDates[n * F + f]!)));

  // ---- per variable: truth, baselines, scores
  const arms: ScorecardArm[] = o.forecasts.map((f, i) => ({
    label: f.label, kind: 'model', method: null, source: f.path, members: files[i]!.shape[0],
    description: `${files[i]!.task ?? 'ensemble'} file ${f.path}`,
  }));
  const boot = B > 0 ? { samples: B, seed, level: 0.95 } : null;
  const varInputs: VariableScoresInput[] = [];
  const perVariable: ScoredVariable[] = [];
  let reference: string | null = null;
  const total = variables.length * regions.length * (files.length + baselineNames.length);
  let done = 0;
  for (let c = 0; c < variables.length; c++) {
    const name = variables[c]!, tvar = tv[c]!;
    const units = first.units[c] ?? tvar.units ?? null;
    const vnotes: string[] = [];
    const series: BaselineSeries = { data: truthSeries(tvar), shape: [T, H, W] };
    const truth = new Float32Array(N * F * HW);
    for (let i = 0; i < N * F; i++) truth.set(series.data.subarray(idx[i]! * HW, (idx[i]! + 1) * HW), i * HW);
    const clip = { data: truth, shape: [N, F, H, W] as const, mask: known };
    log(`${name}: building baselines ${baselineNames.join(', ') || '(none)'}`);
    const built: BuiltBaseline[] = [];
    for (const b of baselineNames) {
      try {
        const r = buildBaseline(b, { series, truth, N, F, H, W, starts, consecutive, known, settings, trainIdx, calendar: calendarInfo, calendarName: calendar, lat: geoLat, periodicLon, members: dpMembers, seed, truthDates });
        if (typeof r === 'string') vnotes.push(`Baseline '${b}' skipped: ${r}`);
        else built.push({ label: b, method: b, ...r });
      } catch (e) {
        vnotes.push(`Baseline '${b}' skipped: ${(e as Error).message}`);
      }
    }
    const thresholdsRaw = isPrecipitationLike(name, units ?? undefined, typeof tvar.attrs['standard_name'] === 'string' ? tvar.attrs['standard_name'] : undefined)
      ? precipitationThresholds(units) : null;
    const precip = isPrecipitationLike(name, units ?? undefined, typeof tvar.attrs['standard_name'] === 'string' ? tvar.attrs['standard_name'] : undefined);
    if (precip && !thresholdsRaw) vnotes.push(`No Brier or FSS scores: the units '${units ?? ''}' are not a known rain rate, so 0.1 and 1 mm/h cannot be expressed in them.`);
    const thresholds = thresholdsRaw ?? [];
    let win = Math.min(5, Math.min(H, W));
    if (win % 2 === 0) win--;
    const fss = thresholds.map((t) => ({ threshold: t, window: Math.max(1, win) }));
    const scoreOpts = { lat: geoLat, thresholds, fss, periodicLon, bootstrap: boot };
    // the reference of the skill scores: a forecast or baseline named by the caller, else the climatology, which is
    // checked first (a failure drops it, not the others)
    let refEnsemble: EnsembleArray | null = null;
    const clim = built.find((b) => b.method === 'climatology');
    const named = o.reference ?? 'climatology';
    const refForecast = o.forecasts.findIndex((f) => f.label === named);
    if (refForecast >= 0) {
      refEnsemble = { data: files[refForecast]!.data[c]!, shape: files[refForecast]!.shape };
      reference = named;
    } else if (named !== 'climatology') {
      const b = built.find((x) => x.label === named);
      if (!b) throw new DataError('bad-option', `the reference '${named}' is neither a forecast label (${o.forecasts.map((f) => f.label).join(', ')}) nor a baseline built here (${built.map((x) => x.label).join(', ') || 'none'})`);
      refEnsemble = b.ensemble;
      reference = named;
    } else if (clim) {
      try {
        scoreEnsemble(clim.ensemble, clip, { lat: geoLat });
        refEnsemble = clim.ensemble;
        reference = 'climatology';
      } catch (e) {
        vnotes.push(`Baseline 'climatology' dropped: ${(e as Error).message}`);
        built.splice(built.indexOf(clim), 1);
      }
    }
    const regionOut: VariableScoresInput['regions'] = [];
    const failed = new Set<string>();
    for (const r of regions) {
      const scored: ArmScores[] = [];
      const opts = { ...scoreOpts, region: r.mask, reference: refEnsemble };
      files.forEach((f, i) => {
        const label = o.forecasts[i]!.label;
        try {
          scored.push({ arm: label, scores: scoreEnsemble({ data: f.data[c]!, shape: f.shape }, clip, opts) });
        } catch (e) {
          throw new DataError('bad-value', `${f.path}: '${name}' cannot be scored: ${(e as Error).message}`);
        }
        o.onProgress?.(++done, total);
      });
      for (const b of built) {
        if (failed.has(b.label)) continue;
        try {
          scored.push({ arm: b.label, scores: scoreEnsemble(b.ensemble, clip, opts) });
        } catch (e) {
          failed.add(b.label);
          vnotes.push(`Baseline '${b.label}' could not be scored: ${(e as Error).message}`);
        }
        o.onProgress?.(++done, total);
      }
      regionOut.push({ region: r.name, description: r.description, cells: r.cells, arms: scored.filter((a) => !failed.has(a.arm)) });
    }
    const usable = built.filter((b) => !failed.has(b.label));
    for (const b of usable) {
      if (!arms.some((a) => a.label === b.label)) {
        arms.push({ label: b.label, kind: 'baseline', method: b.method, source: `built from ${o.truth}`, members: b.ensemble.shape[0], description: b.description });
      }
    }
    const global = regionOut[0]?.arms ?? [];
    const best = global.filter((a) => usable.some((b) => b.label === a.arm))
      .map((a) => ({ arm: a.arm, crps: meanOverLeads(mainCrps(a.scores)) })).filter((a) => Number.isFinite(a.crps))
      .sort((a, b) => a.crps - b.crps)[0]?.arm ?? null;
    varInputs.push({ variable: name, units, precipitationLike: precip, thresholds, fss, regions: regionOut, notes: vnotes });
    perVariable.push({ variable: name, truth, built: usable, bestBaseline: best });
    for (const n of vnotes) log(`${name}: ${n}`);
  }
  // the arms in a stable order: models, then baselines in the order asked
  arms.sort((a, b) => (a.kind === b.kind ? (a.kind === 'model' ? 0 : baselineNames.indexOf(a.label) - baselineNames.indexOf(b.label)) : a.kind === 'model' ? -1 : 1));

  const card = buildScorecard({
    title: `Scorecard: ${o.forecasts.map((f) => f.label).join(', ')} against ${o.truth}`,
    created: new Date().toISOString(), truth: o.truth, task, settings,
    leads: { title: leadTitle, values: leadValues, labels: leadLabels, known: frameKnown },
    caseDates, arms, reference, training: baselineNames.some((b) => b === 'climatology' || b === 'damped-persistence' || b === 'laplace-anomaly') ? training : null, bootstrap: boot,
    scoredValues: known ? 'the generated values only: values given to the model (the known mask of the file) are left out of every score' : 'every value where the truth is present',
    variables: varInputs, notes,
  });

  // ---- pictures and files, written into a temporary folder renamed into place at the end
  const tmp = tempPathFor(out);
  mkdirSync(tmp);
  try {
    const put = (rel: string, data: string | Uint8Array): void => {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), data);
      card.files.push(rel);
    };
    const images = await writeScoreFigures(card, perVariable, {
      model: { label: o.forecasts[0]!.label, file: first }, frameKnown, caseDates, lat: geoLat, lon: geoLon, put, log,
    });
    card.files.push('scorecard.md', 'scorecard.json');
    writeFileSync(join(tmp, 'scorecard.md'), scorecardMarkdown(card, images));
    writeFileSync(join(tmp, 'scorecard.json'), scorecardJSON(card));
    await commitDirectory(tmp, out, (o.overwrite ?? false) || outIsEmptyDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`wrote ${o.out}`);
  return card;
}
