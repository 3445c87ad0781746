// Proofs for the diffusion losses (src/diffusion/losses/): the seed's v-loss equals the weighted eps-loss with the
// derived weighting per sample (001_5e42003193798b1e.txt eqs 2.69, 2.71-2.73, 2.87, 2.94); the importance-weighted
// Monte-Carlo estimator (eqs 2.88-2.90) is unbiased against quadrature; VDM's discrete-time loss (002 App. D) in
// x and eps form; the DDPM simple loss (004 Alg. 2) and NCSN denoising score matching (004 sec. 2.4); the prior
// loss in closed form; masks. Data: x ~ N(mu, Sigma), D = 16, non-diagonal Sigma, with its exact denoiser.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, alphaSigma, denoiser, reparameterise, convertPrediction, toXEps, vLoss, weightedLoss,
  weightingFunction, uniformLogsnrProposal, vdmDiffusionLoss, priorLoss, reconstructionLoss, ddpmLoss, dsmLoss,
  veScoreFromDenoiser, diffusionIntegral, elbo, type Denoiser, type Parameterisation, type Weighting,
} from '../src/diffusion/index.js';
import { gaussianProblem, linearLogsnrSchedule, meanAndStdErr, maxAbs, toList, f64 } from './loss-fixtures.js';

const P = gaussianProblem();
const cosine = alphaCosineSchedule(); // the seed's [-30, 30]
const t0 = (2 / Math.PI) * Math.atan(Math.exp(-30 / 2)); // eq. 2.65
const t1 = (2 / Math.PI) * Math.atan(Math.exp(30 / 2)); // eq. 2.66
const relErr = (a: Tensor, b: Tensor): number => torch.scope(() => a.sub(b).abs().div(b.abs().clampMin(1e-300)).max().item());
const sum1 = (t: Tensor): Tensor => t.flatten(1).sum([1]);
/** A denoiser that is wrong on purpose (so errors are not just the MMSE). */
const imperfect: Denoiser = denoiser('x', (z, l) => P.model(z, l).mul(0.8).add(0.1));

