// Shared pieces of the diffusion losses: observation masks, per-example reductions, squared errors
// measured in any parameterisation, and proposals for sampling logSNR.
import * as torch from '@climadiff/torch';
import type { Tensor, Generator, DType, Device } from '@climadiff/torch';
import type { Schedule } from '../schedule.js';
import { alphaSigma } from '../schedule.js';
import type { Denoiser, Parameterisation } from '../parameterisation.js';
import { diffuse } from '../forward.js';
import { bcast, sumPerExample, randOn, randintOn } from '../tensor-utils.js';

/**
 * How a loss reduces the elements of one example:
 * - 'mean': sum over observed elements / number of observed elements (the usual mean when nothing is masked);
 * - 'sum': sum over observed elements (the squared norms ||.||^2 of the seeds; nats for likelihood terms).
 */
export type Reduction = 'mean' | 'sum';

/** Options every loss shares. */
export interface MaskOptions {
  /**
   * Per-element observation mask, the shape of x or broadcastable to it (e.g. [H, W] or [1, C, 1, H, W] for a
   * land-sea mask); true / non-zero = observed. Masked elements are replaced by `fill` in x before noising
   * (so their values, even NaN, cannot reach the loss) and their error terms are removed.
   */
  mask?: Tensor;
  /** Value written into masked elements of x before noising (default 0, the mean of normalised data). */
  fill?: number;
}

/** The mask as a bool tensor of x's shape; throws a clear error if it does not broadcast. */
export function observedMask(mask: Tensor, like: Tensor): Tensor {
  const m = mask.dtype === 'bool' ? mask : mask.ne(0);
  if (m.ndim > like.ndim) {
    throw new Error(`mask of shape [${mask.shape.join(', ')}] has more dimensions than data of shape [${like.shape.join(', ')}]`);
  }
  const off = like.ndim - m.ndim;
  m.shape.forEach((d, k) => {
    if (d !== 1 && d !== like.shape[off + k]) {
      throw new Error(`mask of shape [${mask.shape.join(', ')}] does not broadcast to data of shape [${like.shape.join(', ')}]`);
    }
  });
  return m.expand(like.shape);
}

/** x with masked elements replaced by `fill` (x itself when there is no mask). */
export function fillUnobserved(x: Tensor, mask: Tensor | undefined, fill = 0): Tensor {
  if (mask === undefined) return x;
  return torch.where(observedMask(mask, x), x, fill);
}

/** Number of observed elements per example, shape [B] (all elements when there is no mask). */
export function observedCount(like: Tensor, mask?: Tensor): Tensor {
  if (mask === undefined) return torch.full([like.shape[0]!], like.numel() / like.shape[0]!, { dtype: like.dtype, device: like.device });
  return sumPerExample(observedMask(mask, like).to(like.dtype));
}

/**
 * Per-example reduction of per-element terms `err` ([B, ...]) over the observed elements. Masked terms are
 * dropped with `where` (not multiplied by 0), so a NaN there cannot leak. 'mean' divides by the observed
 * count; an example with nothing observed gets 0.
 */
export function reducePerExample(err: Tensor, mask: Tensor | undefined, reduction: Reduction): Tensor {
  if (mask === undefined) {
    const s = sumPerExample(err);
    return reduction === 'sum' ? s : s.div(err.numel() / err.shape[0]!);
  }
  const m = observedMask(mask, err);
  const s = sumPerExample(torch.where(m, err, 0));
  if (reduction === 'sum') return s;
  return s.div(sumPerExample(m.to(err.dtype)).clampMin(1));
}

/**
 * The target of a prediction for z = alpha x + sigma eps: x, eps, v = alpha eps - sigma x (eq. 2.71,
 * 001_5e42003193798b1e.txt) or the score of q(z|x), -eps / sigma (eq. 2.78).
 */
export function predictionTarget(parameterisation: Parameterisation, x: Tensor, eps: Tensor, logsnr: Tensor): Tensor {
  if (parameterisation === 'x') return x;
  if (parameterisation === 'eps') return eps;
  const { alpha, sigma } = alphaSigma(logsnr);
  if (parameterisation === 'v') return bcast(alpha, x).mul(eps).sub(bcast(sigma, x).mul(x));
  return eps.neg().div(bcast(sigma, x));
}

/**
 * Squared error in one parameterisation equals a per-example factor times the squared eps error:
 * x - x_hat = -(sigma/alpha)(eps - eps_hat) (eq. 2.70), v - v_hat = (eps - eps_hat)/alpha (eqs 2.71, 2.73),
 * s - s_hat = -(eps - eps_hat)/sigma (eq. 2.78). So the factors are 1 (eps), exp(-lambda) (x),
 * 1/alpha^2 = 1 + exp(-lambda) (v), 1/sigma^2 = 1 + exp(lambda) (score).
 */
