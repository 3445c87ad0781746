// torch.optim's state: a saved and reloaded optimizer (and LR schedule) resumes bit for bit; zeroGrad, step(closure),
// clear errors for bad inputs, and no temporaries left behind by step() and clipGradNorm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { OptimizerStateDict, Optimizer, LRScheduler } from '../src/optim/index.js';
import { collectGarbage } from './helpers/gc.js';
import { SHAPES, typed, makeData, type OptCase, makeOptimizer } from './helpers/optim-fixtures.js';

// ---- (c) checkpoint and resume ----

/** An optimizer state dict as a safetensors file: state tensors by name, everything else as JSON metadata. */
function checkpoint(sd: OptimizerStateDict, schedSd: Record<string, unknown>): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, unknown> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof torch.Tensor) tensors[`state.${i}.${k}`] = v; else scalars[`${i}.${k}`] = v;
    }
  }
  return torch.saveBytes(tensors, {
    metadata: { param_groups: JSON.stringify(sd.param_groups), scalars: JSON.stringify(scalars), scheduler: JSON.stringify(schedSd) },
  });
}
function restore(bytes: Uint8Array): { sd: OptimizerStateDict; schedSd: Record<string, unknown> } {
  const meta = torch.loadMetadata(bytes);
  const state: OptimizerStateDict['state'] = {};
  const put = (key: string, v: unknown) => {
    const [i, k] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
    ((state[Number(i)] ??= {}) as Record<string, unknown>)[k] = v;
  };
  for (const [name, t] of Object.entries(torch.loadBytes(bytes))) put(name.slice('state.'.length), t);
  for (const [key, v] of Object.entries(JSON.parse(meta.scalars!) as Record<string, unknown>)) put(key, v);
  return { sd: { state, param_groups: JSON.parse(meta.param_groups!) }, schedSd: JSON.parse(meta.scheduler!) };
}

const RESUME_CASES: OptCase[] = [
  { name: 'Adam amsgrad', cls: 'Adam', dtype: 'float32', options: { lr: 0.01, weightDecay: 0.1, amsgrad: true } },
  { name: 'AdamW', cls: 'AdamW', dtype: 'float32', options: { lr: 0.01 } },
  { name: 'SGD nesterov', cls: 'SGD', dtype: 'float64', options: { lr: 0.05, momentum: 0.9, nesterov: true } },
];

test('(c) stateDict round trip: 3 steps + save/load + 3 steps == 6 steps, bit for bit', () => {
  for (const c of RESUME_CASES) torch.scope(() => {
    const data = makeData(77, c.dtype, 6);
    const bytesOf = (opt: Optimizer<{ lr: number }>, params: Tensor[]) =>
      params.map((p) => {
        const s = opt.state.get(p)!;
        return [p.toBytes(), ...Object.keys(s).sort().map((k) => [k, s[k] instanceof torch.Tensor ? s[k].toBytes() : s[k]])];
      });
    const withSchedule = (params: Tensor[]) => {
      const opt = makeOptimizer(c.cls, params, c.options);
      return { opt, sched: torch.optim.warmupCosine(opt, { warmupSteps: 2, totalSteps: 6, minLr: 1e-4 }) };
    };
    const stepWith = (opt: Optimizer<{ lr: number }>, sched: LRScheduler, params: Tensor[], grads: number[][]) => {
      params.forEach((p, i) => { p.grad = torch.tensor(typed(c.dtype, grads[i]!), SHAPES[i]!); });
      opt.step();
      sched.step();
    };
    const fresh = () => data.params.map((d, i) => torch.tensor(typed(c.dtype, d), SHAPES[i]!).requiresGrad_());

    const a = fresh();
    const A = withSchedule(a);
    for (const g of data.grads) stepWith(A.opt, A.sched, a, g);

    const b = fresh();
    const B = withSchedule(b);
    for (const g of data.grads.slice(0, 3)) stepWith(B.opt, B.sched, b, g);
    const file = checkpoint(B.opt.stateDict(), B.sched.stateDict());
    // A new process would rebuild the model: new parameter tensors holding the saved values.
    const b2 = b.map((p) => torch.tensor(p.toTypedArray(), p.shape).requiresGrad_());
    const { sd, schedSd } = restore(file);
    const C = withSchedule(b2);
    C.opt.loadStateDict(sd);
    C.sched.loadStateDict(schedSd);
    for (const g of data.grads.slice(3)) stepWith(C.opt, C.sched, b2, g);
    assert.deepEqual(bytesOf(C.opt, b2), bytesOf(A.opt, a), `${c.name}: resumed run differs`);
    assert.deepEqual(C.sched.getLastLr(), A.sched.getLastLr());

    // The comparison can fail: resuming without the optimizer state gives different parameters.
    const d = b.map((p) => torch.tensor(p.toTypedArray(), p.shape).requiresGrad_());
    const D = withSchedule(d);
    D.sched.loadStateDict(schedSd);
    for (const g of data.grads.slice(3)) stepWith(D.opt, D.sched, d, g);
    assert.notDeepEqual(d.map((p) => p.toBytes()), a.map((p) => p.toBytes()), `${c.name}: state had no effect`);
  });
});

