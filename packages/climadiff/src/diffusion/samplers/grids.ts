// Noise-level grids, separate from the solvers that walk them (as in k-diffusion: get_sigmas_karras and friends).
//
// A grid is the list of logSNR levels lambda_0 < lambda_1 < ... < lambda_{T-1} at which a sampler evaluates the
// model, followed by +Infinity (clean data): T steps, T + 1 entries, noise decreasing along the list. The last step
// of every sampler goes from lambda_{T-1} to data and returns the denoised x_hat (as the seed's and k-diffusion's
// samplers do). Variance-exploding noise levels are sigma = exp(-lambda / 2) (the VP latent rescaled, z / alpha).
import * as torch from '@climadiff/torch';
import type { Schedule } from '../schedule.js';

export const GRID_KINDS = ['uniform-t', 'logsnr', 'karras'] as const;
export type GridKind = (typeof GRID_KINDS)[number];

export interface GridSpec {
  /** 'uniform-t' (the seed's t_k = 1 - k / T, eq. 2.56), 'logsnr' (uniform in lambda), 'karras' (rho-spaced sigmas). */
  kind: GridKind;
  /** Karras et al.'s rho (default 7, their eq. 5); only for 'karras'. */
  rho?: number;
  /** The noisiest level of the grid (lambda_0); see defaultTruncation. */
  logsnrMin?: number;
  /** The least noisy level evaluated (lambda_{T-1}); see defaultTruncation. */
  logsnrMax?: number;
}

/** sigma_max = 80 and sigma_min = 0.002 of Karras et al. (2022, sec. 5), as logSNR: lambda = -2 log sigma. */
export const EDM_LOGSNR_MIN = -2 * Math.log(80); // -8.76
export const EDM_LOGSNR_MAX = -2 * Math.log(0.002); // 12.43

/**
 * The default range of a grid on `schedule`. 'uniform-t' spans the schedule (the seed's grid: t from 1 to 1/T).
 * 'logsnr' and 'karras' stop short of the schedule's extreme ends, at EDM's sigma range [0.002, 80] clipped to
 * the schedule: at lambda = -30 (the cosine's t = 1) the latent is N(0, I) to 1e-13 and the levels between -30 and
 * -8.8 change nothing that a step could use (DPM-Solver clips lambda(t) near t = 1 for the same reason), and above
 * lambda = 12.4 the noise (sigma = 0.002 data standard deviations) is below what data normalised to unit variance
 * resolves.
 */
export function defaultTruncation(schedule: Schedule, kind: GridKind): { logsnrMin: number; logsnrMax: number } {
  if (kind === 'uniform-t') return { logsnrMin: schedule.logsnrMin, logsnrMax: schedule.logsnrMax };
  return { logsnrMin: Math.max(schedule.logsnrMin, EDM_LOGSNR_MIN), logsnrMax: Math.min(schedule.logsnrMax, EDM_LOGSNR_MAX) };
}

function range(fn: string, schedule: Schedule, kind: GridKind, o: { logsnrMin?: number; logsnrMax?: number }): [number, number] {
  const d = defaultTruncation(schedule, kind);
  const lo = o.logsnrMin ?? d.logsnrMin;
  const hi = o.logsnrMax ?? d.logsnrMax;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new Error(`${fn}: need finite logsnrMin < logsnrMax, got [${lo}, ${hi}]`);
  return [lo, hi];
}

function checkSteps(fn: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${fn}: steps must be an integer >= 1, got ${String(steps)}`);
}

/**
 * The seed's grid (eq. 2.56): lambda(t_k) at t_k = tStart (1 - k / T), k = 0..T-1, then data. tStart = t(logsnrMin)
 * (1 without truncation). logsnrMax is not used: the last level is lambda(tStart / T).
 */
export function uniformTimeGrid(schedule: Schedule, steps: number, o: { logsnrMin?: number } = {}): number[] {
  checkSteps('uniformTimeGrid', steps);
  const lo = o.logsnrMin ?? schedule.logsnrMin;
  if (!(Number.isFinite(lo) && lo < schedule.logsnrMax)) throw new Error(`uniformTimeGrid: logsnrMin must be finite and below the schedule's logsnrMax ${schedule.logsnrMax}, got ${String(lo)}`);
  const tStart = lo <= schedule.logsnrMin ? 1 : torch.scope(() => schedule.t(torch.scalarTensor(lo, { dtype: 'float64' })).item());
  const ts = Array.from({ length: steps }, (_, k) => tStart * (1 - k / steps));
  const l = torch.scope(() => Array.from(schedule.logsnr(torch.tensor(ts, { dtype: 'float64' })).toFloat64Array()));
  return [...l, Infinity];
}

