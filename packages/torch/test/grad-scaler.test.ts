// torch.amp.GradScaler against PyTorch's torch.amp.GradScaler('cpu', ...) (the reference python, same libtorch):
// a small two-layer model trained with scaled losses, some steps with inf/NaN gradients (injected, or from a
// float16 overflow under autocast), must give the same scales, growth trackers, skipped steps and parameters.
// Then errors, stateDict round trips, the disabled pass-through and the release of temporaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { Optimizer } from '../src/optim/index.js';
import { runPython, type PythonResult } from './helpers/python-ref.js';
import { uniform } from './helpers/uniform.js';
import { collectGarbage } from './helpers/gc.js';

const F = torch.nn.functional;
const { GradScaler } = torch.amp;
torch.setNumThreads(1); // as the reference script: identical reductions on both sides

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const snake = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
const err = (re: RegExp) => (e: unknown) => e instanceof torch.TorchError && re.test(e.message);

interface Arr { shape: number[]; data: number[] }
function arr(shape: number[], next: () => number, scale = 1): Arr {
  return { shape, data: Array.from({ length: numel(shape) }, () => Math.fround((next() * 2 - 1) * scale)) };
}
const IN = 4, HIDDEN = 5, OUT = 2, BATCH = 6;

type Cls = 'SGD' | 'Adam';
interface Inject { step: number; param: number; index: number; value: 'inf' | '-inf' | 'nan' }
interface Case {
  name: string;
  scaler: { initScale: number; growthFactor: number; backoffFactor: number; growthInterval: number };
  autocast: 'float16' | null;
  optimizers: { cls: Cls; options: Record<string, unknown>; params: number[] }[];
  steps: number;
  inject: Inject[];
  unscaleFirst: boolean;
  clip: number | null;
  seed: number;
}
const CASES: Case[] = [
  {
    name: 'float32, SGD with momentum, injected inf/NaN gradients',
    scaler: { initScale: 2 ** 10, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 },
    autocast: null, optimizers: [{ cls: 'SGD', options: { lr: 0.1, momentum: 0.9 }, params: [0, 1, 2, 3] }],
    steps: 14, unscaleFirst: false, clip: null, seed: 1,
    inject: [{ step: 2, param: 0, index: 3, value: 'inf' }, { step: 5, param: 3, index: 1, value: 'nan' },
      { step: 6, param: 1, index: 0, value: '-inf' }, { step: 6, param: 2, index: 4, value: 'nan' }],
  },
  {
    name: 'float16 autocast, SGD with Nesterov momentum, unscale_ + clipGradNorm, natural overflow',
    // 2**24 overflows the float16 backward at once; growth by 4 every 2 clean steps overflows it again.
    scaler: { initScale: 2 ** 24, growthFactor: 4, backoffFactor: 0.25, growthInterval: 2 },
    autocast: 'float16', optimizers: [{ cls: 'SGD', options: { lr: 0.05, momentum: 0.9, nesterov: true }, params: [0, 1, 2, 3] }],
    steps: 16, unscaleFirst: true, clip: 0.5, seed: 2, inject: [],
  },
  {
    name: 'two optimizers: an inf in one skips only that one, the scale backs off once',
    scaler: { initScale: 2 ** 12, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2 },
    autocast: null,
    optimizers: [{ cls: 'SGD', options: { lr: 0.05 }, params: [0, 1] }, { cls: 'SGD', options: { lr: 0.02, momentum: 0.5, weightDecay: 0.01 }, params: [2, 3] }],
    steps: 10, unscaleFirst: true, clip: null, seed: 3,
    inject: [{ step: 1, param: 2, index: 0, value: 'inf' }, { step: 4, param: 1, index: 2, value: 'nan' },
      { step: 7, param: 0, index: 1, value: 'inf' }, { step: 7, param: 3, index: 0, value: 'nan' }],
  },
];

