// Parity of torch.nn with PyTorch (the reference python's, over the same libtorch):
// 1. initialisation: after manualSeed(0) each layer's state dict has PyTorch's names, shapes and
//    values (same distributions and the same order of random draws);
// 2. forward: the same layer on the same input gives PyTorch's output (dropout after manualSeed(1)).
// The Python side (test/fixtures/nn_ref.py) evaluates the expressions in this table, so each case
// shows the PyTorch spelling next to ours.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { runPython, type PythonResult } from './helpers/python-ref.js';

const { nn } = torch;
const F = nn.functional;

type Spec = number[] | { shape: number[]; kind: 'int'; high: number } | { shape: number[]; kind: 'bool'; values: boolean[] };
/** Input tensors by the names the cases use. */
type In = { [k in 'x' | 'i' | 'q' | 'k' | 'v' | 'kv' | 'kpm' | 'mask' | 'a' | 'b' | 'z' | 't' | 'bias']: Tensor };
interface Case {
  name: string;
  /** PyTorch constructor (nn in scope); null for a functional case. */
  torchModule: string | null;
  ours: (() => torch.nn.Module) | null;
  inputs: Partial<Record<keyof In, Spec>>;
  /** PyTorch call with m, F, torch, math and the inputs in scope. */
  torchCall: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case knows its module's type
  call: (m: any, x: In) => Tensor | (Tensor | null)[];
  /** forward tolerance (float32 arithmetic): |ours - ref| <= tol * (1 + |ref|) */
  tol?: number;
}

