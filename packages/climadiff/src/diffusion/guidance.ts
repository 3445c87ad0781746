// Conditional generation from an unconditional denoiser (001_5e42003193798b1e.txt sec. 2.7.8; Ho, Salimans
// et al. 2022, "Video diffusion models", sec. 3.1). Data x splits into a known part x^a (given by a boolean
// mask, or more generally by linear observations y = A x) and an unknown part x^b.
//
// - Reconstruction guidance: a wrapper that takes a denoiser and returns an x-parameterised denoiser whose
//   prediction of x^b is pushed towards agreement with the observations. It approximates
//   E[x^b | z_t, x^a] = E[x^b | z_t] + sigma_t^2 / alpha_t * grad_{z_t^b} log q(x^a | z_t)
//   with q(x^a | z_t) ~ N(x_hat^a(z_t), sigma_t^2 / alpha_t^2 I), which gives
//   x_tilde^b = x_hat^b - (w_r alpha_t / 2) grad_{z_t^b} || x^a - x_hat^a(z_t) ||^2   (w_r = 1: the approximation itself).
// - Replacement (the baseline): after every sampler step the known part of the latent is overwritten by a
//   fresh draw of q(z_t^a | x^a) (eq. 2.51) at the latent's logSNR; the model is left unchanged.
//
// Both plug into any sampler that goes through the denoiser's x_hat (ancestral, DDIM, SDE/ODE, PC): the
// guided denoiser replaces the model, the replacement hook is passed as the sampler's `latentHook`.
//
// The known part. Eq. 7 of Ho et al. adjusts x^b only; as we read it, its derivation conditions on a latent whose
// known part is a forward-noised x^a, which the replacement sampler provides. So the paper's form (known: 'model', x_hat^a
// left as the model predicts it) is meant to run WITH replacementHook; alone, nothing pulls z^a towards x^a and
// the known coordinates drift (mean |x^a - x*^a| ~0.6 in the Gaussian test). known: 'observed' puts x^a itself in
// the prediction, so the sampler's own step draws z_s^a from q(z_s | z_t, x^a) (eqs 2.61-2.62), and needs no hook;
// on the exact-Gaussian test the two give similar errors, 'observed' a somewhat smaller covariance error with
// the deterministic samplers (test/guidance.test.ts).
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { alphaFromLogsnr } from './schedule.js';
import { denoiser, predictXEps, type Denoiser } from './parameterisation.js';
import { diffuse } from './forward.js';
import { bcast, type NoiseSource } from './tensor-utils.js';

/** What the guided prediction holds on the known elements. */
export type KnownPart =
  /** The model's own x_hat^a, as in Ho et al. (eq. 7 of their paper adjusts x^b only). The default; pair it with replacementHook. */
  | 'model'
  /** The observed x^a itself (the prediction is then exact on the known elements); works without a hook. */
  | 'observed';

export interface ReconstructionGuidanceOptions {
  /** The known values x^a, shaped like one example or like the whole batch (only masked elements are read). */
  observed: Tensor;
  /** Boolean, broadcastable to the data: true where the value is known. */
  mask: Tensor;
  /** Guidance weight w_r (>= 0; 0 returns the unguided prediction). Ho et al. use w_r > 1; on the Gaussian tests
   *  ~2 suits the stochastic samplers and ~3 the deterministic ones, multimodal data wants more (8 on the 2D toy). */
  weight: number;
  /** Known part of the returned prediction: 'model' (default, the paper's form) or 'observed'. */
  known?: KnownPart;
  /**
   * Variance of the observations' errors (a number, or a tensor broadcastable to the data), in the data's units:
   * x^a = x + e with e ~ N(0, s_o^2). The likelihood becomes q(x^a | z_t) ~ N(x_hat^a, (r_t^2 + s_o^2) I) with
   * r_t^2 = sigma_t^2 / alpha_t^2, so each known element's squared error is weighted by r_t^2 / (r_t^2 + s_o^2)
   * (1 for exact observations; small once the model's uncertainty falls below the observations'). Default 0.
   * Needs known: 'model' (noisy observations are not imposed as they are).
   */
  observationVariance?: number | Tensor;
}