interface Data { params: Arr[]; x: Arr; y: Arr }
function makeData(seed: number): Data {
  const next = uniform(seed);
  return {
    params: [arr([HIDDEN, IN], next), arr([HIDDEN], next, 0.1), arr([OUT, HIDDEN], next), arr([OUT], next, 0.1)],
    x: arr([BATCH, IN], next, 2), y: arr([BATCH, OUT], next),
  };
}
const DATA = CASES.map((c) => makeData(c.seed));

interface StepOut { loss: number; scale: number; tracker: number; stepped: boolean[]; params: number[][] }
interface RefOut { torch: string; cases: { steps: StepOut[]; state_dict: Record<string, number> }[] }

let reference: PythonResult<RefOut> | undefined;
function ref(): PythonResult<RefOut> {
  reference ??= runPython<RefOut>('grad_scaler_ref.py', {
    cases: CASES.map((c, i) => ({
      scaler: snake(c.scaler), autocast: c.autocast, params: DATA[i]!.params, x: DATA[i]!.x, y: DATA[i]!.y,
      optimizers: c.optimizers.map((o) => ({ cls: o.cls, kwargs: snake(o.options), params: o.params })),
      steps: c.steps, inject: c.inject, unscale_first: c.unscaleFirst, clip: c.clip,
    })),
  });
  return reference;
}

const fromArr = (a: Arr) => torch.tensor(Float32Array.from(a.data), a.shape);
const VALUE = { inf: Infinity, '-inf': -Infinity, nan: NaN } as const;

function forward(params: Tensor[], x: Tensor, y: Tensor, autocast: 'float16' | null): Tensor {
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const f = () => F.mseLoss(F.linear(F.tanh(F.linear(x, w1, b1)), w2, b2), y);
  return autocast === null ? f() : torch.autocast({ deviceType: 'cpu', dtype: autocast }, f);
}

function runJs(c: Case, data: Data): { steps: StepOut[]; scaler: InstanceType<typeof GradScaler> } {
  const params = data.params.map((p) => fromArr(p).requiresGrad_());
  const x = fromArr(data.x), y = fromArr(data.y);
  const opts: Optimizer<{ lr: number }>[] = c.optimizers.map((o) => {
    const ps = o.params.map((i) => params[i]!);
    return o.cls === 'SGD' ? new torch.optim.SGD(ps, o.options as never) : new torch.optim.Adam(ps, o.options as never);
  });
  const scaler = new GradScaler({ device: 'cpu', ...c.scaler });
  const steps: StepOut[] = [];
  for (let k = 0; k < c.steps; k++) {
    torch.scope(() => {
      const loss = forward(params, x, y, c.autocast);
      scaler.scale(loss).backward();
      torch.noGrad(() => {
        for (const inj of c.inject) if (inj.step === k) params[inj.param]!.grad!.view(-1).select(0, inj.index).fill_(VALUE[inj.value]);
      });
      const stepped = opts.map((opt) => {
        if (c.unscaleFirst) {
          scaler.unscale_(opt);
          if (c.clip !== null) torch.optim.clipGradNorm(opt.paramGroups.flatMap((g) => g.params), c.clip);
        }
        return scaler.step(opt);
      });
      scaler.update();
      for (const opt of opts) opt.zeroGrad();
      steps.push({
        loss: loss.item(), scale: scaler.getScale(), tracker: scaler.getGrowthTracker(), stepped,
        params: params.map((p) => Array.from(p.toFloat64Array())),
      });
    });
  }
  return { steps, scaler };
}

function assertClose(actual: number[], expected: number[], rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    assert.ok(Math.abs(a - e) <= rtol * Math.max(Math.abs(e), 1e-3), `${what}[${i}]: ${a} vs PyTorch ${e}`);
  }
}

