// Where clips come from. A ClipSource hands out contiguous time ranges of every channel, so a dataset can
// read only the frames a clip needs. `memorySource` wraps a decoded ClimateDataset (from a reader or the
// simulator). Streaming hook: a store larger than memory (e.g. Zarr chunked along time) implements the same
// interface with `read(start, end)` fetching only the chunks that cover [start, end); ClipDataset,
// fitNormaliser and the split never need the whole array, they only call `read` (in bounded blocks).
import { DataError, type ClimateDataset, type Coordinate, type Variable } from './types.js';

/** Frames [start, end) of every channel, layout (channel, time, lat, lon), physical units. */
export interface FrameBlock {
  /** NaN where missing. */
  data: Float32Array;
  /** 1 where missing. */
  mask: Uint8Array;
  frames: number;
}

export interface ChannelInfo { name: string; units?: string; /** CF standard_name when known. */ standardName?: string }

export interface ClipSource {
  readonly channels: readonly ChannelInfo[];
  readonly timeSteps: number;
  readonly height: number;
  readonly width: number;
  /** Coordinates when known (time for month-of-year climatology and labels, lat/lon for statics and maps). */
  readonly time?: Coordinate;
  readonly lat?: Coordinate;
  readonly lon?: Coordinate;
  /** Frames b that do not follow frame b - 1 by one time step (missing steps): no clip may span them. */
  readonly breaks?: readonly number[];
  /** Reads frames [start, end) of every channel. */
  read(start: number, end: number): Promise<FrameBlock>;
  /** Releases the files behind the source (sources over files); reads fail after it. */
  close?(): void;
}

const TIME_NAMES = new Set(['time', 't', 'times', 'date']);

function isTimeDim(ds: ClimateDataset, dim: string): boolean {
  const c = ds.coords.get(dim);
  if (c?.axis === 'T') return true;
  return TIME_NAMES.has(dim.toLowerCase());
}

/** The dimensions of a variable that are longer than 1, checked to be (time, y, x). */
function fieldDims(ds: ClimateDataset, v: Variable): { t: string; y: string; x: string; shape: [number, number, number] } {
  const kept: number[] = [];
  v.shape.forEach((n, i) => { if (n > 1 || isTimeDim(ds, v.dims[i]!)) kept.push(i); });
  const names = kept.map((i) => v.dims[i]!);
  if (kept.length !== 3 || !isTimeDim(ds, names[0]!)) {
    throw new DataError('wrong-dimensions', `variable '${v.name}' has dimensions (${v.dims.join(', ')}) with shape [${v.shape.join(', ')}]; `
      + 'a clip dataset needs (time, lat, lon), time first, other dimensions of length 1 (select a level first)');
  }
  return { t: names[0]!, y: names[1]!, x: names[2]!, shape: [v.shape[kept[0]!]!, v.shape[kept[1]!]!, v.shape[kept[2]!]!] };
}

/** A ClipSource over variables held in memory; `variables` become the channels, in order. */
export function memorySource(ds: ClimateDataset, variables: readonly string[]): ClipSource {
  if (variables.length === 0) throw new DataError('no-variables', 'choose at least one variable as a channel');
  const vars = variables.map((name) => {
    const v = ds.variables.get(name);
    if (!v) throw new DataError('unknown-variable', `unknown variable '${name}'; the dataset has: ${[...ds.variables.keys()].join(', ') || '(none)'}`);
    return v;
  });
  const dims = vars.map((v) => fieldDims(ds, v));
  const [T, H, W] = dims[0]!.shape;
  for (let i = 1; i < vars.length; i++) {
    const s = dims[i]!.shape;
    if (s[0] !== T || s[1] !== H || s[2] !== W) {
      throw new DataError('shape-mismatch', `variable '${vars[i]!.name}' has shape [${s.join(', ')}] but '${vars[0]!.name}' has [${T}, ${H}, ${W}]; channels must share one grid`);
    }
  }
  const d0 = dims[0]!;
  const frame = H * W;
  return {
    channels: vars.map((v) => ({ name: v.name, ...(v.units !== undefined ? { units: v.units } : {}),
      ...(typeof v.attrs['standard_name'] === 'string' ? { standardName: v.attrs['standard_name'] } : {}) })),
    timeSteps: T, height: H, width: W,
    ...(ds.coords.get(d0.t) ? { time: ds.coords.get(d0.t)! } : {}),
    ...(ds.coords.get(d0.y) ? { lat: ds.coords.get(d0.y)! } : {}),
    ...(ds.coords.get(d0.x) ? { lon: ds.coords.get(d0.x)! } : {}),
    read(start: number, end: number): Promise<FrameBlock> {
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > T || start >= end) {
        return Promise.reject(new DataError('bad-range', `frames [${start}, ${end}) are outside [0, ${T})`));
      }
      const n = end - start;
      const data = new Float32Array(vars.length * n * frame);
      const mask = new Uint8Array(vars.length * n * frame);
      vars.forEach((v, c) => {
        const off = c * n * frame;
        data.set(v.data.subarray(start * frame, end * frame), off);
        for (let i = 0; i < n * frame; i++) {
          const k = start * frame + i;
          if ((v.mask !== null && v.mask[k] !== 0) || Number.isNaN(v.data[k]!)) { mask[off + i] = 1; data[off + i] = NaN; }
        }
      });
      return Promise.resolve({ data, mask, frames: n });
    },
  };
}

/**
 * Every frame of a source as an in-memory dataset: one (time, lat, lon) variable per channel, NaN and masked where
 * missing, with the source's coordinates (a selection of many files, read like one file). Reads in blocks of frames.
 */
export async function sourceDataset(source: ClipSource, blockFrames = 256): Promise<ClimateDataset> {
  const { timeSteps: T, height: H, width: W } = source;
  const frame = H * W;
  const dims = [source.time?.name ?? 'time', source.lat?.name ?? 'lat', source.lon?.name ?? 'lon'];
  const vars = source.channels.map((c) => ({ data: new Float32Array(T * frame), mask: new Uint8Array(T * frame), info: c }));
  for (let t0 = 0; t0 < T; t0 += blockFrames) {
    const t1 = Math.min(T, t0 + blockFrames);
    const b = await source.read(t0, t1);
    vars.forEach((v, c) => {
      v.data.set(b.data.subarray(c * b.frames * frame, (c + 1) * b.frames * frame), t0 * frame);
      v.mask.set(b.mask.subarray(c * b.frames * frame, (c + 1) * b.frames * frame), t0 * frame);
    });
  }
  const coords = new Map<string, Coordinate>();
  const axis = (c: Coordinate | undefined, name: string, a: 'T' | 'Y' | 'X', n: number): void => {
    coords.set(name, c ? { ...c, axis: c.axis ?? a } : { name, values: Float64Array.from({ length: n }, (_, i) => i), axis: a, attrs: {} });
  };
  axis(source.time, dims[0]!, 'T', T);
  axis(source.lat, dims[1]!, 'Y', H);
  axis(source.lon, dims[2]!, 'X', W);
  return {
    variables: new Map(vars.map((v): [string, Variable] => [v.info.name, {
      name: v.info.name, dims, shape: [T, H, W], data: v.data, mask: v.mask,
      ...(v.info.units !== undefined ? { units: v.info.units } : {}), attrs: v.info.standardName ? { standard_name: v.info.standardName } : {},
    }])),
    coords, attrs: {},
  };
}
