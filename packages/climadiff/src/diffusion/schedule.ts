// Noise schedules: everything is a function of the log signal-to-noise ratio lambda = log(alpha^2 / sigma^2)
// (001_5e42003193798b1e.txt eq. 2.63), for a variance-preserving process alpha^2 + sigma^2 = 1.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';

/**
 * A noise schedule maps time t in [0, 1] to logSNR lambda_t (strictly decreasing), with its inverse and
 * the density of lambda when t ~ U(0, 1). All functions are elementwise on tensors of any shape.
 */
export interface Schedule {
  readonly name: string;
  /** lambda at t = 1 and t = 0. */
  readonly logsnrMin: number;
  readonly logsnrMax: number;
  /** lambda_t. */
  logsnr(t: Tensor): Tensor;
  /** t(lambda), the inverse of logsnr. */
  t(logsnr: Tensor): Tensor;
  /** p(lambda) = |dt/dlambda| for t ~ U(0, 1). */
  density(logsnr: Tensor): Tensor;
}

/** alpha = sqrt(sigmoid(lambda)) (eq. 2.67). */
export function alphaFromLogsnr(logsnr: Tensor): Tensor {
  return logsnr.sigmoid().sqrt();
}
/** sigma = sqrt(sigmoid(-lambda)) (eq. 2.68). */
export function sigmaFromLogsnr(logsnr: Tensor): Tensor {
  return logsnr.neg().sigmoid().sqrt();
}
export function alphaSigma(logsnr: Tensor): { alpha: Tensor; sigma: Tensor } {
  return { alpha: alphaFromLogsnr(logsnr), sigma: sigmaFromLogsnr(logsnr) };
}

function checkRange(logsnrMin: number, logsnrMax: number): void {
  if (!(Number.isFinite(logsnrMin) && Number.isFinite(logsnrMax) && logsnrMin < logsnrMax)) {
    throw new Error(`schedule: need finite logsnrMin < logsnrMax, got [${logsnrMin}, ${logsnrMax}]`);
  }
}

export interface CosineOptions {
  logsnrMin?: number;
  logsnrMax?: number;
  /** Added to lambda (simple diffusion's 2 log(base / resolution)); the truncation applies to the result. */
  shift?: number;
}

/**
 * Truncated continuous-time alpha-cosine schedule (eqs 2.64-2.66, 2.69; A.13-A.24):
 * lambda_t = -2 log tan(pi/2 (t0 + t (t1 - t0))) + shift, with t0, t1 chosen so lambda spans
 * [logsnrMin, logsnrMax] exactly. The seed uses [-30, 30] and no shift.
 */
export function alphaCosineSchedule(options: CosineOptions = {}): Schedule {
  const logsnrMin = options.logsnrMin ?? -30;
  const logsnrMax = options.logsnrMax ?? 30;
  const shift = options.shift ?? 0;
  checkRange(logsnrMin, logsnrMax);
  // eqs 2.65-2.66, applied to the unshifted logSNR lambda - shift
  const t0 = (2 / Math.PI) * Math.atan(Math.exp(-0.5 * (logsnrMax - shift)));
  const t1 = (2 / Math.PI) * Math.atan(Math.exp(-0.5 * (logsnrMin - shift)));
  return {
    name: shift === 0 ? 'alpha-cosine' : 'shifted-cosine',
    logsnrMin,
    logsnrMax,
    logsnr: (t) => t.mul(t1 - t0).add(t0).mul(Math.PI / 2).tan().log().mul(-2).add(shift), // eq. 2.64
    // inverse of eq. 2.64: t = (2/pi atan(exp(-(lambda - shift)/2)) - t0) / (t1 - t0)
    t: (l) => l.sub(shift).mul(-0.5).exp().atan().mul(2 / Math.PI).sub(t0).div(t1 - t0),
    // eq. 2.69: p(lambda) = sech((lambda - shift)/2) / (2 pi (t1 - t0))
    density: (l) => l.sub(shift).mul(0.5).cosh().reciprocal().div(2 * Math.PI * (t1 - t0)),
  };
}

/**
 * "Simple diffusion" shifted cosine for high resolutions: the alpha-cosine logSNR shifted by
 * 2 log(base / resolution), so a larger image sees more noise at the same t.
 */
export function shiftedCosineSchedule(options: { resolution: number; base?: number; logsnrMin?: number; logsnrMax?: number }): Schedule {
  const base = options.base ?? 64;
  if (!(options.resolution > 0 && base > 0)) throw new Error('shiftedCosineSchedule: resolution and base must be positive');
  return alphaCosineSchedule({ logsnrMin: options.logsnrMin, logsnrMax: options.logsnrMax, shift: 2 * Math.log(base / options.resolution) });
}