describe('v-loss and the weighted loss (eqs 2.71-2.73, 2.86-2.90, 2.94)', () => {
  test('v-loss equals the weighted eps-loss with w = 2 p(lambda)(1 + exp(-lambda)) per sample, any parameterisation, lambda in [-30, 30]', () => {
    const g = new torch.Generator({ seed: 1 });
    const B = 64;
    const x = P.sample(B, g);
    const t = torch.cat([torch.tensor([0, 1], f64), torch.rand([B - 2], { ...f64, generator: g })]);
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    let worst = 0;
    for (const base of [P.model, imperfect]) {
      for (const p of ['x', 'eps', 'v', 'score'] as Parameterisation[]) {
        const model = reparameterise(base, p);
        const v = vLoss(model, x, cosine, { t, eps, reduction: 'sum' });
        const w = weightedLoss(model, x, cosine, { weighting: 'v-mse', logsnr: v.logsnr, eps, reduction: 'sum' });
        worst = Math.max(worst, relErr(w.diffusion, v.loss));
        // same identity with the default per-element mean
        const vm = vLoss(model, x, cosine, { t, eps });
        const wm = weightedLoss(model, x, cosine, { weighting: 'v-mse', logsnr: v.logsnr, eps });
        worst = Math.max(worst, relErr(wm.diffusion, vm.loss));
      }
    }
    assert.ok(worst < 1e-12, `largest relative difference ${worst}`);
  });

  test('the same identity computed naively from the seed formulas (t in [0.02, 0.98])', () => {
    const g = new torch.Generator({ seed: 2 });
    const B = 32;
    const x = P.sample(B, g);
    const t = torch.rand([B], { ...f64, generator: g }).mul(0.96).add(0.02);
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const lam = cosine.logsnr(t);
    const { alpha, sigma } = alphaSigma(lam);
    const a = alpha.unsqueeze(1);
    const s = sigma.unsqueeze(1);
    const z = a.mul(x).add(s.mul(eps));
    for (const p of ['x', 'eps', 'v', 'score'] as Parameterisation[]) {
      const model = reparameterise(imperfect, p);
      const pred = model(z, lam);
      const vHat = convertPrediction(pred, p, 'v', z, lam);
      const epsHat = convertPrediction(pred, p, 'eps', z, lam);
      const vErr = sum1(a.mul(eps).sub(s.mul(x)).sub(vHat).square()); // ||v - v_hat||^2, eq. 2.71
      const dens = lam.div(2).cosh().reciprocal().div(2 * Math.PI * (t1 - t0)); // eq. 2.69
      const wDerived = lam.mul(-0.5).exp().mul(2 / (Math.PI * (t1 - t0)));
      const weighted = wDerived.div(dens).mul(0.5).mul(sum1(eps.sub(epsHat).square())); // eq. 2.90
      assert.ok(relErr(weighted, vErr) < 1e-9, `naive v-error vs weighted eps-error (${p}): ${relErr(weighted, vErr)}`);
      assert.ok(relErr(vLoss(model, x, cosine, { t, eps, reduction: 'sum' }).loss, vErr) < 1e-9);
      // the constant printed in eq. 2.94 gives a quarter of the v-loss
      const wSeed = lam.mul(-0.5).exp().div(2 * Math.PI * (t1 - t0));
      const seedLoss = wSeed.div(dens).mul(0.5).mul(sum1(eps.sub(epsHat).square()));
      assert.ok(relErr(seedLoss.mul(4), vErr) < 1e-9);
    }
  });

  test('derived v weighting for the alpha-cosine schedule is 2 exp(-lambda/2) / (pi (t1 - t0)) = 4 x eq. 2.94', () => {
    const lam = torch.linspace(-30, 30, 601, f64);
    const w = weightingFunction('v-mse', cosine)(lam);
    const closed = lam.mul(-0.5).exp().mul(2 / (Math.PI * (t1 - t0)));
    assert.ok(relErr(w, closed) < 1e-12, `${relErr(w, closed)}`);
    const seed = lam.mul(-0.5).exp().div(2 * Math.PI * (t1 - t0)); // eq. 2.94 as printed
    assert.ok(maxAbs(w.div(seed), 4) < 1e-12);
    // a shifted cosine has a different p(lambda): the v weighting there is no longer a pure exponential
    const shifted = alphaCosineSchedule({ shift: 2 * Math.log(64 / 256) });
    const ws = weightingFunction('v-mse', shifted)(lam).mul(lam.mul(0.5).exp());
    assert.ok(ws.max().item() / ws.min().item() > 1.5);
  });

  test('eps-mse and x-mse weightings reproduce E_t ||eps - eps_hat||^2 and E_t ||x - x_hat||^2 per sample', () => {
    const g = new torch.Generator({ seed: 3 });
    const B = 32;
    const x = P.sample(B, g);
    const lam = cosine.logsnr(torch.rand([B], { ...f64, generator: g }).mul(0.9).add(0.05));
    const eps = torch.randn(x.shape, { ...f64, generator: g });
    const { alpha, sigma } = alphaSigma(lam);
    const z = alpha.unsqueeze(1).mul(x).add(sigma.unsqueeze(1).mul(eps));
    const pred = toXEps(imperfect(z, lam), 'x', z, lam);
    const e = weightedLoss(imperfect, x, cosine, { weighting: 'eps-mse', logsnr: lam, eps, reduction: 'sum' });
    assert.ok(relErr(e.diffusion, sum1(eps.sub(pred.eps).square())) < 1e-10);
    const xl = weightedLoss(imperfect, x, cosine, { weighting: 'x-mse', logsnr: lam, eps, reduction: 'sum' });
    assert.ok(relErr(xl.diffusion, sum1(x.sub(pred.x).square())) < 1e-10);
    const el = weightedLoss(imperfect, x, cosine, { weighting: 'elbo', logsnr: lam, eps, reduction: 'sum' });
    assert.ok(relErr(el.diffusion, sum1(eps.sub(pred.eps).square()).mul(0.5).div(cosine.density(lam))) < 1e-10);
    // eq. 2.86: loss = diffusion + w(lambda_min) * prior KL
    const kl = priorLoss(x, cosine);
    assert.ok(maxAbs(el.prior, kl) === 0 && maxAbs(el.loss, el.diffusion.add(kl)) < 1e-12);
  });

  test('the importance-weighted Monte-Carlo estimator is unbiased against quadrature for every weighting', (t) => {
    const g = new torch.Generator({ seed: 4 });
    const x = P.sample(2, g);
    const N = 2000;
    const xr = x.repeat([N, 1]); // row k is example k % 2
    const cases: { name: string; weighting: Weighting; sampler?: ReturnType<typeof uniformLogsnrProposal> }[] = [
      { name: 'v-mse', weighting: 'v-mse' },
      { name: 'eps-mse', weighting: 'eps-mse' },
      { name: 'x-mse', weighting: 'x-mse' },
      { name: 'elbo (uniform lambda)', weighting: 'elbo', sampler: uniformLogsnrProposal(-30, 30) },
      { name: 'custom sech(lambda/2)(2 + tanh(lambda))', weighting: (l: Tensor) => l.div(2).cosh().reciprocal().mul(l.tanh().add(2)) },
    ];
    for (const c of cases) {
      torch.scope(() => {
        const r = weightedLoss(P.model, xr, cosine, { weighting: c.weighting, generator: g, reduction: 'sum', lambdaSampler: c.sampler });
        const { mean, se } = meanAndStdErr(r.diffusion.reshape([N, 2]));
        const ref = toList(diffusionIntegral(P.model, x, cosine, {
          method: 'quadrature', steps: 200, noise: 'sigma-points', weight: weightingFunction(c.weighting, cosine), batchSize: 8192,
        }).value);
        t.diagnostic(`${c.name}: MC ${mean.map((v) => v.toFixed(3))} +- ${se.map((v) => v.toFixed(3))} vs quadrature ${ref.map((v) => v.toFixed(3))}`);
        for (let b = 0; b < 2; b++) {
          assert.ok(Math.abs(mean[b]! - ref[b]!) < 4 * se[b]!, `${c.name}: |${mean[b]} - ${ref[b]}| >= 4 x ${se[b]}`);
          assert.ok(se[b]! < 0.03 * Math.abs(ref[b]!), `${c.name}: standard error ${se[b]} too large to test anything`);
        }
      });
    }
  });
});

