// Proofs for the discrete-time and classic losses (src/diffusion/losses/): VDM's discrete-time loss (002 App. D) in x
// and eps form, the DDPM simple loss (004 Alg. 2), NCSN denoising score matching (004 sec. 2.4), and masks.
// Data: x ~ N(mu, Sigma), D = 16, non-diagonal Sigma, with its exact denoiser (loss-fixtures.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, alphaSigma, denoiser, reparameterise, toXEps, vLoss, weightedLoss, vdmDiffusionLoss,
  priorLoss, reconstructionLoss, ddpmLoss, dsmLoss, veScoreFromDenoiser, elbo, type Parameterisation,
} from '../src/diffusion/index.js';
import { linearLogsnrSchedule, meanAndStdErr, maxAbs, toList, f64, P, cosine, relErr, sum1, imperfect } from './loss-fixtures.js';

describe('VDM discrete-time diffusion loss (002 App. D)', () => {
  test('x form (SNR(s) - SNR(t)) ||x - x_hat||^2 equals eps form expm1(lambda_s - lambda_t) ||eps - eps_hat||^2 per sample', () => {
    const g = new torch.Generator({ seed: 7 });
    const x = P.sample(64, g);
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const i = torch.randint(1, 1001, [64], { generator: g });
    for (const p of ['x', 'eps', 'v', 'score'] as Parameterisation[]) {
      const m = reparameterise(imperfect, p);
      const a = vdmDiffusionLoss(m, x, cosine, { steps: 1000, form: 'x', i, eps });
      const b = vdmDiffusionLoss(m, x, cosine, { steps: 1000, form: 'eps', i, eps });
      assert.ok(relErr(a.loss, b.loss) < 1e-6, `${p}: ${relErr(a.loss, b.loss)}`);
      // 002 prints the eps form with weight SNR(s) - SNR(t); that is SNR(t) times too large
      const { alpha, sigma } = alphaSigma(a.logsnrT);
      const z = alpha.unsqueeze(1).mul(x).add(sigma.unsqueeze(1).mul(eps));
      const epsHat = toXEps(m(z, a.logsnrT), p, z, a.logsnrT).eps;
      const printed = a.logsnrS.exp().sub(a.logsnrT.exp()).mul(sum1(eps.sub(epsHat).square())).mul(1000 / 2);
      assert.ok(relErr(printed.div(a.logsnrT.exp()), a.loss) < 1e-6);
    }
  });

  test('with every step enumerated, L_T is the exact sum and converges to the continuous 1/2 int e^lambda ||x - x_hat||^2 dlambda', (t) => {
    // point-mass data x0 with a denoiser that is off by sigma_t^2 in every element: ||x - x_hat||^2 = D sigma_t^4
    // is independent of eps, so L_T = 1/2 sum_i (SNR(s) - SNR(t)) D sigma_t^4 and
    // L_inf = D/2 int sigmoid(lambda) sigmoid(-lambda) dlambda = D/2 (sigmoid(lambda_max) - sigmoid(lambda_min)).
    const D = 16;
    const x0 = torch.randn([1, D], { ...f64, generator: new torch.Generator({ seed: 8 }) });
    const model = denoiser('x', (z, l) => x0.expand(z.shape).add(l.neg().sigmoid().unsqueeze(1)));
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const check = (sch: ReturnType<typeof linearLogsnrSchedule>, Ts: number[]): number[] => {
      const lInf = (D / 2) * (sig(sch.logsnrMax) - sig(sch.logsnrMin));
      return Ts.map((T) => torch.scope(() => {
        const i = torch.arange(1, T + 1);
        const x = x0.expand([T, D]);
        const got = vdmDiffusionLoss(model, x, sch, { steps: T, i, form: 'x', generator: new torch.Generator({ seed: 9 }) }).loss.mean().item();
        const lam = toList(sch.logsnr(torch.arange(0, T + 1).to('float64').div(T)));
        let sum = 0;
        for (let k = 1; k <= T; k++) sum += 0.5 * (Math.exp(lam[k - 1]!) - Math.exp(lam[k]!)) * D * sig(-lam[k]!) ** 2;
        assert.ok(Math.abs(got - sum) < 1e-10 * sum, `T=${T}: ${got} vs exact sum ${sum}`);
        return got - lInf;
      }));
    };
    const lin = check(linearLogsnrSchedule(-10, 10), [10, 100, 1000]);
    t.diagnostic(`linear-logSNR [-10, 10]: L_T - L_inf for T = 10, 100, 1000: ${lin.map((v) => v.toExponential(3))}`);
    assert.ok(lin[2]! > 0 && lin[2]! < 0.1);
    for (let k = 0; k < 2; k++) assert.ok(lin[k]! / lin[k + 1]! > 5 && lin[k]! / lin[k + 1]! < 25, 'first-order convergence in 1/T');
    const cos = check(alphaCosineSchedule(), [1000]);
    t.diagnostic(`alpha-cosine [-30, 30], T = 1000: L_T - L_inf = ${cos[0]!.toExponential(3)} (the first step spans SNR e^30 -> e^12.9)`);
    assert.ok(cos[0]! > 100);
  });

  test('Monte-Carlo estimate with the exact Gaussian denoiser matches the analytic L_T, which differs from L_inf', (t) => {
    const g = new torch.Generator({ seed: 10 });
    const sch = linearLogsnrSchedule(-10, 10);
    const x = P.sample(2, g);
    const N = 2000;
    const T = 10;
    const r = vdmDiffusionLoss(P.model, x.repeat([N, 1]), sch, { steps: T, generator: g });
    const { mean, se } = meanAndStdErr(r.loss.reshape([N, 2]));
    // L_T = 1/2 sum_i (SNR(s) - SNR(t)) E||x - x_hat||^2 with E||x - x_hat||^2 = E||eps - eps_hat||^2 / SNR(t)
    const lam = toList(sch.logsnr(torch.arange(0, T + 1).to('float64').div(T)));
    const exact = [0, 1].map((b) => {
      let s = 0;
      for (let k = 1; k <= T; k++) s += 0.5 * (Math.exp(lam[k - 1]!) - Math.exp(lam[k]!)) * (P.epsMse(x, lam[k]!)[b]! / Math.exp(lam[k]!));
      return s;
    });
    const cont = P.diffusionTerm(x, -10, 10);
    t.diagnostic(`T = 10: MC ${mean.map((v) => v.toFixed(2))} +- ${se.map((v) => v.toFixed(2))}; analytic L_T ${exact.map((v) => v.toFixed(2))}; L_inf ${cont.map((v) => v.toFixed(2))}`);
    for (let b = 0; b < 2; b++) {
      assert.ok(Math.abs(mean[b]! - exact[b]!) < 4 * se[b]!);
      assert.ok(Math.abs(exact[b]! - cont[b]!) > 10 * se[b]!);
    }
  });
});

