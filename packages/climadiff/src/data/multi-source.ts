// Datasets of many files joined along time, as xarray's open_mfdataset(combine='by_coords') joins them: each file is
// a streaming FileClipSource, the files are put in calendar order by their first time step, and `read(start, end)`
// reads only the files (and steps) that cover [start, end). Files must agree on the channels, their units, the grid
// and the calendar; steps that overlap between files are an error, missing steps between files are reported.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { globSync } from 'tinyglobby';
import type { FrameBlock } from './clip-source.js';
import { openClipSource, type FileClipSource, type FileSourceOptions } from './file-source.js';
import { decodeTimeParts, encodeTimeParts, formatTimeParts } from './time-parts.js';
import { DataError, type Coordinate } from './types.js';

/** File names a directory of data files is read for (a Zarr store is a directory too, and is one file). */
const DATA_FILE = /\.(nc|nc4|netcdf|cdf|h5|hdf5|zarr)$/i;

/**
 * The files of a data spec: one path (a file or a Zarr store), a comma-separated list, a glob ('data/tas_*.nc') or a
 * directory (its data files). Sorted by name (calendar order comes from the files' times when opened); an empty match
 * or a missing path is an error.
 */
export function resolveDataFiles(spec: string | readonly string[]): string[] {
  const parts = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()).filter(Boolean) : [...spec];
  if (parts.length === 0) throw new DataError('missing-file', 'no data file given');
  const files: string[] = [];
  for (const p of parts) {
    if (/[*?[\]{}]/.test(p)) {
      // directories come back with a trailing slash (a Zarr store matches as one); absolute patterns give absolute paths
      const matched = globSync(p, { onlyFiles: false, absolute: isAbsolute(p), expandDirectories: false })
        .map((f) => f.replace(/[/\\]+$/, '')).filter((f) => DATA_FILE.test(f)).sort();
      if (matched.length === 0) throw new DataError('missing-file', `${p}: no data file matches this pattern`);
      files.push(...matched);
    } else if (existsSync(p) && statSync(p).isDirectory() && !isZarr(p)) {
      const inside = readdirSync(p).filter((f) => DATA_FILE.test(f)).sort().map((f) => join(p, f));
      if (inside.length === 0) throw new DataError('missing-file', `${p}: a directory without data files (.nc, .nc4, .cdf, .h5, .zarr)`);
      files.push(...inside);
    } else {
      if (!existsSync(p)) throw new DataError('missing-file', `${p}: no such file or directory`);
      files.push(p);
    }
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f)) throw new DataError('bad-option', `${f}: given twice`);
    seen.add(f);
  }
  return files;
}

function isZarr(dir: string): boolean {
  return ['.zgroup', '.zarray', 'zarr.json', '.zattrs'].some((f) => existsSync(join(dir, f)));
}

/** One file's place in the joined time axis. */
export interface FilePart { path: string; start: number; steps: number; first: string; last: string }

/** Steps missing between two consecutive files (more than one step apart). */
export interface TimeGap { after: string; before: string; missing: number; from: string; to: string }

export interface MultiFileSource extends FileClipSource {
  /** The files in calendar order, with the index of their first step in the joined axis. */
  readonly files: readonly FilePart[];
  /** Steps missing between files (reported, not filled). */
  readonly gaps: readonly TimeGap[];
}

export interface MultiFileOptions extends FileSourceOptions {
  /** Called with each note about the join (gaps). */
  log?: (m: string) => void;
}

const sameValues = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-6 * Math.max(1, Math.abs(a[i]!))) return false;
  return true;
};

const calendarName = (c: Coordinate): string => {
  const raw = (c.calendar ?? (typeof c.attrs['calendar'] === 'string' ? c.attrs['calendar'] : 'standard')).toLowerCase();
  return raw === 'gregorian' ? 'standard' : raw === '365_day' ? 'noleap' : raw === '366_day' ? 'all_leap' : raw;
};

