// The Tensor basics: data in and out for every dtype, conversions, generators, overload resolution and
// conversion edge cases, PyTorch's sub-namespaces. (Autograd: autograd.test.ts; scopes: scope.test.ts.)
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { DType } from '../src/index.js';

const any = (x: unknown): any => x;

// ---- data in / out for every dtype ----

interface DtypeCase {
  dtype: DType;
  /** nested input, exactly representable in the dtype */
  data: number[][] | boolean[][];
  /** what toArray() gives back */
  out: unknown[][];
  /** what toTypedArray() gives back (float16/bfloat16 as raw bits) */
  typed: ArrayLike<number | bigint>;
  typedClass: Function;
  itemSize: number;
}
// prettier-ignore
const DTYPES: DtypeCase[] = [
  { dtype: 'float32', data: [[1, 2.5], [-3, 0.125]], out: [[1, 2.5], [-3, 0.125]], typed: [1, 2.5, -3, 0.125], typedClass: Float32Array, itemSize: 4 },
  { dtype: 'float64', data: [[1, 0.1], [-3, 1e300]], out: [[1, 0.1], [-3, 1e300]], typed: [1, 0.1, -3, 1e300], typedClass: Float64Array, itemSize: 8 },
  // float16 bits: 1 = 0x3c00, 2.5 = 0x4100, -3 = 0xc200, 0.125 = 0x3000
  { dtype: 'float16', data: [[1, 2.5], [-3, 0.125]], out: [[1, 2.5], [-3, 0.125]], typed: [0x3c00, 0x4100, 0xc200, 0x3000], typedClass: Uint16Array, itemSize: 2 },
  // bfloat16 bits: the top half of float32's: 1 = 0x3f80, 2.5 = 0x4020, -3 = 0xc040, 0.125 = 0x3e00
  { dtype: 'bfloat16', data: [[1, 2.5], [-3, 0.125]], out: [[1, 2.5], [-3, 0.125]], typed: [0x3f80, 0x4020, 0xc040, 0x3e00], typedClass: Uint16Array, itemSize: 2 },
  { dtype: 'int32', data: [[1, -2], [2147483647, -2147483648]], out: [[1, -2], [2147483647, -2147483648]], typed: [1, -2, 2147483647, -2147483648], typedClass: Int32Array, itemSize: 4 },
  { dtype: 'int64', data: [[1, -2], [2 ** 53, -(2 ** 40)]], out: [[1n, -2n], [2n ** 53n, -(2n ** 40n)]], typed: [1n, -2n, 2n ** 53n, -(2n ** 40n)], typedClass: BigInt64Array, itemSize: 8 },
  { dtype: 'bool', data: [[true, false], [false, true]], out: [[true, false], [false, true]], typed: [1, 0, 0, 1], typedClass: Uint8Array, itemSize: 1 },
  { dtype: 'uint8', data: [[0, 7], [128, 255]], out: [[0, 7], [128, 255]], typed: [0, 7, 128, 255], typedClass: Uint8Array, itemSize: 1 },
];

