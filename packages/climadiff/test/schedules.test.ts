// Formula proofs for every noise schedule (all in float64): the end points, alpha^2 + sigma^2 = 1, the inverse,
// the density p(lambda) (normalisation, change of variables, autograd, and the histogram of lambda(t) for
// t ~ U(0, 1)), plus what is specific to each schedule (eqs 2.63-2.69, A.13-A.24 of 001_5e42003193798b1e.txt;
// 004_22bcb44419df31bb.txt sec. 2.4.2 and 3.1; 003_b86777f6ee6037e6.txt eq. 14).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, shiftedCosineSchedule, ddpmLinearSchedule, ddpmBetas, ddpmContinuousLogsnr, ncsnSchedule,
  ncsnSigmas, customSchedule, alphaSigma, veSigmaFromLogsnr, logsnrFromVeSigma, type Schedule, type DdpmLinearSchedule,
} from '../src/diffusion/index.js';

// small tensors: one intra-op thread avoids oversubscribing the shared cores (and is faster here)
torch.setNumThreads(1);

const f64 = { dtype: 'float64' as const };
const maxAbs = (a: Tensor, b: Tensor | number): number => torch.scope(() => (typeof b === 'number' ? a.sub(b) : a.sub(b)).abs().max().item());

/** Composite Simpson rule for f on [a, b] with n (even) intervals, f vectorised over a float64 tensor. */
function simpson(f: (x: Tensor) => Tensor, a: number, b: number, n = 20000): number {
  return torch.scope(() => {
    const w = new Float64Array(n + 1).map((_, i) => (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2));
    return f(torch.linspace(a, b, n + 1, f64)).mul(torch.tensor(w, f64)).sum().item() * ((b - a) / n) / 3;
  });
}

/** A cosine-shaped custom schedule: the same lambda(t) as alphaCosineSchedule on [lo, hi], written out. */
function cosineFormula(lo: number, hi: number): (t: Tensor) => Tensor {
  const t0 = (2 / Math.PI) * Math.atan(Math.exp(-hi / 2));
  const t1 = (2 / Math.PI) * Math.atan(Math.exp(-lo / 2));
  return (t) => t.mul(t1 - t0).add(t0).mul(Math.PI / 2).tan().log().mul(-2);
}
const wiggly = (t: Tensor): Tensor => t.mul(-16).add(8).sub(t.mul(Math.PI).sin().mul(3)); // lambda' = -16 - 3 pi cos(pi t) < 0

/** alpha_t^2 of the cosine family straight from its angle (A.13, A.23) and shift: cos^2 / (cos^2 + e^-shift sin^2). */
function cosineAlpha2(lo: number, hi: number, shift = 0): (t: number) => number {
  const t0 = (2 / Math.PI) * Math.atan(Math.exp(-(hi - shift) / 2));
  const t1 = (2 / Math.PI) * Math.atan(Math.exp(-(lo - shift) / 2));
  return (t) => {
    const phi = (Math.PI / 2) * (t0 + t * (t1 - t0));
    return Math.cos(phi) ** 2 / (Math.cos(phi) ** 2 + Math.exp(-shift) * Math.sin(phi) ** 2);
  };
}
/** alpha^2 = alphaBar(u) = exp(-integral_0^u beta) of the VP-SDE with linear beta, at u = u0 + t (u1 - u0). */
const ddpmAlpha2 = (s: Schedule) => (t: number): number => {
  const { u0, u1 } = s as DdpmLinearSchedule;
  const u = u0 + t * (u1 - u0);
  return Math.exp(-(0.1 * u + 0.5 * (20 - 0.1) * u * u)); // T = 1000, beta 1e-4 .. 0.02
};
/** alpha^2 = 1 / (1 + sigma(t)^2) for x + sigma(t) eps, sigma geometric (004 sec. 2.4.2). */
const ncsnAlpha2 = (t: number): number => 1 / (1 + (0.01 * Math.pow(50 / 0.01, t)) ** 2);