export interface ObservationGuidanceOptions {
  /** Observations y = A x (batched like A's output). */
  y: Tensor;
  /** A linear observation operator on a batch [B, ...] -> [B, ...obs] built from differentiable tensor ops
   *  (e.g. block-mean coarsening for downscaling, a frame selector, a station sampler). */
  A: (x: Tensor) => Tensor;
  /** Guidance weight w_r (>= 0). */
  weight: number;
}

function checkWeight(fn: string, w: unknown): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
    throw new Error(`${fn}: weight must be a finite number >= 0, got ${String(w)}`);
  }
  return w;
}

/**
 * x_hat(z) and grad_z || r(x_hat(z)) ||^2 for a residual function r, computed on a fresh leaf copy of z with
 * gradient recording forced on (so it also works inside torch.noGrad). The graph lives only inside the
 * caller's torch.scope; the returned x_hat is detached.
 */
function predictionAndResidualGrad(model: Denoiser, z: Tensor, logsnr: Tensor, context: unknown,
  residual: (xhat: Tensor) => Tensor): { xhat: Tensor; grad: Tensor } {
  return torch.enableGrad(() => {
    const leaf = z.detach().clone().requiresGrad_(true);
    const xhat = predictXEps(model, leaf, logsnr, context).x;
    // sum over the batch: examples are independent, so each example's gradient is that of its own term
    const loss = residual(xhat).square().sum();
    const [grad] = torch.autograd.grad([loss], [leaf]);
    if (!grad) throw new Error('guidance: the prediction does not depend on z_t');
    return { xhat: xhat.detach(), grad: grad.detach() };
  });
}

/**
 * Reconstruction-guided denoiser (Ho et al. 2022, 001 sec. 2.7.8): returns an x-parameterised denoiser with
 *   x_tilde^b = x_hat^b - (w_r alpha_t / 2) grad_{z_t^b} || x^a - x_hat^a(z_t) ||^2
 * on the unknown elements and, on the known ones, x_hat^a (known: 'model', the paper's form) or x^a
 * (known: 'observed'). The gradient is taken through the model by autograd, on a detached leaf copy of z_t with
 * grad mode forced on (so it works inside torch.noGrad, where samplers run); everything but the result, graph
 * included, is freed before returning, and parameters' .grad are never touched.
 * Why w_r > 1 helps: the correction uses q(x^a | z_t) ~ N(x_hat^a, sigma_t^2 / alpha_t^2 I), but for Gaussian data
 * Cov(x | z_t) = (Sigma^-1 + alpha_t^2 / sigma_t^2 I)^-1 is smaller than sigma_t^2 / alpha_t^2 I, so the observation is
 * underweighted at w_r = 1.
 */
