// Formula proofs for the forward process, the parameterisations and the exact denoisers, all in float64 and each
// against an independent computation: autograd scores, finite differences, Monte-Carlo moments, brute-force
// Gaussian conditioning with explicit inverses, and 2-D numerical integration
// (001_5e42003193798b1e.txt eqs 2.51, 2.53, 2.61-2.62, 2.70-2.78, A.1-A.12, A.25-A.43; 003_b86777f6ee6037e6.txt eqs 14-18).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  convertPrediction, toXEps, fromXEps, denoiser, reparameterise, predictXEps, PARAMETERISATIONS, diffuse, transition,
  posterior, gaussianDenoiser, mixtureDenoiser, ddpmBetas, type Parameterisation,
} from '../src/diffusion/index.js';

// small tensors: one intra-op thread avoids oversubscribing the shared cores (and is faster here)
torch.setNumThreads(1);

const f64 = { dtype: 'float64' as const };
const maxAbs = (a: Tensor, b: Tensor | number): number => torch.scope(() => (typeof b === 'number' ? a.sub(b) : a.sub(b)).abs().max().item());
/** alpha and sigma from logSNR in plain JS, independent of the library's sigmoid form (eqs 2.67-2.68). */
const alphaOf = (l: number): number => Math.sqrt(1 / (1 + Math.exp(-l)));
const sigmaOf = (l: number): number => Math.sqrt(1 / (1 + Math.exp(l)));
/** A [B] tensor shaped to broadcast over [B, ...rest]. */
const perRow = (v: number[], ndim: number): Tensor => torch.tensor(v, f64).reshape([v.length, ...new Array<number>(ndim - 1).fill(1)]);

const LOGSNRS = [-10, -6, -2, -0.5, 0, 1, 3, 7, 10];