/** Opens many files as one source joined along time (see the file's header). One file gives that file's source. */
export async function openMultiFileSource(paths: readonly string[], variables: readonly string[], o: MultiFileOptions = {}): Promise<MultiFileSource> {
  if (paths.length === 0) throw new DataError('missing-file', 'no data file given');
  const opened: FileClipSource[] = [];
  try {
    for (const p of paths) opened.push(await openClipSource(p, variables, o));
    const first = opened[0]!, firstPath = paths[0]!;
    // every file: a time axis, and the first file's channels, units, grid and calendar
    const parts = opened.map((s, i) => {
      const path = paths[i]!;
      if (!s.time) throw new DataError('missing-coordinate', `${path}: no time coordinate, so the file cannot be joined with others along time`);
      if (paths.length > 1) {
        if (s.height !== first.height || s.width !== first.width) {
          throw new DataError('grid-mismatch', `${path}: grid ${s.height}x${s.width}, but ${firstPath} has ${first.height}x${first.width}`);
        }
        for (const [axis, a, b] of [['latitude', s.lat, first.lat], ['longitude', s.lon, first.lon]] as const) {
          if ((a === undefined) !== (b === undefined) || (a && b && !sameValues(a.values, b.values))) {
            throw new DataError('grid-mismatch', `${path}: its ${axis} coordinate differs from ${firstPath}'s (the files must share one grid)`);
          }
        }
        s.channels.forEach((c, k) => {
          const u0 = first.channels[k]!.units ?? '(none)', u = c.units ?? '(none)';
          if (u !== u0) throw new DataError('units-mismatch', `${path}: '${c.name}' is in '${u}', but in '${u0}' in ${firstPath}`);
        });
        if (calendarName(s.time) !== calendarName(first.time!)) {
          throw new DataError('calendar-mismatch', `${path}: calendar '${calendarName(s.time)}', but ${firstPath} uses '${calendarName(first.time!)}'`);
        }
      }
      // the file's times in the first file's units (unchanged when the units agree)
      const sameUnits = s.time.units === first.time!.units;
      const tp = decodeTimeParts(s.time);
      const values = sameUnits ? s.time.values : Float64Array.from(tp, (p) => encodeTimeParts(p, first.time!));
      for (let k = 1; k < values.length; k++) {
        if (!(values[k]! > values[k - 1]!)) throw new DataError('bad-time-values', `${path}: time steps ${k - 1} and ${k} are not increasing (${formatTimeParts(tp[k - 1]!)}, ${formatTimeParts(tp[k]!)})`);
      }
      return { path, source: s, values, tp };
    });
    parts.sort((a, b) => a.values[0]! - b.values[0]!);
    // overlaps and gaps between consecutive files; the step is the most common one inside the files
    const step = typicalStep(parts.map((p) => p.values));
    const gaps: TimeGap[] = [];
    for (let i = 1; i < parts.length; i++) {
      const a = parts[i - 1]!, b = parts[i]!;
      const aLast = a.values[a.values.length - 1]!, bFirst = b.values[0]!;
      if (bFirst <= aLast) {
        throw new DataError('overlapping-files', `${b.path} starts at ${formatTimeParts(b.tp[0]!)}, which ${a.path} already covers (to ${formatTimeParts(a.tp[a.tp.length - 1]!)}): overlapping time steps`);
      }
      if (step > 0 && bFirst - aLast > 1.5 * step) {
        const missing = Math.round((bFirst - aLast) / step) - 1;
        gaps.push({ after: a.path, before: b.path, missing, from: formatTimeParts(a.tp[a.tp.length - 1]!), to: formatTimeParts(b.tp[0]!) });
        o.log?.(`${missing} time step(s) missing between ${a.path} (ends ${formatTimeParts(a.tp[a.tp.length - 1]!)}) and ${b.path} (starts ${formatTimeParts(b.tp[0]!)})`);
      }
    }
    const starts: number[] = [];
    let total = 0;
    for (const p of parts) { starts.push(total); total += p.values.length; }
    const time: Coordinate = { ...first.time!, values: new Float64Array(total) };
    parts.forEach((p, i) => time.values.set(p.values, starts[i]!));
    const frame = first.height * first.width, C = first.channels.length;
    const files = parts.map((p, i): FilePart => ({ path: p.path, start: starts[i]!, steps: p.values.length, first: formatTimeParts(p.tp[0]!), last: formatTimeParts(p.tp[p.tp.length - 1]!) }));
    return {
      channels: first.channels, timeSteps: total, height: first.height, width: first.width,
      time, ...(first.lat ? { lat: first.lat } : {}), ...(first.lon ? { lon: first.lon } : {}),
      files, gaps,
      // a clip never spans missing steps: each gap breaks the axis at the first step of the later file
      breaks: gaps.map((g) => files.find((f) => f.path === g.before)!.start),
      async read(start: number, end: number): Promise<FrameBlock> {
        if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > total || start >= end) {
          throw new DataError('bad-range', `frames [${start}, ${end}) are outside [0, ${total})`);
        }
        if (parts.length === 1) return parts[0]!.source.read(start, end);
        const n = end - start;
        const data = new Float32Array(C * n * frame), mask = new Uint8Array(C * n * frame);
        for (let i = 0; i < parts.length; i++) {
          const a = Math.max(start, starts[i]!), b = Math.min(end, starts[i]! + parts[i]!.values.length);
          if (a >= b) continue;
          const block = await parts[i]!.source.read(a - starts[i]!, b - starts[i]!);
          const m = b - a;
          for (let c = 0; c < C; c++) {
            const dst = (c * n + (a - start)) * frame;
            data.set(block.data.subarray(c * m * frame, (c + 1) * m * frame), dst);
            mask.set(block.mask.subarray(c * m * frame, (c + 1) * m * frame), dst);
          }
        }
        return { data, mask, frames: n };
      },
      close: () => { for (const s of opened) s.close(); },
    };
  } catch (e) {
    for (const s of opened) s.close();
    throw e;
  }
}

/** The most common difference between consecutive values inside the files (0 when no file has two steps). */
function typicalStep(series: Float64Array[]): number {
  const counts = new Map<number, number>();
  for (const v of series) for (let k = 1; k < v.length; k++) {
    const d = Math.round((v[k]! - v[k - 1]!) * 1e6) / 1e6;
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 0, n = 0;
  for (const [d, c] of counts) if (c > n) { best = d; n = c; }
  return best;
}

/** The source of a data spec (resolveDataFiles): one file as it is, several joined along time. */
export async function openDataSource(spec: string | readonly string[], variables: readonly string[], o: MultiFileOptions = {}): Promise<FileClipSource & Partial<Pick<MultiFileSource, 'files' | 'gaps'>>> {
  const files = resolveDataFiles(spec);
  if (files.length === 1) return openClipSource(files[0]!, variables, o);
  return openMultiFileSource(files, variables, o);
}

