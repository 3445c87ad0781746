// torch.optim against PyTorch (the reference python's, same libtorch): the same initial tensors
// and gradients must give the same parameters and state; clipGradNorm must match clip_grad_norm_;
// LR schedules must give PyTorch's values; a saved and reloaded state must resume bit-for-bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { OptimizerStateDict, Optimizer, LRScheduler } from '../src/optim/index.js';
import { runPython, type PythonResult } from './helpers/python-ref.js';
import { uniform } from './helpers/uniform.js';
import { collectGarbage } from './helpers/gc.js';

type DT = 'float32' | 'float64';
type Cls = 'Adam' | 'AdamW' | 'SGD';
const SHAPES = [[3, 4], [5]];
const STEPS = 5;
const RTOL: Record<DT, number> = { float32: 1e-6, float64: 1e-12 };

function values(n: number, next: () => number, dtype: DT, scale = 1): number[] {
  return Array.from({ length: n }, () => { const v = (next() * 2 - 1) * scale; return dtype === 'float32' ? Math.fround(v) : v; });
}
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const typed = (dtype: DT, v: number[]) => (dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));
const snake = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

interface Data { params: number[][]; grads: number[][][] }
function makeData(seed: number, dtype: DT, steps = STEPS): Data {
  const next = uniform(seed);
  return {
    params: SHAPES.map((s) => values(numel(s), next, dtype)),
    // Shrinking gradients, so AMSGrad's running maximum differs from the current average.
    grads: Array.from({ length: steps }, (_, k) => SHAPES.map((s) => values(numel(s), next, dtype, 1 / (1 + k)))),
  };
}

interface OptCase { name: string; cls: Cls; dtype: DT; options: Record<string, unknown>; groups?: Record<string, unknown>[] }
const OPT_CASES: OptCase[] = (['float64', 'float32'] as DT[]).flatMap((dtype) => [
  { name: `Adam ${dtype}`, cls: 'Adam', dtype, options: { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 } },
  { name: `Adam amsgrad ${dtype}`, cls: 'Adam', dtype, options: { lr: 0.01, weightDecay: 0.1, amsgrad: true } },
  { name: `Adam maximize ${dtype}`, cls: 'Adam', dtype, options: { lr: 0.02, maximize: true } },
  { name: `AdamW ${dtype}`, cls: 'AdamW', dtype, options: { lr: 0.01, weightDecay: 0.05 } },
  {
    name: `AdamW amsgrad, two groups ${dtype}`, cls: 'AdamW', dtype, options: { lr: 0.01, amsgrad: true },
    groups: [{ params: [0] }, { params: [1], lr: 0.003, weightDecay: 0.2 }],
  },
  { name: `SGD momentum nesterov ${dtype}`, cls: 'SGD', dtype, options: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 } },
  { name: `SGD momentum dampening ${dtype}`, cls: 'SGD', dtype, options: { lr: 0.05, momentum: 0.8, dampening: 0.3 } },
] as OptCase[]);

function makeOptimizer(cls: Cls, groups: unknown, options: Record<string, unknown>): Optimizer<{ lr: number }> {
  const o = options as never;
  const g = groups as never;
  return cls === 'Adam' ? new torch.optim.Adam(g, o) : cls === 'AdamW' ? new torch.optim.AdamW(g, o) : new torch.optim.SGD(g, o);
}

function runJs(c: OptCase, data: Data, steps = data.grads.length) {
  const params = data.params.map((d, i) => torch.tensor(typed(c.dtype, d), SHAPES[i]!).requiresGrad_());
  const groups = (c.groups ?? [{ params: [0, 1] }]).map((g) => ({ ...g, params: (g.params as number[]).map((i) => params[i]!) }));
  const opt = makeOptimizer(c.cls, groups, c.options);
  for (const stepGrads of data.grads.slice(0, steps)) {
    params.forEach((p, i) => { p.grad = torch.tensor(typed(c.dtype, stepGrads[i]!), SHAPES[i]!); });
    opt.step();
  }
  return { params, opt };
}

/** Largest |a - e| / max(|e|, 1e-3 * max|e|): relative error with a floor for entries near zero. */
function relErr(actual: ArrayLike<number>, expected: number[]): number {
  assert.equal(actual.length, expected.length, 'length');
  const floor = 1e-3 * Math.max(...expected.map(Math.abs), 1e-300);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor));
  }
  return worst;
}
function assertClose(actual: ArrayLike<number>, expected: number[], rtol: number, what: string): number {
  const err = relErr(actual, expected);
  assert.ok(err <= rtol, `${what}: relative error ${err} exceeds ${rtol}`);
  return err;
}