describe('parameterisations (eqs 2.70-2.73, 2.78; A.25-A.43)', () => {
  /** Exact predictions for z = alpha x + sigma eps, built without the library: v from the angle psi (A.27-A.33), score by autograd. */
  function truth(gen: torch.Generator) {
    const B = LOGSNRS.length;
    const x = torch.randn([B, 3, 5], { ...f64, generator: gen }).mul(2).add(0.5);
    const eps = torch.randn([B, 3, 5], { ...f64, generator: gen });
    const psi = LOGSNRS.map((l) => Math.atan(Math.exp(-l / 2))); // psi = atan(sigma / alpha), A.27
    const a = perRow(psi.map(Math.cos), 3), s = perRow(psi.map(Math.sin), 3);
    const z = a.mul(x).add(s.mul(eps));
    // score of q(z | x) = N(alpha x, sigma^2 I) (eq. 2.51) by autograd of its log density
    const zz = z.detach().requiresGrad_(true);
    const logq = zz.sub(a.mul(x)).square().div(s.square()).mul(-0.5).sum();
    const [score] = torch.autograd.grad([logq], [zz]);
    const preds: Record<Parameterisation, Tensor> = { x, eps, v: a.mul(eps).sub(s.mul(x)), score: score! };
    return { z, preds, logsnr: torch.tensor(LOGSNRS, f64), a, s, x, eps };
  }

  test('all 12 conversions between x, eps, v and score agree with the exact predictions', () => torch.scope(() => {
    const { z, preds, logsnr } = truth(new torch.Generator({ seed: 11 }));
    let n = 0;
    for (const from of PARAMETERISATIONS) {
      for (const to of PARAMETERISATIONS) {
        if (from === to) continue;
        const got = convertPrediction(preds[from], from, to, z, logsnr);
        const ref = preds[to];
        const err = got.sub(ref).abs().div(ref.abs().add(1)).max().item();
        assert.ok(err < 1e-9, `${from} -> ${to}: relative error ${err}`);
        n++;
      }
    }
    assert.equal(n, 12);
  }));

  test('round trips x -> eps -> v -> score -> x and toXEps/fromXEps, denoiser wrappers', () => torch.scope(() => {
    const { z, preds, logsnr } = truth(new torch.Generator({ seed: 12 }));
    let p = preds.x;
    const chain: Parameterisation[] = ['x', 'eps', 'v', 'score', 'x'];
    for (let k = 0; k + 1 < chain.length; k++) p = convertPrediction(p, chain[k]!, chain[k + 1]!, z, logsnr);
    assert.ok(maxAbs(p, preds.x) < 1e-9);
    for (const from of PARAMETERISATIONS) {
      const xe = toXEps(preds[from], from, z, logsnr);
      assert.ok(maxAbs(xe.x, preds.x) < 1e-9 * 20, `toXEps(${from}).x`);
      assert.ok(maxAbs(xe.eps, preds.eps) < 1e-9 * 20, `toXEps(${from}).eps`);
      const model = denoiser(from, () => preds[from]); // an oracle that knows the answer
      const both = predictXEps(model, z, logsnr);
      assert.ok(maxAbs(both.x, preds.x) < 1e-8 && maxAbs(both.eps, preds.eps) < 1e-8);
      for (const to of PARAMETERISATIONS) {
        const wrapped = reparameterise(model, to);
        assert.equal(wrapped.parameterisation, to);
        assert.ok(maxAbs(wrapped(z, logsnr).sub(preds[to]).div(preds[to].abs().add(1)), 0) < 1e-9, `reparameterise ${from} -> ${to}`);
        assert.ok(maxAbs(fromXEps({ x: preds.x, eps: preds.eps }, to, logsnr).sub(preds[to]).div(preds[to].abs().add(1)), 0) < 1e-9);
      }
    }
  }));

  test('v is the velocity dz/dpsi (A.26) and eq. 2.73 recovers x from (z, v); eq. 2.70 from (z, eps)', () => torch.scope(() => {
    const { z, preds, logsnr, a, s, x, eps } = truth(new torch.Generator({ seed: 13 }));
    const v = fromXEps({ x, eps }, 'v', logsnr); // eq. 2.71 in the library
    const psi = LOGSNRS.map((l) => Math.atan(Math.exp(-l / 2)));
    const h = 1e-6;
    const zAt = (d: number) => perRow(psi.map((p) => Math.cos(p + d)), 3).mul(x).add(perRow(psi.map((p) => Math.sin(p + d)), 3).mul(eps));
    const dzdpsi = zAt(h).sub(zAt(-h)).div(2 * h);
    assert.ok(maxAbs(v, dzdpsi) < 1e-8, 'v = dz/dpsi');
    assert.ok(maxAbs(v, preds.v) < 1e-12, 'v = alpha eps - sigma x (eq. 2.71)');
    assert.ok(maxAbs(a.mul(z).sub(s.mul(v)), x) < 1e-12, 'x = alpha z - sigma v (eq. 2.73)');
    assert.ok(maxAbs(s.mul(z).add(a.mul(v)), eps) < 1e-12, 'eps = sigma z + alpha v');
    assert.ok(maxAbs(z.sub(s.mul(eps)).div(a), x) < 1e-9, 'x = (z - sigma eps) / alpha (eq. 2.70)');
    // Tweedie (eq. 2.78): alpha x = z + sigma^2 score, with the autograd score
    assert.ok(maxAbs(z.add(s.square().mul(preds.score)), a.mul(x)) < 1e-12);
  }));

  test('a wrong conversion is caught (the check can fail)', () => torch.scope(() => {
    const { z, preds, logsnr } = truth(new torch.Generator({ seed: 14 }));
    // reading an eps prediction as v must not give x
    assert.ok(maxAbs(convertPrediction(preds.eps, 'v', 'x', z, logsnr), preds.x) > 0.1);
  }));
});

