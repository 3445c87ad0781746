// Shared by the optimizer tests: reproducible parameters and gradients, the optimizer cases, running a case in
// @climadiff/torch, and relative-error checks.
import assert from 'node:assert/strict';
import * as torch from '../../src/index.js';
import type { Optimizer } from '../../src/optim/index.js';
import { uniform } from './uniform.js';

export type DT = 'float32' | 'float64';
export type Cls = 'Adam' | 'AdamW' | 'SGD';
export const SHAPES = [[3, 4], [5]];
export const STEPS = 5;
export const RTOL: Record<DT, number> = { float32: 1e-6, float64: 1e-12 };

export function values(n: number, next: () => number, dtype: DT, scale = 1): number[] {
  return Array.from({ length: n }, () => { const v = (next() * 2 - 1) * scale; return dtype === 'float32' ? Math.fround(v) : v; });
}
export const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const typed = (dtype: DT, v: number[]) => (dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));
export const snake = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

export interface Data { params: number[][]; grads: number[][][] }
export function makeData(seed: number, dtype: DT, steps = STEPS): Data {
  const next = uniform(seed);
  return {
    params: SHAPES.map((s) => values(numel(s), next, dtype)),
    // Shrinking gradients, so AMSGrad's running maximum differs from the current average.
    grads: Array.from({ length: steps }, (_, k) => SHAPES.map((s) => values(numel(s), next, dtype, 1 / (1 + k)))),
  };
}

export interface OptCase { name: string; cls: Cls; dtype: DT; options: Record<string, unknown>; groups?: Record<string, unknown>[] }
export const OPT_CASES: OptCase[] = (['float64', 'float32'] as DT[]).flatMap((dtype) => [
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

export function makeOptimizer(cls: Cls, groups: unknown, options: Record<string, unknown>): Optimizer<{ lr: number }> {
  const o = options as never;
  const g = groups as never;
  return cls === 'Adam' ? new torch.optim.Adam(g, o) : cls === 'AdamW' ? new torch.optim.AdamW(g, o) : new torch.optim.SGD(g, o);
}

export function runJs(c: OptCase, data: Data, steps = data.grads.length) {
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
export function relErr(actual: ArrayLike<number>, expected: number[]): number {
  assert.equal(actual.length, expected.length, 'length');
  const floor = 1e-3 * Math.max(...expected.map(Math.abs), 1e-300);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor));
  }
  return worst;
}
export function assertClose(actual: ArrayLike<number>, expected: number[], rtol: number, what: string): number {
  const err = relErr(actual, expected);
  assert.ok(err <= rtol, `${what}: relative error ${err} exceeds ${rtol}`);
  return err;
}