test('(1) scale sequence, growth tracker, skipped steps and parameters equal torch.amp.GradScaler', async (t) => {
  const r = ref();
  if (r.skip !== undefined) { t.skip(r.skip); return; }
  t.diagnostic(`reference torch ${r.out.torch}`);
  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, (st) => torch.scope(() => {
      const { steps, scaler } = runJs(c, DATA[i]!);
      const want = r.out.cases[i]!;
      assert.deepEqual(steps.map((s) => s.scale), want.steps.map((s) => s.scale), 'scale after each update()');
      assert.deepEqual(steps.map((s) => s.tracker), want.steps.map((s) => s.tracker), 'growth tracker after each update()');
      assert.deepEqual(steps.map((s) => s.stepped), want.steps.map((s) => s.stepped), 'which optimizers stepped');
      const diffs = steps.map((s, k) => Math.max(Math.abs(s.loss - want.steps[k]!.loss), ...s.params.flatMap((p, j) => p.map((v, e) => Math.abs(v - want.steps[k]!.params[j]![e]!)))));
      st.diagnostic(`largest absolute difference per step: ${diffs.map((d) => d.toExponential(1)).join(' ')}`);
      steps.forEach((s, k) => {
        assertClose([s.loss], [want.steps[k]!.loss], 1e-6, `loss at step ${k}`);
        s.params.forEach((p, j) => assertClose(p, want.steps[k]!.params[j]!, 1e-6, `param ${j} after step ${k}`));
      });
      assert.deepEqual(scaler.stateDict(), want.state_dict, 'stateDict() equals state_dict()');
      if (c.optimizers.length > 1) {
        assert.ok(steps.some((s) => s.stepped.some((x) => x) && s.stepped.some((x) => !x)), 'one optimizer skipped while the other stepped');
      }
      const skipped = steps.filter((s) => s.stepped.some((x) => !x)).length;
      assert.ok(skipped > 0 && skipped < steps.length, `some steps skipped, not all (${skipped} of ${steps.length})`);
      st.diagnostic(`scales: ${steps.map((s) => s.scale).join(', ')}; skipped ${skipped} step(s)`);
    }));
  }
});

// A minimal model and optimizer for the unit tests below.
function setup(opts: ConstructorParameters<typeof GradScaler>[0] = {}) {
  const w = torch.tensor([0.5, -1, 2], { requiresGrad: true });
  const opt = new torch.optim.SGD([w], { lr: 0.1 });
  const scaler = new GradScaler(opts);
  const lossOf = () => w.square().sum();
  return { w, opt, scaler, lossOf };
}

test('(2) unscale_/step/update order errors, as in PyTorch', () => torch.scope(() => {
  const { w, opt, scaler, lossOf } = setup({ initScale: 8 });
  assert.deepEqual(scaler.scale([]), [], 'an empty list scales to an empty list (and does not create the scale)');
  assert.throws(() => scaler.unscale_(opt), err(/unscale_: the scale is not initialized yet.*scaler\.scale\(loss or outputs\)/));
  assert.throws(() => scaler.step(opt), err(/step: the scale is not initialized/));
  assert.throws(() => scaler.update(), err(/update: the scale is not initialized/));
  scaler.scale(lossOf()).backward();
  assert.deepEqual(w.grad!.toArray(), [8, -16, 32]); // 8 * 2w
  assert.throws(() => scaler.update(), err(/no inf checks were recorded prior to update/));
  scaler.unscale_(opt);
  assert.deepEqual(w.grad!.toArray(), [1, -2, 4]);
  assert.throws(() => scaler.unscale_(opt), err(/unscale_\(\) has already been called on this optimizer since the last update\(\)/));
  assert.deepEqual(w.grad!.toArray(), [1, -2, 4], 'the failed second unscale_ changed nothing');
  assert.equal(scaler.step(opt), true);
  assertClose(Array.from(w.toFloat64Array()), [0.4, -0.8, 1.6], 1e-6, 'w after one SGD step');
  assert.throws(() => scaler.unscale_(opt), err(/unscale_\(\) is being called after step\(\)/));
  assert.throws(() => scaler.step(opt), err(/step\(\) has already been called since the last update\(\)/));
  scaler.update();
  // update() starts a new iteration: unscale_ and step are allowed again.
  opt.zeroGrad();
  scaler.scale(lossOf()).backward();
  scaler.unscale_(opt);
  assert.equal(scaler.step(opt), true);
  scaler.update();

  // An optimizer none of whose parameters has a gradient.
  const lone = new torch.optim.SGD([torch.zeros([2], { requiresGrad: true })], { lr: 1 });
  assert.throws(() => scaler.step(lone), err(/no inf checks were recorded for this optimizer/));
  // Float16 gradients cannot be unscaled (PyTorch: "Attempting to unscale FP16 gradients.").
  const h = torch.ones([2], { dtype: 'float16', requiresGrad: true });
  const hopt = new torch.optim.SGD([h], { lr: 1 });
  scaler.scale(h.sum()).backward();
  assert.throws(() => scaler.unscale_(hopt), err(/attempting to unscale float16 gradients \(paramGroups\[0\]\.params\[0\]\)/));
  assert.throws(() => scaler.step({} as never), err(/invalid GradScaler\.step optimizer: expected an optimizer/));
  assert.throws(() => (scaler.step as (o: unknown, c: unknown) => boolean)(opt, () => 1), err(/closures are not supported/));
  assert.throws(() => scaler.scale('loss' as never), err(/invalid GradScaler\.scale outputs: expected a Tensor or an array of Tensors, got "loss"/));
  assert.throws(() => scaler.scale([w, 3] as never), err(/invalid GradScaler\.scale outputs\[1\]: expected a Tensor, got number 3/));
}));

