// The baselines of `climadiff score`, built from the truth file through the same code as the scores (eval/baselines.ts,
// eval/interpolate-frames.ts, eval/regrid.ts, eval/laplace-fill.ts): which baseline applies to which task, and how
// each is built as an ensemble [M, N, F, H, W] on the verified cases (run/score.ts's file comment has the rules).
import type { Variable } from '../data/types.js';
import { formatTimeParts, monthPosition, type TimeParts } from '../data/time-parts.js';
import { SEASONAL_HARMONICS } from '../data/seasonal.js';
import type { EnsembleArray } from '../eval/scores.js';
import { climatologyEnsemble, dampedPersistenceEnsemble, seasonalClimatology, persistenceForecast } from '../eval/baselines.js';
import type { BaselineSeries } from '../eval/series.js';
import { interpolateFrames, type FrameInterpolation } from '../eval/interpolate-frames.js';
import { blockMean, upsample, type UpsampleMethod } from '../eval/regrid.js';
import { laplaceFillFrames } from '../eval/laplace-fill.js';

/** Every baseline, with the tasks it applies to. */
export const BASELINE_NAMES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  persistence: ['forecast'],
  climatology: ['forecast', 'interpolate', 'infill', 'downscale'],
  'damped-persistence': ['forecast'],
  linear: ['interpolate'],
  cubic: ['interpolate'],
  laplace: ['infill'],
  'laplace-anomaly': ['infill'],
  nearest: ['downscale'],
  bilinear: ['downscale'],
  bicubic: ['downscale'],
});

/** The baselines 'auto' builds for each task. */
export const AUTO_BASELINES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  forecast: ['persistence', 'climatology', 'damped-persistence'],
  interpolate: ['linear', 'cubic'],
  infill: ['laplace', 'laplace-anomaly', 'climatology'],
  downscale: ['nearest', 'bilinear', 'bicubic'],
});

/** A baseline built as an ensemble, with the name it is scored under. */
export interface BuiltBaseline { label: string; method: string; ensemble: EnsembleArray; description: string }

/** One scored variable: its truth at the verified frames [N, F, H, W], the baselines that could be scored, and the best of them by mean CRPS. */
export interface ScoredVariable { variable: string; truth: Float32Array; built: BuiltBaseline[]; bestBaseline: string | null }

/** The [T, H, W] values of a truth variable, NaN where masked. */
export function truthSeries(v: Variable): Float32Array {
  if (!v.mask) return v.data;
  const d = Float32Array.from(v.data);
  const HW = v.shape[1]! * v.shape[2]!;
  for (let i = 0; i < d.length; i++) if (v.mask.length === d.length ? v.mask[i] : v.mask[i % HW]) d[i] = NaN;
  return d;
}

export interface BaselineContext {
  series: BaselineSeries;
  /** The truth at the verified frames [N, F, H, W]. */
  truth: Float32Array;
  N: number; F: number; H: number; W: number;
  /** Truth index of each case's first frame. */
  starts: number[];
  /** Whether each case's frames are consecutive truth steps. */
  consecutive: boolean;
  known: Uint8Array | null;
  settings: Record<string, unknown>;
  trainIdx: number[];
  calendar: { yearOf: number[]; positionInYear: number[]; period: number };
  /** The truth's calendar ('noleap', 'standard', ...). */
  calendarName: string;
  lat: number[] | null;
  periodicLon: boolean;
  members: number;
  seed: number;
  truthDates: TimeParts[];
}