// alpha2: alpha_t^2 from the definition of each process, independent of the logSNR code (none for custom lambda(t)).
// bisect: t(lambda) is a bisection, accurate to ~1e-12 in t, which limits finite differences of it.
const SCHEDULES: { label: string; make: () => Schedule; alpha2?: (s: Schedule) => (t: number) => number; bisect?: boolean }[] = [
  { label: 'alpha-cosine [-30, 30]', make: () => alphaCosineSchedule(), alpha2: () => cosineAlpha2(-30, 30) },
  { label: 'alpha-cosine [-12, 8]', make: () => alphaCosineSchedule({ logsnrMin: -12, logsnrMax: 8 }), alpha2: () => cosineAlpha2(-12, 8) },
  { label: 'shifted cosine (256 px, base 64)', make: () => shiftedCosineSchedule({ resolution: 256, base: 64 }), alpha2: () => cosineAlpha2(-30, 30, 2 * Math.log(64 / 256)) },
  { label: 'ddpm linear (T = 1000)', make: () => ddpmLinearSchedule(), alpha2: ddpmAlpha2 },
  { label: 'ddpm linear truncated to [-8, 6]', make: () => ddpmLinearSchedule({ logsnrMin: -8, logsnrMax: 6 }), alpha2: ddpmAlpha2 },
  { label: 'ncsn geometric (50 .. 0.01)', make: () => ncsnSchedule({ sigmaMax: 50, sigmaMin: 0.01 }), alpha2: () => ncsnAlpha2 },
  { label: 'custom (8 - 16 t - 3 sin(pi t))', make: () => customSchedule(wiggly, { name: 'wiggly' }), bisect: true },
  { label: 'custom cosine formula with derivative', make: () => {
    const f = cosineFormula(-20, 20);
    const t0 = (2 / Math.PI) * Math.atan(Math.exp(-10));
    const t1 = (2 / Math.PI) * Math.atan(Math.exp(10));
    // d/dt of -2 log tan(phi) = -2 phi' / (sin phi cos phi) = -4 phi' / sin(2 phi), phi' = pi/2 (t1 - t0)
    const derivative = (t: Tensor) => t.mul(t1 - t0).add(t0).mul(Math.PI).sin().reciprocal().mul(-2 * Math.PI * (t1 - t0));
    return customSchedule(f, { name: 'cosine-as-custom', derivative });
  }, alpha2: () => cosineAlpha2(-20, 20), bisect: true },
];