describe('forward process q(z_t | x) (eq. 2.51)', () => {
  test('diffuse: Monte-Carlo mean alpha x, variance sigma^2, no cross-covariance (40000 samples)', () => torch.scope(() => {
    const N = 40_000;
    for (const [i, l] of [-3, 0, 2.5].entries()) {
      const xv = torch.tensor([1, -2, 0.5], f64);
      const x = xv.unsqueeze(0).expand([N, 3]).contiguous();
      const { z, eps } = diffuse(x, torch.full([N], l, f64), { generator: new torch.Generator({ seed: 100 + i }) });
      const a = alphaOf(l), s = sigmaOf(l);
      assert.ok(maxAbs(z, x.mul(a).add(eps.mul(s))) < 1e-14, 'z = alpha x + sigma eps with the returned eps');
      const mean = z.mean([0]);
      assert.ok(maxAbs(mean, xv.mul(a)) < 5 * s / Math.sqrt(N), `mean at lambda=${l}`);
      const c = z.sub(mean).mT.matmul(z.sub(mean)).div(N - 1); // 3x3 sample covariance
      const tol = 5 * s * s * Math.sqrt(2 / N);
      assert.ok(maxAbs(c, torch.eye(3, undefined, f64).mul(s * s)) < tol, `covariance at lambda=${l}`);
    }
  }));

  test('diffuse: per-example logSNR broadcast over [B, C, H, W], explicit eps, seeded determinism', () => torch.scope(() => {
    const ls = [-4, 0, 4];
    const x = torch.randn([3, 2, 4, 4], { ...f64, generator: new torch.Generator({ seed: 5 }) });
    const eps = torch.randn([3, 2, 4, 4], { ...f64, generator: new torch.Generator({ seed: 6 }) });
    const { z } = diffuse(x, torch.tensor(ls, f64), { eps });
    for (let b = 0; b < 3; b++) {
      const expect = x.select(0, b).mul(alphaOf(ls[b]!)).add(eps.select(0, b).mul(sigmaOf(ls[b]!)));
      assert.ok(maxAbs(z.select(0, b), expect) < 1e-14);
    }
    const z1 = diffuse(x, torch.tensor(ls, f64), { generator: new torch.Generator({ seed: 9 }) }).z;
    const z2 = diffuse(x, torch.tensor(ls, f64), { generator: new torch.Generator({ seed: 9 }) }).z;
    const z3 = diffuse(x, torch.tensor(ls, f64), { generator: new torch.Generator({ seed: 10 }) }).z;
    assert.equal(maxAbs(z1, z2), 0);
    assert.ok(maxAbs(z1, z3) > 0.1);
  }));
});

// pairs (lambda_s, lambda_t) with s < t, i.e. lambda_s > lambda_t
const PAIRS: [number, number][] = [[10, 9.5], [10, -10], [3, 0], [0, -3], [-5, -10], [6, 5.999], [1, -1], [20, 2]];