describe('data in and out for every dtype', () => {
  for (const c of DTYPES) {
    test(c.dtype, () => {
      const t = torch.tensor(c.data, { dtype: c.dtype });
      assert.equal(t.dtype, c.dtype);
      assert.deepEqual(t.shape, [2, 2]);
      assert.equal(t.device, 'cpu');
      assert.equal(t.ndim, 2);
      assert.equal(t.numel(), 4);
      assert.deepEqual(t.toArray(), c.out);
      const typed = t.toTypedArray();
      assert.ok(typed instanceof c.typedClass, `toTypedArray gives ${typed.constructor.name}`);
      assert.deepEqual(Array.from(typed as ArrayLike<number | bigint>), Array.from(c.typed));
      assert.equal(t.toBytes().length, 4 * c.itemSize);
      // item() of each element
      const flat = c.out.flat();
      for (let i = 0; i < 4; i++) {
        const v = t.view(-1).select(0, i).item();
        assert.equal(v, typeof flat[i] === 'bigint' ? Number(flat[i]) : flat[i]);
      }
      // toFloat32Array / toFloat64Array convert every real dtype
      const asNum = flat.map((v) => Number(v));
      assert.deepEqual(Array.from(t.toFloat64Array()), asNum);
      assert.deepEqual(Array.from(t.toFloat32Array()), asNum.map(Math.fround));
      // round trip through the typed array (with the shape)
      const back = c.dtype === 'bool'
        ? torch.tensor(typed, [2, 2]).to('bool')
        : torch.tensor(typed, [2, 2], { dtype: c.dtype });
      assert.equal(back.dtype, c.dtype);
      assert.deepEqual(back.toArray(), c.out);
      // and through float64 and back (all values are exact in float64)
      assert.deepEqual(t.to('float64').to(c.dtype).toArray(), c.out);
    });
  }

  test('TypedArrays give their own dtype without a dtype option', () => {
    assert.equal(torch.tensor(new Float32Array([1])).dtype, 'float32');
    assert.equal(torch.tensor(new Float64Array([1])).dtype, 'float64');
    assert.equal(torch.tensor(new Int32Array([1])).dtype, 'int32');
    assert.equal(torch.tensor(new BigInt64Array([1n])).dtype, 'int64');
    assert.equal(torch.tensor(new Uint8Array([1])).dtype, 'uint8');
    assert.equal(torch.tensor(new Int16Array([1])).dtype, 'int16');
    assert.equal(torch.tensor(new Int8Array([1])).dtype, 'int8');
    // Uint16Array holds raw float16 bits; with dtype bfloat16, raw bfloat16 bits
    assert.deepEqual(torch.tensor(new Uint16Array([0x3c00, 0xc000])).toArray(), [1, -2]);
    const bf = torch.tensor(new Uint16Array([0x3f80, 0xc000]), [2], { dtype: 'bfloat16' });
    assert.equal(bf.dtype, 'bfloat16');
    assert.deepEqual(bf.toArray(), [1, -2]);
  });

  test('nested arrays: default dtypes, shapes, 0-d and empty tensors', () => {
    assert.equal(torch.tensor([1, 2]).dtype, 'float32');
    assert.equal(torch.tensor([true]).dtype, 'bool');
    assert.equal(torch.tensor([1n]).dtype, 'int64');
    const s = torch.tensor(3.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.item(), 3.5);
    assert.equal(s.toArray(), 3.5);
    const e = torch.tensor([]);
    assert.deepEqual(e.shape, [0]);
    assert.deepEqual(e.toArray(), []);
    const r = torch.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual(r.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 1, 2]).shape, [3, 1, 2]);
    const t3 = torch.ones([2, 3, 4]);
    assert.deepEqual(t3.strides, [12, 4, 1]);
    assert.deepEqual(t3.transpose(0, 2).strides, [1, 4, 12]);
    assert.deepEqual(t3.size(), [2, 3, 4]);
    assert.equal(t3.size(-1), 4);
    assert.equal(t3.dim(), 3);
  });

  test('int64 round-trips beyond 2^53 exactly (as bigint)', () => {
    const big = [2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n];
    const t = torch.tensor(new BigInt64Array(big));
    assert.deepEqual(t.toArray(), big);
    assert.deepEqual(torch.tensor(big).toArray(), big);
    assert.deepEqual(t.add(0).toArray(), big);
  });

  test('float32 data keeps float32 precision, float64 keeps float64', () => {
    assert.equal(torch.tensor([0.1]).item(), Math.fround(0.1));
    assert.equal(torch.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
    assert.equal(torch.tensor(new Float64Array([0.1])).item(), 0.1);
  });
});