for (const { label, make, alpha2, bisect } of SCHEDULES) {
  describe(`schedule: ${label}`, () => {
    const s = make();
    const span = s.logsnrMax - s.logsnrMin;

    test('lambda(0) = logsnrMax, lambda(1) = logsnrMin, t at the ends, strictly decreasing', () => torch.scope(() => {
      const ends = s.logsnr(torch.tensor([0, 1], f64)).toFloat64Array();
      assert.ok(Math.abs(ends[0]! - s.logsnrMax) <= 1e-9 * Math.max(1, Math.abs(s.logsnrMax)), `lambda(0) = ${ends[0]} vs ${s.logsnrMax}`);
      assert.ok(Math.abs(ends[1]! - s.logsnrMin) <= 1e-9 * Math.max(1, Math.abs(s.logsnrMin)), `lambda(1) = ${ends[1]} vs ${s.logsnrMin}`);
      const tEnds = s.t(torch.tensor([s.logsnrMax, s.logsnrMin], f64)).toFloat64Array();
      assert.ok(Math.abs(tEnds[0]!) < 1e-9 && Math.abs(tEnds[1]! - 1) < 1e-9, `t(ends) = ${tEnds}`);
      const lam = s.logsnr(torch.linspace(0, 1, 2001, f64));
      assert.ok(lam.diff().lt(0).all().item(), 'lambda must decrease strictly');
    }));

    test('alpha^2 + sigma^2 = 1, and alpha_t^2 equals the process definition (eqs 2.63, 2.67-2.68)', () => torch.scope(() => {
      const tv = torch.linspace(0, 1, 501, f64);
      const { alpha, sigma } = alphaSigma(s.logsnr(tv));
      assert.ok(maxAbs(alpha.square().add(sigma.square()), 1) < 1e-14);
      if (alpha2) {
        const a2 = alpha2(s);
        const want = torch.tensor(Array.from(tv.toFloat64Array(), (t) => a2(t)), f64);
        const rel = maxAbs(alpha.square().div(want), 1);
        assert.ok(rel < 1e-9, `alpha^2 vs the definition of the process: relative error ${rel}`);
        assert.ok(maxAbs(sigma.square(), want.neg().add(1)) < 1e-12, 'sigma^2 = 1 - alpha^2 (VP)');
      }
    }));

    test('t(lambda(t)) = t and lambda(t(lambda)) = lambda', () => torch.scope(() => {
      const t = torch.linspace(0, 1, 1001, f64);
      const errT = maxAbs(s.t(s.logsnr(t)), t);
      assert.ok(errT < 1e-9, `max |t(lambda(t)) - t| = ${errT}`);
      const lam = torch.linspace(s.logsnrMin, s.logsnrMax, 1001, f64);
      const errL = maxAbs(s.logsnr(s.t(lam)), lam);
      assert.ok(errL < 1e-8 * Math.max(1, span), `max |lambda(t(lambda)) - lambda| = ${errL}`);
    }));

    test('p(lambda) integrates to 1 over [logsnrMin, logsnrMax] (Simpson, 20000 intervals)', () => {
      const total = simpson((l) => s.density(l), s.logsnrMin, s.logsnrMax);
      assert.ok(Math.abs(total - 1) < 1e-7, `integral of p = ${total}`);
    });

    test('p(lambda) = |dt/dlambda| by central differences of t(lambda)', () => torch.scope(() => {
      const h = 1e-3;
      const lam = torch.linspace(s.logsnrMin + 0.01 * span, s.logsnrMax - 0.01 * span, 301, f64);
      const fd = s.t(lam.sub(h)).sub(s.t(lam.add(h))).div(2 * h);
      const p = s.density(lam);
      const absTol = bisect ? 1e-12 / h : 1e-12;
      const bad = fd.sub(p).abs().sub(p.mul(1e-5).add(absTol)).max().item();
      assert.ok(bad <= 0, `finite difference disagrees with p by up to ${bad} above tolerance`);
    }));

    test('p(lambda(t)) |dlambda/dt| = 1 with dlambda/dt from autograd', () => torch.scope(() => {
      const t = torch.linspace(0.001, 0.999, 301, f64).requiresGrad_(true);
      const lam = s.logsnr(t);
      const [dl] = torch.autograd.grad([lam.sum()], [t]);
      const prod = s.density(lam.detach()).mul(dl!.abs());
      const err = maxAbs(prod, 1);
      assert.ok(err < 1e-7, `max |p |dlambda/dt| - 1| = ${err}`);
    }));

    test('histogram of lambda(t), t ~ U(0, 1), matches p(lambda) (Kolmogorov-Smirnov, n = 100000)', (tc) => torch.scope(() => {
      const n = 100_000;
      const gen = new torch.Generator({ seed: 20240611 });
      const samples = s.logsnr(torch.rand([n], { ...f64, generator: gen }));
      const D = ksDistance(samples, (l) => s.density(l), s.logsnrMin, s.logsnrMax);
      // 1.63 / sqrt(n) is the 1% critical value of the KS statistic
      tc.diagnostic(`KS distance ${D.toExponential(2)} (bound ${(1.63 / Math.sqrt(n)).toExponential(2)})`);
      assert.ok(D < 1.63 / Math.sqrt(n), `KS distance ${D} >= ${1.63 / Math.sqrt(n)}`);
    }));
  });
}

/**
 * sup over a fine grid of |F_empirical - F_model|, where F_model is the cumulative trapezoid integral of `density`
 * from lo (not renormalised, so a wrongly scaled density fails too).
 */
function ksDistance(samples: Tensor, density: (l: Tensor) => Tensor, lo: number, hi: number, m = 4000): number {
  return torch.scope(() => {
    const grid = torch.linspace(lo, hi, m + 1, f64);
    const p = density(grid);
    const pieces = p.narrow(0, 1, m).add(p.narrow(0, 0, m)).mul(0.5 * ((hi - lo) / m));
    const cdf = torch.cat([torch.zeros([1], f64), pieces.cumsum(0)]);
    const [sorted] = samples.sort() as unknown as [Tensor, Tensor];
    const emp = torch.searchsorted(sorted, grid, { right: true }).to('float64').div(samples.numel());
    return emp.sub(cdf).abs().max().item();
  });
}

test('the KS check has power: ddpm-linear samples against the cosine density fail', () => torch.scope(() => {
  const n = 100_000;
  const ddpm = ddpmLinearSchedule();
  const cos = alphaCosineSchedule({ logsnrMin: ddpm.logsnrMin, logsnrMax: ddpm.logsnrMax });
  const samples = ddpm.logsnr(torch.rand([n], { ...f64, generator: new torch.Generator({ seed: 7 }) }));
  const D = ksDistance(samples, (l) => cos.density(l), ddpm.logsnrMin, ddpm.logsnrMax);
  assert.ok(D > 10 * (1.63 / Math.sqrt(n)), `a wrong density should be rejected, D = ${D}`);
  // and a density off by a constant factor (not normalised) too
  const D2 = ksDistance(samples, (l) => ddpm.density(l).mul(1.02), ddpm.logsnrMin, ddpm.logsnrMax);
  assert.ok(D2 > 1.63 / Math.sqrt(n), `a density scaled by 1.02 should be rejected, D = ${D2}`);
}));

