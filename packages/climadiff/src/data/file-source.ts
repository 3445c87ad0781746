// A streaming ClipSource over a file or store on disk (NetCDF classic/64-bit offset, NetCDF-4/HDF5, Zarr
// v2/v3) through the readers' hyperslab reads: `read(start, end)` CF-decodes only time steps
// [start, end), so a Zarr store chunked along time (`climadiff data convert in.nc out.zarr --chunk-time N`)
// larger than memory can feed training; only the coordinates are read up front.
import type { ChannelInfo, ClipSource, FrameBlock } from './clip-source.js';
import { openSource, readCoordinates, readVariable } from './readers/open.js';
import type { Ranges } from './readers/source.js';
import { DataError } from './types.js';

export interface FileSourceOptions {
  group?: string;
  calendar?: string;
  /** Index along a vertical (or any other) dimension longer than 1 (default 0 when such a dimension exists: error). */
  level?: number;
  /** Or the level by its coordinate value, in the file's units (e.g. 500 for 500 hPa; within 1e-6 relative). */
  levelValue?: number;
}

export interface FileClipSource extends ClipSource { close(): void }

export async function openClipSource(path: string, variables: readonly string[], o: FileSourceOptions = {}): Promise<FileClipSource> {
  const src = await openSource(path, o.group);
  try {
    const { coords, renames } = await readCoordinates(src, o.calendar);
    if (variables.length === 0) throw new DataError('no-variables', `${path}: choose at least one variable as a channel`);
    let grid: { t: string; y: string; x: string; T: number; H: number; W: number } | null = null;
    const plans = variables.map((name) => {
      const raw = src.variables.get(name);
      if (!raw) throw new DataError('unknown-variable', `${path}: unknown variable '${name}'; the file has: ${[...src.variables.keys()].join(', ')}`);
      const dims = raw.dims.map((d) => renames.get(d) ?? d);
      const ti = dims.findIndex((d) => coords.get(d)?.axis === 'T' || d.toLowerCase() === 'time');
      const spatial = dims.map((_, i) => i).filter((i) => i !== ti && raw.shape[i]! > 1 && coords.get(dims[i]!)?.axis !== 'Z');
      const levels = dims.map((_, i) => i).filter((i) => i !== ti && !spatial.includes(i) && raw.shape[i]! > 1);
      if (ti !== 0 || spatial.length !== 2) {
        throw new DataError('wrong-dimensions', `${path}: variable '${name}' has dimensions (${dims.join(', ')}) [${raw.shape.join(', ')}]; clips need (time, lat, lon) with time first`);
      }
      let level = o.level ?? 0;
      if (o.levelValue !== undefined) {
        // a level asked for by value: the variable must have a vertical dimension (one of length 1 must hold that value)
        const z = dims.map((_, i) => i).filter((i) => i !== ti && !spatial.includes(i) && (raw.shape[i]! > 1 || coords.get(dims[i]!)?.axis === 'Z'));
        if (z.length === 0) throw new DataError('bad-selection', `${path}: '${name}' has no vertical dimension, so --level ${o.levelValue} does not apply`);
        for (const i of z.filter((i) => raw.shape[i] === 1)) {
          const v = coords.get(dims[i]!)?.values[0];
          if (v !== undefined && Math.abs(v - o.levelValue) > 1e-6 * Math.max(1, Math.abs(o.levelValue))) {
            throw new DataError('empty-selection', `${path}: '${name}' has the single level ${v} along '${dims[i]}', not ${o.levelValue}`);
          }
        }
      }
      for (const i of levels) {
        const values = coords.get(dims[i]!)?.values;
        if (o.levelValue !== undefined) {
          const want = o.levelValue;
          const k = values ? Array.from(values).findIndex((v) => Math.abs(v - want) <= 1e-6 * Math.max(1, Math.abs(want))) : -1;
          if (k < 0) throw new DataError('empty-selection', `${path}: '${name}' has no level ${want} along '${dims[i]}'${values ? `; the levels are ${Array.from(values).join(', ')}` : ' (no coordinate values)'}`);
          level = k;
        } else if (o.level === undefined || level < 0 || level >= raw.shape[i]!) {
          throw new DataError('wrong-dimensions', `${path}: variable '${name}' has ${raw.shape[i]} levels along '${dims[i]}'${values ? ` (${Array.from(values).join(', ')})` : ''}; choose one with --level VALUE`);
        }
      }
      const g = { t: dims[0]!, y: dims[spatial[0]!]!, x: dims[spatial[1]!]!, T: raw.shape[0]!, H: raw.shape[spatial[0]!]!, W: raw.shape[spatial[1]!]! };
      if (grid && (grid.T !== g.T || grid.H !== g.H || grid.W !== g.W)) {
        throw new DataError('shape-mismatch', `${path}: variable '${name}' has grid ${g.T}x${g.H}x${g.W}, '${variables[0]}' ${grid.T}x${grid.H}x${grid.W}`);
      }
      grid ??= g;
      const ranges = (start: number, end: number): Ranges => raw.shape.map((n, i): [number, number] =>
        i === 0 ? [start, end] : spatial.includes(i) ? [0, n] : levels.includes(i) ? [level, level + 1] : [0, 1]);
      const info: ChannelInfo = { name, ...(typeof raw.attrs['units'] === 'string' ? { units: raw.attrs['units'] } : {}),
        ...(typeof raw.attrs['standard_name'] === 'string' ? { standardName: raw.attrs['standard_name'] } : {}) };
      return { name, ranges, info };
    });
    const g = grid!;
    const frame = g.H * g.W;
    return {
      channels: plans.map((p) => p.info), timeSteps: g.T, height: g.H, width: g.W,
      ...(coords.get(g.t) ? { time: coords.get(g.t)! } : {}),
      ...(coords.get(g.y) ? { lat: coords.get(g.y)! } : {}),
      ...(coords.get(g.x) ? { lon: coords.get(g.x)! } : {}),
      async read(start: number, end: number): Promise<FrameBlock> {
        if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > g.T || start >= end) {
          throw new DataError('bad-range', `frames [${start}, ${end}) are outside [0, ${g.T})`);
        }
        const n = end - start;
        const data = new Float32Array(plans.length * n * frame);
        const mask = new Uint8Array(plans.length * n * frame);
        for (let c = 0; c < plans.length; c++) {
          const v = await readVariable(src, plans[c]!.name, plans[c]!.ranges(start, end), renames);
          data.set(v.data, c * n * frame);
          if (v.mask) mask.set(v.mask, c * n * frame);
          for (let i = 0; i < n * frame; i++) if (Number.isNaN(data[c * n * frame + i]!)) mask[c * n * frame + i] = 1;
        }
        return { data, mask, frames: n };
      },
      close: () => src.close(),
    };
  } catch (e) {
    src.close();
    throw e;
  }
}
