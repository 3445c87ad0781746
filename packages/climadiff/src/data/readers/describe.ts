// A summary of a file for `climadiff data info`: dimensions, coordinates (with decoded time range),
// variables with units and the fraction of missing values.
import { DataError } from '../types.js';
import type { DecodedTime } from './calendar.js';
import { dataVariableNames, openSource, readCoordinates, readVariable } from './open.js';
import { decodeTimeCoordinate, missingFraction } from './select.js';
import type { FileFormat } from './source.js';

const SLAB_VALUES = 1 << 24;

export interface FileSummary {
  path: string;
  format: FileFormat;
  dims: Array<{ name: string; size: number }>;
  coords: Array<{ name: string; axis?: string; units?: string; calendar?: string; size: number; first: number; last: number }>;
  time?: { first: string; last: string; steps: number; calendar: string } | { units: string; note: string };
  variables: Array<{ name: string; dims: string[]; shape: number[]; dtype: string; units?: string; longName?: string; missingFraction: number }>;
  attrs: Record<string, unknown>;
}

export async function describeFile(path: string, opts: { group?: string; calendar?: string; slabValues?: number } = {}): Promise<FileSummary> {
  const src = await openSource(path, opts.group);
  try {
    const { coords, renames } = await readCoordinates(src, opts.calendar);
    const summary: FileSummary = {
      path, format: src.format,
      dims: [...src.dims].map(([name, size]) => ({ name: renames.get(name) ?? name, size })),
      coords: [], variables: [], attrs: src.attrs,
    };
    for (const c of coords.values()) {
      const n = c.values.length;
      summary.coords.push({
        name: c.name, size: n, first: c.values[0] ?? NaN, last: c.values[n - 1] ?? NaN,
        ...(c.axis ? { axis: c.axis } : {}), ...(c.units ? { units: c.units } : {}), ...(c.calendar ? { calendar: c.calendar } : {}),
      });
      if (c.axis === 'T' && !summary.time) {
        let times: DecodedTime[] | null = null;
        try { times = decodeTimeCoordinate(c); } catch (e) { if (!(e instanceof DataError)) throw e; }
        summary.time = times && times.length > 0
          ? { first: times[0]!.iso, last: times[times.length - 1]!.iso, steps: times.length, calendar: c.calendar ?? 'standard' }
          : { units: c.units ?? '', note: 'not decodable as a date (units are not "UNIT since DATE")' };
      }
    }
    for (const name of dataVariableNames(src)) {
      const raw = src.variables.get(name)!;
      // Count missing values slab by slab along the first dimension, so large files are never held whole.
      const total = raw.shape.reduce((a, b) => a * b, 1);
      const perRow = raw.shape.length > 0 ? total / Math.max(1, raw.shape[0]!) : 1;
      const step = raw.shape.length > 0 ? Math.max(1, Math.floor((opts.slabValues ?? SLAB_VALUES) / Math.max(1, perRow))) : 1;
      let missing = 0;
      const n0 = raw.shape.length > 0 ? raw.shape[0]! : 1;
      for (let a = 0; a < n0; a += step) {
        const ranges = raw.shape.map((n, i) => (i === 0 ? [a, Math.min(n, a + step)] : [0, n]) as [number, number]);
        const v = await readVariable(src, name, raw.shape.length > 0 ? ranges : undefined, renames);
        missing += missingFraction(v) * v.data.length;
      }
      const units = typeof raw.attrs.units === 'string' ? raw.attrs.units : undefined;
      summary.variables.push({
        name, dims: raw.dims.map((d) => renames.get(d) ?? d), shape: raw.shape.slice(), dtype: raw.dtype,
        missingFraction: total > 0 ? Math.round(missing) / total : 0,
        ...(units !== undefined ? { units } : {}),
        ...(typeof raw.attrs.long_name === 'string' ? { longName: raw.attrs.long_name } : {}),
      });
    }
    return summary;
  } finally {
    src.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, '');
}

export function formatSummary(s: FileSummary): string {
  const lines: string[] = [];
  lines.push(`${s.path}  (${s.format})`);
  const title = s.attrs.title ?? s.attrs.TITLE;
  if (typeof title === 'string') lines.push(`title: ${title}`);
  lines.push('', 'dimensions: ' + s.dims.map((d) => `${d.name}=${d.size}`).join(', '));
  lines.push('', 'coordinates:');
  lines.push(table([['name', 'axis', 'size', 'first', 'last', 'units'],
    ...s.coords.map((c) => [c.name, c.axis ?? '-', String(c.size), fmt(c.first), fmt(c.last), c.units ?? ''])]).replace(/^/gm, '  '));
  if (s.time) {
    lines.push('');
    if ('first' in s.time) lines.push(`time range: ${s.time.first} to ${s.time.last} (${s.time.steps} steps, calendar ${s.time.calendar})`);
    else lines.push(`time: units '${s.time.units}', ${s.time.note}`);
  }
  lines.push('', 'variables:');
  lines.push(table([['name', 'dims', 'shape', 'type', 'units', 'missing', 'long name'],
    ...s.variables.map((v) => [v.name, `(${v.dims.join(', ')})`, v.shape.join('x'), v.dtype, v.units ?? '',
      `${(v.missingFraction * 100).toFixed(1)}%`, v.longName ?? ''])]).replace(/^/gm, '  '));
  return lines.join('\n') + '\n';
}