/** lambda_k = logsnrMin + k / (T - 1) (logsnrMax - logsnrMin), k = 0..T-1, then data (one step: logsnrMin only). */
export function uniformLogsnrGrid(schedule: Schedule, steps: number, o: { logsnrMin?: number; logsnrMax?: number } = {}): number[] {
  checkSteps('uniformLogsnrGrid', steps);
  const [lo, hi] = range('uniformLogsnrGrid', schedule, 'logsnr', o);
  return [...Array.from({ length: steps }, (_, k) => (steps === 1 ? lo : lo + (k / (steps - 1)) * (hi - lo))), Infinity];
}

/**
 * Karras et al. (2022, eq. 5): sigma_k = (sigma_max^(1/rho) + k / (T - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
 * k = 0..T-1, then data; sigma = exp(-lambda / 2), sigma_max at logsnrMin, sigma_min at logsnrMax. rho = 7 by default.
 */
export function karrasGrid(schedule: Schedule, steps: number, o: { rho?: number; logsnrMin?: number; logsnrMax?: number } = {}): number[] {
  checkSteps('karrasGrid', steps);
  const rho = o.rho ?? 7;
  if (!(Number.isFinite(rho) && rho > 0)) throw new Error(`karrasGrid: rho must be a finite number > 0, got ${String(rho)}`);
  const [lo, hi] = range('karrasGrid', schedule, 'karras', o);
  // sigma^(1/rho) = exp(-lambda / (2 rho)): computed in logs so that any range is representable
  const a = Math.exp(-lo / (2 * rho)), b = Math.exp(-hi / (2 * rho));
  const levels = Array.from({ length: steps }, (_, k) => {
    if (k === 0) return lo;
    if (k === steps - 1) return hi;
    return -2 * rho * Math.log(a + (k / (steps - 1)) * (b - a));
  });
  return [...levels, Infinity];
}

/** The grid of a spec: T steps on `schedule`. */
export function makeGrid(schedule: Schedule, steps: number, spec: GridSpec): number[] {
  switch (spec.kind) {
    case 'uniform-t':
      if (spec.logsnrMax !== undefined) throw new Error("makeGrid: 'uniform-t' grids take logsnrMin only (the last level is lambda(tStart / T))");
      return uniformTimeGrid(schedule, steps, { logsnrMin: spec.logsnrMin });
    case 'logsnr': return uniformLogsnrGrid(schedule, steps, spec);
    case 'karras': return karrasGrid(schedule, steps, spec);
    default: throw new Error(`makeGrid: unknown grid '${String((spec as { kind: unknown }).kind)}' (valid: ${GRID_KINDS.join(', ')})`);
  }
}

/**
 * An explicit grid checked: strictly increasing finite logSNR levels followed by +Infinity, at least one step.
 * Returns a copy.
 */
export function checkGrid(fn: string, grid: readonly number[]): number[] {
  const g = Array.from(grid);
  const T = g.length - 1;
  if (T < 1 || g[T] !== Infinity) throw new Error(`${fn}: a grid is increasing logSNR levels ending in Infinity (data), at least 2 entries; got [${g.join(', ')}]`);
  for (let k = 0; k < T; k++) {
    if (!Number.isFinite(g[k]!) || (k > 0 && !(g[k]! > g[k - 1]!))) {
      throw new Error(`${fn}: grid levels must be finite and strictly increasing before the final Infinity; got [${g.join(', ')}]`);
    }
  }
  return g;
}