describe('shifted cosine ("simple diffusion")', () => {
  const res = 256, base = 64;
  const shift = 2 * Math.log(base / res);

  test('equals the alpha-cosine plus 2 log(base/res) exactly when the truncation range is shifted too', () => torch.scope(() => {
    const cos = alphaCosineSchedule({ logsnrMin: -15, logsnrMax: 15 });
    const sh = shiftedCosineSchedule({ resolution: res, base, logsnrMin: -15 + shift, logsnrMax: 15 + shift });
    const t = torch.linspace(0, 1, 1001, f64);
    assert.ok(maxAbs(sh.logsnr(t), cos.logsnr(t).add(shift)) < 1e-11);
    const lam = torch.linspace(-14, 14, 501, f64);
    assert.ok(maxAbs(sh.density(lam.add(shift)), cos.density(lam)) < 1e-14);
  }));

  test('with the same [-30, 30] truncation, equals cosine + 2 log(base/res) in the interior', () => torch.scope(() => {
    const cos = alphaCosineSchedule();
    const sh = shiftedCosineSchedule({ resolution: res, base });
    const t = torch.linspace(0.01, 0.99, 981, f64);
    const err = maxAbs(sh.logsnr(t), cos.logsnr(t).add(shift));
    assert.ok(err < 1e-3, `interior difference ${err}`);
    // a larger image gets more noise at the same t
    assert.ok(sh.logsnr(torch.scalarTensor(0.5, f64)).item() < cos.logsnr(torch.scalarTensor(0.5, f64)).item() - 2.7);
    // the density is the cosine's sech shifted by the same amount (eq. 2.69)
    const lam = torch.linspace(-20, 20, 401, f64);
    assert.ok(maxAbs(sh.density(lam.add(shift)), cos.density(lam)) < 1e-6);
  }));
});

