// End to end on a toy: a small MLP trained with the seed's v-loss (001_5e42003193798b1e.txt eqs 2.71-2.72,
// t ~ U(0, 1)) on a 2D mixture of 8 Gaussians, then sampled with the ancestral sampler (eqs 2.56-2.62) and,
// conditionally, with reconstruction guidance through the network (sec. 2.7.8). This exercises autograd,
// nn, AdamW, the loss, the sampler and the guidance wrapper together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, ancestralSample, denoiser, mixtureDenoiser, reconstructionGuidance, replacementHook, vLoss, type Denoiser,
} from '../src/diffusion/index.js';

torch.setNumThreads(1);
const gen = new torch.Generator({ seed: 7 });
const schedule = alphaCosineSchedule();

// 8 Gaussians of std 0.15 on a circle of radius 1.5 (roughly unit variance overall), equal weights
const K = 8;
const RADIUS = 1.5;
const STD = 0.15;
const angles = torch.arange(0, K, 1, { dtype: 'float32' }).mul((2 * Math.PI) / K);
const centres = torch.stack([angles.cos(), angles.sin()], 1).mul(RADIUS).keep();
function data(n: number): Tensor {
  return torch.scope(() => {
    const k = torch.randint(0, K, [n], { generator: gen });
    return centres.indexSelect(0, k).add(torch.randn([n, 2], { generator: gen }).mul(STD));
  });
}

/** Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| with the unbiased (U-statistic) within-sample terms. */
function energyDistance(x: Tensor, y: Tensor): number {
  return torch.scope(() => {
    const n = x.shape[0]!;
    const m = y.shape[0]!;
    const xy = torch.cdist(x, y).mean().item();
    const xx = torch.cdist(x, x).sum().item() / (n * (n - 1));
    const yy = torch.cdist(y, y).sum().item() / (m * (m - 1));
    return 2 * xy - xx - yy;
  });
}

// [z (2), lambda / 10, sin/cos(lambda * 0.1 * 2^k), k = 0..3] -> 128 -> 128 -> 128 -> 2, SiLU; predicts v
const FREQS = [0.1, 0.2, 0.4, 0.8];
const HIDDEN = 128;
class ToyNet extends torch.nn.Module {
  l1 = new torch.nn.Linear(3 + 2 * FREQS.length, HIDDEN);
  l2 = new torch.nn.Linear(HIDDEN, HIDDEN);
  l3 = new torch.nn.Linear(HIDDEN, HIDDEN);
  l4 = new torch.nn.Linear(HIDDEN, 2);
  act = new torch.nn.SiLU();
  freqs = torch.tensor(FREQS).reshape([1, -1]).keep();
  constructor() {
    super();
    // PyTorch's default initialisation, drawn from the test's generator
    for (const l of [this.l1, this.l2, this.l3, this.l4]) {
      torch.nn.init.kaimingUniform_(l.weight, { a: Math.sqrt(5), generator: gen });
      const bound = 1 / Math.sqrt(l.inFeatures);
      torch.nn.init.uniform_(l.bias!, -bound, bound, { generator: gen });
    }
  }
  forward(z: Tensor, logsnr: Tensor): Tensor {
    const l = logsnr.reshape([-1, 1]).expand([z.shape[0]!, 1]).to(z.dtype);
    const phase = l.mul(this.freqs);
    const h = torch.cat([z, l.div(10), phase.sin(), phase.cos()], 1);
    let a = h;
    for (const l of [this.l1, this.l2, this.l3]) a = this.act.forward(l.forward(a));
    return this.l4.forward(a);
  }
}

const net = new ToyNet();
const model: Denoiser = denoiser('v', (z, logsnr) => net.forward(z, logsnr));
const sample = (m: Denoiser, options: { latentHook?: (z: Tensor, l: Tensor) => Tensor } = {}): Tensor =>
  ancestralSample(m, schedule, [1000, 2], { steps: 100, generator: gen, ...options }).x;

const BOUND = 0.015;
const reference = data(1000).keep();
const floor = energyDistance(data(1000), reference);
const untrained = energyDistance(sample(model), reference);
let trainedSamples: Tensor | undefined;