/** Builds one baseline as an ensemble [M, N, F, H, W], or returns why it cannot be built. */
export function buildBaseline(name: string, x: BaselineContext): Omit<BuiltBaseline, 'label' | 'method'> | string {
  const { N, F, H, W } = x, HW = H * W;
  const needConsecutive = (): string | null => (x.consecutive ? null : 'the frames of a case are not consecutive time steps of the truth file');
  const minStart = Math.min(...x.starts);
  switch (name) {
    case 'persistence': {
      const why = needConsecutive();
      if (why) return why;
      if (minStart < 1) return `the truth file has no step before lead 1 of case ${x.starts.indexOf(minStart) + 1}`;
      const kSetting = Number(x.settings['known']);
      const k = Math.min(Number.isInteger(kSetting) && kSetting >= 1 ? kSetting : 1, minStart);
      const e = persistenceForecast(x.series, x.starts, k, F);
      return { ensemble: e, description: `the truth at the step before lead 1 (for case 1: ${formatTimeParts(x.truthDates[x.starts[0]! - 1]!)}) for every lead${k > 1 ? `; where missing, the latest present value of the ${k} known frames` : ''}` };
    }
    case 'climatology': {
      const why = needConsecutive();
      if (why) return why;
      if (x.trainIdx.length === 0) return 'no training steps (the truth file has no step before the first case, and no train period was given)';
      const years = [...new Set(x.trainIdx.map((t) => x.calendar.yearOf[t]!))];
      if (years.length < 2) return `it needs at least 2 training years, the training period has ${years.length} (${years.join(', ')})`;
      const r = climatologyEnsemble(x.series, x.calendar, x.trainIdx, x.starts, F, { dropIncomplete: true });
      return { ensemble: r.ensemble, description: `the same calendar window of each training year (${r.years.join(', ')}; a case's own year left out)` };
    }
    case 'damped-persistence': {
      const why = needConsecutive();
      if (why) return why;
      if (x.trainIdx.length < 2) return 'too few training steps to fit an AR(1)';
      if (minStart < 1) return `the truth file has no step before lead 1 of case ${x.starts.indexOf(minStart) + 1}`;
      const clim = seasonalClimatology(x.series, x.trainIdx, x.truthDates.map((d) => monthPosition(d, x.calendarName)));
      const r = dampedPersistenceEnsemble(x.series, x.trainIdx, x.starts, F, { members: x.members, seed: x.seed, climatology: clim });
      let phi = 0, n = 0;
      for (const p of r.fit.phi) if (Number.isFinite(p)) { phi += p; n++; }
      return { ensemble: r.ensemble, description: `per-cell AR(1) of the anomalies from each cell's smooth seasonal cycle (mean and ${SEASONAL_HARMONICS} annual harmonics) fitted on the training steps (mean lag-1 autocorrelation ${(phi / Math.max(1, n)).toFixed(3)}), ${x.members} stochastic members` };
    }
    case 'linear': case 'cubic': {
      if (!x.known) return 'the forecast files hold no known mask';
      const out = new Float32Array(N * F * HW);
      for (let n = 0; n < N; n++) {
        const kf = Array.from({ length: F }, (_, f) => { for (let j = 0; j < HW; j++) if (x.known![(n * F + f) * HW + j]) return 1; return 0; });
        const clip = { data: x.truth.slice(n * F * HW, (n + 1) * F * HW), shape: [F, H, W] };
        for (let f = 0; f < F; f++) if (!kf[f]) clip.data.fill(NaN, f * HW, (f + 1) * HW); // nothing of an unknown frame leaks in
        out.set(interpolateFrames(clip, kf, { method: name as FrameInterpolation }).data, n * F * HW);
      }
      return { ensemble: { data: out, shape: [1, N, F, H, W] }, description: `${name === 'linear' ? 'linear' : 'natural cubic spline'} interpolation in time, per cell, from the known frames of each case` };
    }
    case 'laplace': {
      if (!x.known) return 'the forecast files hold no known mask';
      const given = Float32Array.from(x.truth, (v, i) => (x.known![i] ? v : NaN));
      const r = laplaceFillFrames({ data: given, shape: [N, F, H, W] }, x.known, { periodicLon: x.periodicLon });
      return { ensemble: r.ensemble, description: `harmonic (Laplace) fill of each frame from its known cells${r.converged ? '' : ' (not every frame converged)'}` };
    }
    case 'laplace-anomaly': {
      if (!x.known) return 'the forecast files hold no known mask';
      const why = needConsecutive();
      if (why) return why;
      if (x.trainIdx.length < 2) return 'too few training steps to fit the seasonal cycle the anomalies are taken from';
      const clim = seasonalClimatology(x.series, x.trainIdx, x.truthDates.map((d) => monthPosition(d, x.calendarName)));
      const background = new Float32Array(N * F * HW);
      for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) background.set(clim(x.starts[n]! + f), (n * F + f) * HW);
      const given = Float32Array.from(x.truth, (v, i) => (x.known![i] ? v : NaN));
      const r = laplaceFillFrames({ data: given, shape: [N, F, H, W] }, x.known, { periodicLon: x.periodicLon, background });
      return { ensemble: r.ensemble, description: `harmonic (Laplace) fill of each frame's anomalies from each cell's smooth seasonal cycle (mean and ${SEASONAL_HARMONICS} annual harmonics, fitted on the training steps), plus that cycle${r.converged ? '' : ' (not every frame converged)'}` };
    }
    case 'nearest': case 'bilinear': case 'bicubic': {
      const K = Number(x.settings['factor']);
      if (!Number.isInteger(K) || K < 2) return 'the forecast files record no downscaling factor (settings.factor)';
      if (H % K !== 0 || W % K !== 0) return `the factor ${K} does not divide the ${H}x${W} grid`;
      const coarse = blockMean({ data: x.truth, shape: [N, F, H, W] }, K, x.lat ? { latitudes: x.lat } : {});
      const fine = upsample({ data: coarse.data, shape: coarse.shape }, K, { method: name as UpsampleMethod, periodicLon: x.periodicLon });
      return { ensemble: { data: fine.data, shape: [1, N, F, H, W] }, description: `${name} upsampling of the truth's ${K}x${K} block means${x.lat ? ' (cos-latitude weighted)' : ''}` };
    }
    default:
      return `unknown baseline '${name}'`;
  }
}