describe('to() conversions', () => {
  test('float to int truncates toward zero, to bool tests non-zero', () => {
    assert.deepEqual(torch.tensor([-1.7, 2.9, -0.2]).to('int32').toArray(), [-1, 2, 0]);
    assert.deepEqual(torch.tensor([-1.7, 2.9]).long().toArray(), [-1n, 2n]);
    assert.deepEqual(torch.tensor([0, -0.5, 2]).to('bool').toArray(), [false, true, true]);
    assert.deepEqual(torch.tensor([true, false]).to('float32').toArray(), [1, 0]);
    assert.deepEqual(torch.tensor([3, 250]).to('uint8').toArray(), [3, 250]);
  });
  test('half precision rounding and overflow match IEEE / PyTorch', () => {
    assert.deepEqual(torch.tensor([70000, -70000]).half().toArray(), [Infinity, -Infinity]);
    // bfloat16: ties round to even (values checked with PyTorch: [1.0, 1.015625])
    assert.deepEqual(torch.tensor([1.00390625, 1.01171875]).bfloat16().toArray(), [1, 1.015625]);
    assert.deepEqual(torch.tensor([1 / 3]).half().toArray(), [0.333251953125]);
  });
  test('every dtype converts to every other and back where exact', () => {
    const names: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8'];
    const src = torch.tensor([0, 1, 2, 100]);
    for (const a of names) {
      for (const b of names) {
        const y = src.to(a).to(b);
        assert.equal(y.dtype, b);
        assert.deepEqual(Array.from(y.toFloat64Array()), [0, 1, 2, 100], `${a} -> ${b}`);
      }
    }
  });
  test('to() forms: dtype, options, other tensor, copy, shortcuts', () => {
    const x = torch.tensor([1.5, -2]);
    assert.ok(x.to('float32').isSame(x), 'no-op conversion returns the same tensor');
    assert.ok(!x.to('float32', { copy: true }).isSame(x), 'copy: true copies');
    assert.equal(x.to({ dtype: 'float64' }).dtype, 'float64');
    assert.equal(x.to(torch.ones([1], { dtype: 'float16' })).dtype, 'float16');
    assert.equal(x.to('cpu').device, 'cpu');
    assert.equal(x.double().dtype, 'float64');
    assert.equal(x.half().dtype, 'float16');
    assert.equal(x.bfloat16().dtype, 'bfloat16');
    assert.equal(x.int().dtype, 'int32');
    assert.equal(x.long().dtype, 'int64');
    assert.equal(x.bool().dtype, 'bool');
    assert.equal(x.double().float().dtype, 'float32');
    // a conversion is differentiable
    const w = torch.tensor([1, 2, 3], { requiresGrad: true });
    w.double().mul(2).sum().backward();
    assert.deepEqual(w.grad!.toArray(), [2, 2, 2]);
    assert.equal(w.grad!.dtype, 'float32');
  });
});