test('(c) loaded state is a copy, cast to the parameter dtype, and survives torch.scope', () => {
  const p = torch.zeros([2], { dtype: 'float64', requiresGrad: true }).keep();
  const opt = new torch.optim.Adam([p]);
  const sd: OptimizerStateDict = torch.scope(() => ({
    state: { 0: { step: torch.scalarTensor(4), exp_avg: torch.ones([2]), exp_avg_sq: torch.ones([2]) } }, // float32 tensors, step as a tensor (as PyTorch stores it)
    param_groups: [{ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, params: [0] }],
  }));
  torch.scope(() => opt.loadStateDict(sd));
  const s = opt.state.get(p)!;
  assert.equal(s.step, 4);
  assert.equal(s.exp_avg.dtype, 'float64');
  assert.equal(s.exp_avg.isDisposed, false);
  assert.equal(opt.paramGroups[0]!.lr, 0.1);
  (sd.state[0]!.exp_avg as Tensor).fill_(7);
  assert.deepEqual(s.exp_avg.toArray(), [1, 1]);
  p.grad = torch.ones([2], { dtype: 'float64' });
  torch.scope(() => opt.step());
  assert.equal(s.exp_avg_sq.isDisposed, false);
  assert.equal(opt.state.get(p)!.step, 5);
});

test('zeroGrad: setToNone by default, zeros in place otherwise', () => torch.scope(() => {
  const p = torch.ones([2], { requiresGrad: true });
  const opt = new torch.optim.SGD([p], { lr: 0.1 });
  p.grad = torch.ones([2]);
  opt.zeroGrad({ setToNone: false });
  assert.deepEqual(p.grad!.toArray(), [0, 0]);
  opt.zeroGrad();
  assert.equal(p.grad, null);
  // step() skips parameters without a gradient, as in PyTorch.
  opt.step();
  assert.deepEqual(p.toArray(), [1, 1]);
}));

test('step(closure) evaluates the loss with grad enabled and returns it', () => torch.scope(() => {
  const p = torch.tensor([2], { requiresGrad: true });
  const opt = new torch.optim.SGD([p], { lr: 0.25 });
  const loss = torch.noGrad(() => opt.step(() => { const l = p.square().sum(); l.backward(); return l; }));
  assert.equal(loss!.item(), 4);
  assert.deepEqual(p.toArray(), [1]); // 2 - 0.25 * 4
}));