export function reconstructionGuidance(model: Denoiser, options: ReconstructionGuidanceOptions): Denoiser {
  const { observed, mask } = options;
  const weight = checkWeight('reconstructionGuidance', options.weight);
  const known = options.known ?? 'model';
  if (known !== 'model' && known !== 'observed') throw new Error(`reconstructionGuidance: known must be 'model' or 'observed', got ${String(known)}`);
  if (mask.dtype !== 'bool') throw new Error(`reconstructionGuidance: mask must be a boolean tensor, got ${mask.dtype}`);
  const obsVar = options.observationVariance ?? 0;
  if (typeof obsVar === 'number' ? !(Number.isFinite(obsVar) && obsVar >= 0) : false) throw new Error(`reconstructionGuidance: observationVariance must be a finite number >= 0, got ${String(obsVar)}`);
  const noisy = typeof obsVar !== 'number' || obsVar > 0;
  if (noisy && known === 'observed') throw new Error("reconstructionGuidance: observations with an error variance cannot be imposed exactly (known: 'observed'); use known: 'model'");
  const maskF = mask.to(observed.dtype).keep();
  const unknownF = maskF.neg().add(1).keep();
  const target = observed.mul(maskF).keep(); // zero where unknown, so the residual is zero there
  const varT = typeof obsVar === 'number' ? null : obsVar.to(observed.dtype).keep();
  return denoiser('x', (z, logsnr, context) => torch.scope(() => {
    // per-element weights r_t^2 / (r_t^2 + s_o^2) of the squared errors (as a factor sqrt(.) on the residual)
    let scale: Tensor | null = null;
    if (noisy) {
      const l = logsnr.ndim === 0 ? logsnr.expand([z.shape[0]!]) : logsnr;
      const r2 = bcast(l.neg().exp().to(observed.dtype), z); // sigma^2 / alpha^2 = exp(-logsnr)
      scale = r2.div(varT ? r2.add(varT) : r2.add(obsVar as number)).sqrt();
    }
    const { xhat, grad } = predictionAndResidualGrad(model, z, logsnr, context,
      (x) => { const r = target.sub(x.mul(maskF)); return scale ? r.mul(scale) : r; });
    const alpha = bcast(alphaFromLogsnr(logsnr), z);
    // only the unknown part of the gradient, grad_{z_t^b}, corrects the unknown part of x_hat
    let out = xhat.sub(grad.mul(unknownF).mul(alpha).mul(weight / 2));
    if (known === 'observed') out = torch.where(mask, observed.to(xhat.dtype).expand(xhat.shape), out);
    return out;
  }));
}

/**
 * Guidance on linear observations y = A x (Ho et al. 2022's form for spatial super-resolution, which
 * downscaling and coarse observations need): x_tilde = x_hat - (w_r alpha_t / 2) grad_{z_t} || y - A x_hat(z_t) ||^2
 * on every element. With A = masking it is reconstruction guidance with the correction also applied to x^a.
 * At high SNR (alpha ~ 1, x_hat ~ z) the correction is x_hat + w_r A^T (y - A x_hat), so w_r A A^T = I makes the
 * last steps a projection onto {A x = y}: w_r = k for means over blocks of k elements (A A^T = I / k).
 */
export function observationGuidance(model: Denoiser, options: ObservationGuidanceOptions): Denoiser {
  const { y, A } = options;
  const weight = checkWeight('observationGuidance', options.weight);
  if (typeof A !== 'function') throw new Error('observationGuidance: A must be a function x => A x');
  return denoiser('x', (z, logsnr, context) => torch.scope(() => {
    const { xhat, grad } = predictionAndResidualGrad(model, z, logsnr, context, (x) => y.sub(A(x)));
    const alpha = bcast(alphaFromLogsnr(logsnr), z);
    return xhat.sub(grad.mul(alpha).mul(weight / 2));
  }));
}

export interface ReplacementOptions {
  /** The known values x^a, shaped like one example or like the whole batch. */
  observed: Tensor;
  /** Boolean, broadcastable to the data: true where the value is known. */
  mask: Tensor;
  /** Source of the forward-process noise (one generator, or one per example). */
  generator?: NoiseSource;
}

/**
 * The replacement method (Song et al. 2021; the baseline in Ho et al. 2022): a sampler `latentHook` that sets
 * the known part of z to a draw of q(z_t^a | x^a) = N(alpha_t x^a, sigma_t^2 I) (eq. 2.51) at the latent's
 * logSNR, leaving the unknown part alone.
 */
export function replacementHook(options: ReplacementOptions): (z: Tensor, logsnr: Tensor) => Tensor {
  const { observed, mask, generator } = options;
  if (mask.dtype !== 'bool') throw new Error(`replacementHook: mask must be a boolean tensor, got ${mask.dtype}`);
  return (z, logsnr) => torch.scope(() => {
    const xa = observed.to(z.dtype).expand(z.shape);
    const l = logsnr.ndim === 0 ? logsnr.expand([z.shape[0]!]) : logsnr;
    const { z: za } = diffuse(xa, l, { generator });
    return torch.where(mask, za, z);
  });
}
