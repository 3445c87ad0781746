// Proofs for the ELBO in nats and bits per dimension (src/diffusion/likelihood.ts; 001_5e42003193798b1e.txt
// eqs 2.81-2.85, 002_b831863fd030c65c.txt sec. 3.3): with the exact denoiser of x ~ N(mu, Sigma) (D = 16,
// non-diagonal Sigma) the bound converges to the true negative log-likelihood as quadrature nodes grow and the
// logSNR range widens; the Monte-Carlo estimate is unbiased; masks give the marginal likelihood of the observed
// block; the decoders' reconstruction terms match their closed forms.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, gaussianDenoiser, gaussLegendre, diffusionIntegral, elbo, reconstructionLoss,
  logNormalIntervalProbability,
} from '../src/diffusion/index.js';
import { gaussianProblem, meanAndStdErr, maxAbs, toList, f64 } from './loss-fixtures.js';

const P = gaussianProblem();
const D = P.D;
const x = P.sample(2, new torch.Generator({ seed: 21 }));
const nll = P.nll(x);
const fast = { batchSize: 16384 };
const quad = (steps: number) => ({ method: 'quadrature' as const, steps, noise: 'sigma-points' as const, ...fast });
const gaps = (total: Tensor): number[] => toList(total).map((v, b) => v - nll[b]!);

describe('Gauss-Legendre and the diffusion integral', () => {
  test('gaussLegendre(n) integrates polynomials of degree <= 2n - 1 exactly', () => {
    assert.deepEqual(gaussLegendre(1), { nodes: [0], weights: [2] });
    const two = gaussLegendre(2);
    assert.ok(Math.abs(two.nodes[1]! - 1 / Math.sqrt(3)) < 1e-15 && Math.abs(two.weights[0]! - 1) < 1e-15);
    for (const n of [3, 8, 64, 200]) {
      const { nodes, weights } = gaussLegendre(n);
      for (let k = 0; k <= 2 * n - 1; k += Math.max(1, Math.floor(n / 4))) {
        const q = nodes.reduce((s, u, j) => s + weights[j]! * u ** k, 0);
        const exact = k % 2 === 1 ? 0 : 2 / (k + 1);
        assert.ok(Math.abs(q - exact) < 1e-13, `n=${n}, degree ${k}: ${q} vs ${exact}`);
      }
    }
  });

  test('quadrature of 1/2 int E||eps - eps_hat||^2 dlambda equals the closed form 1/2 [F(r_max) - F(r_min)]', (t) => {
    const sch = alphaCosineSchedule();
    for (const [lo, hi] of [[-10, 10], [-30, 30]] as const) {
      const got = toList(diffusionIntegral(P.model, x, sch, { ...quad(200), logsnrMin: lo, logsnrMax: hi }).value);
      const exact = P.diffusionTerm(x, lo, hi);
      t.diagnostic(`[${lo}, ${hi}]: ${got.map((v) => v.toFixed(9))} vs ${exact.map((v) => v.toFixed(9))}`);
      for (let b = 0; b < 2; b++) assert.ok(Math.abs(got[b]! - exact[b]!) < 1e-9 * exact[b]!);
    }
    // Gaussian noise at each node: unbiased within its standard error
    const r = diffusionIntegral(P.model, x, sch, { method: 'quadrature', steps: 64, samples: 64, generator: new torch.Generator({ seed: 22 }), ...fast });
    const exact = P.diffusionTerm(x, -30, 30);
    const [v, se] = [toList(r.value), toList(r.stdErr)];
    t.diagnostic(`Gaussian noise, 64 nodes x 64 draws: ${v.map((a) => a.toFixed(2))} +- ${se.map((a) => a.toFixed(2))} vs ${exact.map((a) => a.toFixed(2))}`);
    for (let b = 0; b < 2; b++) assert.ok(Math.abs(v[b]! - exact[b]!) < 4 * se[b]! && se[b]! > 0);
  });
});

