// nn.Module behaviour: registration and PyTorch's dotted names, train/eval, state dicts, to(),
// gradients, memory scopes and containers. Gradients are in nn-gradcheck.test.ts, PyTorch parity
// of initialisation and forward in nn-parity.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

const { nn } = torch;

class Block extends nn.Module {
  conv = new nn.Conv2d(2, 2, 3, { padding: 1 });
  norm = new nn.GroupNorm(1, 2);
  drop = new nn.Dropout(0.5);
  forward(x: Tensor): Tensor { return this.drop.forward(this.norm.forward(this.conv.forward(x))); }
}
class Net extends nn.Module {
  scale = new nn.Parameter(torch.ones([1]));
  blocks = new nn.ModuleList([new Block(), new Block()]);
  head = new nn.Sequential(new nn.SiLU(), new nn.Conv2d(2, 1, 1));
  constructor() {
    super();
    this.registerBuffer('step', torch.zeros([], { dtype: 'int64' }));
    this.registerBuffer('cache', torch.zeros([2]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    for (const b of this.blocks) x = b.forward(x);
    return this.head.forward(x).mul(this.scale);
  }
}

const names = (m: torch.nn.Module) => m.namedParameters().map(([n]) => n);
const same = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item() === 0;

describe('nn.Module registration and names', () => {
  test('dotted names through fields, ModuleList and Sequential, in declaration order', () => {
    assert.deepEqual(names(new Net()), [
      'scale',
      'blocks.0.conv.weight', 'blocks.0.conv.bias', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
      'blocks.1.conv.weight', 'blocks.1.conv.bias', 'blocks.1.norm.weight', 'blocks.1.norm.bias',
      'head.1.weight', 'head.1.bias',
    ]);
    const net = new Net();
    assert.deepEqual(net.namedChildren().map(([n]) => n), ['blocks', 'head']);
    assert.deepEqual(net.namedModules().map(([n]) => n), [
      '', 'blocks', 'blocks.0', 'blocks.0.conv', 'blocks.0.norm', 'blocks.0.drop',
      'blocks.1', 'blocks.1.conv', 'blocks.1.norm', 'blocks.1.drop', 'head', 'head.0', 'head.1',
    ]);
    assert.deepEqual(net.namedBuffers().map(([n]) => n), ['step', 'cache']);
    assert.equal(net.getSubmodule('blocks.1.conv'), net.blocks.get(1).conv);
    assert.equal(net.parameters()[1], net.blocks.get(0).conv.weight);
  });

  test("explicit snake_case registration gives PyTorch's names; camelCase getters alias them", () => {
    const m = new nn.MultiheadAttention(4, 2);
    assert.deepEqual(names(m), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    assert.equal(m.inProjWeight, m.getParameter('in_proj_weight'));
    assert.equal(m.outProj.weight, m.parameters()[2]);
    assert.deepEqual(names(new nn.MultiheadAttention(4, 2, { bias: false })), ['in_proj_weight', 'out_proj.weight']);
  });

  test('reassigning a field re-registers; null removes from the state dict; a plain Tensor is refused', () => {
    const lin = new nn.Linear(2, 3);
    const w = new nn.Parameter(torch.zeros([3, 2]));
    lin.weight = w;
    assert.equal(lin.parameters()[0], w);
    lin.bias = null;
    assert.deepEqual(Object.keys(lin.stateDict()), ['weight']);
    (lin as unknown as { weight: Tensor }).weight = torch.zeros([3, 2]);
    assert.throws(() => lin.parameters(), /cannot assign a plain Tensor to parameter 'weight'/);
  });

  test('a parameter shared by two modules is listed once, stored under both names', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2, { bias: false });
      b = new nn.Linear(2, 2, { bias: false });
      constructor() { super(); this.b.weight = this.a.weight; }
      forward(x: Tensor): Tensor { return this.b.forward(this.a.forward(x)); }
    }
    const t = new Tied();
    assert.deepEqual(names(t), ['a.weight']);
    assert.deepEqual(Object.keys(t.stateDict()), ['a.weight', 'b.weight']);
  });

  test('registration errors name the problem', () => {
    const m = new nn.Identity();
    assert.throws(() => m.registerParameter('a.b', null), /without "."/);
    assert.throws(() => m.registerParameter('w', torch.zeros([1]) as never), /nn.Parameter or null required/);
    m.registerBuffer('w', torch.zeros([1]));
    assert.throws(() => m.registerParameter('w', null), /already one of its buffers/);
  });

  test('parameters and buffers survive torch.scope; a Parameter shares its data', () => {
    let net: Net | undefined;
    torch.scope(() => { net = new Net(); net.forward(torch.randn([1, 2, 3, 3])); });
    for (const t of [...net!.parameters(), ...net!.buffers()]) assert.equal(t.isDisposed, false);
    const data = torch.zeros([2]);
    const p = new nn.Parameter(data);
    assert.ok(p.requiresGrad && p.isLeaf && !data.requiresGrad);
    torch.noGrad(() => data.fill_(3));
    assert.deepEqual(p.toArray(), [3, 3]);
  });

  test('toString is PyTorch-like', () => {
    assert.equal(String(new nn.Linear(4, 8)), 'Linear(in_features=4, out_features=8, bias=True)');
    assert.equal(String(new nn.Sequential(new nn.GroupNorm(2, 4), new nn.SiLU())),
      'Sequential(\n  (0): GroupNorm(2, 4, eps=1e-05, affine=True)\n  (1): SiLU()\n)');
  });
});