test('(2) bad options and update(newScale) arguments throw clear errors', () => torch.scope(() => {
  assert.throws(() => new GradScaler({ growthFactor: 1 }), err(/invalid GradScaler growthFactor: expected a finite number > 1, got number 1/));
  assert.throws(() => new GradScaler({ backoffFactor: 1 }), err(/invalid GradScaler backoffFactor: expected a number > 0 and < 1, got number 1/));
  assert.throws(() => new GradScaler({ backoffFactor: 0 }), err(/invalid GradScaler backoffFactor/));
  assert.throws(() => new GradScaler({ growthInterval: 0 }), err(/invalid GradScaler growthInterval: expected an integer in \[1, 2147483647\], got number 0/));
  assert.throws(() => new GradScaler({ growthInterval: 2.5 }), err(/invalid GradScaler growthInterval/));
  assert.throws(() => new GradScaler({ initScale: -1 }), err(/invalid GradScaler initScale: expected a finite number > 0, got number -1/));
  assert.throws(() => new GradScaler({ initScale: Infinity }), err(/invalid GradScaler initScale/));
  assert.throws(() => new GradScaler({ device: 'tpu' as never }), err(/invalid GradScaler device: expected 'cpu' or 'cuda', got "tpu"/));
  assert.throws(() => new GradScaler({ enabled: 1 as never }), err(/invalid GradScaler enabled: expected a boolean/));
  assert.throws(() => new GradScaler({ init_scale: 4 } as never), err(/GradScaler: unknown option 'init_scale'/));
  assert.throws(() => new GradScaler(null as never), err(/invalid GradScaler options/));

  const { opt, scaler, lossOf } = setup({ initScale: 4 });
  scaler.scale(lossOf()).backward();
  scaler.step(opt);
  assert.throws(() => scaler.update(-2), err(/invalid GradScaler\.update newScale: expected a finite number > 0, got number -2/));
  assert.throws(() => scaler.update(torch.ones([2])), err(/expected a number or a 1-element cpu Tensor with requiresGrad false, got a Tensor of shape \[2\] on cpu/));
  assert.throws(() => scaler.update(torch.ones([1], { requiresGrad: true })), err(/that requires grad/));
  assert.throws(() => scaler.update('8' as never), err(/invalid GradScaler\.update newScale: expected a number or a 1-element Tensor/));
  assert.equal(scaler.getScale(), 4, 'failed updates leave the scale');
  scaler.update(torch.tensor([3], { dtype: 'float64' }));
  assert.equal(scaler.getScale(), 3);
  scaler.update(32);
  assert.equal(scaler.getScale(), 32);
  assert.equal(scaler.getGrowthTracker(), 0);
  assert.throws(() => scaler.setGrowthFactor(0.5), err(/invalid GradScaler growthFactor/));
  scaler.setGrowthInterval(7);
  assert.equal(scaler.getGrowthInterval(), 7);
}));

