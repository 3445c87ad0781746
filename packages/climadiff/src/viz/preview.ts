// From a decoded dataset to a picture file: picks a variable and a frame range, optionally turns values
// into anomalies from the smooth seasonal cycle of the frames shown (per grid point), and writes PNG (first
// frame) or animated GIF (all frames) with the sequential or the centred diverging colormap.
import { writeFileSync } from 'node:fs';
import { memorySource } from '../data/clip-source.js';
import { fitNormStats, seasonalBasis, seasonalMean } from '../data/normalise.js';
import { decodeTimeParts, formatTimeParts, monthPositions } from '../data/time-parts.js';
import { DataError, type ClimateDataset } from '../data/types.js';
import { encodeGIF, encodePNG, renderFrames, type FieldSequence, type IndexedAnimation, type RenderOptions } from './render.js';

export interface PreviewOptions {
  variable: string;
  /** Time steps [start, end) (default: all; a PNG shows the first). */
  frames?: [number, number];
  /** Show anomalies from the per-grid-point smooth seasonal cycle of the frames shown (diverging colormap). */
  anomaly?: boolean;
  scale?: number;
  delayMs?: number;
}

/** A 2-D (lat, lon) field without a time dimension is shown as a single frame. */
function withFrameAxis(ds: ClimateDataset, name: string): ClimateDataset {
  const v = ds.variables.get(name);
  if (!v || v.shape.filter((n) => n > 1).length !== 2 || v.dims.some((d) => ds.coords.get(d)?.axis === 'T' || d === 'time')) return ds;
  const framed = { ...v, dims: ['time', ...v.dims], shape: [1, ...v.shape] };
  return { ...ds, variables: new Map([...ds.variables, [name, framed]]) };
}

/** The frames of one variable as a FieldSequence (anomalies when asked). */
export async function fieldSequence(ds: ClimateDataset, o: PreviewOptions): Promise<FieldSequence> {
  const src = memorySource(withFrameAxis(ds, o.variable), [o.variable]);
  const [a, b] = o.frames ?? [0, src.timeSteps];
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > src.timeSteps || a >= b) {
    throw new DataError('bad-range', `frames ${a}:${b} are outside 0:${src.timeSteps} (time steps of '${o.variable}')`);
  }
  const { data, mask } = await src.read(a, b);
  const cells = src.height * src.width;
  let labels: string[] = Array.from({ length: b - a }, (_, i) => `t=${a + i}`);
  let months: Float64Array | null = null;
  if (src.time) {
    try {
      const parts = decodeTimeParts(src.time);
      labels = parts.slice(a, b).map(formatTimeParts);
      months = monthPositions(src.time);
    } catch { /* undecodable time units: index labels, anomalies from the time mean */ }
  }
  const units = src.channels[0]!.units;
  const seq: FieldSequence = {
    height: src.height, width: src.width, frames: [], masks: [], labels, title: o.variable,
    ...(src.lat ? { lat: src.lat.values } : {}), ...(src.lon ? { lon: src.lon.values } : {}),
  };
  let clim: ((t: number, i: number) => number) | null = null;
  if (o.anomaly) {
    if (months) {
      // the smooth seasonal cycle of the frames shown (their per-cell mean where they span fewer than 9 months):
      // monthly means would put a step into the anomalies at every month boundary
      const stats = await fitNormStats(src, { kind: 'seasonal', ranges: [[a, b]], months });
      const coefficients = stats.channels[0]!.seasonal!;
      const cycle = new Map<number, Float64Array>();
      clim = (t, i) => {
        let c = cycle.get(t);
        if (!c) { c = seasonalMean(coefficients, seasonalBasis(months![t]!), cells); cycle.set(t, c); }
        return c[i]!;
      };
    } else {
      const mean = new Float64Array(cells), n = new Float64Array(cells);
      for (let k = 0; k < data.length; k++) if (!mask[k]) { mean[k % cells]! += data[k]!; n[k % cells]! += 1; }
      clim = (_t, i) => (n[i]! > 0 ? mean[i]! / n[i]! : 0);
    }
    seq.title = `${o.variable} anomaly`;
  }
  if (units !== undefined) seq.units = units;
  for (let t = 0; t < b - a; t++) {
    const fr = data.slice(t * cells, (t + 1) * cells);
    if (clim) for (let i = 0; i < cells; i++) fr[i] = fr[i]! - clim(a + t, i);
    seq.frames.push(fr);
    seq.masks!.push(mask.slice(t * cells, (t + 1) * cells));
  }
  return seq;
}

/** Renders a variable of a dataset and writes `out` (.png: first frame, .gif: animation). */
export async function writePreview(ds: ClimateDataset, out: string, o: PreviewOptions): Promise<IndexedAnimation> {
  const lower = out.toLowerCase();
  if (!lower.endsWith('.png') && !lower.endsWith('.gif')) throw new DataError('bad-output', `output '${out}' must end in .png or .gif`);
  const seq = await fieldSequence(ds, o);
  const ro: RenderOptions = { colormap: o.anomaly ? 'coolwarm' : 'viridis', ...(o.scale !== undefined ? { scale: o.scale } : {}) };
  const anim = renderFrames(seq, ro);
  writeFileSync(out, lower.endsWith('.png') ? encodePNG(anim, 0) : encodeGIF(anim, o.delayMs !== undefined ? { delayMs: o.delayMs } : {}));
  return anim;
}