function epsErrorFactor(p: Parameterisation, logsnr: Tensor): Tensor {
  if (p === 'eps') return torch.onesLike(logsnr);
  if (p === 'x') return logsnr.neg().exp();
  if (p === 'v') return logsnr.neg().exp().add(1);
  return logsnr.exp().add(1);
}

/** Factor c(lambda) with ||a - a_hat||^2 = c ||b - b_hat||^2 for parameterisations a = `to`, b = `from`. */
export function errorConversion(from: Parameterisation, to: Parameterisation, logsnr: Tensor): Tensor {
  if (from === to) return torch.onesLike(logsnr);
  return epsErrorFactor(to, logsnr).div(epsErrorFactor(from, logsnr));
}

export interface SquaredErrorResult {
  /** Per-element squared error in parameterisation `to`, shape of x. */
  err: Tensor;
  z: Tensor;
}

/**
 * Per-element squared error ||target - prediction||^2, in parameterisation `to`, of `model` at z = alpha x + sigma eps.
 * The error is measured in the model's own parameterisation (against its exact target) and then rescaled by
 * the exact factor of errorConversion: converting the prediction first would cancel catastrophically at the
 * ends of the logSNR range (e.g. eps_hat = sigma z + alpha v_hat at lambda = -30 loses ~13 digits).
 */
export function squaredError(model: Denoiser, x: Tensor, eps: Tensor, logsnr: Tensor, to: Parameterisation, context?: unknown): SquaredErrorResult {
  const { z } = diffuse(x, logsnr, { eps });
  const pred = model(z, logsnr, context);
  const err = pred.sub(predictionTarget(model.parameterisation, x, eps, logsnr)).square();
  if (model.parameterisation === to) return { err, z };
  return { err: err.mul(bcast(errorConversion(model.parameterisation, to, logsnr), err)), z };
}

/** A distribution over logSNR to draw lambda from, with its density (for importance weights, eq. 2.88). */
export interface LogsnrProposal {
  readonly logsnrMin: number;
  readonly logsnrMax: number;
  /** n draws of lambda (on `device`, default cpu). */
  sample(n: number, options: { generator?: Generator; dtype: DType; device?: Device }): Tensor;
  /** Density of lambda. */
  density(logsnr: Tensor): Tensor;
}

/** lambda = lambda_t with t ~ U(0, 1): density p(lambda) of the schedule (eq. 2.69 for the alpha-cosine). */
export function scheduleProposal(schedule: Schedule): LogsnrProposal {
  return {
    logsnrMin: schedule.logsnrMin,
    logsnrMax: schedule.logsnrMax,
    sample: (n, o) => schedule.logsnr(randOn([n], o)),
    density: (l) => schedule.density(l),
  };
}

/** lambda ~ U(logsnrMin, logsnrMax). */
export function uniformLogsnrProposal(logsnrMin: number, logsnrMax: number): LogsnrProposal {
  if (!(Number.isFinite(logsnrMin) && Number.isFinite(logsnrMax) && logsnrMin < logsnrMax)) {
    throw new Error(`uniformLogsnrProposal: need finite logsnrMin < logsnrMax, got [${logsnrMin}, ${logsnrMax}]`);
  }
  const width = logsnrMax - logsnrMin;
  return {
    logsnrMin,
    logsnrMax,
    sample: (n, o) => randOn([n], o).mul(width).add(logsnrMin),
    density: (l) => torch.fullLike(l, 1 / width),
  };
}

/** A per-example tensor from a number or tensor option ([B] or scalar), in x's dtype and on x's device. */
export function perExampleOption(v: Tensor | number, like: Tensor, name: string): Tensor {
  const B = like.shape[0]!;
  const t = typeof v === 'number'
    ? torch.full([B], v, { dtype: like.dtype, device: like.device })
    : v.to({ dtype: like.dtype, device: like.device });
  if (t.ndim === 0) return t.expand([B]);
  if (t.ndim !== 1 || t.shape[0] !== B) throw new Error(`${name} must be a number or a tensor of shape [${B}], got [${t.shape.join(', ')}]`);
  return t;
}

/** Checks a user-supplied noise tensor against x. */
export function checkEps(eps: Tensor, x: Tensor): Tensor {
  if (eps.shape.length !== x.shape.length || eps.shape.some((d, k) => d !== x.shape[k])) {
    throw new Error(`eps must have the shape of x [${x.shape.join(', ')}], got [${eps.shape.join(', ')}]`);
  }
  return eps;
}

/** Uniform integers in {1, ..., T}, one per example, on `device` (that of the data they index with). */
export function uniformStep(T: number, B: number, generator?: Generator, device?: Device): Tensor {
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`steps must be a positive integer, got ${T}`);
  return randintOn(1, T + 1, [B], { device, generator });
}