describe('random generators', () => {
  test('same seed, same numbers; different seed, different numbers', () => {
    const a = torch.randn([50], { generator: new torch.Generator({ seed: 123 }) }).toArray();
    const b = torch.randn([50], { generator: new torch.Generator({ seed: 123 }) }).toArray();
    const c = torch.randn([50], { generator: new torch.Generator({ seed: 124 }) }).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(new torch.Generator({ seed: 123 }).initialSeed(), 123n);
    assert.equal(new torch.Generator({ seed: 2n ** 60n }).initialSeed(), 2n ** 60n);
  });
  test('an explicit generator does not touch the default one', () => {
    torch.manualSeed(77);
    const a = torch.rand([5]).toArray();
    torch.manualSeed(77);
    torch.randn([100], { generator: new torch.Generator({ seed: 1 }) });
    assert.deepEqual(torch.rand([5]).toArray(), a);
  });
  test('getState / setState replays a stream', () => {
    const g = new torch.Generator({ seed: 3 });
    torch.randn([7], { generator: g });
    const s = g.getState();
    assert.equal(s.dtype, 'uint8');
    const a = torch.randn([20], { generator: g }).toArray();
    const r1 = torch.randint(0, 1000, [5], { generator: g }).toArray();
    g.setState(s);
    assert.deepEqual(torch.randn([20], { generator: g }).toArray(), a);
    assert.deepEqual(torch.randint(0, 1000, [5], { generator: g }).toArray(), r1);
    // a state moves between generators
    const h = new torch.Generator({ seed: 999 }).setState(s);
    assert.deepEqual(torch.randn([20], { generator: h }).toArray(), a);
    // the default generator too
    const d = torch.defaultGenerator.getState();
    const x = torch.rand([4]).toArray();
    torch.defaultGenerator.setState(d);
    assert.deepEqual(torch.rand([4]).toArray(), x);
  });
  test('manualSeed re-seeds the default generator and Generator.manualSeed an explicit one', () => {
    torch.manualSeed(2024);
    const a = torch.randn([3, 3]).toArray();
    torch.randn([10]);
    torch.manualSeed(2024);
    assert.deepEqual(torch.randn([3, 3]).toArray(), a);
    torch.manualSeed(2024n);
    assert.deepEqual(torch.randn([3, 3]).toArray(), a);
    const g = new torch.Generator();
    assert.equal(g.manualSeed(2024), g);
    assert.deepEqual(torch.randn([3, 3], { generator: g }).toArray(), a);
    // randnLike / randperm honour the generator too
    const p1 = torch.randperm(10, { generator: new torch.Generator({ seed: 4 }) }).toArray();
    assert.deepEqual(torch.randperm(10, { generator: new torch.Generator({ seed: 4 }) }).toArray(), p1);
    assert.deepEqual([...(p1 as bigint[])].sort((x, y) => Number(x - y)), Array.from({ length: 10 }, (_, i) => BigInt(i)));
  });
});

// ---- overload resolution with keyword-only arguments, and integer overflow in torch.tensor ----
describe('overload resolution and conversion edge cases', () => {
  test('x.scatter(dim, index, src) resolves to scatter.src', () => {
    const y = torch.zeros([2, 3]).scatter(1, torch.tensor([[0n], [2n]]), torch.ones([2, 1]));
    assert.deepEqual(y.toArray(), [[1, 0, 0], [0, 0, 1]]);
  });
  test('x.norm(p, dim, keepdim) resolves to norm.ScalarOpt_dim', () => {
    assert.deepEqual(torch.tensor([[3, 4]]).norm(2, [1], true).toArray(), [[5]]);
  });
  test('x.scatter_(dim, index, value) resolves to scatter_.value', () => {
    const y = torch.zeros([1, 3]).scatter_(1, torch.tensor([[1n]]), 7);
    assert.deepEqual(y.toArray(), [[0, 7, 0]]);
  });
  test('x.round_() resolves to round_ (no decimals)', () => {
    assert.deepEqual(torch.tensor([1.4, 2.6]).round_().toArray(), [1, 3]);
  });
  test('keyword options after fewer positionals: x.mean([1], { dtype })', () => {
    const m = any(torch.ones([2, 3])).mean([1], { dtype: 'float64' });
    assert.equal(m.dtype, 'float64');
    assert.equal(any(torch.ones([2, 3])).sum([1], { dtype: 'float64' }).dtype, 'float64');
  });
  test('torch.tensor rejects integers that overflow the requested dtype (PyTorch raises)', () => {
    assert.throws(() => torch.tensor([-1, 256], { dtype: 'uint8' }), torch.TorchError);
    assert.throws(() => torch.tensor([2 ** 40], { dtype: 'int32' }), torch.TorchError);
  });
});

describe('PyTorch sub-namespaces', () => {
  test('torch.fft / torch.linalg / torch.special hold the aten fft_* / linalg_* / special_* operators', () => {
    assert.equal(torch.fft.rfft2, torch.aten.fft_rfft2);
    assert.equal(torch.linalg.vectorNorm, torch.aten.linalg_vector_norm);
    assert.equal(torch.special.erfcx, torch.aten.special_erfcx);
    const x = torch.tensor([[3, 4]]);
    assert.equal(torch.linalg.vectorNorm(x).item(), 5);
    assert.deepEqual(torch.fft.rfft2(torch.ones([4, 8])).shape, [4, 5]);
  });
});