test('(e) bad inputs throw clear errors', () => torch.scope(() => {
  const p = torch.zeros([2], { requiresGrad: true });
  const q = torch.zeros([3], { requiresGrad: true });
  const err = (re: RegExp) => (e: unknown) => e instanceof torch.TorchError && re.test(e.message);
  assert.throws(() => new torch.optim.Adam([p], { lr: -1 }), err(/invalid lr: expected a finite number >= 0, got number -1/));
  assert.throws(() => new torch.optim.SGD([p], { lr: -0.1 }), err(/invalid lr/));
  assert.throws(() => new torch.optim.SGD([p], {} as never), err(/invalid lr.*undefined/));
  assert.throws(() => new torch.optim.Adam([p], { betas: [1, 0.999] }), err(/invalid betas\[0\]: expected a finite number >= 0 and < 1, got number 1/));
  assert.throws(() => new torch.optim.AdamW([p], { betas: [0.9, -0.1] }), err(/invalid betas\[1\]/));
  assert.throws(() => new torch.optim.Adam([p], { betas: [0.9] as never }), err(/invalid betas/));
  assert.throws(() => new torch.optim.Adam([p], { eps: -1e-8 }), err(/invalid eps/));
  assert.throws(() => new torch.optim.AdamW([p], { weightDecay: -0.01 }), err(/invalid weightDecay/));
  assert.throws(() => new torch.optim.Adam([p], { weight_decay: 0.1 } as never), err(/unknown option 'weight_decay'/));
  assert.throws(() => new torch.optim.SGD([p], { lr: 0.1, nesterov: true }), err(/Nesterov momentum requires a momentum and zero dampening/));
  assert.throws(() => new torch.optim.Adam([]), err(/empty parameter list/));
  assert.throws(() => new torch.optim.Adam(p as never), err(/invalid params/));
  assert.throws(() => new torch.optim.Adam([p.mul(2)]), err(/non-leaf/));
  assert.throws(() => new torch.optim.Adam([p, p]), err(/twice/));
  assert.throws(() => new torch.optim.Adam([{ params: [p] }, { params: [p], lr: 0.1 }]), err(/more than one parameter group/));
  assert.throws(() => new torch.optim.Adam([{ params: [q], lr: -3 }]), err(/invalid lr/));

  const opt = new torch.optim.Adam([p, q], { lr: 0.01 });
  p.grad = torch.ones([2]);
  q.grad = torch.ones([3]);
  opt.step();
  const sd = opt.stateDict();
  const before = opt.state.get(p);
  assert.throws(() => new torch.optim.Adam([p]).loadStateDict(sd), err(/parameter group 0 has 2 parameter\(s\) in the state dict but 1 in the optimizer/));
  assert.throws(() => new torch.optim.Adam([{ params: [p] }, { params: [q] }]).loadStateDict(sd), err(/1 parameter group\(s\) but the optimizer has 2/));
  assert.throws(() => new torch.optim.Adam([q, p]).loadStateDict(sd), err(/state\[0\]\.exp_avg has shape \[2\] but its parameter has shape \[3\]/));
  assert.throws(() => new torch.optim.SGD([p, q], { lr: 1 }).loadStateDict({ ...sd, state: { 5: {} } }), err(/state for parameter 5/));
  assert.throws(() => opt.loadStateDict({ ...sd, param_groups: [{ ...sd.param_groups[0]!, betas: [2, 0.9] }] }), err(/param_groups\[0\]: invalid betas\[0\]/));
  assert.throws(() => opt.loadStateDict({ ...sd, state: { 0: { step: 1, exp_avg: sd.state[0]!.exp_avg! } } }), err(/missing state tensor 'exp_avg_sq'/));
  assert.throws(() => opt.loadStateDict({} as never), err(/state dict/));
  // A failed load leaves the optimizer as it was.
  assert.equal(opt.state.get(p), before);
  assert.equal(opt.paramGroups[0]!.betas[0], 0.9);

  assert.throws(() => new torch.optim.CosineAnnealingLR(opt, { tMax: 0 }), err(/invalid tMax/));
  assert.throws(() => torch.optim.warmupCosine(opt, { warmupSteps: 5, totalSteps: 3 }), err(/invalid totalSteps/));
  assert.throws(() => torch.optim.warmupCosine(opt, { warmupSteps: 1, totalSteps: 3, minLr: 1 }), err(/invalid minLr/));
  assert.throws(() => new torch.optim.LambdaLR(opt, [(e) => e, (e) => e]), err(/expected 1 lr lambdas/));
  const sched = torch.optim.linearWarmup(opt, 3);
  assert.throws(() => sched.loadStateDict({ ...sched.stateDict(), base_lrs: [0.1, 0.2] }), err(/base_lrs/));
}));

test('step() and clipGradNorm free their temporaries; only the state persists', () => {
  const params = [torch.randn([4, 3]).requiresGrad_(), torch.randn([3]).requiresGrad_()];
  const opts = [new torch.optim.Adam(params, { amsgrad: true, weightDecay: 0.1 }), new torch.optim.SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 })];
  // Outside any scope: a temporary these functions failed to free would stay live here.
  const once = () => {
    torch.scope(() => { for (const p of params) p.grad = torch.randnLike(p); });
    torch.optim.clipGradNorm(params, 0.5).dispose();
    for (const o of opts) o.step();
  };
  once(); // creates the state
  // earlier tests' tensors dropped outside scopes are freed by GC finalisers at unpredictable moments: collect them
  // first, so that the count sees only this loop
  collectGarbage(); collectGarbage();
  const live = torch.liveTensors();
  for (let i = 0; i < 5; i++) once();
  assert.equal(torch.liveTensors(), live);
});