describe('ELBO of Gaussian data with the exact denoiser', () => {
  test('converges to the true NLL as quadrature nodes grow (lambda in [-30, 30])', (t) => {
    const sch = alphaCosineSchedule();
    const errs = [25, 50, 100, 200].map((steps) => Math.max(...gaps(elbo(P.model, x, sch, quad(steps)).total).map(Math.abs)));
    t.diagnostic(`NLL ${nll.map((v) => v.toFixed(6))}; max |ELBO - NLL| for 25, 50, 100, 200 nodes: ${errs.map((e) => e.toExponential(2))}`);
    for (let k = 0; k < 2; k++) assert.ok(errs[k + 1]! < errs[k]!);
    assert.ok(errs[0]! > 1e-2, 'too few nodes must show');
    assert.ok(errs[3]! < 1e-6);
  });

  test('converges to the true NLL as the logSNR range widens, staying an upper bound; bits/dim follow', (t) => {
    const out: string[] = [];
    let prev = Infinity;
    for (const L of [4, 8, 16, 30]) {
      const r = elbo(P.model, x, alphaCosineSchedule({ logsnrMin: -L, logsnrMax: L }), quad(200));
      const gap = gaps(r.total);
      out.push(`[-${L}, ${L}]: ${gap.map((g) => g.toExponential(2))} (prior ${toList(r.prior).map((v) => v.toExponential(1))})`);
      for (const g of gap) assert.ok(g > -1e-8, `the ELBO must bound the NLL: gap ${g}`);
      const worst = Math.max(...gap);
      assert.ok(worst < prev);
      prev = worst;
      // terms add up; bits per dimension = nats / (D ln 2)
      assert.ok(maxAbs(r.total, r.reconstruction.add(r.prior).add(r.diffusion)) < 1e-9);
      assert.ok(maxAbs(r.bpd, r.total.div(D * Math.LN2)) < 1e-12);
      assert.ok(maxAbs(r.dims, D) === 0);
    }
    t.diagnostic(`-ELBO - NLL in nats: ${out.join('; ')}`);
    assert.ok(prev < 1e-6);
    const r = elbo(P.model, x, alphaCosineSchedule(), quad(200));
    const nllBpd = nll.map((v) => v / (D * Math.LN2));
    t.diagnostic(`bits/dim: ELBO ${toList(r.bpd).map((v) => v.toFixed(8))}, NLL ${nllBpd.map((v) => v.toFixed(8))}`);
    assert.ok(Math.max(...toList(r.bpd).map((v, b) => Math.abs(v - nllBpd[b]!))) < 1e-7);
    // stated at data precision Delta: -log2 Delta more bits per dimension
    const r2 = elbo(P.model, x, alphaCosineSchedule(), { ...quad(200), binWidth: 1 / 256 });
    assert.ok(maxAbs(r2.bpd.sub(r.bpd), 8) < 1e-9);
  });

  test('Monte Carlo over lambda is unbiased; the uniform proposal beats the schedule density for w = 1', (t) => {
    const sch = alphaCosineSchedule();
    const g = new torch.Generator({ seed: 23 });
    const big = elbo(P.model, x, sch, { method: 'monte-carlo', samples: 4000, generator: g, batchSize: 8000 });
    const small = elbo(P.model, x, sch, { method: 'monte-carlo', samples: 1000, generator: g, batchSize: 8000 });
    const viaSchedule = elbo(P.model, x, sch, { method: 'monte-carlo', samples: 4000, proposal: 'schedule', generator: g, batchSize: 8000 });
    const [gap, se, seSmall, seSched] = [gaps(big.total), toList(big.diffusionStdErr), toList(small.diffusionStdErr), toList(viaSchedule.diffusionStdErr)];
    t.diagnostic(`uniform, 4000 draws: -ELBO - NLL ${gap.map((v) => v.toFixed(2))} +- ${se.map((v) => v.toFixed(2))} nats; 1000 draws +- ${seSmall.map((v) => v.toFixed(2))}; schedule density, 4000 draws: +- ${seSched.map((v) => v.toFixed(2))}`);
    for (let b = 0; b < 2; b++) {
      assert.ok(Math.abs(gap[b]!) < 4 * se[b]!);
      assert.ok(Math.abs(seSmall[b]! / se[b]! - 2) < 0.3, 'standard error falls as 1/sqrt(samples)');
      assert.ok(seSched[b]! > 2 * se[b]!);
    }
  });

  test('with a mask, the ELBO is that of the observed elements: the marginal NLL of an independent observed block', (t) => {
    // Sigma = blockdiag(Sigma_A, Sigma_B); observe A (the first 8 elements) everywhere, B never
    const A = P.Sigma.narrow(0, 0, 8).narrow(1, 0, 8);
    const Bk = P.Sigma.narrow(0, 8, 8).narrow(1, 8, 8);
    const Sigma = torch.blockDiag([A, Bk]);
    const model = gaussianDenoiser(P.mu, Sigma);
    const mask = torch.cat([torch.ones([8], { dtype: 'bool' }), torch.zeros([8], { dtype: 'bool' })]);
    const xp = torch.where(mask, x, NaN); // the unobserved block is missing
    const r = elbo(model, xp, alphaCosineSchedule(), { ...quad(200), mask });
    const xa = x.narrow(1, 0, 8).sub(P.mu.narrow(0, 0, 8));
    const [, logdet] = torch.linalgSlogdet(A) as [Tensor, Tensor];
    const maha = xa.mul(torch.linalgSolve(A, xa.mT).mT).sum([1]);
    const nllA = maha.add(logdet).add(8 * Math.log(2 * Math.PI)).mul(0.5);
    t.diagnostic(`masked -ELBO ${toList(r.total).map((v) => v.toFixed(8))} vs marginal NLL ${toList(nllA).map((v) => v.toFixed(8))}`);
    assert.ok(maxAbs(r.total, nllA) < 1e-6);
    assert.ok(maxAbs(r.dims, 8) === 0 && maxAbs(r.bpd, r.total.div(8 * Math.LN2)) < 1e-12);
  });
});

