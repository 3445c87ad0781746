// Representation models (002_b831863fd030c65c.txt): the analytic KL to N(0, I) against hand values and its gradient,
// finite-difference gradient checks of the encoder in float64, the joint loss of sec. 4 against its terms computed
// separately, and training: the encoder learns (KL > 0), the ELBO with w includes the KL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { UNet3D, asDenoiser } from '../src/models/index.js';
import { LatentEncoder, gaussianKl, sampleLatent } from '../src/models/encoder.js';
import { lossPerExample, makeSchedule, representationTerm } from '../src/train/objective.js';
import { parseTrainConfig, train } from '../src/train/index.js';
import { weightedLoss, vLoss } from '../src/diffusion/index.js';
import { SyntheticClips } from './train-fixture.js';

torch.setNumThreads(1);
const gen = new torch.Generator({ seed: 5 });

test('KL(N(mu, sigma^2) || N(0, I)): hand-computed values and the analytic gradient', () => {
  const mean = torch.tensor([1, 0, 0, -2], [2, 2], { dtype: 'float64', requiresGrad: true });
  const logvar = torch.tensor([0, Math.log(2), 0, Math.log(0.5)], [2, 2], { dtype: 'float64', requiresGrad: true });
  const kl = gaussianKl({ mean, logvar });
  // example 0: 1/2 [(1 + 1 - 1 - 0) + (0 + 2 - 1 - log 2)]; example 1: 1/2 [0 + (4 + 0.5 - 1 - log 0.5)]
  const want = [0.5 * (1 + 1 - Math.log(2)), 0.5 * (3.5 + Math.log(2))];
  const got = [...kl.toFloat64Array()];
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12, `example ${i}: ${got[i]} vs ${want[i]}`);
  kl.sum().backward();
  // dKL/dmu = mu, dKL/dlogvar = (exp(logvar) - 1) / 2
  assert.deepEqual([...mean.grad!.toFloat64Array()], [1, 0, 0, -2]);
  const g = [...logvar.grad!.toFloat64Array()], wantG = [0, 0.5, 0, -0.25];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(g[i]! - wantG[i]!) < 1e-12);
  // the prior itself has KL 0; w = mu + sigma eps
  assert.equal(gaussianKl({ mean: torch.zeros([3, 4]), logvar: torch.zeros([3, 4]) }).abs().max().item(), 0);
  const eps = torch.tensor([1, -1, 2, 0.5], [2, 2], { dtype: 'float64' });
  const w = sampleLatent({ mean: mean.detach(), logvar: logvar.detach() }, { eps });
  const wantW = [1 + 1, 0 - Math.SQRT2, 0 + 2, -2 + 0.5 * Math.SQRT1_2];
  [...w.toFloat64Array()].forEach((v, i) => assert.ok(Math.abs(v - wantW[i]!) < 1e-12));
});

/** Central differences of f with respect to a few entries of t against autograd, in float64. */
function checkGradient(f: () => Tensor, t: Tensor, picks: number[], what: string): void {
  const analytic = torch.scope(() => {
    t.grad?.zero_();
    f().backward();
    return [...t.grad!.reshape([-1]).toFloat64Array()];
  });
  const flat = t.detach().reshape([-1]);
  const h = 1e-6;
  for (const i of picks) {
    const at = (v: number): number => torch.noGrad(() => {
      const old = flat.select(0, i).item();
      flat.select(0, i).fill_(v);
      const r = f().item();
      flat.select(0, i).fill_(old);
      return r;
    });
    const v0 = flat.select(0, i).item();
    const fd = (at(v0 + h) - at(v0 - h)) / (2 * h);
    const tol = 1e-6 * Math.max(1, Math.abs(fd));
    assert.ok(Math.abs(fd - analytic[i]!) < tol, `${what}[${i}]: autograd ${analytic[i]} vs finite difference ${fd}`);
  }
}

test('encoder and KL: autograd equals finite differences in float64 (clip and frame encoders, inputs and weights)', () => {
  for (const kind of ['clip', 'frame'] as const) {
    torch.manualSeed(3);
    const enc = new LatentEncoder({ dim: 3, encoder: kind, channels: 4, levels: 2 }, 3, 2, { lon: 'periodic', lat: 'zeros' }).double();
    torch.noGrad(() => { for (const p of enc.parameters()) p.add_(torch.randn(p.shape, { dtype: 'float64', generator: gen }).mul(0.2)); });
    const x = torch.randn([2, 2, 3, 8, 8], { dtype: 'float64', generator: gen, requiresGrad: true });
    const cond = torch.randn([2, 1, 8, 8], { dtype: 'float64', generator: gen });
    const a = torch.randn([2, 3], { dtype: 'float64', generator: gen }), b = torch.randn([2, 3], { dtype: 'float64', generator: gen });
    const f = (): Tensor => {
      const q = enc.forward(x, cond);
      return q.mean.mul(a).sum().add(q.logvar.mul(b).sum()).add(gaussianKl(q).sum());
    };
    checkGradient(f, x, [0, 77, 200, 383], `${kind} encoder d/dx`);
    const params = Object.fromEntries(enc.namedParameters());
    checkGradient(f, params['stem.weight']!, [0, 11], `${kind} stem.weight`);
    checkGradient(f, params['levels.1.down.weight']!, [5], `${kind} levels.1.down.weight`);
    checkGradient(f, params['head.weight']!, [0, 7], `${kind} head.weight`);
    if (kind === 'clip') checkGradient(f, params['levels.0.time.weight']!, [2], 'clip levels.0.time.weight');
  }
});