test('MLP + v-loss + AdamW + ancestral sampler: energy distance to the data below 0.015, the untrained model above', (t) => {
  const STEPS = 2500;
  const LR = 3e-3;
  const BATCH = 512;
  const opt = new torch.optim.AdamW(net.parameters(), { lr: LR, weightDecay: 1e-4 });
  const losses: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < STEPS; i++) {
    for (const g of opt.paramGroups) g.lr = LR * 0.5 * (1 + Math.cos((Math.PI * i) / STEPS)); // cosine decay to 0
    torch.scope(() => {
      opt.zeroGrad();
      const loss = vLoss(model, data(BATCH), schedule, { generator: gen }).loss.mean();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    });
  }
  const trainMs = Date.now() - t0;
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(losses.slice(0, 50));
  const last = mean(losses.slice(-200));
  trainedSamples = sample(model).keep();
  const trained = energyDistance(trainedSamples, reference);
  t.diagnostic(`energy distance: trained ${trained.toFixed(4)}, untrained ${untrained.toFixed(4)}, data vs data ${floor.toFixed(4)}; ` +
    `v-loss first 50 steps ${first.toFixed(3)}, last 200 ${last.toFixed(3)}; training ${trainMs} ms`);
  assert.ok(untrained > BOUND, `the untrained model must fail the bound (got ${untrained})`);
  assert.ok(trained < BOUND, `energy distance ${trained} >= ${BOUND}`);
  assert.ok(trained < untrained / 5);
  assert.ok(last < first, 'the v-loss must go down');
});

test('trained MLP: samples land on the 8 modes with equal weights', (t) => {
  assert.ok(trainedSamples, 'needs the trained model of the previous test');
  torch.scope(() => {
    const d = torch.cdist(trainedSamples!, centres); // [1000, 8]
    const [dmin, k] = d.min(1) as unknown as [Tensor, Tensor];
    const near = dmin.lt(3 * STD).to('float32').mean().item(); // 98.9% of the data lies within 3 std
    const counts = Array.from(torch.bincount(k, null, K).toTypedArray() as BigInt64Array, Number);
    const weights = counts.map((c) => c / 1000);
    t.diagnostic(`within 3 std of a centre: ${(100 * near).toFixed(1)}%; mode weights ${weights.map((w) => w.toFixed(3)).join(' ')}`);
    assert.ok(near > 0.75, `only ${near} of the samples near a mode`);
    for (const w of weights) assert.ok(Math.abs(w - 1 / K) < 0.05, `mode weight ${w}`);
  });
});

test('trained MLP + reconstruction guidance: x_2 | x_1 = 1.5 concentrates on the mode at (1.5, 0), as with the exact denoiser', (t) => {
  assert.ok(trainedSamples, 'needs the trained model of the previous test');
  torch.scope(() => {
    const observed = torch.tensor([[RADIUS, 0]]);
    const mask = torch.tensor([true, false]);
    // The mixture posterior of x_2 given x_1 = 1.5 is 97% the mode at (1.5, 0), i.e. ~N(0, 0.15^2). Data this
    // multimodal needs a larger w_r than the Gaussian tests: with the exact mixture denoiser, w_r = 2 leaves
    // x_2 std ~0.6 (~70% within 3 std of 0), w_r = 8 gives ~0.2 (~98%).
    const W = 8;
    const hook = (): ((z: Tensor, l: Tensor) => Tensor) => replacementHook({ observed, mask, generator: gen });
    const exact = mixtureDenoiser({
      weights: torch.ones([K]), means: centres, covariances: torch.eye(2).mul(STD * STD).expand([K, 2, 2]).contiguous(),
    });
    const guided = sample(reconstructionGuidance(model, { observed, mask, weight: W }), { latentHook: hook() });
    const replaced = sample(model, { latentHook: hook() });
    const exactGuided = sample(reconstructionGuidance(exact, { observed, mask, weight: W }), { latentHook: hook() });
    const x2 = (x: Tensor): { mean: number; std: number; near: number } => ({
      mean: x.select(1, 1).mean().item(),
      std: x.select(1, 1).std().item(),
      near: x.select(1, 1).abs().lt(3 * STD).to('float32').mean().item(),
    });
    const show = (name: string, v: { mean: number; std: number; near: number }): string =>
      `${name}: mean ${v.mean.toFixed(3)} std ${v.std.toFixed(3)} (${(100 * v.near).toFixed(1)}% within 3 std of 0)`;
    const g = x2(guided);
    const r = x2(replaced);
    const e = x2(exactGuided);
    t.diagnostic(['x_2 | x_1 = 1.5', show('unconditional', x2(trainedSamples!)), show('replacement', r),
      show(`MLP + guidance w_r=${W}`, g), show(`exact mixture denoiser + guidance w_r=${W}`, e)].join('; '));
    assert.ok(Math.abs(g.mean) < 0.1 && g.std < 0.35 && g.near > 0.85, `guided x_2: ${JSON.stringify(g)}`);
    assert.ok(g.near > r.near + 0.3, 'guidance must clearly beat replacement');
    assert.ok(Math.abs(g.near - e.near) < 0.1, 'the trained model under guidance behaves like the exact denoiser under guidance');
  });
});
