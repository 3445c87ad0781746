// torch.scope memory management: what is freed, what survives (results, kept tensors), nesting and errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

describe('torch.scope', () => {
  test('disposes intermediates and keeps returned values', () => {
    const before = torch.liveTensors();
    let inter: Tensor[] = [];
    const out = torch.scope(() => {
      const a = torch.ones([4]);
      const b = a.mul(2);
      const c = b.add(1);
      inter = [a, b];
      return c;
    });
    assert.ok(inter.every((t) => t.isDisposed), 'intermediates disposed');
    assert.equal(out.isDisposed, false);
    assert.deepEqual(out.toArray(), [3, 3, 3, 3]);
    assert.equal(torch.liveTensors(), before + 1);
    out.dispose();
    assert.equal(out.isDisposed, true);
    assert.equal(torch.liveTensors(), before);
  });
  test('keeps tensors in returned arrays and objects, and kept tensors', () => {
    const before = torch.liveTensors();
    let kept: Tensor | undefined;
    let dropped: Tensor | undefined;
    const res = torch.scope(() => {
      kept = torch.zeros([1]).keep();
      dropped = torch.zeros([1]);
      return { list: [torch.ones([1]), torch.ones([2])], nested: { t: torch.ones([3]) }, n: 5 };
    });
    assert.equal(dropped!.isDisposed, true);
    assert.equal(kept!.isDisposed, false);
    assert.ok(res.list.every((t) => !t.isDisposed));
    assert.equal(res.nested.t.isDisposed, false);
    assert.equal(torch.liveTensors(), before + 4);
    for (const t of [...res.list, res.nested.t, kept!]) t.dispose();
    assert.equal(torch.liveTensors(), before);
  });
  test('nested scopes hand survivors to the enclosing scope', () => {
    const before = torch.liveTensors();
    let innerResult: Tensor | undefined;
    const out = torch.scope(() => {
      assert.equal(torch.scopeDepth(), 1);
      innerResult = torch.scope(() => { assert.equal(torch.scopeDepth(), 2); return torch.ones([2]).mul(5); });
      assert.equal(innerResult.isDisposed, false);
      return innerResult.add(1);
    });
    assert.equal(torch.scopeDepth(), 0);
    assert.equal(innerResult!.isDisposed, true, 'the inner result was not returned from the outer scope');
    assert.deepEqual(out.toArray(), [6, 6]);
    out.dispose();
    assert.equal(torch.liveTensors(), before);
  });
  test('a throwing scope disposes everything it created and rethrows', () => {
    const before = torch.liveTensors();
    let made: Tensor | undefined;
    assert.throws(() => torch.scope(() => { made = torch.ones([3]); torch.mm(made, made); }), torch.TorchError);
    assert.equal(made!.isDisposed, true);
    assert.equal(torch.liveTensors(), before);
    assert.equal(torch.scopeDepth(), 0);
  });
  test('gradients and autograd inside a scope, results survive', () => {
    const w = torch.tensor([1, 2, 3], { requiresGrad: true });
    const before = torch.liveTensors();
    const g = torch.scope(() => {
      const loss = w.mul(w).sum();
      return torch.autograd.grad([loss], [w])[0]!;
    });
    assert.deepEqual(g.toArray(), [2, 4, 6]);
    assert.equal(torch.liveTensors(), before + 1);
    // many iterations do not grow the table
    // (the count may only fall meanwhile: the GC safety net frees unreachable tensors of earlier tests,
    // but never a scoped one, so a scope that leaked would show up here)
    for (let i = 0; i < 200; i++) torch.scope(() => { w.mul(2).exp().sum().backward(); w.grad = null; });
    assert.ok(torch.liveTensors() <= before + 1, `live tensors ${torch.liveTensors()} > ${before + 1}`);
  });
});