describe('DDPM linear-beta schedule', () => {
  test('ddpmBetas: linear betas and alphaBar, logSNR from an independent running product and variance recurrence', () => torch.scope(() => {
    const T = 1000, b1 = 1e-4, bT = 0.02;
    const { betas, alphas, alphaBars, logsnr } = ddpmBetas({ T, betaStart: b1, betaEnd: bT });
    for (const x of [betas, alphas, alphaBars, logsnr]) {
      assert.equal(x.dtype, 'float64');
      assert.deepEqual(x.shape, [T]);
    }
    const B = betas.toFloat64Array(), A = alphas.toFloat64Array(), AB = alphaBars.toFloat64Array(), L = logsnr.toFloat64Array();
    let prod = 1;
    let variance = 0; // Var(z_i | x) by the step-by-step recursion of 004 sec. 3.1: (1 - beta_i) var + beta_i
    for (let i = 0; i < T; i++) {
      const beta = b1 + ((bT - b1) * i) / (T - 1);
      assert.ok(Math.abs(B[i]! - beta) < 1e-15, `beta_${i + 1}`);
      assert.ok(Math.abs(A[i]! - (1 - beta)) < 1e-15);
      prod *= 1 - beta;
      variance = (1 - beta) * variance + beta;
      assert.ok(Math.abs(AB[i]! - prod) <= 1e-12 * prod, `alphaBar_${i + 1}`);
      assert.ok(Math.abs(1 - AB[i]! - variance) <= 1e-12, `1 - alphaBar_${i + 1} = Var(z_i | x) (003 eq. 14)`);
      assert.ok(Math.abs(L[i]! - Math.log(prod / variance)) < 1e-9, `lambda_${i + 1}`);
      if (i > 0) assert.ok(L[i]! < L[i - 1]!);
    }
    assert.throws(() => ddpmBetas({ betaStart: 0.02, betaEnd: 0.01 }), /betaStart <= betaEnd/);
    assert.throws(() => ddpmBetas({ T: 0 }), /T must be an integer/);
  }));

  test('continuous view at u = i/T is within 0.1 of the discrete logSNR (T = 1000) and converges like 1/T', () => torch.scope(() => {
    const gap = (T: number) => torch.scope(() => {
      const o = { T, betaStart: 0.1 / T, betaEnd: 20 / T }; // T beta fixed: the same continuous process
      const u = torch.arange(1, T + 1, 1, f64).div(T);
      const d = ddpmContinuousLogsnr(u, o).sub(ddpmBetas(o).logsnr).abs();
      return { max: d.max().item(), at: d.argmax().item() + 1, mid: d.narrow(0, T / 10, (8 * T) / 10).max().item() };
    });
    const g1 = gap(1000), g2 = gap(10000);
    assert.ok(g1.max < 0.1 && g1.max > 0.05, `T = 1000: max |lambda(i/T) - lambda_i| = ${g1.max}`);
    assert.equal(g1.at, 1); // the first step is the worst
    assert.ok(g1.mid < 0.05, `T = 1000, steps 101..900: ${g1.mid}`);
    const ratio = g1.max / g2.max;
    assert.ok(ratio > 8 && ratio < 12, `gap should shrink ~10x from T = 1000 to 10000, ratio ${ratio}`);
  }));

  test('the default truncation puts discrete step i at t = (i - 1)/(T - 1)', () => torch.scope(() => {
    const T = 1000;
    const s = ddpmLinearSchedule({ T });
    assert.equal(s.u0, 1 / T);
    assert.equal(s.u1, 1);
    const i = torch.arange(1, T + 1, 1, f64);
    assert.ok(maxAbs(s.logsnr(i.sub(1).div(T - 1)), ddpmContinuousLogsnr(i.div(T), { T })) < 1e-11);
  }));

  test('it is the VP-SDE with linear beta: g(t)^2 = d/dt log(1 + exp(-lambda_t)) (eq. 2.50) is linear in t', () => torch.scope(() => {
    const T = 1000, betaStart = 1e-4, betaEnd = 0.02;
    for (const s of [ddpmLinearSchedule({ T, betaStart, betaEnd }), ddpmLinearSchedule({ T, betaStart, betaEnd, logsnrMin: -8, logsnrMax: 6 })]) {
      const t = torch.linspace(0, 1, 201, f64).requiresGrad_(true);
      const [g2] = torch.autograd.grad([torch.softplus(s.logsnr(t).neg()).sum()], [t]);
      const u = t.detach().mul(s.u1 - s.u0).add(s.u0);
      const expected = u.mul(T * (betaEnd - betaStart)).add(T * betaStart).mul(s.u1 - s.u0); // beta(u) du/dt
      assert.ok(maxAbs(g2!, expected) < 1e-9 * T * betaEnd, 'g^2 = beta(u) du/dt');
    }
  }));
});

describe('NCSN geometric sigmas', () => {
  test('ncsnSigmas: from sigmaMax down to sigmaMin with a constant ratio > 1 (004 sec. 2.4.2)', () => torch.scope(() => {
    const s = ncsnSigmas().toFloat64Array(); // 004's example: sigma_1 = 1, sigma_10 = 0.01
    assert.equal(s.length, 10);
    assert.ok(Math.abs(s[0]! - 1) < 1e-15 && Math.abs(s[9]! - 0.01) < 1e-15);
    const sig = ncsnSigmas({ sigmaMax: 50, sigmaMin: 0.01, L: 232 }).toFloat64Array();
    const ratio = Math.pow(50 / 0.01, 1 / 231);
    assert.ok(Math.abs(sig[0]! - 50) < 1e-12 && Math.abs(sig[231]! - 0.01) < 1e-15);
    for (let i = 1; i < sig.length; i++) assert.ok(Math.abs(sig[i - 1]! / sig[i]! - ratio) < 1e-12, `ratio at ${i}`);
    assert.ok(ratio > 1);
    assert.throws(() => ncsnSigmas({ sigmaMax: 0.01, sigmaMin: 1 }), /sigmaMin < sigmaMax/);
    assert.throws(() => ncsnSigmas({ L: 1 }), /L must be/);
  }));

  test('the VP view: sigma_t / alpha_t = sigmaMin (sigmaMax/sigmaMin)^t, and level i sits at t = (L - i)/(L - 1)', () => torch.scope(() => {
    const sigmaMax = 50, sigmaMin = 0.01, L = 20;
    const s = ncsnSchedule({ sigmaMax, sigmaMin });
    const tv = torch.linspace(0, 1, 101, f64);
    const { alpha, sigma } = alphaSigma(s.logsnr(tv));
    const expected = torch.tensor(Array.from(tv.toFloat64Array(), (t) => sigmaMin * Math.pow(sigmaMax / sigmaMin, t)), f64);
    assert.ok(maxAbs(sigma.div(alpha).div(expected), 1) < 1e-12);
    assert.ok(maxAbs(veSigmaFromLogsnr(s.logsnr(tv)).div(expected), 1) < 1e-12);
    const levels = ncsnSigmas({ sigmaMax, sigmaMin, L });
    const tl = s.t(logsnrFromVeSigma(levels));
    const want = torch.arange(0, L, 1, f64).neg().add(L - 1).div(L - 1);
    assert.ok(maxAbs(tl, want) < 1e-12);
  }));

  test('x + sigma eps scaled by alpha = 1/sqrt(1 + sigma^2) has the VP moments of eq. 2.51', () => torch.scope(() => {
    // Monte Carlo: the scaled VE sample has mean alpha x and variance sigma_VP^2 = 1 - alpha^2
    const n = 200_000, sigmaVe = 3;
    const lam = logsnrFromVeSigma(torch.scalarTensor(sigmaVe, f64));
    const { alpha, sigma } = alphaSigma(lam);
    const x = 1.5;
    const eps = torch.randn([n], { ...f64, generator: new torch.Generator({ seed: 3 }) });
    const z = eps.mul(sigmaVe).add(x).mul(1 / Math.sqrt(1 + sigmaVe * sigmaVe));
    assert.ok(Math.abs(z.mean().item() - alpha.item() * x) < 5 * sigma.item() / Math.sqrt(n));
    assert.ok(Math.abs(z.var().item() / sigma.square().item() - 1) < 5 * Math.sqrt(2 / n));
  }));
});