// ---- the PyTorch reference, computed once for every case ----
interface RefOut {
  torch: string;
  optim: { params: number[][]; state: Record<string, number | number[]>[] }[];
  clip: { total: number; grads: (number[] | null)[] }[];
  sched: { lrs: number[][] }[];
}
interface ClipCase { dtype: DT; maxNorm: number; normType: number; grads: (number[] | null)[] }
const CLIP_SHAPES = [[4, 3], [2], [6]];
const CLIP_CASES: ClipCase[] = [
  { dtype: 'float64', maxNorm: 0.5, normType: 2 },
  { dtype: 'float32', maxNorm: 100, normType: 2 }, // below the limit: gradients unchanged
  { dtype: 'float32', maxNorm: 0.7, normType: 2 },
  { dtype: 'float64', maxNorm: 1, normType: 1 },
  { dtype: 'float32', maxNorm: 0.1, normType: Infinity },
  { dtype: 'float64', maxNorm: 0.3, normType: 3 },
].map((c, i) => {
  const next = uniform(100 + i);
  // The middle parameter has no gradient: it must be skipped, as in PyTorch.
  return { ...c, grads: CLIP_SHAPES.map((s, j) => (j === 1 ? null : values(numel(s), next, c.dtype as DT))) } as ClipCase;
});

interface SchedCase { kind: 'exp' | 'warmup' | 'warmup_cosine' | 'cosine'; lrs: number[]; steps: number; [k: string]: unknown }
const SCHED_CASES: SchedCase[] = [
  { kind: 'exp', lrs: [0.1, 0.02], steps: 12, gamma: 0.95 },
  { kind: 'warmup', lrs: [0.1], steps: 8, warmup_steps: 4 },
  { kind: 'warmup_cosine', lrs: [0.1, 0.05], steps: 14, warmup_steps: 3, total_steps: 10, min_lr: 0.001 },
  // 23 steps with T_max 5 pass the restart branch of PyTorch's recursive form ((e - 1 - T) % 2T == 0).
  { kind: 'cosine', lrs: [0.1, 0.01], steps: 23, T_max: 5, eta_min: 0.001 },
];

const optData = OPT_CASES.map((c, i) => makeData(i + 1, c.dtype));
let reference: PythonResult<RefOut> | undefined;
function ref(): PythonResult<RefOut> {
  reference ??= runPython<RefOut>('optim_ref.py', {
    optim: OPT_CASES.map((c, i) => ({
      cls: c.cls, dtype: c.dtype, kwargs: snake(c.options),
      groups: (c.groups ?? [{ params: [0, 1] }]).map(snake),
      params: optData[i]!.params.map((data, j) => ({ shape: SHAPES[j], data })), grads: optData[i]!.grads,
    })),
    clip: CLIP_CASES.map((c) => ({
      dtype: c.dtype, max_norm: c.maxNorm, norm_type: c.normType === Infinity ? 'inf' : c.normType,
      grads: c.grads.map((data, j) => (data === null ? null : { shape: CLIP_SHAPES[j], data })),
    })),
    sched: SCHED_CASES,
  });
  return reference;
}

test('(a) SGD, Adam and AdamW steps equal PyTorch', async (t) => {
  const r = ref();
  if (r.skip !== undefined) { t.skip(r.skip); return; }
  for (const [i, c] of OPT_CASES.entries()) {
    await t.test(c.name, (st) => torch.scope(() => {
      const { params, opt } = runJs(c, optData[i]!);
      const want = r.out.optim[i]!;
      let worst = 0;
      params.forEach((p, j) => {
        assert.equal(p.dtype, c.dtype);
        worst = Math.max(worst, assertClose(p.toFloat64Array(), want.params[j]!, RTOL[c.dtype], `param ${j}`));
        const mine = opt.state.get(p)!;
        const theirs = want.state[j]!;
        assert.deepEqual(Object.keys(mine).filter((k) => mine[k] !== null).sort(), Object.keys(theirs).sort(), 'state keys');
        for (const [k, v] of Object.entries(theirs)) {
          if (typeof v === 'number') assert.equal(mine[k], v, k);
          else worst = Math.max(worst, assertClose((mine[k] as Tensor).toFloat64Array(), v, RTOL[c.dtype], `state ${k} of param ${j}`));
        }
      });
      st.diagnostic(`largest relative difference from PyTorch: ${worst}`);
      // In-place updates: the optimizer still holds the very tensors the caller passed.
      assert.ok(opt.paramGroups.flatMap((g) => g.params).every((p, j) => p === params[j]));
    }));
  }
});

