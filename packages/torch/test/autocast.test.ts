// torch.autocast: libtorch's own autocast state, switched on and off around a synchronous function. Values and
// dtypes of each operator under autocast are checked against PyTorch in parity.test.ts; here: the region's
// semantics (defaults, nesting, enabled: false, restoration after errors, no async), and that training under
// autocast keeps float32 master weights and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

const lin = (): [torch.Tensor, torch.Tensor] => [torch.randn([4, 8]), torch.randn([3, 8])];

test('autocast casts matrix products to the region\'s dtype and restores the state on exit', () => {
  const [x, w] = lin();
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.equal(torch.linear(x, w).dtype, 'float32');
  const y = torch.autocast({ deviceType: 'cpu' }, () => {
    assert.equal(torch.isAutocastEnabled('cpu'), true);
    assert.equal(torch.getAutocastDtype('cpu'), 'bfloat16', 'PyTorch\'s default on cpu');
    return torch.linear(x, w);
  });
  assert.equal(y.dtype, 'bfloat16');
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.equal(torch.linear(x, w).dtype, 'float32');
  // the bf16 result is the float32 one rounded through bf16 inputs: close, not equal
  const exact = torch.linear(x.bfloat16().float(), w.bfloat16().float());
  assert.ok(y.float().sub(exact).abs().max().item() as number < 0.05);
  const f16 = torch.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => torch.mm(x, w.t()));
  assert.equal(f16.dtype, 'float16');
});

test('regions nest: an inner enabled: false runs in float32, an inner dtype wins, the outer state comes back', () => {
  const [x, w] = lin();
  torch.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => {
    const off = torch.autocast({ deviceType: 'cpu', enabled: false }, () => {
      assert.equal(torch.isAutocastEnabled('cpu'), false);
      return torch.linear(x, w);
    });
    assert.equal(off.dtype, 'float32');
    const half = torch.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => torch.linear(x, w));
    assert.equal(half.dtype, 'float16');
    assert.equal(torch.isAutocastEnabled('cpu'), true);
    assert.equal(torch.getAutocastDtype('cpu'), 'bfloat16');
    assert.equal(torch.linear(x, w).dtype, 'bfloat16');
  });
  // a region for cuda leaves cpu untouched (and works on a CPU-only build: it only sets state)
  torch.autocast({ deviceType: 'cuda', dtype: 'bfloat16' }, () => {
    assert.equal(torch.isAutocastEnabled('cuda'), true);
    assert.equal(torch.isAutocastEnabled('cpu'), false);
    assert.equal(torch.linear(x, w).dtype, 'float32');
  });
  assert.equal(torch.isAutocastEnabled('cuda'), false);
});

test('an error inside the region restores the state; async functions and bad options are refused', async () => {
  assert.throws(() => torch.autocast({ deviceType: 'cpu' }, () => { throw new Error('boom'); }), /boom/);
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.throws(() => torch.autocast({ deviceType: 'cpu' }, () => torch.mm(torch.ones([2, 3]), torch.ones([4, 5]))), torch.TorchError);
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.throws(() => torch.autocast({ deviceType: 'cpu' }, async () => 1), /must be synchronous/);
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.throws(() => torch.autocast({ deviceType: 'tpu' as 'cpu' }, () => 1), /deviceType/);
  assert.throws(() => torch.autocast({ deviceType: 'cpu', dtype: 'float32' as 'bfloat16' }, () => 1), /dtype/);
  assert.throws(() => torch.autocast({ deviceType: 'cpu', enabled: 'yes' as unknown as boolean }, () => 1), /enabled/);
  assert.throws(() => torch.autocast(null as unknown as torch.AutocastOptions, () => 1), /options/);
  assert.equal(torch.getAutocastDtype('cpu'), 'bfloat16');
});

test('training under autocast: float32 master weights, float32 gradients, loss falls', () => {
  torch.manualSeed(3);
  const net = new torch.nn.Sequential(new torch.nn.Linear(8, 32), new torch.nn.SiLU(), new torch.nn.Linear(32, 1));
  const opt = new torch.optim.AdamW(net.parameters(), { lr: 1e-2 });
  const x = torch.randn([64, 8]);
  const target = x.sum(1, true).sin();
  const losses: number[] = [];
  for (let i = 0; i < 60; i++) {
    torch.scope(() => {
      const out = torch.autocast({ deviceType: 'cpu' }, () => net.forward(x));
      assert.equal(out.dtype, 'bfloat16');
      // the loss in float32, outside the region (PyTorch's recipe)
      const loss = out.float().sub(target).square().mean();
      opt.zeroGrad();
      loss.backward();
      for (const p of net.parameters()) {
        assert.equal(p.dtype, 'float32');
        assert.equal(p.grad!.dtype, 'float32');
      }
      opt.step();
      losses.push(loss.item() as number);
    });
  }
  assert.ok(losses[losses.length - 1]! < 0.5 * losses[0]!, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
});