test('(2) the scale and the tracker are float32 / int32 0-d tensors; a skipped step leaves the parameters', () => torch.scope(() => {
  const { w, opt, scaler, lossOf } = setup({ initScale: 2 ** 16, growthInterval: 2 });
  assert.equal(scaler.getScale(), 2 ** 16, 'initScale before the first scale()');
  const scaled = scaler.scale(lossOf());
  assert.equal(scaled.dtype, 'float32');
  const internal = scaler as unknown as { scaleT: Tensor; growthTrackerT: Tensor };
  assert.equal(internal.scaleT.dtype, 'float32');
  assert.equal(internal.growthTrackerT.dtype, 'int32');
  assert.deepEqual(internal.scaleT.shape, []);
  assert.equal(internal.scaleT.device, 'cpu');
  // float16 outputs stay float16 (a 0-d float32 scale does not promote them).
  assert.equal(scaler.scale(torch.ones([2], { dtype: 'float16' })).dtype, 'float16');
  scaled.backward();
  torch.noGrad(() => w.grad!.select(0, 1).fill_(NaN));
  const before = w.toArray();
  assert.equal(scaler.step(opt), false);
  assert.deepEqual(w.toArray(), before);
  scaler.update();
  assert.equal(scaler.getScale(), 2 ** 15);
  assert.equal(scaler.getGrowthTracker(), 0);
  for (let k = 0; k < 2; k++) {
    opt.zeroGrad();
    scaler.scale(lossOf()).backward();
    assert.equal(scaler.step(opt), true);
    scaler.update();
  }
  assert.equal(scaler.getScale(), 2 ** 16, 'grown after growthInterval clean steps');
  const [a, b] = scaler.scale([torch.ones([1]), torch.full([2], 2)]);
  assert.deepEqual([a!.toArray(), b!.toArray()], [[2 ** 16], [2 ** 17, 2 ** 17]]);
}));

test('(3) stateDict round trip: a reloaded scaler continues exactly as the original', () => torch.scope(() => {
  const a = setup({ initScale: 1024, growthInterval: 3, growthFactor: 4, backoffFactor: 0.125 });
  const iterate = (s: typeof a, bad: boolean) => torch.scope(() => {
    s.opt.zeroGrad();
    s.scaler.scale(s.lossOf()).backward();
    if (bad) torch.noGrad(() => s.w.grad!.select(0, 0).fill_(Infinity));
    const stepped = s.scaler.step(s.opt);
    s.scaler.update();
    return stepped;
  });
  [false, true, false, false].forEach((bad) => iterate(a, bad));
  const sd = a.scaler.stateDict();
  assert.deepEqual(Object.keys(sd).sort(), ['_growth_tracker', 'backoff_factor', 'growth_factor', 'growth_interval', 'scale']);
  assert.deepEqual(sd, { scale: 128, growth_factor: 4, backoff_factor: 0.125, growth_interval: 3, _growth_tracker: 2 });

  // Into a fresh scaler (before its first scale()) and into one already in use.
  const fresh = setup();
  fresh.scaler.loadStateDict(sd);
  assert.equal(fresh.scaler.getScale(), 128);
  assert.equal(fresh.scaler.getGrowthTracker(), 2);
  const used = setup({ initScale: 2 });
  iterate(used, false);
  used.scaler.loadStateDict(JSON.parse(JSON.stringify(sd)));
  assert.deepEqual(used.scaler.stateDict(), sd);
  for (const s of [fresh, used]) torch.noGrad(() => s.w.copy_(a.w));
  for (const bad of [false, true, false, false, false, false]) {
    const stepped = iterate(a, bad);
    for (const s of [fresh, used]) {
      assert.equal(iterate(s, bad), stepped);
      assert.deepEqual(s.scaler.stateDict(), a.scaler.stateDict());
      assert.deepEqual(s.w.toArray(), a.w.toArray());
    }
  }
  // Tensors are accepted for the scale and the tracker (e.g. from torch.load).
  fresh.scaler.loadStateDict({ ...sd, scale: torch.tensor([64]), _growth_tracker: torch.tensor([1], { dtype: 'int32' }) });
  assert.equal(fresh.scaler.getScale(), 64);
  assert.equal(fresh.scaler.getGrowthTracker(), 1);

  const before = used.scaler.stateDict();
  const L = 'GradScaler.loadStateDict';
  assert.throws(() => used.scaler.loadStateDict({}), err(new RegExp(`${L}: the state dict is empty, possibly because it was saved from a disabled GradScaler`)));
  assert.throws(() => used.scaler.loadStateDict({ ...sd, growth_factor: 0.9 }), err(new RegExp(`invalid ${L}: 'growth_factor': expected a finite number > 1`)));
  assert.throws(() => used.scaler.loadStateDict({ ...sd, _growth_tracker: -1 }), err(/'_growth_tracker': expected an integer in \[0, 2147483647\]/));
  const { scale: _omit, ...noScale } = sd as unknown as Record<string, number>;
  assert.throws(() => used.scaler.loadStateDict(noScale as never), err(/the state dict has no 'scale'/));
  assert.throws(() => used.scaler.loadStateDict({ ...sd, growthFactor: 2 } as never), err(/unknown key 'growthFactor'/));
  assert.throws(() => used.scaler.loadStateDict(null as never), err(/invalid GradScaler\.loadStateDict: state dict/));
  assert.deepEqual(used.scaler.stateDict(), before, 'a failed load changes nothing');
}));

