// Every sampler on a Gaussian mixture with its exact denoiser (analytic.ts mixtureDenoiser): 8 modes on a circle
// of radius 2 in 2-D (neighbours 1.53 apart), isotropic std 0.1, weights proportional to 1..8. n = 4000 samples.
// - On the modes: the fraction within 3 std of the nearest mean must exceed 0.98 (exact draws: 1 - exp(-9/2) = 0.9889).
// - Right weights: Pearson's chi^2 of the nearest-mode counts against n pi_k, 7 degrees of freedom, must stay
//   below its 1e-3 upper quantile (24.3).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, ncsnSchedule, ddpmBetas, mixtureDenoiser, ancestralSample, ddimSample, reverseSdeSample,
  probabilityFlowSample, annealedLangevinSample, predictorCorrectorSample, ddpmSample, dpmSolverSample, edmSample, type SampleResult,
} from '../src/diffusion/index.js';

// Small tensors: one thread avoids OpenMP spin-waits when the (shared, 2-core) machine is busy.
torch.setNumThreads(1);

const f64 = { dtype: 'float64' as const };
const K = 8, N = 4000, RADIUS = 2, STD = 0.1;
const WEIGHTS = Array.from({ length: K }, (_, k) => k + 1);
const PI = WEIGHTS.map((w) => w / WEIGHTS.reduce((a, b) => a + b, 0));
const CHI2_MAX = 24.32; // chi^2_7 upper 1e-3 quantile
const ON_MODE_MIN = 0.98;

const means = torch.tensor(Array.from({ length: K }, (_, k) => [RADIUS * Math.cos((2 * Math.PI * k) / K), RADIUS * Math.sin((2 * Math.PI * k) / K)]), f64).keep();
const model = mixtureDenoiser({
  weights: torch.tensor(WEIGHTS, f64), means, covariances: torch.eye(2, undefined, f64).mul(STD * STD).expand([K, 2, 2]).contiguous(),
});
const cosine = alphaCosineSchedule();
const opts = (seed: number, o: Record<string, unknown> = {}) => ({ generator: new torch.Generator({ seed }), dtype: 'float64' as const, ...o });

interface ModeStats { onMode: number; chi2: number; counts: number[] }

function modeStats(x: Tensor): ModeStats {
  return torch.scope(() => {
    const dist = x.unsqueeze(1).sub(means.unsqueeze(0)).square().sum([2]).sqrt(); // [n, K]
    const [dmin, idx] = dist.min(1) as unknown as [Tensor, Tensor];
    const onMode = dmin.lt(3 * STD).double().mean().item();
    const counts = Array.from(torch.bincount(idx, null, K).toFloat64Array());
    const chi2 = counts.reduce((a, c, k) => a + (c - N * PI[k]!) ** 2 / (N * PI[k]!), 0);
    return { onMode, chi2, counts };
  });
}

