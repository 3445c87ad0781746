// The learned monotone input transform (src/models/transform.ts) and its use in training: range and monotonicity,
// the analytic log-derivative against finite differences in float64, the exact inverse (round trip, clamping counts),
// the penalty of UNet3D.encode, and the trainer's loss with the change-of-variables term.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import { MonotoneTransform } from '../src/models/transform.js';
import { UNet3D } from '../src/models/index.js';
import { lossPerExample, transformWeight } from '../src/train/objective.js';
import { parseTrainConfig } from '../src/train/config.js';
import { makeSchedule } from '../src/train/trainer.js';
import { asDenoiser } from '../src/models/denoiser.js';

torch.setNumThreads(2);

function transform(seed: number, domainMax = 30): MonotoneTransform {
  torch.manualSeed(seed);
  const t = new MonotoneTransform({ channel: 0, hidden: 16, domainMax, threshold: 0.01 });
  // move away from the initialisation so the test does not rely on its particular values
  torch.noGrad(() => { for (const p of t.parameters()) p.add_(torch.randn(p.shape).mul(0.5)); });
  return t;
}

test('monotone transform: y(0) = -1, y(u_max) = 1, strictly increasing, slope at least 0.1 before rescaling', () => {
  for (const seed of [0, 1, 2]) {
    const t = transform(seed);
    const u = torch.linspace(0, 30, 3001);
    const { y, logDerivative } = torch.noGrad(() => t.forwardWithLogDerivative(u));
    const v = y.toFloat32Array();
    assert.ok(Math.abs(v[0]! + 1) < 1e-6 && Math.abs(v[3000]! - 1) < 1e-6, `ends ${v[0]} ${v[3000]}`);
    for (let i = 1; i < v.length; i++) assert.ok(v[i]! > v[i - 1]!, `increasing at ${i}`);
    assert.ok(Number.isFinite(logDerivative.max().item()));
  }
});

test('monotone transform: log y\'(u) equals the finite-difference derivative of y in float64', () => {
  const t = transform(3).double();
  const u = torch.tensor([0, 0.003, 0.05, 0.4, 1, 2.5, 7, 18, 29.9], [9], { dtype: 'float64' });
  const h = 1e-6;
  const { logDerivative } = torch.noGrad(() => t.forwardWithLogDerivative(u));
  const yp = torch.noGrad(() => t.forward(u.add(h))), ym = torch.noGrad(() => t.forward(u.sub(h)));
  const fd = yp.sub(ym).div(2 * h).log().toFloat64Array();
  const an = logDerivative.toFloat64Array();
  for (let i = 0; i < fd.length; i++) assert.ok(Math.abs(fd[i]! - an[i]!) < 1e-6, `u index ${i}: analytic ${an[i]} vs finite difference ${fd[i]}`);
  // and autograd through the forward agrees with the analytic derivative
  const ug = u.clone().requiresGrad_(true);
  const [g] = torch.autograd.grad([t.forward(ug).sum()], [ug]);
  const ga = g!.log().toFloat64Array();
  for (let i = 0; i < ga.length; i++) assert.ok(Math.abs(ga[i]! - an[i]!) < 1e-9, `autograd ${ga[i]} vs analytic ${an[i]}`);
});

test('monotone transform: the inverse round-trips within 1e-4 of the field scale; outside [-1, 1] is clamped and counted', () => {
  const t = transform(4, 40);
  const u = torch.rand([20000]).pow(4).mul(40); // heavy-tailed, mostly small, like rain
  const y = torch.noGrad(() => t.forward(u));
  const counts = { below: 0, above: 0, total: 0 };
  const back = t.inverse(y, counts);
  const err = back.sub(u).abs().max().item();
  const scale = u.std().item();
  assert.ok(err < 1e-4 * scale, `round trip error ${err} (scale ${scale})`);
  assert.deepEqual(counts, { below: 0, above: 0, total: 20000 });
  const out = t.inverse(torch.tensor([-1.5, -1, 1, 1.2, 3], [5]), counts);
  assert.deepEqual(Array.from(out.toFloat32Array()).map((v) => Math.round(v * 1e4) / 1e4), [0, 0, 40, 40, 40]);
  assert.deepEqual(counts, { below: 1, above: 2, total: 20005 });
});

