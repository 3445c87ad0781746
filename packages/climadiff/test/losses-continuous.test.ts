// Proofs for the continuous-time diffusion losses (src/diffusion/losses/): the seed's v-loss equals the weighted
// eps-loss with the derived weighting per sample (001_5e42003193798b1e.txt eqs 2.69, 2.71-2.73, 2.87, 2.94); the
// importance-weighted Monte-Carlo estimator (eqs 2.88-2.90) is unbiased against quadrature; every loss vanishes at the
// exact denoiser; the prior loss in closed form. Data: x ~ N(mu, Sigma), D = 16, non-diagonal Sigma (loss-fixtures.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, alphaSigma, denoiser, reparameterise, convertPrediction, toXEps, vLoss, weightedLoss,
  weightingFunction, uniformLogsnrProposal, vdmDiffusionLoss, priorLoss, ddpmLoss, dsmLoss, veScoreFromDenoiser,
  diffusionIntegral, type Parameterisation, type Weighting,
} from '../src/diffusion/index.js';
import { meanAndStdErr, maxAbs, toList, f64, P, cosine, t0, t1, relErr, sum1, imperfect } from './loss-fixtures.js';

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
