// Reconstruction guidance, observation guidance and the replacement method (001_5e42003193798b1e.txt
// sec. 2.7.8; Ho et al. 2022, eq. 7), proven with the exact denoiser of Gaussian data, for which the
// conditional distribution of the unknown part is known in closed form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, alphaFromLogsnr, ancestralSample, ddimSample, denoiser, diffuse, observationGuidance,
  predictXEps, predictorCorrectorSample, probabilityFlowSample, reconstructionGuidance, replacementHook,
  reparameterise, reverseSdeSample, sigmaFromLogsnr, dpmSolverSample, edmSample, type Denoiser, type Sampler,
} from '../src/diffusion/index.js';
import { collectGarbage } from './gc.js';
import { guidanceFixture, momentErrors, knownError, exactConditionalDraws, type MomentErrors } from './guidance-fixture.js';

torch.setNumThreads(1);
const f64 = { dtype: 'float64' as const };
const fx = guidanceFixture(1);
const schedule = alphaCosineSchedule();
const observed = fx.xTrue;
const mask = fx.mask;
const maskF = mask.to('float64');
const fmt = (e: MomentErrors): string => `mean ${e.mean.toFixed(3)}, cov ${e.cov.toFixed(3)}`;

function maxAbs(a: Tensor, b: Tensor): number {
  return torch.scope(() => a.sub(b).abs().max().item());
}

/** Central finite differences of f(z) = per-example ||r(x_hat(z))||^2 with respect to every coordinate of z. */
function finiteDifferenceGrad(model: Denoiser, z: Tensor, logsnr: Tensor, residual: (x: Tensor) => Tensor, h = 1e-5): Tensor {
  return torch.scope(() => {
    const f = (zz: Tensor): Tensor => residual(predictXEps(model, zz, logsnr).x).square().flatten(1).sum([1]);
    const cols: Tensor[] = [];
    for (let j = 0; j < z.shape[1]!; j++) {
      const e = torch.zeros(z.shape, f64);
      e.select(1, j).fill_(h);
      cols.push(f(z.add(e)).sub(f(z.sub(e))).div(2 * h));
    }
    return torch.stack(cols, 1);
  });
}

test('weight 0 returns the unguided prediction; weight > 0 changes only the unknown part (known: model)', () => {
  torch.scope(() => {
    const gen = new torch.Generator({ seed: 2 });
    const z = torch.randn([5, fx.D], { ...f64, generator: gen });
    const logsnr = torch.tensor([-4, -1, 0, 2, 6], f64);
    for (const model of [fx.model, reparameterise(fx.model, 'v'), reparameterise(fx.model, 'eps')]) {
      const plain = predictXEps(model, z, logsnr).x;
      const g0 = reconstructionGuidance(model, { observed, mask, weight: 0 });
      assert.equal(g0.parameterisation, 'x');
      assert.ok(maxAbs(g0(z, logsnr), plain) <= 1e-14, `${model.parameterisation}: weight 0 differs from the model`);
      const g0obs = reconstructionGuidance(model, { observed, mask, weight: 0, known: 'observed' })(z, logsnr);
      assert.ok(maxAbs(g0obs, torch.where(mask, observed.expand(plain.shape), plain)) <= 1e-14);
      const g2 = reconstructionGuidance(model, { observed, mask, weight: 2 })(z, logsnr);
      assert.ok(maxAbs(g2.mul(maskF), plain.mul(maskF)) <= 1e-12, 'the known part must stay x_hat^a');
      assert.ok(maxAbs(g2, plain) > 1e-2, 'weight 2 must move the unknown part');
      const o0 = observationGuidance(model, { y: fx.y, A: fx.A, weight: 0 })(z, logsnr);
      assert.ok(maxAbs(o0, plain) <= 1e-14);
    }
  });
});