// prettier-ignore
const CASES: Case[] = [
  { name: 'Linear', torchModule: 'nn.Linear(4, 8)', ours: () => new nn.Linear(4, 8), inputs: { x: [3, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Linear no bias', torchModule: 'nn.Linear(5, 3, bias=False)', ours: () => new nn.Linear(5, 3, { bias: false }), inputs: { x: [2, 2, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv1d', torchModule: 'nn.Conv1d(3, 4, 3, padding=1)', ours: () => new nn.Conv1d(3, 4, 3, { padding: 1 }), inputs: { x: [2, 3, 7] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv1d circular dilated', torchModule: "nn.Conv1d(2, 4, 3, dilation=2, padding=2, padding_mode='circular')", ours: () => new nn.Conv1d(2, 4, 3, { dilation: 2, padding: 2, paddingMode: 'circular' }), inputs: { x: [1, 2, 8] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv2d strided grouped', torchModule: 'nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2)', ours: () => new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], groups: 2 }), inputs: { x: [2, 4, 7, 6] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: "Conv2d same (even kernel)", torchModule: "nn.Conv2d(2, 3, 4, padding='same')", ours: () => new nn.Conv2d(2, 3, 4, { padding: 'same' }), inputs: { x: [1, 2, 6, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv2d reflect same', torchModule: "nn.Conv2d(2, 3, 4, padding='same', padding_mode='reflect')", ours: () => new nn.Conv2d(2, 3, 4, { padding: 'same', paddingMode: 'reflect' }), inputs: { x: [1, 2, 6, 6] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv2d valid no bias', torchModule: "nn.Conv2d(2, 3, 3, padding='valid', bias=False)", ours: () => new nn.Conv2d(2, 3, 3, { padding: 'valid', bias: false }), inputs: { x: [1, 2, 5, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv3d', torchModule: 'nn.Conv3d(4, 8, (1, 3, 3), padding=(0, 1, 1))', ours: () => new nn.Conv3d(4, 8, [1, 3, 3], { padding: [0, 1, 1] }), inputs: { x: [1, 4, 2, 5, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Conv3d replicate', torchModule: "nn.Conv3d(2, 3, 3, padding=1, padding_mode='replicate')", ours: () => new nn.Conv3d(2, 3, 3, { padding: 1, paddingMode: 'replicate' }), inputs: { x: [1, 2, 3, 4, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'GroupNorm', torchModule: 'nn.GroupNorm(2, 4)', ours: () => new nn.GroupNorm(2, 4), inputs: { x: [2, 4, 3, 3] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'GroupNorm no affine', torchModule: 'nn.GroupNorm(1, 3, eps=1e-3, affine=False)', ours: () => new nn.GroupNorm(1, 3, { eps: 1e-3, affine: false }), inputs: { x: [2, 3, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'LayerNorm', torchModule: 'nn.LayerNorm([3, 4])', ours: () => new nn.LayerNorm([3, 4]), inputs: { x: [2, 3, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'LayerNorm no affine', torchModule: 'nn.LayerNorm(4, elementwise_affine=False)', ours: () => new nn.LayerNorm(4, { elementwiseAffine: false }), inputs: { x: [3, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Embedding', torchModule: 'nn.Embedding(10, 3, padding_idx=2)', ours: () => new nn.Embedding(10, 3, { paddingIdx: 2 }), inputs: { i: { shape: [2, 4], kind: 'int', high: 10 } }, torchCall: 'm(i)', call: (m, { i }) => m.forward(i) },
  { name: 'Embedding (vectorised normal_ path)', torchModule: 'nn.Embedding(20, 5)', ours: () => new nn.Embedding(20, 5), inputs: { i: { shape: [6], kind: 'int', high: 20 } }, torchCall: 'm(i)', call: (m, { i }) => m.forward(i) },
  { name: 'SiLU', torchModule: 'nn.SiLU()', ours: () => new nn.SiLU(), inputs: { x: [2, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'GELU', torchModule: 'nn.GELU()', ours: () => new nn.GELU(), inputs: { x: [2, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'GELU tanh', torchModule: "nn.GELU(approximate='tanh')", ours: () => new nn.GELU({ approximate: 'tanh' }), inputs: { x: [2, 5] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Identity', torchModule: 'nn.Identity()', ours: () => new nn.Identity(), inputs: { x: [3] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Dropout train (seeded)', torchModule: 'nn.Dropout(0.3)', ours: () => new nn.Dropout(0.3), inputs: { x: [4, 8] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  { name: 'Dropout eval', torchModule: 'nn.Dropout(0.3)', ours: () => new nn.Dropout(0.3), inputs: { x: [4, 8] }, torchCall: 'm.eval()(x)', call: (m, { x }) => m.eval().forward(x) },
  { name: 'MultiheadAttention self', torchModule: 'nn.MultiheadAttention(8, 2)', ours: () => new nn.MultiheadAttention(8, 2), inputs: { x: [5, 2, 8] }, torchCall: 'm(x, x, x)', call: (m, { x }) => m.forward(x, x, x) },
  { name: 'MultiheadAttention cross, batchFirst, key padding', torchModule: 'nn.MultiheadAttention(8, 4, batch_first=True)', ours: () => new nn.MultiheadAttention(8, 4, { batchFirst: true }), inputs: { q: [2, 5, 8], kv: [2, 3, 8], kpm: { shape: [2, 3], kind: 'bool', values: [false, false, true, false, true, false] } }, torchCall: 'm(q, kv, kv, key_padding_mask=kpm, average_attn_weights=False)', call: (m, { q, kv, kpm }) => m.forward(q, kv, kv, { keyPaddingMask: kpm, averageAttnWeights: false }) },
  { name: 'MultiheadAttention no bias, causal mask, no weights', torchModule: 'nn.MultiheadAttention(6, 3, bias=False)', ours: () => new nn.MultiheadAttention(6, 3, { bias: false }), inputs: { q: [4, 1, 6], k: [4, 1, 6], v: [4, 1, 6], mask: { shape: [4, 4], kind: 'bool', values: [false, true, true, true, false, false, true, true, false, false, false, true, false, false, false, false] } }, torchCall: 'm(q, k, v, attn_mask=mask, need_weights=False)', call: (m, { q, k, v, mask }) => m.forward(q, k, v, { attnMask: mask, needWeights: false }) },
  { name: 'MultiheadAttention unbatched', torchModule: 'nn.MultiheadAttention(4, 1)', ours: () => new nn.MultiheadAttention(4, 1), inputs: { x: [3, 4] }, torchCall: 'm(x, x, x)', call: (m, { x }) => m.forward(x, x, x) },
  { name: 'Sequential', torchModule: 'nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.SiLU(), nn.Conv2d(4, 2, 1))', ours: () => new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.GroupNorm(2, 4), new nn.SiLU(), new nn.Conv2d(4, 2, 1)), inputs: { x: [1, 2, 4, 4] }, torchCall: 'm(x)', call: (m, { x }) => m.forward(x) },
  // ---- nn.functional ----
  { name: 'F.interpolate nearest x2', torchModule: null, ours: null, inputs: { x: [1, 2, 3, 3] }, torchCall: "F.interpolate(x, scale_factor=2, mode='nearest')", call: (_m, { x }) => F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }) },
  { name: 'F.interpolate bilinear size alignCorners', torchModule: null, ours: null, inputs: { x: [1, 2, 3, 4] }, torchCall: "F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=True)", call: (_m, { x }) => F.interpolate(x, { size: [5, 7], mode: 'bilinear', alignCorners: true }) },
  { name: 'F.interpolate bilinear x1.5', torchModule: null, ours: null, inputs: { x: [1, 1, 4, 4] }, torchCall: "F.interpolate(x, scale_factor=1.5, mode='bilinear')", call: (_m, { x }) => F.interpolate(x, { scaleFactor: 1.5, mode: 'bilinear' }) },
  { name: 'F.interpolate trilinear', torchModule: null, ours: null, inputs: { x: [1, 2, 2, 3, 3] }, torchCall: "F.interpolate(x, scale_factor=(1, 2, 2), mode='trilinear', align_corners=False)", call: (_m, { x }) => F.interpolate(x, { scaleFactor: [1, 2, 2], mode: 'trilinear', alignCorners: false }) },
  { name: 'F.interpolate trilinear size alignCorners', torchModule: null, ours: null, inputs: { x: [1, 1, 2, 3, 3] }, torchCall: "F.interpolate(x, size=(3, 4, 5), mode='trilinear', align_corners=True)", call: (_m, { x }) => F.interpolate(x, { size: [3, 4, 5], mode: 'trilinear', alignCorners: true }) },
  { name: 'F.interpolate nearest 3-D size', torchModule: null, ours: null, inputs: { x: [1, 1, 2, 3, 3] }, torchCall: "F.interpolate(x, size=(4, 5, 6))", call: (_m, { x }) => F.interpolate(x, { size: [4, 5, 6] }) },
  { name: 'F.pad reflect', torchModule: null, ours: null, inputs: { x: [1, 2, 5] }, torchCall: "F.pad(x, (1, 2), mode='reflect')", call: (_m, { x }) => F.pad(x, [1, 2], { mode: 'reflect' }) },
  { name: 'F.pad replicate', torchModule: null, ours: null, inputs: { x: [1, 2, 3, 4] }, torchCall: "F.pad(x, (1, 1, 2, 0), mode='replicate')", call: (_m, { x }) => F.pad(x, [1, 1, 2, 0], { mode: 'replicate' }) },
  { name: 'F.pad circular', torchModule: null, ours: null, inputs: { x: [1, 1, 3, 4] }, torchCall: "F.pad(x, (1, 2, 2, 1), mode='circular')", call: (_m, { x }) => F.pad(x, [1, 2, 2, 1], { mode: 'circular' }) },
  { name: 'F.pad constant', torchModule: null, ours: null, inputs: { x: [2, 3] }, torchCall: 'F.pad(x, (1, 1), value=3.5)', call: (_m, { x }) => F.pad(x, [1, 1], { value: 3.5 }) },
  { name: 'F.avg_pool2d positional', torchModule: null, ours: null, inputs: { x: [1, 2, 5, 5] }, torchCall: 'F.avg_pool2d(x, 3, 1, 1)', call: (_m, { x }) => F.avgPool2d(x, 3, 1, 1) },
  { name: 'F.avg_pool3d', torchModule: null, ours: null, inputs: { x: [1, 2, 2, 4, 4] }, torchCall: 'F.avg_pool3d(x, (1, 2, 2))', call: (_m, { x }) => F.avgPool3d(x, [1, 2, 2]) },
  { name: 'F.mse_loss', torchModule: null, ours: null, inputs: { a: [3, 4], b: [3, 4] }, torchCall: 'F.mse_loss(a, b)', call: (_m, { a, b }) => F.mseLoss(a, b) },
  { name: 'F.l1_loss sum', torchModule: null, ours: null, inputs: { a: [3, 4], b: [3, 4] }, torchCall: "F.l1_loss(a, b, reduction='sum')", call: (_m, { a, b }) => F.l1Loss(a, b, { reduction: 'sum' }) },
  { name: 'F.cross_entropy label smoothing', torchModule: null, ours: null, inputs: { z: [4, 5], t: { shape: [4], kind: 'int', high: 5 } }, torchCall: 'F.cross_entropy(z, t, label_smoothing=0.1)', call: (_m, { z, t }) => F.crossEntropy(z, t, { labelSmoothing: 0.1 }) },
  { name: 'F.cross_entropy ignore_index none', torchModule: null, ours: null, inputs: { z: [4, 3, 2], t: { shape: [4, 2], kind: 'int', high: 3 } }, torchCall: "F.cross_entropy(z, t, ignore_index=1, reduction='none')", call: (_m, { z, t }) => F.crossEntropy(z, t, { ignoreIndex: 1, reduction: 'none' }) },
  { name: 'F.log_softmax', torchModule: null, ours: null, inputs: { x: [2, 3, 4] }, torchCall: 'F.log_softmax(x, 1)', call: (_m, { x }) => F.logSoftmax(x, 1) },
  { name: 'F.scaled_dot_product_attention float mask (composite reference)', torchModule: null, ours: null, inputs: { q: [2, 3, 4], k: [2, 5, 4], v: [2, 5, 3], bias: [3, 5] }, torchCall: 'torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4) + bias, -1) @ v', call: (_m, { q, k, v, bias }) => F.scaledDotProductAttention(q, k, v, { attnMask: bias }) },
  { name: 'F.scaled_dot_product_attention causal (composite reference)', torchModule: null, ours: null, inputs: { q: [1, 4, 2], k: [1, 4, 2], v: [1, 4, 2] }, torchCall: "torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(2)).masked_fill(torch.ones(4, 4, dtype=torch.bool).tril().logical_not(), float('-inf')), -1) @ v", call: (_m, { q, k, v }) => F.scaledDotProductAttention(q, k, v, { isCausal: true }) },
];

interface Flat { shape: number[]; values: number[] }
type RefOut = Record<string, { state: [string, number[], number[]][]; outputs: Flat[] }>;

/** Inputs from a fixed generator; float32 values pass through JSON exactly. */
function makeInputs(c: Case, seed: number): { ours: Record<string, Tensor>; spec: Record<string, { shape: number[]; dtype: string; values: (number | boolean)[] }> } {
  const g = new torch.Generator({ seed });
  const ours: Record<string, Tensor> = {};
  const spec: Record<string, { shape: number[]; dtype: string; values: (number | boolean)[] }> = {};
  for (const [name, s] of Object.entries(c.inputs)) {
    let t: Tensor;
    if (Array.isArray(s)) t = torch.randn(s, { generator: g });
    else if (s.kind === 'int') t = torch.randint(0, s.high, s.shape, { generator: g });
    else t = torch.tensor(s.values, s.shape, { dtype: 'bool' });
    ours[name] = t.keep();
    const values = t.dtype === 'bool' ? (t.toArray() as unknown[]).flat(8) as boolean[] : Array.from(t.toFloat64Array());
    spec[name] = { shape: t.shape, dtype: t.dtype, values };
  }
  return { ours, spec };
}

function maxDiff(ours: Tensor, ref: Flat, what: string): { diff: number; scaled: number } {
  assert.deepEqual(ours.shape, ref.shape, `${what}: shape`);
  const a = ours.toFloat64Array();
  let diff = 0;
  let scaled = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = ref.values[i]!;
    assert.equal(Number.isFinite(x), Number.isFinite(y), `${what}: element ${i} is ${x}, torch has ${y}`);
    const d = Math.abs(x - y);
    if (!Number.isFinite(d)) continue;
    diff = Math.max(diff, d);
    scaled = Math.max(scaled, d / (1 + Math.abs(y)));
  }
  return { diff, scaled };
}

describe('torch.nn parity with PyTorch', () => {
  const inputs = CASES.map((c, i) => makeInputs(c, 100 + i));
  let ref: PythonResult<RefOut>;
  before(() => {
    ref = runPython<RefOut>('nn_ref.py', CASES.map((c, i) => ({
      name: c.name, module: c.torchModule, call: c.torchCall, inputs: inputs[i]!.spec,
    })));
  });

  for (const [i, c] of CASES.entries()) {
    test(c.name, (t) => {
      if (ref.skip !== undefined) { t.skip(ref.skip); return; }
      const r = ref.out[c.name]!;
      torch.manualSeed(0);
      const m = c.ours?.() ?? null;
      if (m !== null) {
        // Initialisation: names in PyTorch's order, shapes, values (PyTorch's draws, bit for bit in practice).
        const sd = m.stateDict();
        assert.deepEqual(Object.keys(sd), r.state.map(([k]) => k), 'state dict keys');
        for (const [k, shape, values] of r.state) {
          const { diff } = maxDiff(sd[k]!, { shape, values }, `init ${k}`);
          assert.ok(diff <= 1e-6, `init ${k}: max |ours - torch| = ${diff}`);
        }
      }
      torch.manualSeed(1);
      const res = c.call(m, inputs[i]!.ours as In);
      const outs = (Array.isArray(res) ? res : [res]).filter((x): x is Tensor => x !== null);
      assert.equal(outs.length, r.outputs.length, 'number of outputs');
      const tol = c.tol ?? 1e-5;
      outs.forEach((o, j) => {
        const { scaled } = maxDiff(o, r.outputs[j]!, `output ${j}`);
        assert.ok(scaled <= tol, `output ${j}: max |ours - torch| / (1 + |torch|) = ${scaled} > ${tol}`);
      });
    });
  }
});