describe('DDPM simple loss (004 Alg. 2) and NCSN denoising score matching (004 sec. 2.4)', () => {
  const T = 10;
  const betas = torch.linspace(1e-4, 0.2, T, f64);
  const logAbar = betas.neg().log1p().cumsum(0);
  const abar = logAbar.exp();
  const logsnrs = abar.div(abar.neg().add(1)).log();

  test('Alg. 2 literally: z = sqrt(abar_i) x + sqrt(1 - abar_i) eps, loss ||eps_hat - eps||^2, i uniform on {1..T}', () => {
    const g = new torch.Generator({ seed: 11 });
    const x = P.sample(6, g);
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const i = torch.tensor([1, 2, 5, 9, 10, 10], { dtype: 'int64' });
    let seen: { z: Tensor; l: Tensor } | undefined;
    const model = denoiser('eps', (z, l) => { seen = { z, l }; return z.mul(0.3); });
    const r = ddpmLoss(model, x, logsnrs, { i, eps, reduction: 'sum' });
    const ab = abar.indexSelect(0, i.sub(1)).unsqueeze(1);
    const z = ab.sqrt().mul(x).add(ab.neg().add(1).sqrt().mul(eps));
    assert.ok(maxAbs(seen!.z, z) < 1e-12 && maxAbs(seen!.l, logsnrs.indexSelect(0, i.sub(1))) === 0);
    assert.ok(relErr(r.loss, sum1(z.mul(0.3).sub(eps).square())) < 1e-12);
    assert.ok(relErr(ddpmLoss(model, x, logsnrs, { i, eps }).loss, sum1(z.mul(0.3).sub(eps).square()).div(16)) < 1e-12);
    // the step is uniform on {1, ..., T}
    const steps = toList(ddpmLoss(model, P.sample(20000, g), logsnrs, { generator: g }).i.to('float64'));
    const counts = new Array<number>(T + 2).fill(0);
    for (const s of steps) counts[s]!++;
    assert.equal(counts[0], 0);
    assert.equal(counts[T + 1], 0);
    for (let k = 1; k <= T; k++) assert.ok(Math.abs(counts[k]! - 2000) < 5 * Math.sqrt(2000 * 0.9), `step ${k}: ${counts[k]}`);
  });

  test('the NCSN score of a VP denoiser is the exact VE score of the Gaussian: -(Sigma + sigma^2 I)^-1 (x_tilde - mu)', () => {
    const g = new torch.Generator({ seed: 12 });
    const xt = P.sample(5, g).add(torch.randn([5, 16], { ...f64, generator: g }));
    const score = veScoreFromDenoiser(P.model);
    for (const s of [3, 1, 0.1, 0.01]) {
      const sigma = torch.full([5], s, f64);
      const C = P.Sigma.add(torch.eye(16, undefined, f64).mul(s * s));
      const exact = torch.linalgSolve(C, xt.sub(P.mu).mT).mT.neg();
      const err = maxAbs(score(xt, sigma), exact) / exact.abs().max().item();
      assert.ok(err < 1e-10, `sigma ${s}: ${err}`);
    }
  });

  test('DSM with lambda(sigma) = sigma^2 is 1/2 the eps-MSE at lambda = -2 log sigma, and matches its analytic expectation', (t) => {
    const g = new torch.Generator({ seed: 13 });
    const sigmas = [2, 0.5, 0.1];
    const x = P.sample(32, g);
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const i = torch.randint(1, 4, [32], { generator: g });
    const dsm = dsmLoss(veScoreFromDenoiser(imperfect), x, sigmas, { i, eps });
    const lam = torch.tensor(sigmas, f64).log().mul(-2);
    const ddpm = ddpmLoss(imperfect, x, lam, { i, eps });
    assert.ok(relErr(dsm.loss, ddpm.loss.mul(0.5)) < 1e-9, `${relErr(dsm.loss, ddpm.loss.mul(0.5))}`);
    // the exact VE score written out: E = 1/2 sum_k (sigma^2 y_k^2 + d_k^2) / (sigma^2 + d_k)^2
    const x2 = P.sample(2, g);
    const N = 2000;
    for (const [k, s] of [[1, 2], [3, 0.1]] as const) {
      const exactScore = (xt: Tensor, sigma: Tensor): Tensor => {
        const C = P.Sigma.unsqueeze(0).add(torch.eye(16, undefined, f64).unsqueeze(0).mul(sigma.square().reshape([-1, 1, 1])));
        return torch.linalgSolve(C, xt.sub(P.mu).unsqueeze(-1)).squeeze(-1).neg();
      };
      const r = dsmLoss(exactScore, x2.repeat([N, 1]), sigmas, { i: torch.full([2 * N], k, { dtype: 'int64' }), generator: g, reduction: 'sum' });
      const { mean, se } = meanAndStdErr(r.loss.reshape([N, 2]));
      const expect = P.coords(x2).map((y) => 0.5 * Array.from(P.d).reduce((acc, d, j) => acc + (s * s * y[j]! ** 2 + d * d) / (s * s + d) ** 2, 0));
      t.diagnostic(`sigma ${s}: ${mean.map((v) => v.toFixed(4))} +- ${se.map((v) => v.toFixed(4))} vs ${expect.map((v) => v.toFixed(4))}`);
      for (let b = 0; b < 2; b++) assert.ok(Math.abs(mean[b]! - expect[b]!) < 4 * se[b]!);
    }
  });
});

