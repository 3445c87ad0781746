// The conditional-Gaussian reference for the guidance tests: x ~ N(mu, Sigma) in D = 16 dimensions with a
// strongly correlated covariance (AR(1), rho = 0.9, per-coordinate scales in [0.5, 1.5]), its exact denoiser, a
// fixed "truth" x* and the analytic conditionals x^b | x^a (mask) and x | A x = y (block-mean coarsening).
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { gaussianDenoiser, type Denoiser } from '../src/diffusion/index.js';

const f64 = { dtype: 'float64' as const };

export interface ConditionalGaussian {
  mean: Tensor;
  cov: Tensor;
}

export interface GuidanceFixture {
  D: number;
  mu: Tensor;
  Sigma: Tensor;
  model: Denoiser;
  /** The truth the observations come from, [1, D]. */
  xTrue: Tensor;
  /** Known coordinates (the even ones, 8 of 16), boolean [D]. */
  mask: Tensor;
  known: number[];
  unknown: number[];
  /** x^b | x^a = x*^a (block formula). */
  cond: ConditionalGaussian;
  /** Block-mean coarsening by 4: [B, 16] -> [B, 4], its matrix [4, 16], y = A x* and x | A x = y. */
  A: (x: Tensor) => Tensor;
  Amat: Tensor;
  y: Tensor;
  condA: ConditionalGaussian;
}

export function guidanceFixture(seed = 1): GuidanceFixture {
  const gen = new torch.Generator({ seed });
  const D = 16;
  const idx = torch.arange(0, D, 1, f64);
  const scales = torch.rand([D], { ...f64, generator: gen }).add(0.5);
  const rho = torch.scalarTensor(0.9, f64);
  const Sigma = torch.pow(rho, idx.unsqueeze(1).sub(idx.unsqueeze(0)).abs()).mul(scales.unsqueeze(1).mul(scales.unsqueeze(0)));
  const mu = torch.randn([D], { ...f64, generator: gen });
  const L = torch.linalg.cholesky(Sigma);
  const xTrue = mu.add(L.matmul(torch.randn([D], { ...f64, generator: gen }))).unsqueeze(0);
  const known = Array.from({ length: D / 2 }, (_, i) => 2 * i);
  const unknown = known.map((i) => i + 1);
  const mask = torch.tensor(Array.from({ length: D }, (_, i) => i % 2 === 0), { dtype: 'bool' });
  const ia = torch.tensor(known, { dtype: 'int64' });
  const ib = torch.tensor(unknown, { dtype: 'int64' });
  const block = (M: Tensor, r: Tensor, c: Tensor): Tensor => M.indexSelect(0, r).indexSelect(1, c);
  // x^b | x^a ~ N(mu_b + S_ba S_aa^-1 (x^a - mu_a), S_bb - S_ba S_aa^-1 S_ab)
  const Sba = block(Sigma, ib, ia);
  const K = torch.linalg.solve(block(Sigma, ia, ia), Sba.t()).t();
  const cond = {
    mean: mu.indexSelect(0, ib).add(K.matmul(xTrue.squeeze(0).indexSelect(0, ia).sub(mu.indexSelect(0, ia)))),
    cov: block(Sigma, ib, ib).sub(K.matmul(Sba.t())),
  };
  // x | A x = y ~ N(mu + S A^T (A S A^T)^-1 (y - A mu), S - S A^T (A S A^T)^-1 A S)
  const Amat = torch.kron(torch.eye(4, undefined, f64), torch.full([1, 4], 0.25, f64));
  const A = (x: Tensor): Tensor => x.reshape([x.shape[0]!, 4, 4]).mean([2]);
  const y = A(xTrue);
  const SAt = Sigma.matmul(Amat.t());
  const KA = torch.linalg.solve(Amat.matmul(SAt), SAt.t()).t();
  const condA = { mean: mu.add(KA.matmul(y.squeeze(0).sub(Amat.matmul(mu)))), cov: Sigma.sub(KA.matmul(SAt.t())) };
  return { D, mu, Sigma, model: gaussianDenoiser(mu, Sigma), xTrue, mask, known, unknown, cond, A, Amat, y, condA };
}

export interface MomentErrors {
  /** || mean - mean* || / sqrt(tr Cov*): the mean error in units of the reference's spread. */
  mean: number;
  /** || Cov - Cov* ||_F / || Cov* ||_F. */
  cov: number;
}

/** Errors of the sample moments of x[:, cols] against a reference Gaussian. */
export function momentErrors(x: Tensor, cols: number[] | null, ref: ConditionalGaussian): MomentErrors {
  return torch.scope(() => {
    const xs = cols === null ? x : x.indexSelect(1, torch.tensor(cols, { dtype: 'int64' }));
    const m = xs.mean([0]);
    const c = xs.sub(m);
    const cov = c.t().matmul(c).div(xs.shape[0]! - 1);
    return {
      mean: m.sub(ref.mean).norm().item() / Math.sqrt(ref.cov.diagonal().sum().item()),
      cov: cov.sub(ref.cov).norm().item() / ref.cov.norm().item(),
    };
  });
}

/** Mean absolute deviation of the samples' known coordinates from the observed values. */
export function knownError(x: Tensor, fx: GuidanceFixture): number {
  return torch.scope(() => {
    const ia = torch.tensor(fx.known, { dtype: 'int64' });
    return x.indexSelect(1, ia).sub(fx.xTrue.indexSelect(1, ia)).abs().mean().item();
  });
}

/** N exact draws of x^b | x^a: the sampling-noise floor of momentErrors at this N. */
export function exactConditionalDraws(ref: ConditionalGaussian, n: number, generator: torch.Generator): Tensor {
  return torch.scope(() => {
    const L = torch.linalg.cholesky(ref.cov);
    return ref.mean.add(torch.randn([n, ref.mean.shape[0]!], { dtype: 'float64', generator }).matmul(L.t()));
  });
}