describe('zero and minimum at the exact denoiser', () => {
  test('every diffusion loss vanishes for point-mass data with its exact denoiser', () => {
    const g = new torch.Generator({ seed: 5 });
    const x0 = torch.randn([1, 16], { ...f64, generator: g });
    const x = x0.expand([8, 16]);
    const oracle = denoiser('x', (z) => x0.expand(z.shape));
    const losses: [string, Tensor][] = [
      ['vLoss', vLoss(oracle, x, cosine, { generator: g }).loss],
      ['weighted v-mse', weightedLoss(oracle, x, cosine, { weighting: 'v-mse', generator: g }).diffusion],
      ['weighted elbo', weightedLoss(oracle, x, cosine, { weighting: 'elbo', generator: g }).diffusion],
      ['vdm x', vdmDiffusionLoss(oracle, x, cosine, { steps: 50, form: 'x', generator: g }).loss],
      ['vdm eps', vdmDiffusionLoss(oracle, x, cosine, { steps: 50, form: 'eps', generator: g }).loss],
      ['ddpm', ddpmLoss(oracle, x, cosine.logsnr(torch.linspace(0.01, 1, 100, f64)), { generator: g }).loss],
      ['dsm', dsmLoss(veScoreFromDenoiser(oracle), x, [1, 0.3, 0.1, 0.03, 0.01], { generator: g }).loss],
    ];
    for (const [name, l] of losses) assert.ok(l.abs().max().item() < 1e-9, `${name}: ${l.abs().max().item()}`);
  });

  test('eps-MSE of the exact Gaussian denoiser is the analytic E||eps - eps_hat||^2 per example, and the MMSE over the data', (t) => {
    const g = new torch.Generator({ seed: 6 });
    const logsnrs = torch.tensor([-2, 1.5], f64);
    const x = P.sample(2, g);
    const N = 2000;
    const xr = x.repeat([N, 1]);
    for (const [k, lam] of [[1, -2], [2, 1.5]] as const) {
      const i = torch.full([2 * N], k, { dtype: 'int64' });
      const r = ddpmLoss(P.model, xr, logsnrs, { i, generator: g, reduction: 'sum' });
      const { mean, se } = meanAndStdErr(r.loss.reshape([N, 2]));
      const exact = P.epsMse(x, lam);
      t.diagnostic(`lambda ${lam}: ${mean.map((v) => v.toFixed(4))} +- ${se.map((v) => v.toFixed(4))}, analytic ${exact.map((v) => v.toFixed(4))}`);
      for (let b = 0; b < 2; b++) assert.ok(Math.abs(mean[b]! - exact[b]!) < 4 * se[b]!);
    }
    // over x ~ data: the exact denoiser attains the MMSE sum_k r d_k / (1 + r d_k); a shrunk one does worse
    const xs = P.sample(4000, g);
    const i = torch.full([4000], 2, { dtype: 'int64' });
    const r = Math.exp(1.5);
    const mmse = Array.from(P.d).reduce((s, d) => s + (r * d) / (1 + r * d), 0);
    const exact = meanAndStdErr(ddpmLoss(P.model, xs, logsnrs, { i, generator: g, reduction: 'sum' }).loss.unsqueeze(1));
    const shrunk = denoiser('x', (z, l) => P.model(z, l).sub(P.mu).mul(0.9).add(P.mu));
    const worse = meanAndStdErr(ddpmLoss(shrunk, xs, logsnrs, { i, generator: g, reduction: 'sum' }).loss.unsqueeze(1));
    t.diagnostic(`MMSE ${mmse.toFixed(4)}; exact ${exact.mean[0]!.toFixed(4)} +- ${exact.se[0]!.toFixed(4)}; shrunk ${worse.mean[0]!.toFixed(4)}`);
    assert.ok(Math.abs(exact.mean[0]! - mmse) < 4 * exact.se[0]!);
    assert.ok(worse.mean[0]! > mmse + 10 * exact.se[0]!);
  });
});

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