test('(4) a disabled scaler is a pass-through', async () => {
  torch.scope(() => {
    const { w, opt, scaler, lossOf } = setup({ enabled: false, initScale: 1024 });
    assert.equal(scaler.isEnabled(), false);
    const loss = lossOf();
    assert.equal(scaler.scale(loss), loss, 'the same tensor');
    const outs = [loss, w];
    const scaledOuts = scaler.scale(outs);
    assert.ok(scaledOuts.every((t, i) => t === outs[i]));
    loss.backward();
    scaler.unscale_(opt);
    assert.deepEqual(w.grad!.toArray(), [1, -2, 4], 'gradients untouched');
    torch.noGrad(() => w.grad!.select(0, 0).fill_(Infinity));
    assert.equal(scaler.step(opt), true, 'steps even with an inf gradient, like optimizer.step()');
    assert.equal(w.toFloat64Array()[0], -Infinity);
    scaler.update();
    scaler.update(7);
    assert.equal(scaler.getScale(), 1);
    assert.equal(scaler.getGrowthTracker(), 0);
    assert.deepEqual(scaler.stateDict(), {});
    scaler.loadStateDict({});
    assert.deepEqual(scaler.stateDict(), {});
  });
  if (!torch.cuda.isAvailable()) {
    // PyTorch disables a cuda scaler, with a warning, when CUDA is missing.
    const warned = new Promise<string>((resolve) => process.once('warning', (w) => resolve(w.message)));
    const s = new GradScaler({ device: 'cuda' });
    assert.equal(s.isEnabled(), false);
    assert.match(await warned, /CUDA is not available\. Disabling/);
  }
});

test('(5) scale/unscale_/step/update free their temporaries', () => {
  // The scalers of the tests above keep their scale and tracker until the garbage collector frees them:
  // collect them first, so that the count below sees only this loop.
  collectGarbage(); collectGarbage();
  const { opt, scaler, lossOf } = setup({ growthInterval: 2 });
  const once = () => {
    torch.scope(() => {
      opt.zeroGrad();
      const s = scaler.scale(lossOf());
      s.backward();
      scaler.unscale_(opt);
      scaler.step(opt);
      scaler.update();
    });
    opt.zeroGrad();
  };
  once(); // creates the scale and the tracker
  const live = torch.liveTensors();
  for (let i = 0; i < 6; i++) once();
  assert.equal(torch.liveTensors(), live);
});