test('(b) clipGradNorm equals torch.nn.utils.clip_grad_norm_', async (t) => {
  const r = ref();
  if (r.skip !== undefined) { t.skip(r.skip); return; }
  for (const [i, c] of CLIP_CASES.entries()) {
    await t.test(`${c.dtype} norm ${c.normType} max ${c.maxNorm}`, () => torch.scope(() => {
      const params = c.grads.map((g, j) => {
        const p = torch.zeros(CLIP_SHAPES[j]!, { dtype: c.dtype, requiresGrad: true });
        if (g !== null) p.grad = torch.tensor(typed(c.dtype, g), CLIP_SHAPES[j]!);
        return p;
      });
      const total = torch.optim.clipGradNorm(params, c.maxNorm, c.normType);
      const want = r.out.clip[i]!;
      assert.deepEqual(total.shape, []);
      assertClose([total.item()], [want.total], RTOL[c.dtype], 'total norm');
      params.forEach((p, j) => {
        if (want.grads[j] === null) { assert.equal(p.grad, null); return; }
        assertClose(p.grad!.toFloat64Array(), want.grads[j]!, RTOL[c.dtype], `grad ${j}`);
      });
    }));
  }
});

test('(b) clipGradNorm edge cases: no gradients, non-finite norm', () => torch.scope(() => {
  const p = torch.ones([3], { requiresGrad: true });
  assert.equal(torch.optim.clipGradNorm([p], 1).item(), 0);
  p.grad = torch.tensor([3, 4, NaN]);
  assert.throws(() => torch.optim.clipGradNorm(p, 1, 2, { errorIfNonfinite: true }), /non-finite/);
  assert.throws(() => torch.optim.clipGradNorm([p], Number.NaN), /invalid maxNorm/);
}));

function makeScheduler(c: SchedCase, opt: Optimizer<{ lr: number }>): LRScheduler {
  switch (c.kind) {
    case 'exp': return new torch.optim.LambdaLR(opt, (e) => (c.gamma as number) ** e);
    case 'warmup': return torch.optim.linearWarmup(opt, c.warmup_steps as number);
    case 'warmup_cosine': return torch.optim.warmupCosine(opt, {
      warmupSteps: c.warmup_steps as number, totalSteps: c.total_steps as number, minLr: c.min_lr as number,
    });
    case 'cosine': return new torch.optim.CosineAnnealingLR(opt, { tMax: c.T_max as number, etaMin: c.eta_min as number });
  }
}
function schedOptimizer(lrs: number[]): Optimizer<{ lr: number }> {
  return new torch.optim.SGD(lrs.map((lr) => ({ params: [torch.zeros([1], { requiresGrad: true })], lr })), { lr: lrs[0]! });
}
function lrSequence(c: SchedCase, steps = c.steps): number[][] {
  const opt = schedOptimizer(c.lrs);
  const sched = makeScheduler(c, opt);
  const out = [sched.getLastLr()];
  for (let i = 0; i < steps; i++) { opt.step(); sched.step(); out.push(sched.getLastLr()); }
  return out;
}

test('(d) LR schedules equal PyTorch LambdaLR / CosineAnnealingLR', async (t) => {
  const r = ref();
  if (r.skip !== undefined) { t.skip(r.skip); return; }
  for (const [i, c] of SCHED_CASES.entries()) {
    await t.test(c.kind, () => {
      const mine = lrSequence(c);
      const want = r.out.sched[i]!.lrs;
      assert.equal(mine.length, want.length);
      mine.forEach((lrs, step) => assertClose(lrs, want[step]!, 1e-12, `lrs after ${step} steps`));
    });
  }
});

test('(d) schedulers resume from stateDict exactly, with the optimizer state', () => {
  for (const c of SCHED_CASES) {
    const whole = lrSequence(c);
    const opt = schedOptimizer(c.lrs);
    const sched = makeScheduler(c, opt);
    for (let i = 0; i < 7; i++) { opt.step(); sched.step(); }
    // Through JSON, as a checkpoint would store them.
    const optSd = JSON.parse(JSON.stringify(opt.stateDict())) as OptimizerStateDict;
    const schedSd = JSON.parse(JSON.stringify(sched.stateDict())) as Record<string, unknown>;
    assert.equal(schedSd.last_epoch, 7);
    const opt2 = schedOptimizer(c.lrs);
    opt2.loadStateDict(optSd);
    const sched2 = makeScheduler(c, opt2);
    sched2.loadStateDict(schedSd);
    const rest = [sched2.getLastLr()];
    for (let i = 7; i < c.steps; i++) { opt2.step(); sched2.step(); rest.push(sched2.getLastLr()); }
    assert.deepEqual(rest, whole.slice(7), c.kind);
  }
});

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
