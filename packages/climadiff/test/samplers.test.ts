// Samplers proven on data whose exact denoiser is known (analytic.ts), without training a network.
//
// Gaussian data x ~ N(mu, Sigma), D = 16, Sigma non-diagonal with eigenvalues from ~0.06 to ~4.3: every sampler
// must reproduce mu and Sigma from n = 4000 samples within sampling tolerance (bounds below), with enough steps
// that its discretisation bias is a small fraction of that tolerance (numbers in docs/diffusion.md).
// Gaussian mixture (8 modes on a circle, unequal weights): samples land on the modes with the right weights.
// Plus determinism, seeding, equivalences between samplers, callbacks, hooks, grad mode and memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, ncsnSchedule, ddpmBetas, gaussianDenoiser, denoiser, posterior, perExample, predictXEps,
  ancestralSample, ddimSample, reverseSdeSample, probabilityFlowSample, annealedLangevinSample, predictorCorrectorSample,
  ddpmSample, dpmSolverSample, edmSample, reparameterise, type Denoiser, type SampleOptions, type SampleResult, type StepInfo,
} from '../src/diffusion/index.js';
import { collectGarbage } from './gc.js';

// Small tensors: one thread avoids OpenMP spin-waits when the (shared, 2-core) machine is busy (40x slower).
torch.setNumThreads(1);

const f64 = { dtype: 'float64' as const };
const gen = (seed: number) => new torch.Generator({ seed });
const cosine = alphaCosineSchedule(); // the seed's [-30, 30]