describe('custom schedule', () => {
  test('a cosine written as a custom function has the closed-form inverse and density (eq. 2.69)', () => torch.scope(() => {
    const ref = alphaCosineSchedule({ logsnrMin: -20, logsnrMax: 20 });
    const c = customSchedule(cosineFormula(-20, 20)); // density by finite differences
    assert.ok(Math.abs(c.logsnrMin + 20) < 1e-9 && Math.abs(c.logsnrMax - 20) < 1e-9);
    const lam = torch.linspace(-19.99, 19.99, 777, f64);
    assert.ok(maxAbs(c.t(lam), ref.t(lam)) < 1e-12, 'bisection reaches 1e-12');
    const rel = maxAbs(c.density(lam).div(ref.density(lam)), 1);
    assert.ok(rel < 1e-6, `finite-difference density relative error ${rel}`);
    // the steep ends of the [-30, 30] cosine (lambda bends on a scale of 2e-7 in t) need the smaller steps
    const ref30 = alphaCosineSchedule();
    const c30 = customSchedule(cosineFormula(-30, 30));
    const lam30 = torch.linspace(-30, 30, 601, f64);
    const rel30 = maxAbs(c30.density(lam30).div(ref30.density(lam30)), 1);
    assert.ok(rel30 < 1e-4, `finite-difference density relative error on [-30, 30]: ${rel30}`);
    // beyond the range the inverse clamps to the ends
    assert.deepEqual(Array.from(c.t(torch.tensor([25, -25], f64)).toFloat64Array()).map((v) => Math.round(v * 1e9) / 1e9), [0, 1]);
  }));

  test('a coarser tolerance gives a coarser inverse (the bisection stops at the bracket width)', () => torch.scope(() => {
    const c = customSchedule(wiggly, { tolerance: 1e-4 });
    const t = torch.linspace(0, 1, 1001, f64);
    const err = maxAbs(c.t(c.logsnr(t)), t);
    assert.ok(err < 1e-4 && err > 1e-9, `error ${err}`);
  }));

  test('rejects a lambda(t) that is not strictly decreasing or not finite, with a clear message', () => {
    assert.throws(() => customSchedule((t) => t.mul(10).sub(5)), /strictly decreasing on \[0, 1\], but lambda\(0\) = -5 <= lambda\(0\.001\)/);
    assert.throws(() => customSchedule((t) => t.sub(0.5).square().mul(-4).add(t.mul(-1)), { name: 'bump' }), /'bump'.*strictly decreasing/);
    assert.throws(() => customSchedule((t) => t.log().neg()), /not finite/);
    assert.throws(() => customSchedule((t) => t.sum()), /same shape/);
    assert.throws(() => customSchedule(wiggly, { tolerance: 0 }), /tolerance/);
  });
});