describe('nn.Module modes and gradients', () => {
  test('train/eval propagate to every descendant and switch dropout', () => {
    const net = new Net();
    net.eval();
    assert.ok(net.modules().every((m) => m.training === false));
    const x = torch.ones([64]);
    const d = net.blocks.get(0).drop;
    assert.ok(same(d.forward(x), x));
    net.train();
    assert.ok(net.modules().every((m) => m.training === true));
    const y = d.forward(x);
    assert.ok(y.eq(0).sum().item() > 0 && y.eq(2).sum().item() > 0, 'train mode zeros some and scales the rest by 2');
    assert.equal(net.blocks.train(false), net.blocks);
    assert.equal(net.blocks.get(1).drop.training, false);
    assert.equal(net.head.training, true);
  });

  test('zeroGrad drops (default) or zeroes gradients; requiresGrad_ freezes', () => {
    const lin = new nn.Linear(3, 2);
    lin.forward(torch.randn([4, 3])).sum().backward();
    assert.ok(lin.weight.grad !== null);
    lin.zeroGrad(false);
    assert.equal(lin.weight.grad!.abs().sum().item(), 0);
    lin.zeroGrad();
    assert.equal(lin.weight.grad, null);
    lin.requiresGrad_(false);
    assert.ok(lin.parameters().every((p) => !p.requiresGrad));
  });

  test('apply visits children before the parent; resetParameters redraws', () => {
    const seen: string[] = [];
    new nn.Sequential(new nn.Linear(1, 1), new nn.SiLU()).apply((m) => seen.push(m.constructor.name));
    assert.deepEqual(seen, ['Linear', 'SiLU', 'Sequential']);
    const lin = new nn.Linear(3, 3);
    const before = lin.weight.clone();
    lin.resetParameters();
    assert.ok(!same(before, lin.weight));
  });

  test('Embedding keeps the padding row zero and gives it no gradient', () => {
    const e = new nn.Embedding(4, 3, { paddingIdx: -1 });
    assert.equal(e.paddingIdx, 3);
    assert.deepEqual(e.weight.select(0, 3).toArray(), [0, 0, 0]);
    e.forward(torch.tensor([3, 1, 3], { dtype: 'int64' })).sum().backward();
    const g = e.weight.grad!;
    assert.deepEqual(g.select(0, 3).toArray(), [0, 0, 0]);
    assert.deepEqual(g.select(0, 1).toArray(), [1, 1, 1]);
  });
});

