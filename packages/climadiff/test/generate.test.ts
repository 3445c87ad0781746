// tasks/generate: dates to date features and months, known physical values to the model's space and back, the
// guidance methods, network-evaluation counts, and the bad-input paths; on a small untrained U-Net (the mathematics
// of the guidance itself is proven on exact Gaussian denoisers in guidance.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import { tinyModel } from './tasks-fixture.js';
import { generate, physicalMap } from '../src/tasks/generate.js';
import { sampleFrameTimes } from '../src/tasks/dates.js';

torch.setNumThreads(1);
const C = 2, F = 4, H = 8, W = 8, HW = H * W;

const times = (n: number, start = 31): Float64Array => Float64Array.from({ length: n * F }, (_, k) => start + Math.floor(k / F) * 30 + (k % F) * 0.25);

test('unconditional: shapes, physical units, counted evaluations, seeds reproduce, dates required', () => {
  const m = tinyModel();
  const a = generate(m, { n: 2, times: times(2), steps: 3, seed: 1 });
  assert.deepEqual(a.shape, [2, C, F, H, W]);
  assert.deepEqual(a.nfe, { forward: 3, backward: 0 });
  assert.ok(a.data.every(Number.isFinite));
  // tas lies around its climatology (250 K + ...), pr is non-negative (the square of the root)
  const tas = a.data.subarray(0, F * HW);
  assert.ok(Math.abs(tas.reduce((s, v) => s + v, 0) / tas.length - 255) < 15);
  for (let i = 0; i < 2; i++) assert.ok(a.data.subarray((i * C + 1) * F * HW, (i * C + 2) * F * HW).every((v) => v >= 0));
  const b = generate(m, { n: 2, times: times(2), steps: 3, seed: 1 });
  assert.deepEqual(b.data, a.data);
  const c = generate(m, { n: 2, times: times(2), steps: 3, seed: 2 });
  assert.notDeepEqual(c.data, a.data);
  assert.throws(() => generate(m, { n: 2, steps: 3 }), /needs the date of every sample/);
  assert.throws(() => generate(m, { n: 2, times: times(1), steps: 3 }), /4 frame times for 2 samples of 4 frames/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 3, sampler: 'euler' as never }), /unknown sampler 'euler' \(valid: ancestral, ddim/);
  // per-sample seeds: sample i depends on (seed, i) only, not on n (the first two of four are the two of two)
  const four = generate(m, { n: 4, times: times(4), steps: 3, seed: 1 });
  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((d, v, i) => Math.max(d, Math.abs(v - y[i]!)), 0);
  assert.ok(maxDiff(four.data.subarray(0, a.data.length), a.data) < 1e-3, `first two samples of four vs two: ${maxDiff(four.data.subarray(0, a.data.length), a.data)}`);
  // a fast sampler with its grid and churn settings; settings that do not apply are refused
  const fast = generate(m, { n: 2, times: times(2), steps: 4, seed: 1, sampler: 'edm', sampling: { grid: 'logsnr', churn: 1, churnNoise: 1 } });
  assert.deepEqual(fast.nfe, { forward: 7, backward: 0 }, 'Heun: two evaluations per step, one for the last');
  assert.deepEqual(generate(m, { n: 1, times: times(1), steps: 4, seed: 1, sampler: 'dpm++2m', sampling: { grid: 'karras', rho: 3 } }).nfe, { forward: 4, backward: 0 });
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 3, sampler: 'dpm++2m', sampling: { churn: 1 } }), /churn settings apply to the edm sampler only/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 3, sampler: 'ddim', sampling: { rho: 3 } }), /rho applies to the karras grid only/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 3, sampler: 'ddim', sampling: { grid: 'cubic' as never } }), /unknown grid 'cubic'/);
  const drawn = sampleFrameTimes(m.runData, 3, F, 0);
  assert.ok(drawn && drawn.length === 3 * F && [0, 40, 200].includes(drawn[0]!) && drawn[1]! - drawn[0]! === 0.25);
});