test('observation-error variance s_o^2 scales the correction by r_t^2 / (r_t^2 + s_o^2), r_t^2 = sigma_t^2 / alpha_t^2, per element', () => {
  torch.scope(() => {
    const gen = new torch.Generator({ seed: 4 });
    const z = torch.randn([4, fx.D], { ...f64, generator: gen });
    const logsnr = torch.tensor([-3, 0, 1.5, 5], f64);
    const plain = predictXEps(fx.model, z, logsnr).x;
    const exact = reconstructionGuidance(fx.model, { observed, mask, weight: 2 })(z, logsnr).sub(plain);
    const s2 = 0.3;
    const noisy = reconstructionGuidance(fx.model, { observed, mask, weight: 2, observationVariance: s2 })(z, logsnr).sub(plain);
    const r2 = logsnr.neg().exp().unsqueeze(1);
    assert.ok(maxAbs(noisy, exact.mul(r2.div(r2.add(s2)))) <= 1e-12, 'a uniform variance scales the correction');
    // per-element variances: one known coordinate exact, the others noisy, equals the gradient of the weighted sum
    const varT = torch.fullLike(observed, s2).mul(maskF);
    const perElem = reconstructionGuidance(fx.model, { observed, mask, weight: 2, observationVariance: varT })(z, logsnr).sub(plain);
    const w = r2.div(r2.add(varT)).sqrt();
    const grad = finiteDifferenceGrad(fx.model, z, logsnr, (x) => observed.mul(maskF).sub(x.mul(maskF)).mul(w));
    const alpha = alphaFromLogsnr(logsnr).unsqueeze(1);
    assert.ok(maxAbs(perElem, grad.mul(maskF.neg().add(1)).mul(alpha).mul(-1)) <= 1e-6, 'per-element weights');
    assert.throws(() => reconstructionGuidance(fx.model, { observed, mask, weight: 1, observationVariance: -1 }), /observationVariance must be a finite number >= 0/);
    assert.throws(() => reconstructionGuidance(fx.model, { observed, mask, weight: 1, observationVariance: 0.1, known: 'observed' }), /cannot be imposed exactly/);
  });
});

test('the gradient inside reconstructionGuidance matches finite differences (x-, v- and eps-parameterised models)', () => {
  torch.scope(() => {
    const gen = new torch.Generator({ seed: 3 });
    const z = torch.randn([3, fx.D], { ...f64, generator: gen });
    const logsnr = torch.tensor([-2, 0.5, 3], f64);
    const w = 1.7;
    const alpha = alphaFromLogsnr(logsnr).unsqueeze(1);
    const target = observed.mul(maskF);
    const g = finiteDifferenceGrad(fx.model, z, logsnr, (x) => target.sub(x.mul(maskF)));
    const xhat = predictXEps(fx.model, z, logsnr).x;
    // eq. 7 of Ho et al.: x_hat^b - (w alpha / 2) grad_{z^b} ||x^a - x_hat^a||^2; x_hat^a kept
    const expected = xhat.sub(g.mul(maskF.neg().add(1)).mul(alpha).mul(w / 2));
    for (const model of [fx.model, reparameterise(fx.model, 'v'), reparameterise(fx.model, 'eps')]) {
      const got = reconstructionGuidance(model, { observed, mask, weight: w })(z, logsnr);
      const err = maxAbs(got, expected);
      assert.ok(err < 1e-7, `${model.parameterisation}: |guided - finite difference| = ${err}`);
    }
    assert.ok(maxAbs(expected, xhat) > 1e-2, 'the correction is not negligible');
  });
});