describe('reconstruction term and decoders', () => {
  test('discretised decoder: ~0 nats for gridded data at lambda_max = 30, and -D log(Delta) below the Gaussian when bins are narrow', () => {
    const g = new torch.Generator({ seed: 24 });
    const bw = 2 / 255;
    const grid = torch.randint(0, 256, [4, D], { generator: g }).to('float64').mul(bw).sub(1);
    const r30 = reconstructionLoss(grid, 30, { decoder: 'discretized-gaussian', binWidth: bw, dataRange: [-1, 1], generator: g });
    assert.ok(r30.abs().max().item() < 1e-12, `${r30.abs().max().item()}`);
    // s = sigma_0/alpha_0 = 1 at lambda_max = 0; with Delta = 0.01 << s, -log P(bin) ~ -log p(x) - log Delta
    const N = 500;
    const xs = torch.randn([N, D], { ...f64, generator: g });
    const disc = meanAndStdErr(reconstructionLoss(xs, 0, { decoder: 'discretized-gaussian', binWidth: 0.01, generator: g }).unsqueeze(1));
    const gauss = reconstructionLoss(xs, 0).mean().item();
    assert.ok(Math.abs(gauss - D * 0.5 * (Math.log(2 * Math.PI) + 1)) < 1e-12);
    const expect = gauss - D * Math.log(0.01);
    assert.ok(Math.abs(disc.mean[0]! - expect) < 4 * disc.se[0]!, `${disc.mean[0]} vs ${expect} +- ${disc.se[0]}`);
  });

  test('discretised decoder per element: interior bins and open edge bins follow -log(Phi(b) - Phi(a))', () => {
    const l = 2; // s = exp(-1)
    const s = Math.exp(-l / 2);
    const bw = 0.5;
    const xv = torch.tensor([[-1], [-0.5], [0], [0.5], [1]], f64); // range [-1, 1]: first and last are edge bins
    const seed = 25;
    const got = reconstructionLoss(xv, l, { decoder: 'discretized-gaussian', binWidth: bw, dataRange: [-1, 1], generator: new torch.Generator({ seed }) });
    const eps = torch.randn(xv.shape, { ...f64, generator: new torch.Generator({ seed }) });
    const h = bw / 2 / s;
    const upper = torch.specialNdtr(eps.neg().add(h));
    const lower = torch.specialNdtr(eps.neg().sub(h));
    const interior = upper.sub(lower).log().neg();
    const expect = torch.cat([upper.narrow(0, 0, 1).log().neg(), interior.narrow(0, 1, 3), lower.narrow(0, 4, 1).neg().add(1).log().neg()]).squeeze(1);
    assert.ok(maxAbs(got, expect) < 1e-12, `${toList(got)} vs ${toList(expect)}`);
  });

  test('log(Phi(b) - Phi(a)) keeps precision in the far tails', () => {
    const a = torch.tensor([30, -31, -0.5], f64);
    const b = torch.tensor([31, -30, 0.5], f64);
    const v = toList(logNormalIntervalProbability(a, b));
    // log Phi(-30) = -450 - log(30 sqrt(2 pi)) + log(1 - 1/900 + 3/810000 - ...)
    const tail = -450 - Math.log(30 * Math.sqrt(2 * Math.PI)) + Math.log(1 - 1 / 900 + 3 / 810000);
    assert.ok(Math.abs(v[0]! - tail) < 1e-6 && Math.abs(v[1]! - tail) < 1e-6, `${v}`);
    assert.ok(Math.abs(v[2]! - Math.log(0.38292492254802624)) < 1e-14);
  });
});