describe('transition q(z_t | z_s) (eq. 2.53, A.1-A.12)', () => {
  test('composing q(z_s | x) with q(z_t | z_s) gives q(z_t | x): alpha_t = alpha_{t|s} alpha_s, sigma_t^2 = alpha_{t|s}^2 sigma_s^2 + sigma_{t|s}^2', () => torch.scope(() => {
    const { alphaTS, sigmaTS, sigma2TS } = transition(torch.tensor(PAIRS.map((p) => p[0]), f64), torch.tensor(PAIRS.map((p) => p[1]), f64));
    const aTS = alphaTS.toFloat64Array(), sTS = sigmaTS.toFloat64Array(), s2TS = sigma2TS.toFloat64Array();
    PAIRS.forEach(([ls, lt], i) => {
      const as = alphaOf(ls), ss = sigmaOf(ls), at = alphaOf(lt), st = sigmaOf(lt);
      assert.ok(Math.abs(aTS[i]! * as - at) < 1e-14, `alpha at pair ${i}`);
      assert.ok(Math.abs(aTS[i]! ** 2 * ss ** 2 + s2TS[i]! - st ** 2) < 1e-14, `sigma at pair ${i}`);
      assert.ok(Math.abs(sTS[i]! ** 2 - s2TS[i]!) <= 1e-14 * s2TS[i]!);
      assert.ok(s2TS[i]! > 0);
    });
  }));

  test('the Markov chain composes: q(z_t | z_r) from q(z_s | z_r) and q(z_t | z_s)', () => torch.scope(() => {
    const triples: [number, number, number][] = [[8, 2, -4], [0.5, 0.4, 0.3], [12, -1, -12]];
    for (const [lr, ls, lt] of triples) {
      const T = (a: number, b: number) => transition(torch.scalarTensor(a, f64), torch.scalarTensor(b, f64));
      const sr = T(lr, ls), ts = T(ls, lt), tr = T(lr, lt);
      assert.ok(Math.abs(tr.alphaTS.item() - ts.alphaTS.item() * sr.alphaTS.item()) < 1e-13);
      assert.ok(Math.abs(tr.sigma2TS.item() - (ts.alphaTS.item() ** 2 * sr.sigma2TS.item() + ts.sigma2TS.item())) < 1e-13);
    }
  }));

  test('sampling z_s ~ q(z_s | x) then z_t ~ q(z_t | z_s) has the moments of q(z_t | x) (Monte Carlo)', () => torch.scope(() => {
    const N = 40_000, ls = 2, lt = -1;
    const gen = new torch.Generator({ seed: 21 });
    const x = torch.full([N, 2], 1.25, f64);
    const { z: zs } = diffuse(x, torch.full([N], ls, f64), { generator: gen });
    const { alphaTS, sigmaTS } = transition(torch.scalarTensor(ls, f64), torch.scalarTensor(lt, f64));
    const zt = zs.mul(alphaTS).add(torch.randn([N, 2], { ...f64, generator: gen }).mul(sigmaTS));
    const st = sigmaOf(lt);
    assert.ok(maxAbs(zt.mean([0]), 1.25 * alphaOf(lt)) < 5 * st / Math.sqrt(N));
    assert.ok(maxAbs(zt.var([0]), st * st) < 5 * st * st * Math.sqrt(2 / N));
  }));
});

describe('posterior q(z_s | z_t, x) (eqs 2.61-2.62)', () => {
  test('mean and variance equal Gaussian conditioning of the joint (z_s, z_t) | x with explicit inverses', () => torch.scope(() => {
    const D = 3;
    const gen = new torch.Generator({ seed: 31 });
    const eye = torch.eye(D, undefined, f64);
    for (const [ls, lt] of PAIRS) {
      const x = torch.randn([D], { ...f64, generator: gen });
      const zt = torch.randn([D], { ...f64, generator: gen });
      const as = alphaOf(ls), ss = sigmaOf(ls), at = alphaOf(lt), st = sigmaOf(lt);
      // z_t = (alpha_t / alpha_s) z_s + independent noise, so Cov(z_s, z_t | x) = (alpha_t / alpha_s) sigma_s^2 I
      const c = (at / as) * ss * ss;
      const joint = torch.cat([torch.cat([eye.mul(ss * ss), eye.mul(c)], 1), torch.cat([eye.mul(c), eye.mul(st * st)], 1)], 0);
      const Sss = joint.narrow(0, 0, D).narrow(1, 0, D), Sst = joint.narrow(0, 0, D).narrow(1, D, D);
      const Sts = joint.narrow(0, D, D).narrow(1, 0, D), Stt = joint.narrow(0, D, D).narrow(1, D, D);
      const K = Sst.matmul(torch.linalg.inv(Stt));
      const mean = x.mul(as).add(K.matmul(zt.sub(x.mul(at))));
      const cov = Sss.sub(K.matmul(Sts));
      const post = posterior(zt.unsqueeze(0), x.unsqueeze(0), torch.tensor([ls], f64), torch.tensor([lt], f64));
      assert.ok(maxAbs(post.mean.squeeze(0), mean) < 1e-12, `mean for (${ls}, ${lt})`);
      const v = post.variance.reshape([-1]).select(0, 0).item();
      assert.ok(maxAbs(cov, eye.mul(v)) <= 1e-12 * Math.max(v, 1e-300) + 1e-16, `variance for (${ls}, ${lt}): ${v} vs ${cov.diagonal().toFloat64Array()}`);
      assert.ok(Math.abs(post.std.reshape([-1]).select(0, 0).item() ** 2 - v) <= 1e-13 * v);
    }
  }));

  test('with the DDPM schedule it is the posterior of 003 eqs 16-18', () => torch.scope(() => {
    const { betas, alphas, alphaBars, logsnr } = ddpmBetas();
    const B = betas.toFloat64Array(), A = alphas.toFloat64Array(), AB = alphaBars.toFloat64Array(), L = logsnr.toFloat64Array();
    const x0 = torch.tensor([0.7, -1.3], f64), xt = torch.tensor([0.2, 0.9], f64);
    for (const i of [2, 10, 500, 1000]) { // 1-based step t = i, s = i - 1
      const [bt, at, abt, abs] = [B[i - 1]!, A[i - 1]!, AB[i - 1]!, AB[i - 2]!];
      const mean = xt.mul(Math.sqrt(at) * (1 - abs) / (1 - abt)).add(x0.mul(Math.sqrt(abs) * bt / (1 - abt)));
      const variance = ((1 - abs) / (1 - abt)) * bt;
      const post = posterior(xt.unsqueeze(0), x0.unsqueeze(0), torch.tensor([L[i - 2]!], f64), torch.tensor([L[i - 1]!], f64));
      assert.ok(maxAbs(post.mean.squeeze(0), mean) < 1e-10, `mean at step ${i}`);
      assert.ok(Math.abs(post.variance.reshape([-1]).select(0, 0).item() / variance - 1) < 1e-9, `variance at step ${i}`);
    }
  }));
});