describe('masks', () => {
  const g0 = new torch.Generator({ seed: 15 });
  const x = P.sample(6, g0);
  const mask = torch.rand([6, 16], { ...f64, generator: g0 }).lt(0.6);
  const mask2 = torch.cat([mask.narrow(0, 0, 5), torch.zeros([1, 16], { dtype: 'bool' })]); // last example: nothing observed
  const poisoned = torch.where(mask2, x, NaN);
  const runs: [string, (x: Tensor, m?: Tensor) => Tensor][] = [
    ['vLoss', (x, m) => vLoss(P.model, x, cosine, { mask: m, generator: new torch.Generator({ seed: 1 }) }).loss],
    ['weightedLoss', (x, m) => weightedLoss(P.model, x, cosine, { weighting: 'v-mse', mask: m, generator: new torch.Generator({ seed: 1 }) }).loss],
    ['vdmDiffusionLoss', (x, m) => vdmDiffusionLoss(P.model, x, cosine, { steps: 100, mask: m, generator: new torch.Generator({ seed: 1 }) }).loss],
    ['ddpmLoss', (x, m) => ddpmLoss(P.model, x, torch.linspace(8, -8, 20, f64), { mask: m, generator: new torch.Generator({ seed: 1 }) }).loss],
    ['dsmLoss', (x, m) => dsmLoss(veScoreFromDenoiser(P.model), x, [1, 0.1], { mask: m, generator: new torch.Generator({ seed: 1 }) }).loss],
    ['priorLoss', (x, m) => priorLoss(x, -2, { mask: m })],
    ['reconstructionLoss', (x, m) => reconstructionLoss(x, 6, { mask: m, decoder: 'discretized-gaussian', binWidth: 0.05, generator: new torch.Generator({ seed: 1 }) })],
    ['elbo', (x, m) => elbo(P.model, x, alphaCosineSchedule({ logsnrMin: -8, logsnrMax: 8 }), { method: 'quadrature', steps: 16, samples: 2, mask: m, generator: new torch.Generator({ seed: 1 }), batchSize: 512 }).total],
  ];

  test('values under the mask (even NaN) change nothing; an all-true mask equals no mask', () => {
    for (const [name, run] of runs) {
      const a = run(x, mask2);
      const b = run(poisoned, mask2);
      assert.ok(toList(a).every(Number.isFinite), `${name} not finite`);
      assert.ok(maxAbs(a, b) === 0, `${name}: masked values leaked (${maxAbs(a, b)})`);
      const full = run(x, torch.ones([6, 16], { dtype: 'bool' }));
      assert.ok(maxAbs(full, run(x)) === 0, `${name}: all-true mask differs from no mask`);
    }
  });

  test('mean over observed elements per example, sum over observed elements; numeric and broadcast masks', () => {
    const g = new torch.Generator({ seed: 16 });
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const zero = denoiser('eps', (z) => torch.zerosLike(z));
    const i = torch.ones([6], { dtype: 'int64' });
    const lam = torch.tensor([0.3], f64);
    const m = mask2.to('float64');
    const mean = ddpmLoss(zero, x, lam, { i, eps, mask: mask2 }).loss;
    const manualSum = sum1(eps.square().mul(m));
    const manualMean = manualSum.div(sum1(m).clampMin(1));
    assert.ok(maxAbs(mean, manualMean) < 1e-12);
    assert.equal(mean.narrow(0, 5, 1).item(), 0); // nothing observed
    assert.ok(maxAbs(ddpmLoss(zero, x, lam, { i, eps, mask: mask2, reduction: 'sum' }).loss, manualSum) < 1e-12);
    assert.ok(maxAbs(ddpmLoss(zero, x, lam, { i, eps, mask: m }).loss, mean) === 0); // 0/1 numbers work as a mask
    // a mask for the grid only ([16]) broadcasts over the batch
    const grid = mask.narrow(0, 0, 1).squeeze(0);
    assert.ok(maxAbs(ddpmLoss(zero, x, lam, { i, eps, mask: grid }).loss, ddpmLoss(zero, x, lam, { i, eps, mask: grid.expand([6, 16]) }).loss) === 0);
    // v-loss of a zero v-model: the mean of (alpha eps - sigma x)^2 over observed elements
    const zv = denoiser('v', (z) => torch.zerosLike(z));
    const tt = torch.full([6], 0.4, f64);
    const { alpha, sigma } = alphaSigma(cosine.logsnr(tt));
    const v = alpha.unsqueeze(1).mul(eps).sub(sigma.unsqueeze(1).mul(x));
    const manualV = sum1(v.square().mul(m)).div(sum1(m).clampMin(1));
    assert.ok(maxAbs(vLoss(zv, x, cosine, { t: tt, eps, mask: mask2 }).loss, manualV) < 1e-12);
    assert.throws(() => ddpmLoss(zero, x, lam, { i, eps, mask: torch.ones([5], { dtype: 'bool' }) }), /does not broadcast/);
  });

  test('gradients reach the model through the masked loss, finite despite NaN under the mask, equal to finite differences', () => {
    const w = torch.tensor([0.5], f64).requiresGrad_();
    const model = denoiser('v', (z) => z.mul(w));
    const loss = (wv: number): Tensor => {
      const m = denoiser('v', (z) => z.mul(wv));
      return vLoss(m, poisoned, cosine, { mask: mask2, generator: new torch.Generator({ seed: 3 }) }).loss.mean();
    };
    const [grad] = torch.autograd.grad([vLoss(model, poisoned, cosine, { mask: mask2, generator: new torch.Generator({ seed: 3 }) }).loss.mean()], [w]);
    const h = 1e-6;
    const fd = (loss(0.5 + h).item() - loss(0.5 - h).item()) / (2 * h);
    assert.ok(Number.isFinite(grad!.item()) && Math.abs(grad!.item() - fd) < 1e-6 * Math.abs(fd), `${grad!.item()} vs ${fd}`);
  });
});