describe('prior loss (002 sec. 3.3; 001 eqs 2.57-2.58)', () => {
  test('closed form equals the general Gaussian KL, and stays exact at lambda_min = -30', () => {
    const g = new torch.Generator({ seed: 14 });
    const x = P.sample(3, g);
    for (const l of [-3, 0.5]) {
      const lt = torch.scalarTensor(l, f64);
      const { alpha, sigma } = alphaSigma(lt);
      // KL(N(m, S) || N(0, I)) = 1/2 (tr S + m^T m - D - log det S), S = sigma^2 I, m = alpha x
      const S = torch.eye(16, undefined, f64).mul(sigma.square());
      const [, logdet] = torch.linalgSlogdet(S) as [Tensor, Tensor];
      const m = x.mul(alpha);
      const kl = sum1(m.square()).add(torch.trace(S)).sub(16).sub(logdet).mul(0.5);
      assert.ok(relErr(priorLoss(x, l), kl) < 1e-12);
      assert.ok(relErr(priorLoss(x, l, { reduction: 'mean' }), kl.div(16)) < 1e-12);
    }
    // at -30 the KL is 1/2 e^lambda ||x||^2 (1 + O(e^lambda)); the textbook form cancels to rounding noise
    const kl30 = priorLoss(x, cosine);
    const approx = sum1(x.square()).mul(0.5 * Math.exp(-30));
    assert.ok(relErr(kl30, approx) < 1e-11, `${relErr(kl30, approx)}`);
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