test('observationGuidance: gradient of ||y - A x_hat||^2 matches finite differences; A = masking agrees with reconstruction guidance on x^b', () => {
  torch.scope(() => {
    const gen = new torch.Generator({ seed: 4 });
    const z = torch.randn([3, fx.D], { ...f64, generator: gen });
    const logsnr = torch.tensor([-1, 1, 4], f64);
    const w = 2.5;
    const alpha = alphaFromLogsnr(logsnr).unsqueeze(1);
    const g = finiteDifferenceGrad(fx.model, z, logsnr, (x) => fx.y.sub(fx.A(x)));
    const expected = predictXEps(fx.model, z, logsnr).x.sub(g.mul(alpha).mul(w / 2));
    const got = observationGuidance(fx.model, { y: fx.y, A: fx.A, weight: w })(z, logsnr);
    assert.ok(maxAbs(got, expected) < 1e-7, `block-mean A: |guided - finite difference| = ${maxAbs(got, expected)}`);
    const viaA = observationGuidance(fx.model, { y: observed.mul(maskF), A: (x) => x.mul(maskF), weight: w })(z, logsnr);
    const viaMask = reconstructionGuidance(fx.model, { observed, mask, weight: w })(z, logsnr);
    const unknownF = maskF.neg().add(1);
    assert.ok(maxAbs(viaA.mul(unknownF), viaMask.mul(unknownF)) < 1e-12);
    assert.ok(maxAbs(viaA.mul(maskF), viaMask.mul(maskF)) > 1e-3, 'observationGuidance also corrects the observed elements');
  });
});

test('guidance works inside torch.noGrad, restores grad mode, leaves no graph or tensors behind, never touches .grad', () => {
  const lin = new torch.nn.Linear(fx.D, fx.D, { dtype: 'float64' });
  // a trainable network as the denoiser: its parameters require grad, like a real model's
  const net = denoiser('x', (z, logsnr) => lin.forward(z).mul(alphaFromLogsnr(logsnr).unsqueeze(1)).add(z.mul(sigmaFromLogsnr(logsnr).unsqueeze(1))));
  const guided = reconstructionGuidance(net, { observed, mask, weight: 2 });
  const obsGuided = observationGuidance(net, { y: fx.y, A: fx.A, weight: 2 });
  const z = torch.randn([4, fx.D], f64);
  const logsnr = torch.full([4], 0.5, f64);
  // no enclosing scope: the wrapper must free its own graph and intermediates; only the result survives
  const call = (): void => { for (const g of [guided, obsGuided]) g(z, logsnr).dispose(); };
  torch.noGrad(call); // warm-up (lazy allocations)
  collectGarbage();
  const before = torch.liveTensors();
  for (let i = 0; i < 20; i++) torch.noGrad(call);
  assert.equal(torch.liveTensors(), before, 'tensors leaked');
  torch.noGrad(() => {
    const out = guided(z, logsnr);
    assert.equal(torch.isGradEnabled(), false, 'grad mode must be restored');
    assert.equal(out.requiresGrad, false);
    assert.equal(out.hasGradFn, false);
    out.dispose();
  });
  for (const p of lin.parameters()) assert.equal(p.grad, null, 'autograd.grad must not accumulate into parameters');
  // outside noGrad too: the result is detached
  const out = guided(z, logsnr);
  assert.equal(out.requiresGrad, false);
});

test('replacementHook: known part ~ q(z_t^a | x^a) (eq. 2.51) at the latent\'s logSNR, unknown part untouched', () => {
  torch.scope(() => {
    const gen = new torch.Generator({ seed: 5 });
    const B = 20000;
    const z = torch.randn([B, fx.D], { ...f64, generator: gen });
    const logsnr = torch.full([B], 0.7, f64);
    const out = replacementHook({ observed, mask, generator: gen })(z, logsnr);
    const unknownF = maskF.neg().add(1);
    assert.equal(maxAbs(out.mul(unknownF), z.mul(unknownF)), 0);
    const alpha = alphaFromLogsnr(torch.scalarTensor(0.7, f64)).item();
    const sigma = sigmaFromLogsnr(torch.scalarTensor(0.7, f64)).item();
    const ia = torch.tensor(fx.known, { dtype: 'int64' });
    const za = out.indexSelect(1, ia);
    const meanErr = maxAbs(za.mean([0]), observed.indexSelect(1, ia).squeeze(0).mul(alpha));
    const stdErr = za.std([0]).sub(sigma).abs().max().item();
    // 4 standard errors of a mean and of a std over 20,000 draws
    assert.ok(meanErr < 4 * sigma / Math.sqrt(B), `mean error ${meanErr}`);
    assert.ok(stdErr < 4 * sigma / Math.sqrt(2 * B), `std error ${stdErr}`);
    // it is the forward process itself: same generator state, same draw as diffuse()
    const z8 = z.narrow(0, 0, 8);
    const l8 = logsnr.narrow(0, 0, 8);
    const hooked = replacementHook({ observed, mask, generator: new torch.Generator({ seed: 9 }) })(z8, l8);
    const direct = diffuse(observed.expand([8, fx.D]), l8, { generator: new torch.Generator({ seed: 9 }) }).z;
    assert.equal(maxAbs(hooked.mul(maskF), direct.mul(maskF)), 0);
  });
});

