// Finite-difference gradient checks (float64, central differences, eps 1e-6) of every nn layer with
// respect to its input and all of its parameters. Shapes are tiny: each element costs two forwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gradcheck } from './helpers/gradcheck.js';

const { nn } = torch;
const F = nn.functional;
const f64 = { dtype: 'float64' as const };

let seed = 0;
/** A float64 leaf input with requiresGrad, from its own seed. */
function input(...shape: number[]): Tensor {
  return torch.randn(shape, { ...f64, generator: new torch.Generator({ seed: 10 + seed++ }) }).requiresGrad_();
}
/** Gives a layer random parameters, so that e.g. GroupNorm's ones/zeros do not hide a wrong gradient. */
function randomize(m: torch.nn.Module): void {
  const g = new torch.Generator({ seed: 99 });
  torch.noGrad(() => { for (const p of m.parameters()) p.normal_(0, 1, { generator: g }); });
}
/** Checks d(output)/d(x) and d(output)/d(every parameter). */
function checkLayer(m: torch.nn.Module, forward: (x: Tensor) => Tensor, x: Tensor): void {
  const worst = gradcheck((xi) => forward(xi!), [x, ...m.parameters()]);
  assert.ok(worst < 1e-6);
}

describe('nn gradcheck (float64 finite differences)', () => {
  test('the checker itself catches a wrong gradient', () => {
    // A hand-made op whose forward is x² but whose gradient is that of x² + x: detach() hides the
    // extra term from the forward, not from autograd.
    const x = input(4);
    const wrong = (t: Tensor) => t.square().add(t).sub(t.detach());
    assert.throws(() => gradcheck(wrong, [x]), /differ/);
    gradcheck((t) => t.square(), [x]);
  });

  test('Linear', () => {
    const m = new nn.Linear(3, 4, f64);
    checkLayer(m, (x) => m.forward(x), input(2, 3));
  });

  for (const mode of ['zeros', 'reflect', 'replicate', 'circular'] as const) {
    test(`Conv2d paddingMode ${mode}`, () => {
      const m = new nn.Conv2d(2, 2, 3, { padding: 1, paddingMode: mode, ...f64 });
      checkLayer(m, (x) => m.forward(x), input(1, 2, 4, 3));
    });
  }
  test('Conv2d strided, dilated, grouped', () => {
    const m = new nn.Conv2d(4, 2, [2, 3], { stride: [2, 1], dilation: [1, 2], padding: [1, 2], groups: 2, ...f64 });
    checkLayer(m, (x) => m.forward(x), input(1, 4, 4, 4));
  });
  test("Conv2d padding 'same' (even kernel), no bias", () => {
    const m = new nn.Conv2d(1, 2, 2, { padding: 'same', bias: false, ...f64 });
    checkLayer(m, (x) => m.forward(x), input(1, 1, 3, 3));
  });
  test('Conv1d zeros and circular', () => {
    const a = new nn.Conv1d(2, 3, 3, { padding: 1, ...f64 });
    checkLayer(a, (x) => a.forward(x), input(2, 2, 5));
    const b = new nn.Conv1d(2, 2, 3, { padding: 2, dilation: 2, paddingMode: 'circular', ...f64 });
    checkLayer(b, (x) => b.forward(x), input(1, 2, 6));
  });
  test('Conv3d zeros and reflect', () => {
    const a = new nn.Conv3d(2, 2, [1, 2, 2], { padding: [0, 1, 0], ...f64 });
    checkLayer(a, (x) => a.forward(x), input(1, 2, 2, 3, 3));
    const b = new nn.Conv3d(1, 2, 3, { padding: 1, paddingMode: 'reflect', ...f64 });
    checkLayer(b, (x) => b.forward(x), input(1, 1, 2, 3, 3));
  });

  test('GroupNorm', () => {
    const m = new nn.GroupNorm(2, 4, f64);
    randomize(m);
    checkLayer(m, (x) => m.forward(x), input(2, 4, 3));
  });
  test('LayerNorm', () => {
    const m = new nn.LayerNorm([2, 3], f64);
    randomize(m);
    checkLayer(m, (x) => m.forward(x), input(2, 2, 3));
  });

  test('Embedding (w.r.t. weight)', () => {
    const m = new nn.Embedding(5, 3, f64);
    const idx = torch.tensor([[0, 1, 4], [4, 2, 0]], { dtype: 'int64' });
    gradcheck(() => m.forward(idx), [m.weight]);
  });

  test('SiLU, GELU, GELU tanh, Identity', () => {
    for (const m of [new nn.SiLU(), new nn.GELU(), new nn.GELU({ approximate: 'tanh' }), new nn.Identity()]) {
      gradcheck((x) => m.forward(x!), [input(7)]);
    }
  });

  test('Dropout in eval mode and, with a fixed seed, in train mode', () => {
    const m = new nn.Dropout(0.4);
    m.eval();
    gradcheck((x) => m.forward(x!), [input(10)]);
    m.train();
    const x = input(20);
    // Re-seeding inside the function gives every evaluation the same mask.
    const seeded = (t: Tensor) => { torch.manualSeed(5); return m.forward(t); };
    gradcheck(seeded, [x]);
    const y = torch.noGrad(() => seeded(x));
    const zeros = (y.eq(0).sum().item());
    assert.ok(zeros > 0 && zeros < 20, `train mode drops some but not all elements (dropped ${zeros})`);
  });

  test('MultiheadAttention self-attention (output and weights)', () => {
    const m = new nn.MultiheadAttention(4, 2, f64);
    randomize(m);
    const fn = (x: Tensor) => {
      const [out, w] = m.forward(x, x, x);
      return torch.cat([out.flatten(), w!.flatten()]);
    };
    gradcheck((x) => fn(x!), [input(3, 2, 4), ...m.parameters()]);
  });

  test('MultiheadAttention cross-attention, batchFirst, masks, dropout (seeded)', () => {
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, dropout: 0.3, ...f64 });
    randomize(m);
    const kpm = torch.tensor([[false, true, false], [false, false, false]]);
    const mask = torch.tensor([[0, -1, 0.5], [0.2, 0, 0]], f64);
    const kv = input(2, 3, 4);
    const fn = (q: Tensor, k: Tensor) => {
      torch.manualSeed(3);
      return m.forward(q, k, k, { keyPaddingMask: kpm, attnMask: mask, needWeights: false })[0];
    };
    gradcheck((q, k) => fn(q!, k!), [input(2, 2, 4), kv, ...m.parameters()]);
  });

  test('F.scaledDotProductAttention with a float mask and causal', () => {
    const bias = torch.randn([3, 4], f64);
    gradcheck((q, k, v) => F.scaledDotProductAttention(q!, k!, v!, { attnMask: bias }), [input(2, 3, 2), input(2, 4, 2), input(2, 4, 3)]);
    gradcheck((q, k, v) => F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }), [input(1, 3, 2), input(1, 3, 2), input(1, 3, 2)]);
  });
});