describe('exact denoisers (analytic.ts)', () => {
  test('gaussianDenoiser (D = 16, non-diagonal Sigma) = block-formula conditional and information form, Tweedie score', () => torch.scope(() => {
    const D = 16;
    const gen = new torch.Generator({ seed: 41 });
    const A = torch.randn([D, D], { ...f64, generator: gen });
    const Sigma = A.matmul(A.mT).div(D).add(torch.eye(D, undefined, f64).mul(0.05));
    assert.ok(Sigma.sub(Sigma.diag().diag()).abs().max().item() > 0.1, 'Sigma is not diagonal');
    const mu = torch.randn([4, 4], { ...f64, generator: gen }); // data of shape [B, 4, 4]: 16 elements each
    const model = gaussianDenoiser(mu, Sigma);
    assert.equal(model.parameterisation, 'x');
    const ls = [-10, -3, 0, 2, 5, 10];
    const B = ls.length;
    // z from the model itself: x ~ N(mu, Sigma) by Cholesky, then q(z | x)
    const Lc = torch.linalg.cholesky(Sigma);
    const x = mu.reshape([1, D]).add(torch.randn([B, D], { ...f64, generator: gen }).matmul(Lc.mT));
    const { z } = diffuse(x.reshape([B, 4, 4]), torch.tensor(ls, f64), { generator: gen });
    const xhat = model(z, torch.tensor(ls, f64));
    assert.deepEqual(xhat.shape, [B, 4, 4]);
    const eye = torch.eye(D, undefined, f64);
    const SigmaInv = torch.linalg.inv(Sigma);
    const m = mu.reshape([D]);
    ls.forEach((l, b) => {
      const a = alphaOf(l), s = sigmaOf(l);
      const zb = z.select(0, b).reshape([D]);
      // 1) the joint Gaussian of (x, z) and the block formula, with an explicit inverse of the z block
      const joint = torch.cat([torch.cat([Sigma, Sigma.mul(a)], 1), torch.cat([Sigma.mul(a), Sigma.mul(a * a).add(eye.mul(s * s))], 1)], 0);
      const Sxz = joint.narrow(0, 0, D).narrow(1, D, D), Szz = joint.narrow(0, D, D).narrow(1, D, D);
      const block = m.add(Sxz.matmul(torch.linalg.inv(Szz)).matmul(zb.sub(m.mul(a))));
      // 2) Bayes in information form: precision Sigma^-1 + (alpha^2 / sigma^2) I
      const P = SigmaInv.add(eye.mul((a * a) / (s * s)));
      const info = torch.linalg.inv(P).matmul(SigmaInv.matmul(m).add(zb.mul(a / (s * s))));
      const got = xhat.select(0, b).reshape([D]);
      const scale = block.abs().max().item() + 1;
      assert.ok(maxAbs(got, block) < 1e-10 * scale, `block formula at lambda=${l}: ${maxAbs(got, block)}`);
      assert.ok(maxAbs(got, info) < 1e-9 * scale, `information form at lambda=${l}: ${maxAbs(got, info)}`);
    });
    // Tweedie (eq. 2.78): the score implied by x_hat is grad log q(z) with q(z) = N(alpha mu, alpha^2 Sigma + sigma^2 I)
    const scoreHat = convertPrediction(xhat, 'x', 'score', z, torch.tensor(ls, f64));
    ls.forEach((l, b) => {
      const a = alphaOf(l), s = sigmaOf(l);
      const C = Sigma.mul(a * a).add(eye.mul(s * s));
      const zb = z.select(0, b).reshape([D]).detach().requiresGrad_(true);
      const r = zb.sub(m.mul(a));
      const logq = r.unsqueeze(0).matmul(torch.linalg.inv(C)).matmul(r.unsqueeze(1)).mul(-0.5).sum();
      const [g] = torch.autograd.grad([logq], [zb]);
      const ref = g!;
      const err = maxAbs(scoreHat.select(0, b).reshape([D]), ref) / (ref.abs().max().item() + 1);
      assert.ok(err < 1e-8, `Tweedie score at lambda=${l}: ${err}`);
    });
  }));

  test('mixtureDenoiser with one component equals gaussianDenoiser (D = 16)', () => torch.scope(() => {
    const D = 16;
    const gen = new torch.Generator({ seed: 42 });
    const A = torch.randn([D, D], { ...f64, generator: gen });
    const Sigma = A.matmul(A.mT).div(D).add(torch.eye(D, undefined, f64).mul(0.1));
    const mu = torch.randn([D], { ...f64, generator: gen });
    const z = torch.randn([5, D], { ...f64, generator: gen });
    const l = torch.tensor([-8, -1, 0, 1, 8], f64);
    const g = gaussianDenoiser(mu, Sigma)(z, l);
    const mix = mixtureDenoiser({ weights: torch.ones([1], f64), means: mu.unsqueeze(0), covariances: Sigma.unsqueeze(0) })(z, l);
    assert.ok(maxAbs(g, mix) < 1e-10);
  }));

  test('mixtureDenoiser (8 anisotropic modes in 2-D) = E[x | z] by numerical integration on a grid', (t) => torch.scope(() => {
    const K = 8;
    const weights = Array.from({ length: K }, (_, k) => k + 1); // unequal, normalised inside the denoiser
    const wsum = weights.reduce((p, q) => p + q, 0);
    const means: number[][] = [], covs: number[][][] = [];
    for (let k = 0; k < K; k++) {
      const th = (2 * Math.PI * k) / K;
      means.push([2 * Math.cos(th), 2 * Math.sin(th)]);
      const [c, s] = [Math.cos(th + 0.4), Math.sin(th + 0.4)];
      const [l1, l2] = [(0.2 + 0.03 * k) ** 2, (0.08 + 0.01 * k) ** 2]; // R diag(l1, l2) R^T, sizes differ by mode
      covs.push([[c * c * l1 + s * s * l2, c * s * (l1 - l2)], [c * s * (l1 - l2), s * s * l1 + c * c * l2]]);
    }
    const model = mixtureDenoiser({ weights: torch.tensor(weights, f64), means: torch.tensor(means, f64), covariances: torch.tensor(covs, f64) });

    /** log p(x) of the mixture at grid points (gx, gy), with 2x2 inverses written out. */
    const logPrior = (gx: Tensor, gy: Tensor): Tensor => {
      const terms = means.map((mk, k) => {
        const [[a, b], [, d]] = covs[k]! as [[number, number], [number, number]];
        const det = a * d - b * b;
        const dx = gx.sub(mk[0]!), dy = gy.sub(mk[1]!);
        const q = dx.square().mul(d).sub(dx.mul(dy).mul(2 * b)).add(dy.square().mul(a)).div(det);
        return q.mul(-0.5).add(Math.log(weights[k]! / wsum) - 0.5 * Math.log(det) - Math.log(2 * Math.PI));
      });
      return torch.logsumexp(torch.stack(terms), [0]);
    };
    const grid = (cx: number, cy: number, half: number, n: number): [Tensor, Tensor] => {
      const u = torch.linspace(-half, half, n, f64);
      return [u.add(cx).unsqueeze(1).expand([n, n]).reshape([-1]).contiguous(), u.add(cy).unsqueeze(0).expand([n, n]).reshape([-1]).contiguous()];
    };
    /**
     * E[x | z] = integral x p(x) N(z; alpha x, sigma^2 I) dx / integral p(x) N(...) dx by the rectangle rule on a uniform
     * grid, which is spectrally accurate for these smooth, fast-decaying integrands once the spacing is below the
     * narrowest posterior scale (error ~ exp(-2 pi^2 (scale / spacing)^2), about 1e-22 here).
     */
    const posteriorMean = (z: [number, number], l: number): number[] => torch.scope(() => {
      const a = alphaOf(l), s = sigmaOf(l);
      const logPost = (gx: Tensor, gy: Tensor) => logPrior(gx, gy).sub(gx.mul(a).sub(z[0]).square().add(gy.mul(a).sub(z[1]).square()).div(2 * s * s));
      let [gx, gy] = grid(0, 0, 6, 241); // spacing 0.05, 1.6 times below the narrowest component scale (0.08)
      if (s / a < 0.08) {
        // the likelihood is narrower than that: integrate on a fine grid around the posterior peak
        const at = logPost(gx, gy).argmax().item();
        [gx, gy] = grid(gx.select(0, at).item(), gy.select(0, at).item(), 12 * (s / a) + 0.1, 201);
      }
      const w = logPost(gx, gy).softmax(0);
      return [w.mul(gx).sum().item(), w.mul(gy).sum().item()];
    });

    const cases: { z: [number, number]; l: number }[] = [];
    const xs: [number, number][] = [[2.1, 0.1], [-1.3, 1.5], [2 * Math.cos(Math.PI / 8), 2 * Math.sin(Math.PI / 8)], [0, 0]];
    for (const l of [-10, -2, 0, 1, 3, 6, 10]) {
      for (const x of xs) cases.push({ z: [alphaOf(l) * x[0] + sigmaOf(l) * 0.3, alphaOf(l) * x[1] - sigmaOf(l) * 0.7], l });
    }
    const out = model(torch.tensor(cases.map((c) => c.z), f64), torch.tensor(cases.map((c) => c.l), f64)).toArray() as number[][];
    let worst = 0;
    cases.forEach((c, i) => {
      const ref = posteriorMean(c.z, c.l);
      const err = Math.max(Math.abs(out[i]![0]! - ref[0]!), Math.abs(out[i]![1]! - ref[1]!));
      worst = Math.max(worst, err);
      assert.ok(err < 1e-7, `lambda=${c.l}, z=${c.z}: denoiser ${out[i]} vs integral ${ref}`);
    });
    t.diagnostic(`largest |denoiser - integral| over ${cases.length} cases: ${worst.toExponential(2)}`);
    // the posterior mean genuinely moves with z and lambda (the comparison is not between constants)
    assert.ok(Math.abs(out[0]![0]! - out[out.length - 4]![0]!) > 0.5);
  }));
});
