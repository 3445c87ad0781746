// Device handling of the diffusion core and the U-Net. On CPU: the draw helpers give exactly the numbers of the
// plain torch draws (so nothing moved to them changed a CPU result) and honour dtype and device. With CUDA: a
// loss and a few sampler steps run with model and data on the GPU, and a CPU generator reproduces CPU noise there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import {
  alphaCosineSchedule, diffuse, vLoss, weightedLoss, vdmDiffusionLoss, ddimSample, ancestralSample, uniformStep,
  onDevice, randnOn, randOn, randintOn,
} from '../src/diffusion/index.js';
import { UNet3D } from '../src/models/unet3d.js';
import { asDenoiser } from '../src/models/denoiser.js';
import { Attention, sinusoidalEmbedding } from '../src/models/layers.js';

torch.setNumThreads(1);

const gen = (seed: number) => new torch.Generator({ seed });
const values = (t: Tensor): number[] => Array.from(t.toFloat64Array());

test('randnOn, randOn and randintOn give the plain draws of the same seed, draw after draw', () => {
  torch.scope(() => {
    const shape = [3, 4, 5];
    const [g1, g2] = [gen(7), gen(7)];
    for (let k = 0; k < 2; k++) {
      assert.deepEqual(values(randnOn(shape, { generator: g1 })), values(torch.randn(shape, { generator: g2 })), `randn draw ${k}`);
      assert.deepEqual(values(randOn(shape, { generator: g1 })), values(torch.rand(shape, { generator: g2 })), `rand draw ${k}`);
      assert.deepEqual(values(randintOn(1, 11, shape, { generator: g1 })), values(torch.randint(1, 11, shape, { generator: g2 })), `randint draw ${k}`);
    }
    // the global generator when none is given
    torch.manualSeed(3);
    const a = values(randnOn(shape));
    torch.manualSeed(3);
    assert.deepEqual(a, values(torch.randn(shape)));
  });
});

test('the draw helpers honour dtype and device', () => {
  torch.scope(() => {
    for (const dtype of ['float32', 'float64'] as const) {
      const n = randnOn([2, 3], { dtype, device: 'cpu', generator: gen(1) });
      assert.equal(n.dtype, dtype);
      assert.equal(n.device, 'cpu');
      assert.deepEqual(values(n), values(torch.randn([2, 3], { dtype, generator: gen(1) })));
      const u = randOn([4], { dtype, device: 'cpu', generator: gen(2) });
      assert.equal(u.dtype, dtype);
      assert.equal(u.device, 'cpu');
      assert.deepEqual(values(u), values(torch.rand([4], { dtype, generator: gen(2) })));
    }
    const i = randintOn(0, 5, [6], { device: 'cpu', generator: gen(3) });
    assert.equal(i.dtype, 'int64');
    assert.equal(i.device, 'cpu');
    assert.equal(randintOn(0, 5, [6], { dtype: 'int32', generator: gen(3) }).dtype, 'int32');
    assert.equal(randnOn([2]).device, 'cpu');
    const x = torch.zeros([2]);
    assert.equal(onDevice(x, 'cpu'), x, 'onDevice keeps a tensor that is already there');
  });
});

test('losses and the forward process draw the same noise as before on CPU', () => {
  torch.scope(() => {
    const x = torch.randn([3, 2, 4], { dtype: 'float64', generator: gen(0) });
    const logsnr = torch.tensor([-2, 0, 3], { dtype: 'float64' });
    assert.deepEqual(values(diffuse(x, logsnr, { generator: gen(5) }).eps), values(torch.randn(x.shape, { dtype: 'float64', generator: gen(5) })));
    // vLoss: t ~ U(0, 1) per example, then eps, from one generator
    const model = Object.assign((z: Tensor) => z.mul(0.5), { parameterisation: 'v' as const });
    const schedule = alphaCosineSchedule();
    const ref = gen(9);
    const t = torch.rand([3], { dtype: 'float64', generator: ref });
    const eps = torch.randn(x.shape, { dtype: 'float64', generator: ref });
    const a = vLoss(model, x, schedule, { generator: gen(9) });
    const b = vLoss(model, x, schedule, { t, eps });
    assert.deepEqual(values(a.t), values(t));
    assert.deepEqual(values(a.loss), values(b.loss));
    assert.deepEqual(values(uniformStep(10, 5, gen(4))), values(torch.randint(1, 11, [5], { generator: gen(4) })));
  });
});