describe('state dicts', () => {
  test('round trip: values, PyTorch key order, detached views, parameter identity kept', () => {
    torch.manualSeed(1);
    const a = new Net();
    torch.manualSeed(2);
    const b = new Net();
    const x = torch.randn([1, 2, 4, 4]);
    a.eval(); b.eval();
    assert.ok(!same(a.forward(x), b.forward(x)));
    const sd = a.stateDict();
    assert.deepEqual(Object.keys(sd), [
      'scale', 'step',
      'blocks.0.conv.weight', 'blocks.0.conv.bias', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
      'blocks.1.conv.weight', 'blocks.1.conv.bias', 'blocks.1.norm.weight', 'blocks.1.norm.bias',
      'head.1.weight', 'head.1.bias',
    ]); // non-persistent 'cache' is left out
    assert.ok(Object.values(sd).every((t) => !t.requiresGrad));
    const params = b.parameters();
    const res = b.loadStateDict(sd);
    assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
    assert.ok(same(a.forward(x), b.forward(x)));
    assert.ok(b.parameters().every((p, i) => p === params[i] && p.requiresGrad));
    // a Map (e.g. from a safetensors reader) works too
    torch.noGrad(() => { for (const p of b.parameters()) p.normal_(); });
    assert.ok(!same(a.forward(x), b.forward(x)));
    b.loadStateDict(new Map(Object.entries(a.stateDict())));
    assert.ok(same(a.forward(x), b.forward(x)));
  });

  test('strict: missing and unexpected keys are listed; non-strict loads the rest and reports them', () => {
    const lin = new nn.Linear(2, 2);
    const other = new nn.Linear(2, 2);
    const sd: Record<string, Tensor> = { weight: other.weight.detach(), extra: torch.zeros([1]) };
    assert.throws(() => lin.loadStateDict(sd), (e: Error) =>
      e instanceof torch.TorchError && /Unexpected key\(s\) in state dict: "extra"/.test(e.message)
      && /Missing key\(s\) in state dict: "bias"/.test(e.message));
    assert.ok(!same(lin.weight, other.weight), 'a failed load changes nothing');
    const res = lin.loadStateDict(sd, { strict: false });
    assert.deepEqual(res, { missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    assert.ok(same(lin.weight, other.weight));
  });

  test('a shape mismatch names the key and both shapes, even when not strict', () => {
    const lin = new nn.Linear(3, 2);
    const before = lin.bias!.clone();
    const sd = { weight: torch.zeros([2, 4]), bias: torch.zeros([2]) };
    for (const strict of [true, false]) {
      assert.throws(() => lin.loadStateDict(sd, { strict }),
        /size mismatch for weight: copying a param with shape \[2, 4\] from checkpoint, the shape in current model is \[2, 3\]/);
    }
    assert.ok(same(lin.bias!, before), 'nothing was copied');
  });

  test("to('float64') converts floating parameters, buffers and grads in place, keeping identities", () => {
    const net = new Net();
    const params = net.parameters();
    const w0 = params[1]!.toFloat64Array();
    net.forward(torch.randn([1, 2, 3, 3])).sum().backward();
    assert.equal(net.to('float64'), net);
    assert.ok(net.parameters().every((p, i) => p === params[i] && p.dtype === 'float64' && p.requiresGrad && p.isLeaf));
    assert.deepEqual(params[1]!.toFloat64Array(), w0);
    assert.equal(params[1]!.grad!.dtype, 'float64');
    assert.equal(net.getBuffer('step')!.dtype, 'int64', 'integer buffers keep their dtype');
    assert.equal(net.getBuffer('cache')!.dtype, 'float64');
    const y = net.forward(torch.randn([1, 2, 3, 3], { dtype: 'float64' }));
    assert.equal(y.dtype, 'float64');
    assert.throws(() => net.to('int64'), /floating point or complex/);
  });
});

describe('containers', () => {
  test('ModuleList indexing, iteration, insert renumbering', () => {
    const a = new nn.Identity(); const b = new nn.SiLU(); const c = new nn.GELU();
    const list = new nn.ModuleList<torch.nn.Module>([a, c]);
    list.insert(1, b);
    assert.deepEqual([...list], [a, b, c]);
    assert.deepEqual(list.namedChildren().map(([n, m]) => [n, m]), [['0', a], ['1', b], ['2', c]]);
    assert.equal(list.get(-1), c);
    assert.equal(list.length, 3);
    assert.throws(() => list.get(3), /out of range/);
    assert.throws(() => list.forward(), /no forward/);
  });

  test('Sequential chains forwards; the record form keeps names', () => {
    const s = new nn.Sequential({ proj: new nn.Linear(2, 3), act: new nn.SiLU() });
    assert.deepEqual(names(s), ['proj.weight', 'proj.bias']);
    const x = torch.randn([4, 2]);
    const lin = s.get(0) as torch.nn.Linear;
    assert.ok(same(s.forward(x), nn.functional.silu(lin.forward(x))));
  });

  test('layers validate their arguments', () => {
    assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /in_channels \(3\) must be divisible by groups \(2\)/);
    assert.throws(() => new nn.Conv2d(2, 2, 3, { padding: 'same', stride: 2 }), /not supported for strided/);
    assert.throws(() => new nn.Conv1d(2, 2, [3, 3]), /Conv1d kernelSize/);
    assert.throws(() => new nn.GroupNorm(3, 4), /divisible by num_groups/);
    assert.throws(() => new nn.MultiheadAttention(6, 4), /divisible by num_heads/);
    assert.throws(() => new nn.Dropout(1.5), /probability/);
  });
});