// ---- exact conditional: guided samples of x^b | x^a against the block formula ----

const N = 4000;
interface SamplerCase { name: string; sample: Sampler; steps: number; weight: number; maxMean: number; maxCov: number }
// w_r per sampler: the best of {1, 1.5, 2, 2.5, 3, 4} on this fixture (docs/diffusion.md has the whole scan);
// stochastic samplers prefer ~2, the deterministic ones ~3. Bounds: ~2x the measured errors.
const CASES: SamplerCase[] = [
  { name: 'ancestral (T=100)', sample: ancestralSample, steps: 100, weight: 2, maxMean: 0.25, maxCov: 0.3 },
  { name: 'DDIM eta=0 (T=100)', sample: ddimSample, steps: 100, weight: 3, maxMean: 0.45, maxCov: 0.45 },
  { name: 'reverse SDE Euler-Maruyama (T=200)', sample: reverseSdeSample, steps: 200, weight: 2, maxMean: 0.25, maxCov: 0.25 },
  { name: 'probability-flow ODE Heun (T=50)', sample: probabilityFlowSample, steps: 50, weight: 3, maxMean: 0.45, maxCov: 0.45 },
  { name: 'predictor-corrector (T=100)', sample: predictorCorrectorSample, steps: 100, weight: 2, maxMean: 0.25, maxCov: 0.3 },
  // the few-step solvers at their usual step counts (w_r as for their kind, not scanned)
  { name: 'DPM-Solver++ 2M (T=30, Karras)', sample: dpmSolverSample, steps: 30, weight: 3, maxMean: 0.5, maxCov: 0.45 },
  { name: 'SDE-DPM-Solver++ 2M (T=50, Karras)', sample: (m, s, i, o) => dpmSolverSample(m, s, i, { ...o, eta: 1 }), steps: 50, weight: 2, maxMean: 0.25, maxCov: 0.2 },
  { name: 'EDM with churn (T=30, Karras)', sample: edmSample, steps: 30, weight: 2, maxMean: 0.85, maxCov: 0.65 },
];

test('exact draws of x^b | x^a: the sampling-noise floor of the moment errors at N = 4000', (t) => {
  const e = momentErrors(exactConditionalDraws(fx.cond, N, new torch.Generator({ seed: 10 })), null, fx.cond);
  t.diagnostic(`exact draws: ${fmt(e)}`);
  assert.ok(e.mean < 0.05 && e.cov < 0.1);
});

for (const c of CASES) {
  test(`exact conditional, ${c.name}: reconstruction guidance (w_r = ${c.weight}) beats replacement`, (t) => {
    const gen = new torch.Generator({ seed: 11 });
    const run = (model: Denoiser, hook?: (z: Tensor, l: Tensor) => Tensor): { e: MomentErrors; known: number } => torch.scope(() => {
      const x = c.sample(model, schedule, [N, fx.D], { steps: c.steps, generator: gen, dtype: 'float64', latentHook: hook }).x;
      return { e: momentErrors(x, fx.unknown, fx.cond), known: knownError(x, fx) };
    });
    const hook = (): ((z: Tensor, l: Tensor) => Tensor) => replacementHook({ observed, mask, generator: gen });
    const repl = run(fx.model, hook());
    // Ho et al.'s form (x_hat^a kept) with the latent's known part from the forward process, as in the replacement sampler
    const paper = run(reconstructionGuidance(fx.model, { observed, mask, weight: c.weight }), hook());
    // the observed x^a in the prediction instead, no hook: the sampler's own step then draws z^a from q(z_s | z_t, x^a)
    const obs = run(reconstructionGuidance(fx.model, { observed, mask, weight: c.weight, known: 'observed' }));
    t.diagnostic(`replacement: ${fmt(repl.e)}; guidance+replacement: ${fmt(paper.e)}; guidance known='observed': ${fmt(obs.e)}`);
    for (const [name, r] of [['guidance+replacement', paper], ["guidance known='observed'", obs]] as const) {
      assert.ok(r.e.mean < 0.5 * repl.e.mean && r.e.cov < 0.5 * repl.e.cov, `${name} (${fmt(r.e)}) must halve replacement's errors (${fmt(repl.e)})`);
      assert.ok(r.e.mean < c.maxMean && r.e.cov < c.maxCov, `${name}: ${fmt(r.e)} above the bounds ${c.maxMean}/${c.maxCov}`);
      assert.ok(r.known < 1e-3, `${name}: known coordinates off by ${r.known}`);
    }
  });
}

