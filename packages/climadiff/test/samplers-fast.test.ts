// Few-step samplers and their grids, proven on Gaussian data whose probability-flow ODE solution is known in closed
// form (and on the Gaussian mixture of samplers-mixture.test.ts):
// - grids: hand-computed levels, truncation, bad input;
// - deterministic solvers against the exact ODE solution: the pathwise error falls with the number of steps at the
//   solver's order (the slope of log error against log steps is printed and bounded below);
// - stochastic solvers: the mean and covariance of their output after T steps, propagated exactly through the steps
//   (every step is affine in the latent and the noise when the denoiser is the exact Gaussian one), against n = 4000
//   samples; and, with enough steps, N(mu, Sigma) itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, gaussianDenoiser, mixtureDenoiser, ddimSample, ancestralSample, probabilityFlowSample, dpmSolverSample,
  edmSample, uniformTimeGrid, uniformLogsnrGrid, karrasGrid, makeGrid, checkGrid, EDM_LOGSNR_MIN, EDM_LOGSNR_MAX,
  samplerByName, SAMPLER_NAMES, randnFrom, exampleSeed, type SampleResult,
} from '../src/diffusion/index.js';

torch.setNumThreads(1);

const f64 = { dtype: 'float64' as const };
const gen = (seed: number) => new torch.Generator({ seed });
const cosine = alphaCosineSchedule();
const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('grids (noise levels apart from the solvers)', () => {
  test('uniform in t is the seed\'s grid lambda(1 - k / T), then data', () => {
    const g = uniformTimeGrid(cosine, 4);
    const expect = [1, 0.75, 0.5, 0.25].map((t) => torch.scope(() => cosine.logsnr(torch.scalarTensor(t, f64)).item()));
    assert.equal(g.length, 5);
    g.slice(0, 4).forEach((l, k) => close(l, expect[k]!, 1e-12, `level ${k}`));
    assert.equal(g[4], Infinity);
    close(g[0]!, -30, 1e-9, 'starts at the schedule\'s end');
    // truncated: starts at t(-10) and keeps uniform spacing in t
    const tr = uniformTimeGrid(cosine, 4, { logsnrMin: -10 });
    close(tr[0]!, -10, 1e-9, 'truncated start');
    const t0 = torch.scope(() => cosine.t(torch.scalarTensor(-10, f64)).item());
    close(tr[2]!, torch.scope(() => cosine.logsnr(torch.scalarTensor(t0 / 2, f64)).item()), 1e-9, 'uniform in t after truncation');
  });

  test('uniform in logSNR: EDM\'s sigma range [0.002, 80] by default, equal spacing', () => {
    const g = uniformLogsnrGrid(cosine, 5);
    close(g[0]!, -2 * Math.log(80), 1e-12, 'lambda_0');
    close(g[4]!, -2 * Math.log(0.002), 1e-12, 'lambda_{T-1}');
    for (let k = 1; k < 4; k++) close(g[k + 1]! - g[k]!, g[1]! - g[0]!, 1e-12, `spacing ${k}`);
    assert.deepEqual(uniformLogsnrGrid(cosine, 1, { logsnrMin: -3, logsnrMax: 4 }), [-3, Infinity]);
    // clipped to a schedule narrower than the EDM range
    const narrow = alphaCosineSchedule({ logsnrMin: -5, logsnrMax: 5 });
    assert.deepEqual([uniformLogsnrGrid(narrow, 3)[0], uniformLogsnrGrid(narrow, 3)[2]], [-5, 5]);
  });

  test('Karras et al. eq. 5 by hand: sigma_k = (80^(1/7) + k/(T-1) (0.002^(1/7) - 80^(1/7)))^7', () => {
    const T = 4;
    const g = karrasGrid(cosine, T);
    for (let k = 0; k < T; k++) {
      const s = (80 ** (1 / 7) + (k / (T - 1)) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7;
      close(Math.exp(-g[k]! / 2), s, 1e-12 * s, `sigma_${k}`);
    }
    assert.equal(g[T], Infinity);
    // rho = 1 is uniform in sigma
    const lin = karrasGrid(cosine, 3, { rho: 1, logsnrMin: -2 * Math.log(4), logsnrMax: -2 * Math.log(2) });
    close(Math.exp(-lin[1]! / 2), 3, 1e-12, 'rho = 1 midpoint');
    assert.deepEqual(makeGrid(cosine, 6, { kind: 'karras' }), karrasGrid(cosine, 6));
    close(EDM_LOGSNR_MIN, -8.7640, 1e-4, 'EDM sigma_max as logSNR');
    close(EDM_LOGSNR_MAX, 12.4292, 1e-4, 'EDM sigma_min as logSNR');
  });

  test('bad grids and options are refused with the reason', () => {
    assert.throws(() => checkGrid('f', [1, 2]), /ending in Infinity/);
    assert.throws(() => checkGrid('f', [Infinity]), /at least 2 entries/);
    assert.throws(() => checkGrid('f', [1, 0, Infinity]), /strictly increasing/);
    assert.throws(() => checkGrid('f', [Number.NaN, Infinity]), /finite/);
    assert.throws(() => karrasGrid(cosine, 0), /steps must be an integer >= 1/);
    assert.throws(() => karrasGrid(cosine, 4, { rho: 0 }), /rho must be a finite number > 0/);
    assert.throws(() => uniformLogsnrGrid(cosine, 4, { logsnrMin: 3, logsnrMax: 1 }), /logsnrMin < logsnrMax/);
    assert.throws(() => makeGrid(cosine, 4, { kind: 'cubic' as 'karras' }), /unknown grid 'cubic'/);
    assert.throws(() => makeGrid(cosine, 4, { kind: 'uniform-t', logsnrMax: 3 }), /logsnrMin only/);
    const model = gaussianDenoiser(torch.zeros([2], f64).keep(), torch.eye(2, undefined, f64).keep());
    assert.throws(() => dpmSolverSample(model, cosine, [2, 2], { grid: [-5, 0, Infinity], steps: 3 }), /dpmSolverSample: steps \(3\) must equal the grid's number of steps \(2\)/);
    assert.throws(() => ddimSample(model, cosine, [2, 2], { grid: { kind: 'karras', rho: -1 } }), /ddimSample: karrasGrid: rho/);
    assert.throws(() => dpmSolverSample(model, cosine, [2, 2], { order: 4 }), /order must be 1, 2 or 3/);
    assert.throws(() => edmSample(model, cosine, [2, 2], { churn: -1 }), /edmSample: churn must be a finite number >= 0/);
  });

  test('every sampler walks the grid it is given: the model is evaluated at exactly those levels', () => {
    const grid = [-6, -2, 1, 5, Infinity];
    const seen = new Map<string, number[]>();
    for (const name of SAMPLER_NAMES) {
      const levels: number[] = [];
      const base = gaussianDenoiser(torch.zeros([3], f64).keep(), torch.eye(3, undefined, f64).keep());
      const spy = Object.assign((z: Tensor, l: Tensor, c?: unknown) => { levels.push(l.select(0, 0).item()); return base(z, l, c); }, { parameterisation: base.parameterisation });
      const opts = name === 'edm' ? { churn: 0 } : {};
      torch.scope(() => samplerByName(name)(spy, cosine, [2, 3], { grid, generator: gen(1), dtype: 'float64', ...opts }));
      seen.set(name, levels);
      for (const l of levels) assert.ok(grid.some((g) => Math.abs(g - l) < 1e-12), `${name} evaluated at ${l}, not on the grid`);
      assert.ok(grid.slice(0, -1).every((g) => levels.some((l) => Math.abs(g - l) < 1e-12)), `${name} skipped a level: ${levels}`);
    }
    // network evaluations: one per step for the one-step methods, 2T - 1 for Heun
    assert.equal(seen.get('dpm++2m')!.length, 4);
    assert.equal(seen.get('ancestral')!.length, 4);
    assert.equal(seen.get('ode')!.length, 7);
    assert.equal(seen.get('edm')!.length, 7);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Gaussian data: the exact probability-flow solution
// ---------------------------------------------------------------------------------------------------------
const D = 16;
const gauss = torch.scope(() => {
  const g = gen(2024);
  const A = torch.randn([D, D], { ...f64, generator: g });
  const Sigma = A.matmul(A.mT).div(D).add(torch.eye(D, undefined, f64).mul(0.05));
  const mu = torch.randn([D], { ...f64, generator: g });
  const [ev, U] = torch.linalg.eigh(Sigma) as [Tensor, Tensor];
  return { Sigma, mu, ev, U };
});
for (const t of Object.values(gauss)) t.keep();
const gaussModel = gaussianDenoiser(gauss.mu, gauss.Sigma);
const EV = Array.from(gauss.ev.toFloat64Array());
const MU_EIG = torch.scope(() => Array.from(gauss.U.mT.matmul(gauss.mu).toFloat64Array())); // mu in the eigenbasis

/**
 * The exact solution of the probability-flow ODE from z at lambda_0 to level lambda, then the exact denoiser there:
 * in the eigenbasis of Sigma (eigenvalue v) and VE variables x = z / alpha, sigma = exp(-lambda / 2), the ODE
 * dx/dsigma = (x - E[x | x]) / sigma has the solution x(sigma) - mu = (x(sigma_0) - mu) sqrt((v + sigma^2) / (v + sigma_0^2)).
 */
function exactFlow(z0: Tensor, l0: number, l1: number): Tensor {
  return torch.scope(() => {
    const [s0, s1] = [Math.exp(-l0 / 2), Math.exp(-l1 / 2)];
    const y0 = z0.matmul(gauss.U).div(Math.sqrt(sigmoid(l0))); // VE coordinates in the eigenbasis
    const mu = torch.tensor(MU_EIG, f64);
    const gain = torch.tensor(EV.map((v) => Math.sqrt((v + s1 * s1) / (v + s0 * s0))), f64);
    const y1 = y0.sub(mu).mul(gain).add(mu);
    const z1 = y1.mul(Math.sqrt(sigmoid(l1))).matmul(gauss.U.mT);
    return gaussModel(z1, torch.full([z1.shape[0]!], l1, f64)); // the last step of every sampler: x_hat at lambda_{T-1}
  });
}

const rms = (a: Tensor, b: Tensor) => torch.scope(() => a.sub(b).square().mean().sqrt().item());

/** log-log slope of error against steps, by least squares. */
function slope(steps: number[], errs: number[]): number {
  const x = steps.map(Math.log), y = errs.map(Math.log);
  const mx = x.reduce((a, b) => a + b) / x.length, my = y.reduce((a, b) => a + b) / y.length;
  return -x.reduce((a, xi, i) => a + (xi - mx) * (y[i]! - my), 0) / x.reduce((a, xi) => a + (xi - mx) ** 2, 0);
}

describe('deterministic solvers converge to the exact ODE solution at their order (Gaussian data, D = 16, float64)', () => {
  const z1 = torch.randn([64, D], { ...f64, generator: gen(5) }).keep();
  const STEPS = [8, 16, 32, 64];
  // order: the asymptotic order (the last doubling of steps must show it, within 0.3); 3M starts, as every multistep
  // method without extra evaluations does, with a first- and a second-order step (and ends with them), whose local
  // errors O(h^2) and O(h^3) bound its asymptotic order by 2: its slope over T = 8..64 must exceed 2.5 instead, and its
  // error must be below 2M's
  const cases: { name: string; order: number; run: (grid: number[]) => SampleResult }[] = [
    { name: 'DDIM (Euler in the exponential integrator, order 1)', order: 1, run: (grid) => ddimSample(gaussModel, cosine, z1, { grid }) },
    { name: 'DPM-Solver++ 1 (= DDIM)', order: 1, run: (grid) => dpmSolverSample(gaussModel, cosine, z1, { grid, order: 1 }) },
    { name: 'DPM-Solver++ 2M', order: 2, run: (grid) => dpmSolverSample(gaussModel, cosine, z1, { grid, order: 2 }) },
    { name: 'DPM-Solver++ 3M', order: 3, run: (grid) => dpmSolverSample(gaussModel, cosine, z1, { grid, order: 3 }) },
    { name: 'probability-flow Heun (in the angle)', order: 2, run: (grid) => probabilityFlowSample(gaussModel, cosine, z1, { grid }) },
    { name: 'EDM Heun (Alg. 2 without churn)', order: 2, run: (grid) => edmSample(gaussModel, cosine, z1, { grid, churn: 0 }) },
  ];
  for (const kind of ['logsnr', 'karras'] as const) {
    for (const c of cases) {
      test(`${c.name}, ${kind} grid`, (t) => {
        const errs = STEPS.map((T) => torch.scope(() => {
          const grid = makeGrid(cosine, T, { kind });
          // the initial latent is taken as z at lambda_0 (N(0, I) is q(z) there up to alpha^2 = 1.6e-4)
          return rms(c.run(grid).x, exactFlow(z1, grid[0]!, grid[T - 1]!));
        }));
        const p = slope(STEPS, errs);
        const tail = Math.log(errs[2]! / errs[3]!) / Math.log(2);
        t.diagnostic(`${c.name} (${kind}): RMS error at T = ${STEPS.join('/')}: ${errs.map((e) => e.toExponential(2)).join(' / ')}; slope ${p.toFixed(2)}, last doubling ${tail.toFixed(2)}`);
        if (c.order <= 2) {
          assert.ok(tail > c.order - 0.3, `order ${c.order} expected, last doubling of steps gives ${tail.toFixed(2)} (errors ${errs})`);
        } else {
          assert.ok(p > 2.5, `third order expected over T = 8..64, slope ${p.toFixed(2)} (errors ${errs})`);
          const second = STEPS.map((T) => torch.scope(() => {
            const grid = makeGrid(cosine, T, { kind });
            return rms(dpmSolverSample(gaussModel, cosine, z1, { grid, order: 2 }).x, exactFlow(z1, grid[0]!, grid[T - 1]!));
          }));
          for (let i = 1; i < STEPS.length; i++) assert.ok(errs[i]! < second[i]!, `3M error ${errs[i]} not below 2M's ${second[i]} at T = ${STEPS[i]}`);
        }
        assert.ok(errs[3]! < 0.05, `error at T = 64: ${errs[3]}`);
      });
    }
  }
});

describe('equivalences', () => {
  test('DPM-Solver++ order 1: eta = 0 is DDIM, eta = 1 is the ancestral sampler (same grid, z_1 and noise): < 1e-10', () => torch.scope(() => {
    const z1 = torch.randn([32, D], { ...f64, generator: gen(7) });
    for (const grid of [makeGrid(cosine, 12, { kind: 'karras' }), uniformTimeGrid(cosine, 12)]) {
      const a = ddimSample(gaussModel, cosine, z1, { grid }).x;
      const b = dpmSolverSample(gaussModel, cosine, z1, { grid, order: 1 }).x;
      assert.ok(rms(a, b) < 1e-10, `DDIM: ${rms(a, b)}`);
      const c = ancestralSample(gaussModel, cosine, z1, { grid, generator: gen(8) }).x;
      const d = dpmSolverSample(gaussModel, cosine, z1, { grid, order: 1, eta: 1, generator: gen(8) }).x;
      assert.ok(rms(c, d) < 1e-10, `ancestral: ${rms(c, d)}`);
    }
  }));
});

// ---------------------------------------------------------------------------------------------------------
// Stochastic solvers: moments propagated exactly through the steps
// ---------------------------------------------------------------------------------------------------------
// In the eigenbasis of Sigma (eigenvalue v, mean m) the exact denoiser is x_hat = g y + (1 - g alpha) m,
// g = alpha v / (alpha^2 v + sigma^2), and eps_hat = (y - alpha x_hat) / sigma: each coordinate of every step below
// is affine in the previous state and fresh noise, so mean and covariance follow exactly (scalar arithmetic, written
// here from the papers' formulas independently of the samplers).
const alphaL = (l: number) => Math.sqrt(sigmoid(l)), sigmaL = (l: number) => Math.sqrt(sigmoid(-l));
const gainOf = (l: number, v: number) => (alphaL(l) * v) / (sigmoid(l) * v + sigmoid(-l));

/** SDE-DPM-Solver++(2M) (eta = 1) per coordinate: the state (y, previous x_hat) as mean [2] and covariance [2 x 2]. */
function propagate2mSde(grid: number[], v: number, m: number): { mean: number; variance: number } {
  const T = grid.length - 1;
  let mean = [0, 0], cov = [[1, 0], [0, 0]];
  for (let k = 0; k < T; k++) {
    const lt = grid[k]!, g = gainOf(lt, v), b = (1 - g * alphaL(lt)) * m; // x_hat = g y + b
    if (k === T - 1) return { mean: g * mean[0]! + b, variance: g * g * cov[0]![0]! };
    const ls = grid[k + 1]!, h = (ls - lt) / 2, q = Math.min(2, k + 1, T - k);
    const e = -Math.expm1(-2 * h) * alphaL(ls); // alpha' (1 - e^{-2h})
    const cz = (sigmaL(ls) / sigmaL(lt)) * Math.exp(-h);
    const r = q === 2 ? (lt - grid[k - 1]!) / 2 / h : 1;
    const cm0 = q === 2 ? e * (1 + 1 / (2 * r)) : e, cm1 = q === 2 ? -e / (2 * r) : 0;
    const L = [[cz + cm0 * g, cm1], [g, 0]], c = [cm0 * b, b];
    const noise = sigmaL(ls) ** 2 * -Math.expm1(-2 * h);
    const nm = [0, 1].map((i) => L[i]![0]! * mean[0]! + L[i]![1]! * mean[1]! + c[i]!);
    const nc = [0, 1].map((i) => [0, 1].map((j) => {
      let s = 0;
      for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) s += L[i]![a]! * cov[a]![bb]! * L[j]![bb]!;
      return s + (i === 0 && j === 0 ? noise : 0);
    }));
    [mean, cov] = [nm, nc];
  }
  throw new Error('unreachable');
}

/** EDM Alg. 2 per coordinate (z = alpha x): churn to sigma^, Euler, Heun; mean and variance of y. */
function propagateEdm(grid: number[], v: number, m: number, o: { churn: number; sMin: number; sMax: number; sNoise: number }): { mean: number; variance: number } {
  const T = grid.length - 1;
  let mean = 0, vr = 1;
  for (let k = 0; k < T; k++) {
    const s = Math.exp(-grid[k]! / 2);
    const gamma = s >= o.sMin && s <= o.sMax ? Math.min(o.churn / T, Math.SQRT2 - 1) : 0;
    const sh = s * (1 + gamma), lh = -2 * Math.log(sh);
    // y^ = (alpha^ / alpha) y + alpha^ sqrt(sh^2 - s^2) S_noise eps
    const ratio = alphaL(lh) / alphaL(grid[k]!);
    mean *= ratio;
    vr = vr * ratio * ratio + alphaL(lh) ** 2 * (sh * sh - s * s) * o.sNoise ** 2;
    const g = gainOf(lh, v), b = (1 - g * alphaL(lh)) * m; // x_hat = g y^ + b
    if (k === T - 1) return { mean: g * mean + b, variance: g * g * vr };
    // eps_hat = (y - alpha x_hat) / sigma = e1 y + e0
    const epsOf = (l: number): [number, number] => { const gg = gainOf(l, v), bb = (1 - gg * alphaL(l)) * m; return [(1 - alphaL(l) * gg) / sigmaL(l), (-alphaL(l) * bb) / sigmaL(l)]; };
    // in VE: x' = x^ + (s' - sh) eps_hat(x^); Heun: x'' = x^ + (s' - sh)(eps + eps') / 2; here as y = alpha x, affine in y^
    const sn = Math.exp(-grid[k + 1]! / 2), an = alphaL(grid[k + 1]!);
    const [e1, e0] = epsOf(lh);
    const xh1 = 1 / alphaL(lh); // x^ = y^ / alpha^
    const xe1 = xh1 + (sn - sh) * e1, xe0 = (sn - sh) * e0; // Euler x' = xe1 y^ + xe0
    const [f1, f0] = epsOf(grid[k + 1]!); // eps' = f1 (an x') + f0
    const xs1 = xh1 + ((sn - sh) / 2) * (e1 + f1 * an * xe1), xs0 = ((sn - sh) / 2) * (e0 + f1 * an * xe0 + f0);
    mean = an * (xs1 * mean + xs0);
    vr = (an * xs1) ** 2 * vr;
  }
  throw new Error('unreachable');
}

describe('stochastic solvers against exactly propagated moments (D = 16, n = 4000)', () => {
  const N = 4000;
  /** The samples' mean and variance along each eigenvector against the propagated ones: z-score of the mean < 4.5, variance ratio within 4.5 sd. */
  function check(t: { diagnostic: (m: string) => void }, name: string, x: Tensor, expected: { mean: number; variance: number }[]): void {
    const y = torch.scope(() => { const p = x.matmul(gauss.U); return { m: Array.from(p.mean([0]).toFloat64Array()), v: Array.from(p.var([0]).toFloat64Array()) }; });
    const zs = expected.map((e, j) => (y.m[j]! - e.mean) / Math.sqrt(e.variance / N));
    const ratios = expected.map((e, j) => y.v[j]! / e.variance - 1);
    const tolV = 4.5 * Math.sqrt(2 / (N - 1));
    const worstZ = Math.max(...zs.map(Math.abs)), worstV = Math.max(...ratios.map(Math.abs));
    const data = expected.map((e, j) => e.variance / EV[j]! - 1);
    t.diagnostic(`${name}: max |z| of the mean ${worstZ.toFixed(2)} (< 4.5), max |variance ratio - 1| ${worstV.toFixed(3)} (< ${tolV.toFixed(3)}); ` +
      `propagated variance against the data's: ${Math.min(...data).toFixed(3)} .. ${Math.max(...data).toFixed(3)}`);
    assert.ok(worstZ < 4.5 && worstV < tolV, `${name}: z ${zs.map((z) => z.toFixed(1))}, variance ratios ${ratios.map((r) => r.toFixed(3))}`);
  }
  for (const T of [6, 12]) {
    test(`SDE-DPM-Solver++(2M), T = ${T} (Karras grid)`, (t) => torch.scope(() => {
      const grid = makeGrid(cosine, T, { kind: 'karras' });
      const x = dpmSolverSample(gaussModel, cosine, [N, D], { grid, order: 2, eta: 1, generator: gen(40 + T), dtype: 'float64' }).x;
      check(t, `2M-SDE T=${T}`, x, EV.map((v, j) => propagate2mSde(grid, v, MU_EIG[j]!)));
    }));
    test(`EDM with churn (S_churn 2.5, S_noise 1.05), T = ${T} (Karras grid)`, (t) => torch.scope(() => {
      const grid = makeGrid(cosine, T, { kind: 'karras' });
      const o = { churn: 2.5, sMin: 0.05, sMax: 50, sNoise: 1.05 };
      const x = edmSample(gaussModel, cosine, [N, D], { grid, churn: o.churn, churnMin: o.sMin, churnMax: o.sMax, churnNoise: o.sNoise, generator: gen(50 + T), dtype: 'float64' }).x;
      check(t, `EDM churn T=${T}`, x, EV.map((v, j) => propagateEdm(grid, v, MU_EIG[j]!, o)));
    }));
  }
  test('a wrong sampler fails the check (SDE 2M moments against EDM\'s propagation)', (t) => torch.scope(() => {
    const grid = makeGrid(cosine, 6, { kind: 'karras' });
    const x = dpmSolverSample(gaussModel, cosine, [N, D], { grid, order: 2, eta: 1, generator: gen(3), dtype: 'float64' }).x;
    assert.throws(() => check(t, 'mismatched', x, EV.map((v, j) => propagateEdm(grid, v, MU_EIG[j]!, { churn: 2.5, sMin: 0.05, sMax: 50, sNoise: 1.05 }))));
  }));
  test('with more steps the propagated moments reach N(mu, Sigma): within 1% at T = 200', () => {
    const grid = makeGrid(cosine, 200, { kind: 'karras' });
    EV.forEach((v, j) => {
      for (const [name, e] of [['2M-SDE', propagate2mSde(grid, v, MU_EIG[j]!)], ['EDM', propagateEdm(grid, v, MU_EIG[j]!, { churn: 2.5, sMin: 0.05, sMax: 50, sNoise: 1 })]] as const) {
        assert.ok(Math.abs(e.variance / v - 1) < 0.01, `${name}: variance ${e.variance} vs ${v}`);
        assert.ok(Math.abs(e.mean - MU_EIG[j]!) < 0.01 * Math.sqrt(v), `${name}: mean ${e.mean} vs ${MU_EIG[j]}`);
      }
    });
  });
});

describe('per-example noise', () => {
  test('with one generator per example, row i of every draw comes from generator i: a sample does not depend on its batch', () => torch.scope(() => {
    const draw = randnFrom([3, 5], { generator: [gen(1), gen(2), gen(3)], dtype: 'float64' });
    assert.equal(rms(draw.narrow(0, 1, 1), torch.randn([1, 5], { ...f64, generator: gen(2) })), 0);
    assert.throws(() => randnFrom([3, 5], { generator: [gen(1)] }), /one generator per example is needed \(3\), got 1/);
    for (const name of ['dpm++2m-sde', 'edm', 'ancestral'] as const) {
      const batch = samplerByName(name)(gaussModel, cosine, [3, D], { steps: 6, dtype: 'float64', generator: [gen(11), gen(12), gen(13)] }).x;
      const alone = samplerByName(name)(gaussModel, cosine, [1, D], { steps: 6, dtype: 'float64', generator: [gen(12)] }).x;
      assert.ok(rms(batch.narrow(0, 1, 1), alone) < 1e-12, `${name}: ${rms(batch.narrow(0, 1, 1), alone)}`);
    }
  }));

  test('exampleSeed: distinct, reproducible, non-negative 63-bit seeds for distinct keys', () => {
    const seen = new Set<bigint>();
    for (let s = 0; s < 3; s++) for (let a = 0; a < 50; a++) for (let b = 0; b < 20; b++) {
      const v = exampleSeed(s, a, b);
      assert.ok(v >= 0n && v < 1n << 63n);
      seen.add(v);
    }
    assert.equal(seen.size, 3 * 50 * 20);
    assert.equal(exampleSeed(7, 3, 2), exampleSeed(7, 3, 2));
  });
});
