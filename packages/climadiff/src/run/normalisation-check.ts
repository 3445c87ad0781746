// `climadiff data normalisations FILE --vars ...`: what each normalisation leaves for a model to generate. Fitted on the
// training split (time blocks 0.8 / 0.1 / 0.1), measured on the held-out test split: the mean square of the anomalies
// (the departures from the normalisation's mean, in physical units after the channel's transform) and of their change
// over one frame, cos(latitude)-weighted. What a date-conditioned model need not learn as weather is the part a
// normalisation removes.
import { openSelectedSource } from '../data/select-source.js';
import { splitOf } from '../data/dataset.js';
import { fitNormStats, normalise, sourceMonths, NORM_KINDS, type NormKind } from '../data/normalise.js';
import { latitudeWeights } from '../eval/area.js';

export interface NormalisationRow {
  variable: string;
  units: string | null;
  kind: NormKind;
  /** Held-out mean square of the anomalies (units^2) and its ratio to the per-variable one (the total variance). */
  anomalyMeanSquare: number;
  share: number;
  /** Held-out mean square of the anomalies' change over one frame (units^2). */
  changeMeanSquare: number;
}

export async function compareNormalisations(data: string, variables: string[], o: { frames?: number; kinds?: readonly NormKind[] } = {}): Promise<NormalisationRow[]> {
  const source = await openSelectedSource(data, variables, null);
  const split = splitOf(source, { frames: o.frames ?? 8 });
  const { height: H, width: W } = source;
  const HW = H * W, C = source.channels.length;
  const latW = latitudeWeights(source.lat?.values ?? null, H);
  const months = source.time ? sourceMonths(source) : null;
  const kinds = (o.kinds ?? NORM_KINDS).filter((k) => k === 'per-variable' || months !== null);
  const rows: NormalisationRow[] = [];
  const perVariable = new Map<string, number>();
  for (const kind of kinds) {
    const stats = await fitNormStats(source, { kind, ranges: split.train.ranges });
    const sum = new Float64Array(C), wsum = new Float64Array(C), dsum = new Float64Array(C), dw = new Float64Array(C);
    for (const [a, b] of split.test.ranges) {
      const block = await source.read(a, b);
      const F = b - a;
      const y = normalise(stats, block.data, block.mask, { channels: C, frames: F, height: H, width: W }, months ? months.subarray(a, b) : null);
      for (let c = 0; c < C; c++) {
        const std = stats.channels[c]!.std;
        for (let f = 0; f < F; f++) {
          for (let j = 0; j < HW; j++) {
            const k = (c * F + f) * HW + j;
            if (block.mask[k]) continue;
            const w = latW[Math.floor(j / W)]!, v = y[k]! * std;
            sum[c] = sum[c]! + w * v * v; wsum[c] = wsum[c]! + w;
            if (f > 0 && !block.mask[k - HW]) { const d = v - y[k - HW]! * std; dsum[c] = dsum[c]! + w * d * d; dw[c] = dw[c]! + w; }
          }
        }
      }
    }
    source.channels.forEach((ch, c) => {
      const ms = sum[c]! / wsum[c]!;
      if (kind === 'per-variable') perVariable.set(ch.name, ms);
      rows.push({ variable: ch.name, units: ch.units ?? null, kind, anomalyMeanSquare: ms, share: ms / (perVariable.get(ch.name) ?? NaN), changeMeanSquare: dsum[c]! / dw[c]! });
    });
  }
  return rows;
}