const SMALL = { inChannels: 2, channels: 8, channelMults: [1, 2], attentionLevels: [1], condChannels: 1, headChannels: 8, groups: 4 };

function representationModel(seed = 1, dim = 4): UNet3D {
  torch.manualSeed(seed);
  return new UNet3D({ ...SMALL, representation: { dim, channels: 4, levels: 2 } });
}

test('an untrained encoder is the prior (KL 0); the joint loss is the diffusion term given w ~ q(w|x) plus beta KL per element', () => {
  const model = representationModel();
  const x = torch.randn([3, 2, 4, 8, 16], { generator: gen });
  const cond = torch.randn([3, 1, 8, 16], { generator: gen });
  const q0 = torch.noGrad(() => model.posterior(x, cond));
  assert.equal(gaussianKl(q0).abs().max().item(), 0, 'the zero-initialised head gives q(w|x) = N(0, I)');
  torch.noGrad(() => { for (const p of model.parameters()) p.add_(torch.randn(p.shape, { generator: gen }).mul(0.05)); });
  const schedule = makeSchedule(parseTrainConfig({ steps: 1 }).diffusion);
  const den = asDenoiser(model);
  const D = 2 * 4 * 8 * 16;
  for (const [loss, beta] of [['weighted:elbo', 1], ['v', 0.25]] as const) {
    const cfg = parseTrainConfig({ steps: 1, loss, klWeight: beta });
    const got = torch.noGrad(() => lossPerExample(cfg, den, x, schedule, undefined, cond, new torch.Generator({ seed: 9 }), model));
    // the same draws by hand: eps_w first, then the diffusion loss's own noise
    const want = torch.noGrad(() => {
      const g = new torch.Generator({ seed: 9 });
      const q = model.posterior(x, cond);
      const w = sampleLatent(q, { eps: torch.randn([3, 4], { generator: g }) });
      const context = { cond, latent: w };
      const diffusion = loss === 'v' ? vLoss(den, x, schedule, { generator: g, context }).loss
        : weightedLoss(den, x, schedule, { weighting: 'elbo', generator: g, context }).loss;
      return diffusion.add(gaussianKl(q).mul(beta / D));
    });
    assert.ok(got.sub(want).abs().max().item() < 1e-6 * want.abs().max().item(), `${loss}: ${got.toFloat32Array()} vs ${want.toFloat32Array()}`);
    // with beta = 1 the KL term is the bound's KL in nats per element
    if (beta === 1) {
      const r = torch.noGrad(() => representationTerm(cfg, model, x, undefined, cond, new torch.Generator({ seed: 9 })));
      assert.ok(r.kl.mul(D).sub(torch.noGrad(() => gaussianKl(model.posterior(x, cond)))).abs().max().item() < 1e-6);
    }
  }
  // a mask: the KL is divided by each example's observed element count
  const observed = torch.ones([3, 2, 4, 8, 16], { dtype: 'bool' });
  torch.noGrad(() => observed.select(0, 1).narrow(2, 0, 4).fill_(0));
  const r = torch.noGrad(() => representationTerm(parseTrainConfig({ steps: 1 }), model, x, observed, cond, new torch.Generator({ seed: 2 })));
  const kl = torch.noGrad(() => gaussianKl(model.posterior(x, cond)));
  const counts = [D, D / 2, D];
  [...r.kl.toFloat64Array()].forEach((v, i) => assert.ok(Math.abs(v * counts[i]! - kl.select(0, i).item()) < 1e-5 * Math.max(1, kl.select(0, i).item())));
});

test('training a representation model: the encoder learns (KL > 0, gradients reach it); validation bits/dim include the KL', async () => {
  const data = new SyntheticClips(12, [2, 4, 8, 16], { seed: 4, withStatics: true });
  const model = representationModel(2, 3);
  const r = await train({
    model, data, validation: new SyntheticClips(4, [2, 4, 8, 16], { seed: 6, withStatics: true }),
    config: { seed: 1, steps: 12, batchSize: 4, optimizer: { lr: 3e-3 }, lrSchedule: { kind: 'constant' }, emaDecay: 0, validateEvery: 12, checkpointEvery: 0, logEvery: 6,
      loss: 'weighted:elbo', validation: { maxBatches: 1, elboSteps: 4, elboSamples: 1 } },
  });
  assert.ok(r.lastValidation && Number.isFinite(r.lastValidation.bpd!), `bpd ${r.lastValidation?.bpd}`);
  assert.ok(model.encoder!.head.weight.abs().max().item() > 0, 'the encoder head moved from zero');
  const b = data.x.narrow(0, 0, 4);
  const kl = torch.noGrad(() => gaussianKl(model.posterior(b, data.statics!.narrow(0, 0, 4))));
  assert.ok(kl.min().item() > 0, `KL ${kl.toFloat32Array()}`);
});