test('UNet3D.encode: the penalty is the mean over a learned channel of 1[u > threshold] log y\'(u), masked entries excluded', () => {
  torch.manualSeed(5);
  const model = new UNet3D({ inChannels: 2, channels: 8, channelMults: [1], attentionLevels: [], headChannels: 8, groups: 4,
    learnedTransforms: [{ channel: 1, domainMax: 20, threshold: 0.5 }] });
  const x = torch.rand([2, 2, 2, 4, 8]).mul(3);
  const { x: y, logDerivative } = torch.noGrad(() => model.encode(x));
  const u = x.select(1, 1);
  const { y: yt, logDerivative: ld } = torch.noGrad(() => model.transforms.get(0).forwardWithLogDerivative(u));
  assert.equal(y.select(1, 1).sub(yt).abs().max().item(), 0);
  assert.equal(y.select(1, 0).sub(x.select(1, 0)).abs().max().item(), 0);
  const uv = u.toFloat32Array(), lv = ld.toFloat32Array();
  for (let b = 0; b < 2; b++) {
    let s = 0;
    for (let i = 0; i < 64; i++) if (uv[b * 64 + i]! > 0.5) s += lv[b * 64 + i]!;
    assert.ok(Math.abs(logDerivative.toFloat32Array()[b]! - s / 64) < 1e-5, `example ${b}`);
  }
  // a mask removes entries from the indicator and zeroes them in y
  const observed = torch.ones([2, 2, 2, 4, 8], { dtype: 'bool' });
  const half = torch.cat([torch.ones([2, 2, 2, 4, 4], { dtype: 'bool' }), torch.zeros([2, 2, 2, 4, 4], { dtype: 'bool' })], 4);
  const full = torch.noGrad(() => model.encode(x, observed).logDerivative.toFloat32Array());
  const part = torch.noGrad(() => model.encode(x, half));
  assert.deepEqual(Array.from(full), Array.from(logDerivative.toFloat32Array()));
  assert.ok(Math.abs(part.logDerivative.toFloat32Array()[0]! - full[0]!) > 1e-4, 'masking changes the penalty');
  assert.equal(part.x.select(1, 1).narrow(3, 4, 4).abs().max().item(), 0);
});

test('training loss with a learned transform: v-loss of the transformed data minus lambda times the log-derivative; gradients reach the transform', () => {
  torch.manualSeed(6);
  const model = new UNet3D({ inChannels: 2, channels: 8, channelMults: [1], attentionLevels: [], headChannels: 8, groups: 4,
    learnedTransforms: [{ channel: 1, domainMax: 20, threshold: 0.1 }] });
  const cfg = parseTrainConfig({ steps: 1 });
  assert.equal(transformWeight(cfg, 2), 0.5);
  assert.equal(transformWeight(parseTrainConfig({ steps: 1, transformWeight: 2 }), 2), 2);
  const schedule = makeSchedule(cfg.diffusion);
  const den = asDenoiser(model);
  const x = torch.rand([2, 2, 2, 4, 8]).mul(2);
  const g1 = new torch.Generator({ seed: 9 }), g2 = new torch.Generator({ seed: 9 });
  const withPenalty = lossPerExample(cfg, den, x, schedule, undefined, undefined, g1, model);
  // the same noise on the encoded data without the model's encode: the difference is exactly -lambda * logDerivative
  const enc = model.encode(x);
  const plain = lossPerExample(cfg, den, enc.x.detach(), schedule, undefined, undefined, g2);
  const want = plain.sub(enc.logDerivative.mul(0.5));
  assert.ok(withPenalty.sub(want).abs().max().item() < 1e-5);
  withPenalty.sum().backward();
  for (const [name, p] of model.transforms.get(0).namedParameters()) {
    assert.ok(p.grad !== null && p.grad.abs().sum().item() > 0, `no gradient for transforms.0.${name}`);
  }
});