/** Upper quantile of chi^2_k at tail probability p (Wilson-Hilferty; within 0.5% of the exact value for k >= 7). */
function chi2Quantile(k: number, p: number): number {
  // z with P(N(0,1) > z) = p, by bisection on erfc
  let lo = 0, hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (0.5 * erfc(mid / Math.SQRT2) > p) lo = mid; else hi = mid;
  }
  const z = (lo + hi) / 2;
  const c = 2 / (9 * k);
  return k * (1 - c + z * Math.sqrt(c)) ** 3;
}
function erfc(x: number): number {
  // Numerical Recipes' erfc (relative error < 1.2e-7)
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851973 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : 2 - y;
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian data and the tolerances of sampling theory
// ---------------------------------------------------------------------------------------------------------
const D = 16;
const N = 4000;
const P_FAIL = 1e-4; // tail probability of each statistical check for an exact sampler

const gauss = torch.scope(() => {
  const g = gen(2024);
  const A = torch.randn([D, D], { ...f64, generator: g });
  const Sigma = A.matmul(A.mT).div(D).add(torch.eye(D, undefined, f64).mul(0.05));
  const mu = torch.randn([D], { ...f64, generator: g });
  const [ev, U] = torch.linalg.eigh(Sigma) as [Tensor, Tensor];
  const SigmaInv = U.div(ev).matmul(U.mT);
  const SigmaInvHalf = U.mul(ev.rsqrt()).matmul(U.mT);
  return { Sigma, mu, ev, U, SigmaInv, SigmaInvHalf };
});
for (const t of Object.values(gauss)) t.keep();
const gaussModel = gaussianDenoiser(gauss.mu, gauss.Sigma);
const EIG = Array.from(gauss.ev.toFloat64Array());

interface Moments {
  /** n (m - mu)^T Sigma^-1 (m - mu): chi^2_D for exact samples. */
  maha: number;
  /** max_j |m_j - mu_j| / sqrt(Sigma_jj / n): each N(0, 1) for exact samples. */
  maxZ: number;
  /** (n - 1)/2 ||Sigma^-1/2 S Sigma^-1/2 - I||_F^2: approximately chi^2_{D(D+1)/2} for exact samples (Wishart). */
  wishart: number;
  /** ||S - Sigma||_F and its root-mean-square value for exact samples, sqrt((tr Sigma^2 + (tr Sigma)^2) / (n - 1)). */
  fro: number;
  froRms: number;
  /** Relative error of the sample variance along each eigenvector of Sigma (smallest eigenvalue first). */
  relVar: number[];
}

function moments(x: Tensor): Moments {
  return torch.scope(() => {
    const n = x.shape[0]!;
    const flat = x.reshape([n, D]);
    const m = flat.mean([0]);
    const dm = m.sub(gauss.mu);
    const maha = n * dm.unsqueeze(0).matmul(gauss.SigmaInv).matmul(dm.unsqueeze(1)).item();
    const maxZ = dm.abs().div(gauss.Sigma.diagonal().div(n).sqrt()).max().item();
    const xc = flat.sub(m);
    const S = xc.mT.matmul(xc).div(n - 1);
    const W = gauss.SigmaInvHalf.matmul(S).matmul(gauss.SigmaInvHalf).sub(torch.eye(D, undefined, f64));
    const wishart = ((n - 1) / 2) * W.square().sum().item();
    const fro = S.sub(gauss.Sigma).square().sum().sqrt().item();
    const trS = gauss.Sigma.trace().item();
    const froRms = Math.sqrt((gauss.Sigma.square().sum().item() + trS * trS) / (n - 1));
    const relVar = Array.from(gauss.U.mT.matmul(S).matmul(gauss.U).diagonal().div(gauss.ev).sub(1).toFloat64Array());
    return { maha, maxZ, wishart, fro, froRms, relVar };
  });
}

const MAHA_MAX = chi2Quantile(D, P_FAIL); // 45.9
const WISHART_MAX = chi2Quantile((D * (D + 1)) / 2, P_FAIL); // 206
const Z_MAX = 4; // per coordinate: P(max_j |Z_j| > 4) = 16 * 6.3e-5 = 1e-3

/** Every check an exact sampler passes with probability >= 1 - ~1e-3; returns the failures. */
function momentFailures(s: Moments): string[] {
  const f: string[] = [];
  if (!(s.maxZ < Z_MAX)) f.push(`mean: max_j |m_j - mu_j| / (sigma_j / sqrt(n)) = ${s.maxZ.toFixed(2)} >= ${Z_MAX}`);
  if (!(s.maha < MAHA_MAX)) f.push(`mean: n Mahalanobis^2 = ${s.maha.toFixed(1)} >= chi2_16 quantile ${MAHA_MAX.toFixed(1)}`);
  if (!(s.wishart < WISHART_MAX)) f.push(`covariance: (n-1)/2 ||Sigma^-1/2 S Sigma^-1/2 - I||^2 = ${s.wishart.toFixed(1)} >= chi2_136 quantile ${WISHART_MAX.toFixed(1)}`);
  if (!(s.fro < 3 * s.froRms)) f.push(`covariance: ||S - Sigma||_F = ${s.fro.toFixed(3)} >= 3 x RMS ${s.froRms.toFixed(3)}`);
  return f;
}

function describeMoments(s: Moments): string {
  const worst = s.relVar.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
  return `maha ${s.maha.toFixed(1)} (< ${MAHA_MAX.toFixed(1)}), max z ${s.maxZ.toFixed(2)} (< ${Z_MAX}), ` +
    `wishart ${s.wishart.toFixed(1)} (< ${WISHART_MAX.toFixed(1)}, mean 136), ||S-Sigma||_F ${s.fro.toFixed(3)} (< ${(3 * s.froRms).toFixed(3)}), ` +
    `largest relative variance error along an eigenvector ${worst.toFixed(3)} (sd ${Math.sqrt(2 / (N - 1)).toFixed(3)}), ` +
    `smallest-eigenvalue direction ${s.relVar[0]!.toFixed(3)}`;
}

function expectGaussian(t: { diagnostic: (m: string) => void }, name: string, run: () => SampleResult): Moments {
  const t0 = performance.now();
  const s = torch.scope(() => moments(run().x));
  t.diagnostic(`${name}: ${describeMoments(s)}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const fails = momentFailures(s);
  assert.deepEqual(fails, [], `${name}: ${fails.join('; ')}`);
  return s;
}

const f64opts = (seed: number, o: Record<string, unknown> = {}) => ({ generator: gen(seed), dtype: 'float64' as const, ...o });
/** NCSN levels spanning the Gaussian's scales: sigma from 50 (beyond every data direction) to 0.01. */
const ncsnGauss = ncsnSchedule({ sigmaMax: 50, sigmaMin: 0.01 });

describe('samplers reproduce N(mu, Sigma) (D = 16, n = 4000, exact Gaussian denoiser)', () => {
  test('the tolerances: exact samples pass, a 10% wrong model and a 0.1-sd mean shift fail', (t) => torch.scope(() => {
    const x = gauss.mu.add(torch.randn([N, D], { ...f64, generator: gen(1) }).matmul(torch.linalg.cholesky(gauss.Sigma).mT));
    const s = moments(x);
    t.diagnostic(`exact draws: ${describeMoments(s)}`);
    assert.deepEqual(momentFailures(s), []);
    // the same draws, transformed as a wrong sampler would produce them
    const u = gauss.U.select(1, 0); // eigenvector of the smallest eigenvalue
    const shifted = moments(x.add(u.mul(0.1 * Math.sqrt(EIG[0]!))));
    assert.ok(momentFailures(shifted).some((f) => f.startsWith('mean')), `0.1-sd shift not detected: ${describeMoments(shifted)}`);
    const inflated = moments(x.sub(gauss.mu).mul(Math.sqrt(1.1)).add(gauss.mu));
    assert.ok(momentFailures(inflated).some((f) => f.startsWith('covariance')), `10% variance not detected: ${describeMoments(inflated)}`);
  }));

  test('the test detects a biased model: N(mu + 0.1 sd, 1.1 Sigma) through DDIM', (t) => {
    const u = gauss.U.select(1, 0);
    const wrong = gaussianDenoiser(gauss.mu.add(u.mul(0.1 * Math.sqrt(EIG[0]!))), gauss.Sigma.mul(1.1));
    const s = torch.scope(() => moments(ddimSample(wrong, cosine, [N, D], f64opts(11, { steps: 500 })).x));
    t.diagnostic(`biased model: ${describeMoments(s)}`);
    const fails = momentFailures(s);
    assert.ok(fails.some((f) => f.startsWith('mean')) && fails.some((f) => f.startsWith('covariance')), fails.join('; '));
  });

  test('the test detects a wrong posterior variance (ancestral with std x 1.1) and too few steps (T = 50)', (t) => {
    // the ancestral loop written out with the posterior std scaled by 1.1
    const wrongAncestral = (T: number): Tensor => torch.scope(() => {
      const g = gen(12);
      let z = torch.randn([N, D], { ...f64, generator: g });
      const l = Array.from(cosine.logsnr(torch.linspace(1, 0, T + 1, f64)).toFloat64Array());
      for (let k = 0; k < T - 1; k++) {
        const next = torch.scope(() => {
          const { x } = predictXEps(gaussModel, z, perExample(l[k]!, z));
          const q = posterior(z, x, perExample(l[k + 1]!, z), perExample(l[k]!, z));
          return q.mean.add(q.std.mul(1.1).mul(torch.randn(z.shape, { ...f64, generator: g })));
        });
        z.dispose();
        z = next;
      }
      return predictXEps(gaussModel, z, perExample(l[T - 1]!, z)).x;
    });
    const wrongVar = moments(wrongAncestral(1000));
    t.diagnostic(`posterior std x 1.1: ${describeMoments(wrongVar)}`);
    assert.ok(momentFailures(wrongVar).some((f) => f.startsWith('covariance')), describeMoments(wrongVar));
    const coarse = torch.scope(() => moments(ancestralSample(gaussModel, cosine, [N, D], f64opts(13, { steps: 50 })).x));
    t.diagnostic(`ancestral T = 50: ${describeMoments(coarse)}`);
    assert.ok(momentFailures(coarse).some((f) => f.startsWith('covariance')), describeMoments(coarse));
  });

  test('ancestral (eqs 2.56-2.62), T = 1000', (t) => {
    expectGaussian(t, 'ancestral T=1000', () => ancestralSample(gaussModel, cosine, [N, D], f64opts(21, { steps: 1000 })));
  });
  test('DDIM eta = 0, T = 500', (t) => {
    expectGaussian(t, 'DDIM eta=0 T=500', () => ddimSample(gaussModel, cosine, [N, D], f64opts(22, { steps: 500 })));
  });
  test('DDIM eta = 0.5, T = 500', (t) => {
    expectGaussian(t, 'DDIM eta=0.5 T=500', () => ddimSample(gaussModel, cosine, [N, D], f64opts(23, { steps: 500, eta: 0.5 })));
  });
  test('reverse SDE, Euler-Maruyama (eqs 2.48-2.55), T = 1000 from lambda = -10', (t) => {
    expectGaussian(t, 'reverse SDE EM T=1000', () => reverseSdeSample(gaussModel, cosine, [N, D], f64opts(24, { steps: 1000 })));
  });
  test('probability-flow ODE, Heun, T = 100', (t) => {
    expectGaussian(t, 'PF-ODE Heun T=100', () => probabilityFlowSample(gaussModel, cosine, [N, D], f64opts(25, { steps: 100 })));
  });
  test('annealed Langevin (004 Alg. 1): sigma 50 -> 0.01, L = 30 levels, 50 steps each, epsilon = 2 sigma_L^2', (t) => {
    expectGaussian(t, 'annealed Langevin L=30 n=50', () => annealedLangevinSample(gaussModel, ncsnGauss, [N, D],
      f64opts(26, { steps: 30, stepsPerLevel: 50, epsilon: 2 * 0.01 ** 2 })));
  });
  test('DPM-Solver++ 2M and 3M, T = 50 (Karras grid)', (t) => {
    expectGaussian(t, 'DPM-Solver++ 2M T=50', () => dpmSolverSample(gaussModel, cosine, [N, D], f64opts(30, { steps: 50 })));
    expectGaussian(t, 'DPM-Solver++ 3M T=50', () => dpmSolverSample(gaussModel, cosine, [N, D], f64opts(31, { steps: 50, order: 3 })));
  });
  test('SDE-DPM-Solver++ 2M, T = 200 (Karras grid)', (t) => {
    expectGaussian(t, 'SDE-DPM-Solver++ 2M T=200', () => dpmSolverSample(gaussModel, cosine, [N, D], f64opts(32, { steps: 200, eta: 1 })));
  });
  test('EDM with churn (S_churn 2.5, S_noise 1), T = 200 (Karras grid)', (t) => {
    expectGaussian(t, 'EDM churn T=200', () => edmSample(gaussModel, cosine, [N, D], f64opts(33, { steps: 200, churnNoise: 1, churnMin: 0.05, churnMax: 50 })));
  });
  test('predictor-corrector (ancestral + Langevin, snr 0.05), T = 500', (t) => {
    expectGaussian(t, 'PC T=500 snr=0.05', () => predictorCorrectorSample(gaussModel, cosine, [N, D], f64opts(27, { steps: 500, snr: 0.05 })));
  });
  test('DDPM (004 Alg. 3), linear betas 1e-4..0.02, T = 1000, sigma_t^2 = beta~_t and beta_t', (t) => {
    const { betas } = ddpmBetas({ T: 1000 });
    expectGaussian(t, 'DDPM posterior variance', () => ddpmSample(gaussModel, cosine, [N, D], f64opts(28, { betas })));
    expectGaussian(t, 'DDPM beta variance', () => ddpmSample(gaussModel, cosine, [N, D], f64opts(29, { betas, variance: 'beta' })));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Mechanics: every sampler, small batches
// ---------------------------------------------------------------------------------------------------------
interface SamplerCase {
  name: string;
  stochastic: boolean;
  /** Runs the sampler with `steps` steps. */
  run: (model: Denoiser, init: number[] | Tensor, o: SampleOptions & { steps: number }) => SampleResult;
}
const CASES: SamplerCase[] = [
  { name: 'ancestral', stochastic: true, run: (m, i, o) => ancestralSample(m, cosine, i, o) },
  { name: 'DDIM eta=0', stochastic: false, run: (m, i, o) => ddimSample(m, cosine, i, o) },
  { name: 'DDIM eta=0.5', stochastic: true, run: (m, i, o) => ddimSample(m, cosine, i, { ...o, eta: 0.5 }) },
  { name: 'reverse SDE', stochastic: true, run: (m, i, o) => reverseSdeSample(m, cosine, i, o) },
  { name: 'PF-ODE Heun', stochastic: false, run: (m, i, o) => probabilityFlowSample(m, cosine, i, o) },
  { name: 'annealed Langevin', stochastic: true, run: (m, i, o) => annealedLangevinSample(m, ncsnGauss, i, { ...o, stepsPerLevel: 3 }) },
  { name: 'predictor-corrector', stochastic: true, run: (m, i, o) => predictorCorrectorSample(m, cosine, i, { ...o, correctorSteps: 2 }) },
  { name: 'DDPM (schedule)', stochastic: true, run: (m, i, o) => ddpmSample(m, cosine, i, o) },
  { name: 'DPM-Solver++ 2M', stochastic: false, run: (m, i, o) => dpmSolverSample(m, cosine, i, o) },
  { name: 'DPM-Solver++ 3M', stochastic: false, run: (m, i, o) => dpmSolverSample(m, cosine, i, { ...o, order: 3 }) },
  { name: 'SDE-DPM-Solver++ 2M', stochastic: true, run: (m, i, o) => dpmSolverSample(m, cosine, i, { ...o, eta: 1 }) },
  { name: 'EDM with churn', stochastic: true, run: (m, i, o) => edmSample(m, cosine, i, { ...o, churnMin: 0 }) },
  {
    name: 'DDPM (betas)', stochastic: true,
    run: (m, i, o) => ddpmSample(m, cosine, i, { ...o, betas: torch.scope(() => Array.from(ddpmBetas({ T: o.steps, betaStart: 0.01, betaEnd: 0.5 }).betas.toFloat64Array())) }),
  },
];

const maxAbs = (a: Tensor, b: Tensor): number => torch.scope(() => a.sub(b).abs().max().item());

describe('sampler mechanics (every sampler)', () => {
  test('onStep is called `steps` times, trajectory has `steps` entries ending in x, the hook sees every new latent', () => {
    const T = 7, B = 5;
    for (const c of CASES) torch.scope(() => {
      const infos: { step: number; steps: number; logsnr: number; zShape: number[]; xShape: number[] }[] = [];
      const hookLogsnr: number[] = [];
      const r = c.run(gaussModel, [B, 4, 4], {
        steps: T, generator: gen(3), dtype: 'float64', returnTrajectory: true,
        onStep: (i: StepInfo) => infos.push({ step: i.step, steps: i.steps, logsnr: i.logsnr, zShape: i.z.shape, xShape: i.x.shape }),
        // zero the first element of every example: applied to z_1 and after every step, so the final x has it too
        latentHook: (z, l) => {
          assert.deepEqual(l.shape, [B], `${c.name}: hook logsnr per example`);
          hookLogsnr.push(l.select(0, 0).item());
          const flat = z.reshape([B, -1]);
          return torch.cat([torch.zerosLike(flat.narrow(1, 0, 1)), flat.narrow(1, 1, flat.shape[1]! - 1)], 1).reshape(z.shape);
        },
      });
      assert.deepEqual(infos.map((i) => i.step), [...Array(T).keys()], `${c.name}: step indices`);
      assert.ok(infos.every((i) => i.steps === T && i.zShape.join() === '5,4,4' && i.xShape.join() === '5,4,4'), c.name);
      assert.ok(infos.every((i, k) => Number.isFinite(i.logsnr) && (k === 0 || i.logsnr > infos[k - 1]!.logsnr)), `${c.name}: logsnr increases ${infos.map((i) => i.logsnr)}`);
      assert.equal(r.trajectory!.length, T, c.name);
      assert.ok(r.trajectory![T - 1]!.isSame(r.x), `${c.name}: last trajectory entry is x`);
      assert.deepEqual(r.x.shape, [B, 4, 4]);
      assert.equal(hookLogsnr.length, T + 1, `${c.name}: hook calls`);
      assert.equal(hookLogsnr[0], infos[0]!.logsnr, `${c.name}: initial latent hooked at the first level`);
      assert.equal(hookLogsnr[T], Infinity, `${c.name}: final x hooked at logsnr +inf`);
      assert.equal(r.x.reshape([B, -1]).select(1, 0).abs().max().item(), 0, `${c.name}: hook applied to the final x`);
      for (const z of r.trajectory!) assert.equal(z.reshape([B, -1]).select(1, 0).abs().max().item(), 0, `${c.name}: hooked trajectory`);
    });
  });

  test('same generator seed, same samples; another seed, other samples; DDIM eta=0 and the ODE are deterministic maps of z_1', () => {
    for (const c of CASES) torch.scope(() => {
      const run = (seed: number, init: number[] | Tensor = [6, D]) => c.run(gaussModel, init, { steps: 5, generator: gen(seed), dtype: 'float64' }).x;
      assert.equal(maxAbs(run(5), run(5)), 0, `${c.name}: same seed`);
      assert.ok(maxAbs(run(5), run(6)) > 1e-3, `${c.name}: different seeds`);
      if (!c.stochastic) {
        const z1 = torch.randn([6, D], { ...f64, generator: gen(9) });
        assert.equal(maxAbs(run(1, z1), run(2, z1)), 0, `${c.name}: deterministic given z_1`);
        assert.equal(maxAbs(z1, torch.randn([6, D], { ...f64, generator: gen(9) })), 0, `${c.name}: init left untouched`);
      }
    });
  });

  test('the denoiser parameterisation (x, eps, v, score) does not change the samples', () => {
    for (const c of CASES) torch.scope(() => {
      const ref = c.run(gaussModel, [6, D], { steps: 6, generator: gen(4), dtype: 'float64' }).x;
      for (const p of ['eps', 'v', 'score'] as const) {
        const x = c.run(reparameterise(gaussModel, p), [6, D], { steps: 6, generator: gen(4), dtype: 'float64' }).x;
        assert.ok(maxAbs(x, ref) < 1e-7 * (1 + ref.abs().max().item()), `${c.name} with a ${p}-model: ${maxAbs(x, ref)}`);
      }
    });
  });

  test('no tensor outlives a run except the result (with trajectory, callbacks and hooks)', () => {
    for (const c of CASES) {
      collectGarbage();
      const before = torch.liveTensors();
      const r = c.run(gaussModel, [4, D], {
        steps: 4, generator: gen(1), dtype: 'float64', returnTrajectory: true, onStep: () => undefined, latentHook: (z) => z.mul(1),
      });
      for (const t of r.trajectory!) t.dispose();
      r.x.dispose();
      assert.equal(torch.liveTensors(), before, `${c.name}: leaked ${torch.liveTensors() - before} tensors`);
    }
  });
});

describe('equivalences between samplers', () => {
  test('DDIM with eta = 1 is the ancestral sampler (same z_1, same noise): max difference < 1e-10', () => torch.scope(() => {
    const z1 = torch.randn([64, D], { ...f64, generator: gen(7) });
    const a = ancestralSample(gaussModel, cosine, z1, { steps: 50, generator: gen(8) }).x;
    const b = ddimSample(gaussModel, cosine, z1, { steps: 50, generator: gen(8), eta: 1 }).x;
    assert.ok(maxAbs(a, b) < 1e-10, `${maxAbs(a, b)}`);
  }));

  test('DDPM Alg. 3 with sigma_t^2 = beta~_t on the schedule\'s chain is the ancestral sampler (eqs 2.59-2.62): < 1e-8', () => torch.scope(() => {
    const z1 = torch.randn([64, D], { ...f64, generator: gen(7) });
    const a = ancestralSample(gaussModel, cosine, z1, { steps: 50, generator: gen(8) }).x;
    const b = ddpmSample(gaussModel, cosine, z1, { steps: 50, generator: gen(8) }).x;
    // not 1e-15: Alg. 3's division by sqrt(1 - beta_T) ~ 1e-5 (beta_T -> 1 at lambda = -30) amplifies rounding
    assert.ok(maxAbs(a, b) < 1e-8, `${maxAbs(a, b)}`);
  }));

  test('a denoiser that needs gradients (score by autograd of log q(z), torch.enableGrad) works inside every sampler', () => {
    // Tweedie: grad_z log N(z; alpha mu, alpha^2 Sigma + sigma^2 I), computed by autograd inside the denoiser
    const eye = torch.eye(D, undefined, f64).keep();
    const autogradScore = denoiser('score', (z, logsnr) => torch.enableGrad(() => torch.scope(() => {
      const zl = z.detach().requiresGrad_(true);
      const a2 = logsnr.sigmoid().reshape([-1, 1, 1]);
      const C = a2.mul(gauss.Sigma).add(logsnr.neg().sigmoid().reshape([-1, 1, 1]).mul(eye));
      const r = zl.sub(a2.sqrt().reshape([-1, 1]).mul(gauss.mu)).unsqueeze(-1);
      const logq = r.mT.matmul(torch.linalg.solve(C, r)).sum().mul(-0.5);
      const [g] = torch.autograd.grad([logq], [zl]);
      return g!.detach();
    })));
    let gradSeen: boolean | undefined;
    const plain = denoiser('x', (z, l) => { gradSeen = torch.isGradEnabled(); return gaussModel(z, l); });
    for (const c of CASES) torch.scope(() => {
      const ref = c.run(plain, [6, D], { steps: 4, generator: gen(2), dtype: 'float64' }).x;
      assert.equal(gradSeen, false, `${c.name}: samplers run the model with gradient recording off`);
      const x = c.run(autogradScore, [6, D], { steps: 4, generator: gen(2), dtype: 'float64' }).x;
      assert.ok(maxAbs(x, ref) < 1e-7 * (1 + ref.abs().max().item()), `${c.name}: ${maxAbs(x, ref)}`);
    });
    assert.equal(torch.isGradEnabled(), true);
  });
});

describe('argument checks', () => {
  test('bad steps, eta, init, betas, sigmas, snr and variance are rejected with the option named', () => {
    assert.throws(() => ancestralSample(gaussModel, cosine, [2, D], { steps: 0 }), /ancestralSample: steps must be an integer >= 1, got 0/);
    assert.throws(() => ddimSample(gaussModel, cosine, [2, D], { steps: 2.5 }), /ddimSample: steps must be an integer >= 1/);
    assert.throws(() => ddimSample(gaussModel, cosine, [2, D], { eta: 1.5 }), /ddimSample: eta must be in \[0, 1\]/);
    assert.throws(() => ddimSample(gaussModel, cosine, [2, D], { eta: -1 }), /ddimSample: eta must be a finite number >= 0/);
    assert.throws(() => probabilityFlowSample(gaussModel, cosine, [0, D]), /probabilityFlowSample: init must be a shape/);
    assert.throws(() => reverseSdeSample(gaussModel, cosine, torch.scalarTensor(1)), /reverseSdeSample: the initial latent needs a batch dimension/);
    assert.throws(() => reverseSdeSample(gaussModel, cosine, [2, D], { logsnrStart: 40 }), /logsnrStart 40 must be below/);
    assert.throws(() => ddpmSample(gaussModel, cosine, [2, D], { betas: [0.1, 1.2] }), /ddpmSample: betas must be .* in \(0, 1\)/);
    assert.throws(() => ddpmSample(gaussModel, cosine, [2, D], { betas: [0.1, 0.2], steps: 3 }), /steps \(3\) must equal betas.length \(2\)/);
    assert.throws(() => ddpmSample(gaussModel, cosine, [2, D], { variance: 'big' as 'beta' }), /variance must be 'posterior' or 'beta'/);
    assert.throws(() => annealedLangevinSample(gaussModel, cosine, [2, D], { sigmas: [1, 2] }), /sigmas must be positive, finite and strictly decreasing/);
    assert.throws(() => annealedLangevinSample(gaussModel, cosine, [2, D], { stepsPerLevel: 0 }), /stepsPerLevel must be an integer >= 1/);
    assert.throws(() => predictorCorrectorSample(gaussModel, cosine, [2, D], { snr: Number.NaN }), /snr must be a finite number >= 0/);
  });
});
