// Grad modes (noGrad, enableGrad), higher-order gradients and gradient accumulation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';

describe('grad modes', () => {
  test('noGrad / enableGrad nest and restore', () => {
    const x = torch.ones([2], { requiresGrad: true });
    assert.equal(torch.isGradEnabled(), true);
    const r = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      const y = x.mul(2);
      assert.equal(y.requiresGrad, false);
      const z = torch.enableGrad(() => {
        assert.equal(torch.isGradEnabled(), true);
        const inner = torch.noGrad(() => { assert.equal(torch.isGradEnabled(), false); return x.mul(3); });
        assert.equal(inner.requiresGrad, false);
        return x.mul(4);
      });
      assert.equal(torch.isGradEnabled(), false);
      assert.equal(z.requiresGrad, true);
      return z;
    });
    assert.equal(torch.isGradEnabled(), true);
    r.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [4, 4]);
  });
  test('grad mode is restored after an exception', () => {
    assert.throws(() => torch.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(torch.isGradEnabled(), true);
    torch.noGrad(() => {
      assert.throws(() => torch.enableGrad(() => { throw new Error('boom'); }), /boom/);
      assert.equal(torch.isGradEnabled(), false);
    });
    assert.equal(torch.isGradEnabled(), true);
    const prev = torch.setGradEnabled(false);
    assert.equal(prev, true);
    assert.equal(torch.isGradEnabled(), false);
    torch.setGradEnabled(true);
  });
});

describe('autograd', () => {
  test('autograd.grad with createGraph: second derivative of x^3 is 6x', () => {
    const x = torch.tensor([1, 2, -3], { requiresGrad: true });
    const y = x.pow(3).sum();
    const [g] = torch.autograd.grad([y], [x], { createGraph: true });
    assert.deepEqual(g!.toArray(), [3, 12, 27]);
    assert.equal(g!.requiresGrad, true);
    const [g2] = torch.autograd.grad([g!.sum()], [x]);
    assert.deepEqual(g2!.toArray(), [6, 12, -18]);
    assert.equal(x.grad, null, 'autograd.grad does not touch .grad');
  });
  test('backward with retainGraph twice accumulates', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(null, { retainGraph: true });
    assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
    y.backward();
    assert.deepEqual(x.grad!.toArray(), [4, 8, 12]);
    // the graph is now freed: a third pass must fail
    assert.throws(() => y.backward(), torch.TorchError);
    x.grad = null;
    assert.equal(x.grad, null);
  });
  test('backward with an explicit gradient, allowUnused, leaves and grad_fn', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const u = torch.tensor([5], { requiresGrad: true });
    const y = x.mul(3);
    assert.equal(x.isLeaf, true);
    assert.equal(y.isLeaf, false);
    assert.equal(y.hasGradFn, true);
    y.backward(torch.tensor([1, 10]));
    assert.deepEqual(x.grad!.toArray(), [3, 30]);
    const [gx, gu] = torch.autograd.grad([x.square().sum()], [x, u], { allowUnused: true });
    assert.deepEqual(gx!.toArray(), [2, 4]);
    assert.equal(gu, null);
    const a = torch.tensor([2], { requiresGrad: true });
    torch.autograd.backward([a.mul(3).sum(), a.mul(4).sum()]);
    assert.deepEqual(a.grad!.toArray(), [7]);
  });
});