function expectModes(t: { diagnostic: (m: string) => void }, name: string, run: () => SampleResult): ModeStats {
  const t0 = performance.now();
  const s = torch.scope(() => modeStats(run().x));
  const msg = `${name}: on-mode fraction ${s.onMode.toFixed(4)} (> ${ON_MODE_MIN}), chi2 ${s.chi2.toFixed(1)} (< ${CHI2_MAX}), ` +
    `counts ${s.counts.join('/')} vs expected ${PI.map((p) => Math.round(N * p)).join('/')}; ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  t.diagnostic(msg);
  assert.ok(s.onMode > ON_MODE_MIN && s.chi2 < CHI2_MAX, msg);
  return s;
}

describe('samplers on an 8-mode Gaussian mixture (exact mixture denoiser, n = 4000)', () => {
  test('the checks: exact draws pass; equal weights and doubled mode widths fail', (t) => torch.scope(() => {
    const g = new torch.Generator({ seed: 1 });
    const k = torch.multinomial(torch.tensor(PI, f64), N, true, { generator: g });
    const noise = torch.randn([N, 2], { ...f64, generator: g });
    const exact = modeStats(means.index([k]).add(noise.mul(STD)));
    t.diagnostic(`exact draws: on-mode ${exact.onMode.toFixed(4)}, chi2 ${exact.chi2.toFixed(1)}`);
    assert.ok(exact.onMode > ON_MODE_MIN && exact.chi2 < CHI2_MAX);
    const equal = modeStats(means.index([torch.randint(0, K, [N], { generator: g })]).add(noise.mul(STD)));
    assert.ok(equal.chi2 > CHI2_MAX, `equal weights: chi2 ${equal.chi2}`);
    const wide = modeStats(means.index([k]).add(noise.mul(2 * STD)));
    assert.ok(wide.onMode < ON_MODE_MIN, `doubled std: on-mode ${wide.onMode}`);
  }));

  test('ancestral, T = 100', (t) => { expectModes(t, 'ancestral', () => ancestralSample(model, cosine, [N, 2], opts(1, { steps: 100 }))); });
  test('DDIM eta = 0, T = 100', (t) => { expectModes(t, 'DDIM eta=0', () => ddimSample(model, cosine, [N, 2], opts(2, { steps: 100 }))); });
  test('DDIM eta = 0.5, T = 100', (t) => { expectModes(t, 'DDIM eta=0.5', () => ddimSample(model, cosine, [N, 2], opts(3, { steps: 100, eta: 0.5 }))); });
  test('reverse SDE (Euler-Maruyama), T = 200', (t) => { expectModes(t, 'reverse SDE', () => reverseSdeSample(model, cosine, [N, 2], opts(4, { steps: 200 }))); });
  test('probability-flow ODE (Heun), T = 50', (t) => { expectModes(t, 'PF-ODE Heun', () => probabilityFlowSample(model, cosine, [N, 2], opts(5, { steps: 50 }))); });
  test('annealed Langevin, sigma 5 -> 0.01, L = 30, 60 steps per level, epsilon = sigma_L^2', (t) => {
    expectModes(t, 'annealed Langevin', () => annealedLangevinSample(model, ncsnSchedule({ sigmaMax: 5, sigmaMin: 0.01 }), [N, 2],
      opts(6, { steps: 30, stepsPerLevel: 60, epsilon: 1e-4 })));
  });
  test('predictor-corrector, T = 100', (t) => { expectModes(t, 'predictor-corrector', () => predictorCorrectorSample(model, cosine, [N, 2], opts(7, { steps: 100 }))); });
  // at 20-30 steps the deterministic solvers put ~97.5% of samples within 3 std of a mode (exact draws: 98.9%)
  test('DPM-Solver++ 2M and 3M, T = 50 (Karras grid)', (t) => {
    expectModes(t, 'DPM-Solver++ 2M', () => dpmSolverSample(model, cosine, [N, 2], opts(9, { steps: 50 })));
    expectModes(t, 'DPM-Solver++ 3M', () => dpmSolverSample(model, cosine, [N, 2], opts(10, { steps: 50, order: 3 })));
  });
  test('SDE-DPM-Solver++ 2M, T = 50 (Karras grid)', (t) => {
    expectModes(t, 'SDE-DPM-Solver++ 2M', () => dpmSolverSample(model, cosine, [N, 2], opts(11, { steps: 50, eta: 1 })));
  });
  test('EDM with churn, T = 30 (Karras grid)', (t) => {
    expectModes(t, 'EDM churn', () => edmSample(model, cosine, [N, 2], opts(12, { steps: 30, churnMin: 0.05 })));
  });
  test('DDPM, linear betas T = 200 (beta T as for 1e-4..0.02 at T = 1000)', (t) => {
    const betas = torch.scope(() => Array.from(ddpmBetas({ T: 200, betaStart: 5e-4, betaEnd: 0.1 }).betas.toFloat64Array()));
    expectModes(t, 'DDPM', () => ddpmSample(model, cosine, [N, 2], opts(8, { betas })));
  });
});