test('known values: replacement returns them exactly in physical units; reconstruction adds one backward per evaluation', () => {
  for (const learned of [false, true]) {
    const m = tinyModel(learned);
    const n = 2, size = C * F * HW;
    const values = new Float32Array(n * size).fill(NaN);
    const known = new Uint8Array(n * size);
    // the first two frames of both channels known (a forecast's conditioning), physical values
    for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) for (let f = 0; f < 2; f++) for (let j = 0; j < HW; j++) {
      const k = ((i * C + c) * F + f) * HW + j;
      known[k] = 1;
      values[k] = c === 0 ? 252 + Math.sin(j) : 0.5 + 0.4 * Math.cos(j + i);
    }
    for (const method of ['replacement', 'reconstruction+replacement'] as const) {
      const r = generate(m, { n, times: times(n), steps: 4, seed: 3, observation: { kind: 'values', values, known }, guidance: { method, weight: 2 } });
      let err = 0;
      for (let k = 0; k < known.length; k++) if (known[k]) err = Math.max(err, Math.abs(r.data[k]! - values[k]!) / (k % size < F * HW ? 3 : 0.5));
      assert.ok(err < 2e-4, `${learned ? 'learned' : 'sqrt'} ${method}: known values come back (max error ${err} std)`);
      assert.deepEqual(r.nfe, method === 'replacement' ? { forward: 4, backward: 0 } : { forward: 4, backward: 4 });
    }
    // weight 0: exactly the unguided evaluations, with no backward pass
    assert.deepEqual(generate(m, { n, times: times(n), steps: 4, seed: 3, observation: { kind: 'values', values, known }, guidance: { method: 'reconstruction', weight: 0 } }).nfe, { forward: 4, backward: 0 });
    const g = generate(m, { n, times: times(n), steps: 4, seed: 3, observation: { kind: 'values', values, known }, guidance: { method: 'reconstruction', weight: 2 } });
    const u = generate(m, { n, times: times(n), steps: 4, seed: 3 });
    assert.notDeepEqual(g.data, u.data, 'reconstruction guidance changes the samples');
  }
});

test('known values: bad masks and observation-error variances are refused with clear errors', () => {
  const m = tinyModel();
  const size = C * F * HW;
  const v = new Float32Array(size).fill(1);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v, known: new Uint8Array(size) } }), /marks nothing as known/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v, known: new Uint8Array(size).fill(1) } }), /marks everything as known/);
  assert.throws(() => generate(m, { n: 2, times: times(2), steps: 2, observation: { kind: 'values', values: v, known: new Uint8Array(size) } }), /must have 1024 entries/);
  const known = new Uint8Array(size); known[0] = 1;
  const bad = v.slice(); bad[0] = NaN;
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: bad, known } }), /known value 0 is not finite/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v, known, errorVariance: [0, 0.1] } }), /pr needs a channel without a value transform/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v, known, errorVariance: [0.1] } }), /per channel is needed \(2\), got 1/);
  assert.throws(() => generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v, known }, guidance: { method: 'magic' as never, weight: 1 } }), /unknown guidance 'magic'/);
  // a valid error variance on tas runs
  const r = generate(m, { n: 1, times: times(1), steps: 2, observation: { kind: 'values', values: v.fill(255), known, errorVariance: [0.5, 0] }, guidance: { method: 'reconstruction', weight: 1 } });
  assert.ok(r.data.every(Number.isFinite));
});

test('physicalMap is the exact inverse normalisation, differentiable through the square root and the learned transform', () => {
  for (const learned of [false, true]) {
    const m = tinyModel(learned);
    const months = (): number[] => [1, 1, 2, 2];
    torch.scope(() => {
      const map = physicalMap(m, 1, { channels: C, frames: F, height: H, width: W }, months, 'cpu');
      const y = torch.rand([1, C, F, H, W], { dtype: 'float32' }).mul(1.6).sub(0.8).requiresGrad_(true);
      const x = map(y);
      // tas: y * 3 + climatology of the month
      const tas = x.select(1, 0).select(1, 2).flatten().toFloat32Array();
      const y0 = y.detach().select(1, 0).select(1, 2).flatten().toFloat32Array();
      const clim = m.stats.channels[0]!.climatology!;
      for (let j = 0; j < HW; j++) assert.ok(Math.abs(tas[j]! - (y0[j]! * 3 + clim[2 * HW + j]!)) < 1e-4);
      // pr: the same as the decode + denormalise path, and gradients exist and are finite
      const pr = x.select(1, 1).flatten().toFloat32Array();
      const ypr = y.detach().select(1, 1);
      const ref = (learned ? m.model.decode(y.detach()).select(1, 1).mul(0.5) : ypr.mul(0.4).add(0.3).relu().square()).flatten().toFloat32Array();
      for (let j = 0; j < pr.length; j++) assert.ok(Math.abs(pr[j]! - ref[j]!) < 1e-4, `${learned}: pr ${pr[j]} vs ${ref[j]}`);
      const [g] = torch.autograd.grad([x.select(1, 1).sum()], [y]);
      const ga = g!.select(1, 1).flatten().toFloat32Array();
      assert.ok(ga.every(Number.isFinite) && ga.some((v) => v > 0));
      if (learned) {
        // du/dy = 1 / y'(u): check one element against a central difference of the exact inverse
        const k = 5, h = 1e-3;
        const at = (d: number) => { const yy = y.detach().clone(); yy.select(1, 1).flatten().narrow(0, k, 1).add_(d); return m.model.decode(yy).select(1, 1).flatten().toFloat32Array()[k]! * 0.5; };
        const fd = (at(h) - at(-h)) / (2 * h);
        assert.ok(Math.abs(fd - ga[k]!) < 2e-2 * Math.abs(fd) + 1e-4, `learned: gradient ${ga[k]} vs finite difference ${fd}`);
      }
    });
  }
});