test('Ho et al.\'s form alone (x_hat^a kept, no replacement) does not pin x^a: the reason to pair it with replacementHook', (t) => {
  const gen = new torch.Generator({ seed: 12 });
  const x = ancestralSample(reconstructionGuidance(fx.model, { observed, mask, weight: 2 }), schedule, [N, fx.D],
    { steps: 100, generator: gen, dtype: 'float64' }).x;
  const e = momentErrors(x, fx.unknown, fx.cond);
  const k = knownError(x, fx);
  t.diagnostic(`guidance w_r = 2 without replacement: ${fmt(e)}, mean |x^a - x*^a| = ${k.toFixed(3)}`);
  assert.ok(k > 0.2, `expected the known part to drift, got ${k}`);
});

test('observationGuidance with block-mean A (downscaling): A x approaches y and x matches x | A x = y', (t) => {
  const gen = new torch.Generator({ seed: 13 });
  const stats = (x: Tensor): { rms: number; e: MomentErrors } => torch.scope(() => ({
    rms: fx.A(x).sub(fx.y).square().mean().sqrt().item(),
    e: momentErrors(x, null, fx.condA),
  }));
  const opts = { steps: 100, generator: gen, dtype: 'float64' as const };
  const free = stats(ancestralSample(fx.model, schedule, [N, fx.D], opts).x);
  // w_r = 4 = 1 / (A A^T) for means over 4 elements: at high SNR (alpha ~ 1, x_hat ~ z) the correction is then the
  // projection onto {A x = y}
  const guided = stats(ancestralSample(observationGuidance(fx.model, { y: fx.y, A: fx.A, weight: 4 }), schedule, [N, fx.D], opts).x);
  const ddim = stats(ddimSample(observationGuidance(fx.model, { y: fx.y, A: fx.A, weight: 4 }), schedule, [N, fx.D], opts).x);
  const dpm = stats(dpmSolverSample(observationGuidance(fx.model, { y: fx.y, A: fx.A, weight: 4 }), schedule, [N, fx.D], { ...opts, steps: 30 }).x);
  t.diagnostic(`unguided: rms(Ax - y) ${free.rms.toFixed(4)}, ${fmt(free.e)}; ancestral w_r=4: rms ${guided.rms.toExponential(2)}, ${fmt(guided.e)}; DDIM w_r=4: rms ${ddim.rms.toExponential(2)}, ${fmt(ddim.e)}; DPM-Solver++ 2M T=30 w_r=4: rms ${dpm.rms.toExponential(2)}, ${fmt(dpm.e)}`);
  assert.ok(free.rms > 0.5);
  for (const r of [guided, ddim, dpm]) {
    assert.ok(r.rms < 1e-3 * free.rms, `rms(Ax - y) = ${r.rms}`);
    assert.ok(r.e.cov < 0.25 && r.e.cov < 0.05 * free.e.cov, `covariance error ${r.e.cov}`);
    assert.ok(r.e.mean < 0.75 && r.e.mean < 0.2 * free.e.mean, `mean error ${r.e.mean}`);
  }
});
