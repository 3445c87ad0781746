// torch.optim against PyTorch (the reference python's, same libtorch): the same initial tensors
// and gradients must give the same parameters and state; clipGradNorm must match clip_grad_norm_;
// LR schedules must give PyTorch's values (resuming from a saved state: optim-state.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { OptimizerStateDict, Optimizer, LRScheduler } from '../src/optim/index.js';
import { runPython, type PythonResult } from './helpers/python-ref.js';
import { uniform } from './helpers/uniform.js';
import { type DT, SHAPES, RTOL, values, numel, typed, snake, makeData, OPT_CASES, runJs, assertClose } from './helpers/optim-fixtures.js';

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
