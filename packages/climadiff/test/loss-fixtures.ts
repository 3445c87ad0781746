// Closed forms for Gaussian data x ~ N(mu, Sigma) with the exact denoiser, shared by losses.test.ts and
// likelihood.test.ts. In the eigenbasis Sigma = U diag(d) U^T, with y = U^T (x - mu) and r = SNR = exp(lambda),
// the exact x_hat gives x - x_hat = sigma^2 C^-1 (x - mu) - alpha sigma Sigma C^-1 eps (C = alpha^2 Sigma + sigma^2 I), so
//   E_eps ||eps - eps_hat||^2 = r sum_k (y_k^2 + r d_k^2) / (1 + r d_k)^2                       (per example)
// and with dr = r dlambda the ELBO diffusion term 1/2 int E||eps - eps_hat||^2 dlambda = 1/2 [F(r_max) - F(r_min)],
//   F(r) = sum_k [ -y_k^2 / (d_k (1 + r d_k)) + log(1 + r d_k) + 1 / (1 + r d_k) ].
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import { alphaCosineSchedule, denoiser, gaussianDenoiser, type Denoiser } from '../src/diffusion/index.js';

export const f64 = { dtype: 'float64' as const };

export interface GaussianProblem {
  D: number;
  mu: Tensor;
  Sigma: Tensor;
  d: Float64Array;
  U: Tensor;
  model: Denoiser;
  sample(B: number, generator: Generator): Tensor;
  /** y = U^T (x - mu) per example, as JS arrays. */
  coords(x: Tensor): Float64Array[];
  /** E_eps ||eps - eps_hat||^2 at logSNR lambda for each example. */
  epsMse(x: Tensor, logsnr: number): number[];
  /** 1/2 int_{lmin}^{lmax} E||eps - eps_hat||^2 dlambda for each example. */
  diffusionTerm(x: Tensor, lmin: number, lmax: number): number[];
  /** -log N(x; mu, Sigma) for each example. */
  nll(x: Tensor): number[];
}

export function gaussianProblem(D = 16, seed = 7): GaussianProblem {
  const g = new torch.Generator({ seed });
  const A = torch.randn([D, D], { ...f64, generator: g });
  const Sigma = A.matmul(A.mT).div(D).add(torch.eye(D, undefined, f64).mul(0.1));
  const mu = torch.randn([D], { ...f64, generator: g });
  const [evals, evecs] = torch.linalgEigh(Sigma) as [Tensor, Tensor];
  const d = evals.toFloat64Array();
  const L = torch.linalgCholesky(Sigma);
  const coords = (x: Tensor): Float64Array[] => {
    const B = x.shape[0]!;
    const y = x.reshape([B, D]).sub(mu).matmul(evecs).toFloat64Array();
    return Array.from({ length: B }, (_, b) => y.subarray(b * D, (b + 1) * D));
  };
  const F = (y: Float64Array, r: number): number => {
    let s = 0;
    for (let k = 0; k < D; k++) {
      const u = 1 + r * d[k]!;
      s += -(y[k]! ** 2) / (d[k]! * u) + Math.log1p(r * d[k]!) + 1 / u;
    }
    return s;
  };
  return {
    D, mu, Sigma, d, U: evecs, model: gaussianDenoiser(mu, Sigma),
    sample: (B, generator) => torch.randn([B, D], { ...f64, generator }).matmul(L.mT).add(mu),
    coords,
    epsMse: (x, logsnr) => coords(x).map((y) => {
      const r = Math.exp(logsnr);
      let s = 0;
      for (let k = 0; k < D; k++) s += (y[k]! ** 2 + r * d[k]! ** 2) / (1 + r * d[k]!) ** 2;
      return r * s;
    }),
    diffusionTerm: (x, lmin, lmax) => coords(x).map((y) => 0.5 * (F(y, Math.exp(lmax)) - F(y, Math.exp(lmin)))),
    nll: (x) => coords(x).map((y) => {
      let s = D * Math.log(2 * Math.PI);
      for (let k = 0; k < D; k++) s += Math.log(d[k]!) + y[k]! ** 2 / d[k]!;
      return 0.5 * s;
    }),
  };
}

export const maxAbs = (a: Tensor, b: Tensor | number): number => torch.scope(() => (typeof b === "number" ? a.sub(b) : a.sub(b)).abs().max().item());
export const toList = (t: Tensor): number[] => Array.from(t.toFloat64Array());

/** lambda linear in t on [lmin, lmax] (uniform p(lambda)): every step of a T-step grid has the same SNR ratio. */
export function linearLogsnrSchedule(lmin: number, lmax: number): import('../src/diffusion/index.js').Schedule {
  return {
    name: 'linear-logsnr',
    logsnrMin: lmin,
    logsnrMax: lmax,
    logsnr: (t) => t.mul(lmin - lmax).add(lmax),
    t: (l) => l.sub(lmax).div(lmin - lmax),
    density: (l) => torch.fullLike(l, 1 / (lmax - lmin)),
  };
}

/** Mean and standard error over the first dimension of a [N, B] tensor, as JS arrays. */
export function meanAndStdErr(v: Tensor): { mean: number[]; se: number[] } {
  return torch.scope(() => {
    const N = v.shape[0]!;
    return { mean: toList(v.mean([0])), se: toList(v.std([0], true).div(Math.sqrt(N))) };
  });
}

// The shared problem of the loss tests, and helpers on it.
export const P = gaussianProblem();
export const cosine = alphaCosineSchedule(); // the seed's [-30, 30]
export const t0 = (2 / Math.PI) * Math.atan(Math.exp(-30 / 2)); // eq. 2.65
export const t1 = (2 / Math.PI) * Math.atan(Math.exp(30 / 2)); // eq. 2.66
export const relErr = (a: Tensor, b: Tensor): number => torch.scope(() => a.sub(b).abs().div(b.abs().clampMin(1e-300)).max().item());
export const sum1 = (t: Tensor): Tensor => t.flatten(1).sum([1]);
/** A denoiser that is wrong on purpose (so errors are not just the MMSE). */
export const imperfect: Denoiser = denoiser('x', (z, l) => P.model(z, l).mul(0.8).add(0.1));
