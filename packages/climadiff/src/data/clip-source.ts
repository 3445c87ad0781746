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