test('linear observations (block means of the physical field): guidance lowers the mismatch; replacement is refused', () => {
  const m = tinyModel();
  const n = 2, K = 4;
  const A = (x: torch.Tensor): torch.Tensor => torch.nn.functional.avgPool3d(x, [1, K, K]);
  const truth = generate(m, { n, times: times(n), steps: 4, seed: 9 });
  const y = torch.scope(() => A(torch.tensor(truth.data, truth.shape)).keep());
  const yData = y.toFloat32Array(), yShape = y.shape;
  const mismatch = (d: Float32Array): number => torch.scope(() => A(torch.tensor(d, truth.shape)).sub(y).select(1, 0).abs().mean().item());
  const plain = generate(m, { n, times: times(n), steps: 8, seed: 1 });
  // residuals in units of each channel's std (tas 3 K; pr ~ 2 std sqrt(x) at x ~ 0.5): w A A^T ~ 1/2 at high SNR
  const scale = [3, 0.6];
  const guided = generate(m, { n, times: times(n), steps: 8, seed: 1, observation: { kind: 'linear', y: yData, yShape, operator: A, scale }, guidance: { method: 'reconstruction', weight: K * K / 2 } });
  assert.equal(guided.nfe.backward, 8);
  assert.ok(mismatch(guided.data) < 0.5 * mismatch(plain.data), `block-mean mismatch ${mismatch(guided.data)} vs unguided ${mismatch(plain.data)}`);
  assert.throws(() => generate(m, { n, times: times(n), steps: 2, observation: { kind: 'linear', y: yData, yShape, operator: A, scale }, guidance: { method: 'replacement', weight: 1 } }), /take reconstruction guidance only/);
  assert.throws(() => generate(m, { n, times: times(n), steps: 2, observation: { kind: 'linear', y: yData, yShape, operator: A, scale: [1] }, guidance: { method: 'reconstruction', weight: 1 } }), /one scale per channel/);
  // one scale per element of y: the per-channel scales spread over every element give the same samples
  const per = yData.length / (yShape[0]! * yShape[1]!);
  const field = Float32Array.from(yData, (_, i) => scale[Math.floor(i / per) % yShape[1]!]!);
  const perElement = generate(m, { n, times: times(n), steps: 8, seed: 1, observation: { kind: 'linear', y: yData, yShape, operator: A, scale: field }, guidance: { method: 'reconstruction', weight: K * K / 2 } });
  for (let i = 0; i < guided.data.length; i++) assert.ok(Math.abs(perElement.data[i]! - guided.data[i]!) <= 1e-4 * (1 + Math.abs(guided.data[i]!)), `element ${i}`);
  assert.throws(() => generate(m, { n, times: times(n), steps: 2, observation: { kind: 'linear', y: yData, yShape, operator: A, scale: field.subarray(1) }, guidance: { method: 'reconstruction', weight: 1 } }), /per element of y/);
  assert.throws(() => generate(m, { n, times: times(n), steps: 2, observation: { kind: 'linear', y: yData, yShape, operator: A, scale: Float32Array.from(field, (v, i) => (i === 3 ? 0 : v)) }, guidance: { method: 'reconstruction', weight: 1 } }), /finite and > 0/);
  y.dispose();
});
