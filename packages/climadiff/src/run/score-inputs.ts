// The forecast files of `climadiff score` (run/score.ts), read and checked against each other: the same cases, frames,
// valid times, grid, units, task and known mask in every file.
import { DataError } from '../data/types.js';
import { decodeTimeParts, formatTimeParts, timeUnitDays, type TimeParts } from '../data/time-parts.js';
import { readEnsembleFile, type EnsembleFile } from './ensemble-file.js';

/** Valid times rounded to the minute before decoding (float32 storage and unit conversions leave small residues). */
export function datesOf(values: ArrayLike<number>, units: string, calendar: string): TimeParts[] {
  let per = 0;
  try { per = timeUnitDays({ units, attrs: {} }) * 1440; } catch { per = 0; } // months/years: no rounding
  const v = Float64Array.from(values as ArrayLike<number>, (x) => (per > 0 ? Math.round(x * per) / per : x));
  return decodeTimeParts({ values: v, units, calendar, attrs: {} });
}

export const dateKey = (p: TimeParts): string => `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;

/** The forecast files, checked against the first. */
export interface ForecastSet {
  files: EnsembleFile[];
  first: EnsembleFile;
  variables: string[];
  N: number; F: number; H: number; W: number;
  /** The first file's valid times [N * F], decoded. */
  firstDates: TimeParts[];
  /** The task of the first file that records one. */
  task: string | null;
  /** The known mask [N * F * H * W] (every file that has one agrees), or null. */
  known: Uint8Array | null;
  settings: Record<string, unknown>;
}

/** Reads the forecast files (with the variables given, else the first file's) and checks them against the first. */
export async function readForecastSet(forecasts: { label: string; path: string }[], only?: string[]): Promise<ForecastSet> {
  const files: EnsembleFile[] = [];
  for (const f of forecasts) {
    files.push(await readEnsembleFile(f.path, only ?? files[0]?.variables));
  }
  const first = files[0]!;
  const variables = first.variables;
  const [, N, F, H, W] = first.shape;
  const HW = H * W;
  const firstDates = datesOf(first.times, first.timeUnits.units, first.timeUnits.calendar);
  const task = files.find((f) => f.task !== null)?.task ?? null;
  for (const f of files.slice(1)) {
    const s = f.shape;
    if (s[1] !== N || s[2] !== F || s[3] !== H || s[4] !== W) {
      throw new DataError('shape-mismatch', `${f.path} holds ${s[1]} case(s) of ${s[2]} frame(s) on a ${s[3]}x${s[4]} grid, but ${first.path} holds ${N} case(s) of ${F} frame(s) on ${H}x${W}; every forecast file must cover the same cases, frames and grid`);
    }
    const d = datesOf(f.times, f.timeUnits.units, f.timeUnits.calendar);
    for (let i = 0; i < N * F; i++) {
      if (dateKey(d[i]!) !== dateKey(firstDates[i]!)) {
        throw new DataError('time-mismatch', `${f.path}: frame ${(i % F) + 1} of case ${Math.floor(i / F) + 1} is valid at ${formatTimeParts(d[i]!)}, but in ${first.path} at ${formatTimeParts(firstDates[i]!)}; every forecast file must verify the same valid times`);
      }
    }
    if (f.task !== null && task !== null && f.task !== task) throw new DataError('task-mismatch', `${f.path} is a ${f.task} ensemble but ${files.find((x) => x.task === task)!.path} is a ${task} ensemble; score one task at a time`);
    variables.forEach((v, c) => {
      const a = first.units[c], b = f.units[c];
      if (a && b && a.trim() !== b.trim()) throw new DataError('units-mismatch', `${f.path}: '${v}' is in ${b}, but in ${first.path} in ${a}`);
    });
    if (first.lat && f.lat && first.lat.some((v, i) => Math.abs(v - f.lat![i]!) > 1e-3)) throw new DataError('grid-mismatch', `${f.path} is on other latitudes than ${first.path}`);
    if (first.lon && f.lon && first.lon.some((v, i) => Math.abs(v - f.lon![i]!) > 1e-3)) throw new DataError('grid-mismatch', `${f.path} is on other longitudes than ${first.path}`);
  }
  const knownFile = files.find((f) => f.known !== null) ?? null;
  const known = knownFile?.known ?? null;
  if (known && known.length !== N * F * HW) throw new DataError('bad-file', `${knownFile!.path}: the known mask has ${known.length} values, expected ${N * F * HW}`);
  for (const f of files) {
    if (f !== knownFile && f.known && knownFile && f.known.some((v, i) => v !== known![i])) {
      throw new DataError('mask-mismatch', `${f.path} and ${knownFile.path} were given different known values; score ensembles of the same cases and masks together`);
    }
  }
  const settings = (files.find((f) => f.task !== null) ?? first).settings;
  return { files, first, variables, N, F, H, W, firstDates, task, known, settings };
}