test('the U-Net embedding and relative position bias follow their inputs (cpu)', () => {
  torch.scope(() => {
    const e = sinusoidalEmbedding(torch.tensor([-1, 2]), 16);
    assert.deepEqual(e.shape, [2, 16]);
    assert.equal(e.device, 'cpu');
    const att = new Attention('temporal', 16, 8, 8, 2);
    torch.noGrad(() => att.relpos!.copy_(torch.tensor([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])));
    const bias = att.relativeBias(4);
    assert.equal(bias.device, 'cpu');
    // relpos[h, clamp(j - i, -2, 2) + 2]
    assert.deepEqual(values(bias.select(0, 0)), [2, 3, 4, 4, 1, 2, 3, 4, 0, 1, 2, 3, 0, 0, 1, 2]);
  });
});

const cudaSkip = torch.cuda.isAvailable() ? false : 'CUDA is not available on this machine';

test('with CUDA: losses and sampler steps run with model and data on the GPU', { skip: cudaSkip }, () => {
  const device = 'cuda';
  torch.scope(() => {
    // a CPU generator gives the same noise on the GPU as on the CPU
    const onGpu = randnOn([2, 5], { device, generator: gen(11) });
    assert.ok(onGpu.device.startsWith('cuda'));
    assert.deepEqual(values(onGpu.cpu()), values(torch.randn([2, 5], { generator: gen(11) })));
    // a CUDA generator draws there directly
    const cudaGen = new torch.Generator({ seed: 11, device });
    const direct = randnOn([2, 5], { device, generator: cudaGen });
    assert.ok(direct.device.startsWith('cuda'));
    assert.deepEqual(values(direct.cpu()), values(torch.randn([2, 5], { device, generator: new torch.Generator({ seed: 11, device }) }).cpu()));
    assert.ok(randintOn(1, 5, [3], { device, generator: gen(1) }).device.startsWith('cuda'));

    const model = new UNet3D({
      inChannels: 1, channels: 16, channelMults: [1, 2], attentionLevels: [1], headChannels: 8, groups: 8,
      boundary: { lon: 'periodic', lat: 'zeros' },
    }).to({ device });
    const den = asDenoiser(model);
    const schedule = alphaCosineSchedule();
    const x = torch.randn([2, 1, 4, 8, 16], { generator: gen(0) }).to({ device });
    for (const generator of [gen(1), cudaGen]) {
      const { loss } = vLoss(den, x, schedule, { generator });
      assert.ok(loss.device.startsWith('cuda'));
      loss.mean().backward();
      assert.ok(Number.isFinite(loss.mean().item()));
    }
    const w = weightedLoss(den, x, schedule, { weighting: 'v-mse', generator: gen(2) });
    assert.ok(w.loss.device.startsWith('cuda') && Number.isFinite(w.loss.mean().item()));
    const vdm = torch.noGrad(() => vdmDiffusionLoss(den, x, schedule, { steps: 10, generator: gen(3) }));
    assert.ok(vdm.loss.device.startsWith('cuda') && Number.isFinite(vdm.loss.mean().item()));
    model.eval();
    const init = [1, 1, 4, 8, 16];
    for (const sample of [ddimSample, ancestralSample]) {
      const r = torch.noGrad(() => sample(den, schedule, init, { steps: 3, device, generator: gen(4) }));
      assert.ok(r.x.device.startsWith('cuda'));
      assert.ok(values(r.x.cpu()).every(Number.isFinite));
    }
    // a CPU logSNR tensor is accepted by a GPU model
    const y = torch.noGrad(() => model.forward(x, torch.tensor([0.5, -1])));
    assert.ok(y.device.startsWith('cuda'));
  });
});
