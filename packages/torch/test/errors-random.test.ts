// Bad input never takes the process down: 1,000 randomly generated invalid calls (seeded, so a failure names a
// reproducible iteration) must each throw a JS Error — a torch.TorchError with a non-empty message wherever the
// error comes from the library — and afterwards the library still computes correctly without having leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

// ---- a small seeded PRNG (mulberry32) ----
class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]!; }
  shape(ndim: number, lo = 1, hi = 4): number[] { return Array.from({ length: ndim }, () => this.int(lo, hi)); }
  /** two, three or four integers in [lo, hi], typed as a tuple for destructuring */
  two(lo = 1, hi = 4): [number, number] { return [this.int(lo, hi), this.int(lo, hi)]; }
  three(lo = 1, hi = 4): [number, number, number] { return [this.int(lo, hi), this.int(lo, hi), this.int(lo, hi)]; }
  four(lo = 1, hi = 4): [number, number, number, number] { return [this.int(lo, hi), this.int(lo, hi), this.int(lo, hi), this.int(lo, hi)]; }
}

// Loosely typed views of the API, to make calls that TypeScript would (rightly) reject.
const T = torch as any;
const any = (x: unknown): any => x;
const randn = (s: number[]) => torch.randn(s);
const long = (s: number[], high = 3) => torch.randint(0, high, s);

/** Values that are not Tensors, for places that need one. */
const NOT_TENSORS: unknown[] = [
  'a string', {}, undefined, null, [1, 2], [[1, 2]], 5, 0.5, () => 1, Symbol('s'), 3n, new Float32Array(4), true,
  { _h: 1 }, Object.create(torch.Tensor.prototype),
];
/** Values that are not valid integers (dims, sizes, indices). */
const NOT_INTS: unknown[] = [NaN, 1.5, -0.5, Infinity, -Infinity, 2 ** 53 + 2, 1e300, -1e300, '1', 2n ** 70n, {}, null, [0.5]];
const BAD_DTYPES: unknown[] = ['float', 'int', 'double', 'f32', 'Float32', '', 'float32 ', 'int128', 'long', 5, {}, 'torch.float32'];
const NOT_TENSORS_OR_NUMBERS = NOT_TENSORS.filter((v) => typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint');

interface Maker {
  name: string;
  /** Produces one invalid call (a thunk) from the PRNG. */
  make: (r: Rng) => () => unknown;
  /** The error comes from plain JavaScript (e.g. calling a non-function), not from the library. */
  plainError?: boolean;
}

const outDim = (r: Rng, ndim: number) => (r.next() < 0.5 ? ndim + r.int(0, 4) : -ndim - 1 - r.int(0, 4));

// prettier-ignore
const MAKERS: Maker[] = [
  // ---- wrong shapes ----
  { name: 'mm inner mismatch', make: (r) => { const [m, k, n] = r.three(); const d = r.int(1, 3); const f = r.pick(['fn', 'method', 'matmul', 'typed']);
    return () => { const a = randn([m, k]); const b = randn([k + d, n]);
      return f === 'fn' ? torch.mm(a, b) : f === 'method' ? a.mm(b) : f === 'matmul' ? a.matmul(b) : torch.aten.mm.default(a, b); }; } },
  { name: 'bmm batch mismatch', make: (r) => { const [b, m, k, n] = r.four(); return () => torch.bmm(randn([b, m, k]), randn([b + r.int(1, 2), k, n])); } },
  { name: 'bmm 2-d input', make: (r) => { const [m, k, n] = r.three(); return () => torch.bmm(randn([m, k]), randn([k, n])); } },
  { name: 'matmul batch not broadcastable', make: (r) => { const [m, k, n] = r.three(); return () => randn([2, 3, m, k]).matmul(randn([4, k, n])); } },
  { name: 'conv2d wrong in-channels', make: (r) => { const [n, c, o] = r.three(); const d = r.int(1, 2);
    return () => torch.conv2d(randn([n, c, 6, 6]), randn([o, c + d, 3, 3]), null, 1, 1); } },
  { name: 'conv3d wrong in-channels', make: (r) => { const [n, c, o] = r.three();
    return () => torch.conv3d(randn([n, c, 3, 6, 6]), randn([o, c + r.int(1, 3), 1, 3, 3]), null, 1, [0, 1, 1]); } },
  { name: 'conv3d kernel larger than input', make: (r) => { const c = r.int(1, 3); return () => torch.conv3d(randn([1, c, 2, 4, 4]), randn([2, c, 3, 5, 5])); } },
  // (a 4-d input is an unbatched volume since PyTorch 1.11; 3-d is wrong)
  { name: 'conv3d 3-d input', make: (r) => { const c = r.int(1, 3); return () => torch.conv3d(randn([c, 6, 6]), randn([2, c, 1, 3, 3])); } },
  { name: 'conv2d groups do not divide channels', make: (r) => { const g = r.int(2, 4); const c = g * r.int(1, 2) + 1;
    return () => torch.conv2d(randn([1, c, 5, 5]), randn([g, 1, 3, 3]), null, 1, 0, 1, g); } },
  { name: 'conv2d bias of wrong length', make: (r) => { const o = r.int(1, 4); return () => torch.conv2d(randn([1, 2, 5, 5]), randn([o, 2, 3, 3]), randn([o + 1])); } },
  { name: 'cat mismatched dims', make: (r) => { const [p, q] = r.two(); const dim = r.int(0, 1); return () => torch.cat([randn([p, q]), randn([p + 1, q + 1])], dim); } },
  { name: 'cat different ndim', make: (r) => { const [p, q] = r.two(); return () => torch.cat([randn([p, q]), randn([p, q, 2])], 0); } },
  { name: 'stack mismatched shapes', make: (r) => { const [p, q] = r.two(); return () => torch.stack([randn([p, q]), randn([p, q + r.int(1, 3)])], r.int(0, 2)); } },
  { name: 'view wrong numel', make: (r) => { const s = r.shape(r.int(1, 3)); const n = s.reduce((a, b) => a * b, 1); const f = r.pick(['plus', 'split', 'two-infer']);
    return () => { const x = randn(s); return f === 'plus' ? x.view(n + r.int(1, 5)) : f === 'split' ? x.view([n + 1, -1]) : x.view(-1, -1); }; } },
  { name: 'reshape wrong numel', make: (r) => { const s = r.three(); const n = s.reduce((a, b) => a * b, 1); return () => randn(s).reshape(n * 2 + 1, 1); } },
  { name: 'add not broadcastable', make: (r) => { const [p, q] = r.two(2, 5); return () => r.pick([(a: Tensor, b: Tensor) => a.add(b), (a: Tensor, b: Tensor) => torch.mul(a, b), (a: Tensor, b: Tensor) => torch.maximum(a, b)])(randn([p, q]), randn([q + 1])); } },
  { name: 'expand incompatible', make: (r) => { const [p, q] = r.two(2, 4); return () => randn([p, q]).expand(p + 1, q); } },
  { name: 'group_norm groups do not divide channels', make: (r) => { const g = r.int(2, 4); return () => torch.groupNorm(randn([1, g + 1, 2, 2]), g); } },
  { name: 'layer_norm shape mismatch', make: (r) => { const [p, q] = r.two(); return () => torch.layerNorm(randn([p, q]), [q + 1]); } },
  { name: 'linear wrong features', make: (r) => { const [m, k, n] = r.three(); return () => torch.linear(randn([m, k]), randn([n, k + 1])); } },
  { name: 'einsum operands/equation', make: (r) => { const f = r.int(0, 2); return () => {
    const a = randn([2, 3]); return f === 0 ? torch.einsum('ij,jk->ik', [a]) : f === 1 ? torch.einsum('ij,jk->ik', [a, a]) : torch.einsum('ij->$', [a]); }; } },
  { name: 'where not broadcastable', make: (r) => { const q = r.int(2, 4); return () => torch.where(torch.rand([3, q]).gt(0.5), randn([3, q]), randn([q + 1])); } },
  { name: 'masked_fill mask shape', make: (r) => { const q = r.int(2, 4); return () => randn([3, q]).maskedFill(torch.ones([q + 1], { dtype: 'bool' }), 0); } },
  { name: 'upsample wrong sizes', make: (r) => { const f = r.int(0, 3); return () => {
    if (f === 0) return torch.upsampleNearest2d(randn([3, 4]), [4, 4]);
    if (f === 1) return torch.upsampleNearest2d(randn([1, 1, 2, 2]), [4]);
    if (f === 2) return torch.upsampleBilinear2d(randn([1, 1, 2, 2]), [-4, 4], false);
    return torch.upsampleTrilinear3d(randn([1, 1, 2, 2]), [2, 4, 4], false); }; } },
  { name: 'gather/scatter_add index shape or range', make: (r) => { const f = r.int(0, 2); const big = r.int(5, 50); return () => {
    const a = randn([3, 4]);
    if (f === 0) return a.gather(1, torch.tensor([[big]], { dtype: 'int64' }));
    if (f === 1) return a.scatterAdd(1, torch.tensor([[big]], { dtype: 'int64' }), torch.ones([1, 1]));
    return a.gather(1, long([3, 4, 2])); }; } },
  { name: 'index_select index out of range', make: (r) => { const big = r.int(3, 1000); return () => randn([3, 4]).indexSelect(0, torch.tensor([0, big], { dtype: 'int64' })); } },
  { name: 'index out of range / too many indices', make: (r) => { const f = r.int(0, 1); const big = r.int(3, 99); return () => {
    const a = randn([3, 4]); const i = torch.tensor([big], { dtype: 'int64' });
    return f === 0 ? a.index([i]) : a.index([i, i, i]); }; } },
  { name: 'permute wrong dims', make: (r) => { const f = r.int(0, 2); return () => {
    const a = randn([2, 3, 4]); return f === 0 ? a.permute(0, 0, 1) : f === 1 ? a.permute(0, 1) : a.permute(0, 1, 2, 3); }; } },
  { name: 'repeat fewer dims than tensor', make: (r) => { const s = r.three(); return () => randn(s).repeat(2); } },
  { name: 'roll shifts/dims mismatch', make: () => () => randn([3, 4]).roll([1, 2], [0]) },
  { name: 'mse_loss shapes', make: (r) => { const q = r.int(2, 4); return () => torch.mseLoss(randn([3, q]), randn([q + 1])); } },
  { name: 'constant_pad_nd odd/too long pad', make: (r) => { const f = r.int(0, 1); return () => torch.constantPadNd(randn([2, 3]), f ? [1] : [1, 1, 1, 1, 1, 1]); } },
  { name: 'reflection pad too large', make: (r) => { const p = r.int(2, 5); return () => torch.reflectionPad2d(randn([1, 1, 2, 2]), [p, p, p, p]); } },
  { name: 'avg_pool kernel larger than input', make: (r) => { const k = r.int(3, 7); return () => torch.avgPool2d(randn([1, 1, 2, 2]), k); } },
  { name: 'fft_irfft2 size mismatch / bad norm', make: (r) => { const f = r.int(0, 1); return () => f ? torch.fftRfft2(randn([4, 4]), null, [-2, -1], 'bad') : torch.fftRfft2(randn([4]), null, [-2, -1]); } },
  { name: 'conv bad stride/padding', make: (r) => { const f = r.int(0, 2); return () => {
    const x = randn([1, 1, 4, 4]); const w = randn([1, 1, 3, 3]);
    return f === 0 ? torch.conv2d(x, w, null, 0) : f === 1 ? torch.conv2d(x, w, null, -r.int(1, 3)) : torch.conv2d(x, w, null, 1, 'full'); }; } },
  { name: 'backward of non-scalar / wrong gradient shape', make: (r) => { const f = r.int(0, 1); return () => {
    const x = torch.ones([3], { requiresGrad: true }); const y = x.mul(2);
    return f ? y.backward() : y.backward(torch.ones([4])); }; } },

  // ---- wrong dtypes ----
  { name: 'int/bool tensor into float-only op', make: (r) => { const dt = r.pick(['int64', 'int32', 'bool'] as const);
    const op = r.pick<(x: Tensor) => unknown>([(x) => x.softmax(0), (x) => x.logSoftmax(-1), (x) => x.mean(), (x) => x.var(), (x) => x.std([0]), (x) => x.gelu(),
      (x) => x.silu(), (x) => torch.layerNorm(x, [4]), (x) => torch.groupNorm(x.view(1, 3, 4), 3), (x) => x.norm(), (x) => torch.lerp(x, x, 0.5),
      (x) => torch.upsampleBilinear2d(x.view(1, 1, 3, 4), [6, 8], false), (x) => x.requiresGrad_(true)]);
    return () => op(torch.ones([3, 4], { dtype: dt })); } },
  { name: 'bool tensor where not allowed', make: (r) => { const op = r.pick<(x: Tensor) => unknown>([(x) => x.neg(), (x) => x.sub(x), (x) => x.mm(x.t()), (x) => torch.linear(x, x)]);
    return () => op(torch.ones([3, 4], { dtype: 'bool' })); } },
  { name: 'mixed dtypes in matrix products', make: (r) => { const dt = r.pick(['int64', 'int32', 'float64'] as const); const f = r.int(0, 2);
    return () => { const a = randn([3, 4]); const b = torch.ones([4, 2], { dtype: dt }); return f === 0 ? torch.mm(a, b) : f === 1 ? a.matmul(b) : torch.bmm(a.unsqueeze(0), b.unsqueeze(0)); }; } },
  { name: 'float index tensors', make: (r) => { const f = r.int(0, 3); return () => {
    const a = randn([3, 4]); const i = torch.tensor([[0, 1]]);
    return f === 0 ? a.indexSelect(0, i.view(-1)) : f === 1 ? a.gather(1, i) : f === 2 ? a.scatterAdd(1, i, torch.ones([1, 2])) : a.gather(1, i.to('float64')); }; } },
  { name: 'where with non-bool condition', make: (r) => { const dt = r.pick(['float32', 'int64'] as const); return () => torch.where(torch.ones([3], { dtype: dt }), randn([3]), randn([3])); } },
  { name: 'bitwise op on floats', make: (r) => { const op = r.pick([torch.bitwiseAnd, torch.bitwiseOr, torch.bitwiseXor]); return () => op(randn([3]), randn([3])); } },
  { name: 'random floats into int dtype', make: (r) => { const dt = r.pick(['int64', 'int32', 'bool', 'uint8'] as const); const f = r.int(0, 2);
    return () => f === 0 ? torch.randn([3], { dtype: dt }) : f === 1 ? torch.randnLike(torch.ones([2], { dtype: dt })) : torch.randn([2], { dtype: dt, generator: new torch.Generator({ seed: 1 }) }); } },
  { name: 'view as incompatible dtype', make: () => () => randn([3]).view('float64') },

  // ---- wrong arity ----
  { name: 'too many arguments (packets)', make: (r) => { const extra = r.pick([1, 'x', null, {}, [1]]); const f = r.int(0, 3); return () => {
    const a = randn([2, 2]);
    if (f === 0) return T.mm(a, a, a, extra);
    if (f === 1) return T.add(a, a, 1, 2, extra);
    if (f === 2) return T.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, 1, 0, 1, 1, 5, extra);
    return T.softmax(a, 0, 'float32', 7, extra); }; } },
  { name: 'too few arguments', make: (r) => { const f = r.int(0, 7); return () => {
    const a = any(randn([2, 3]));
    switch (f) {
      case 0: return T.mm(a);
      case 1: return a.mm();
      case 2: return a.softmax();
      case 3: return T.cat();
      case 4: return T.conv2d(a);
      case 5: return a.gather(1);
      case 6: return T.where();
      default: return T.einsum('ij');
    } }; } },

  // ---- wrong argument kinds ----
  { name: 'non-Tensor where a Tensor is required', make: (r) => { const v = r.pick(NOT_TENSORS); const f = r.int(0, 6); return () => {
    const a = randn([2, 2]);
    switch (f) {
      case 0: return T.mm(v, a);
      case 1: return any(a).mm(v);
      case 2: return T.cat([a, v]);
      case 3: return T.conv2d(randn([1, 1, 4, 4]), v);
      case 4: return torch.aten.mm.default(a, any(v));
      case 5: return any(a).indexSelect(0, v);
      default: return T.stack(v === undefined || v === null ? 'x' : [v, v]);
    } }; } },
  { name: 'non-Tensor, non-number where Tensor or Scalar is accepted', make: (r) => { const v = r.pick(NOT_TENSORS_OR_NUMBERS); const f = r.int(0, 2);
    return () => { const a = any(randn([2, 2])); return f === 0 ? a.add(v === undefined ? 'u' : v) : f === 1 ? T.mul(a, v === undefined ? 'u' : v) : a.clamp(v === undefined || v === null ? 'x' : v); }; } },
  { name: 'bad values where an int is required', make: (r) => { const v = r.pick(NOT_INTS); const f = r.int(0, 10); return () => {
    const a = any(randn([3, 4]));
    switch (f) {
      case 0: return a.softmax(v);
      case 1: return a.sum([v]);
      case 2: return a.select(0, v);
      case 3: return a.narrow(0, v, 1);
      case 4: return a.transpose(0, v);
      case 5: return a.view([v, 4]);
      case 6: return a.cumsum(v);
      case 7: return a.unsqueeze(v);
      case 8: return T.zeros([v]);
      case 9: return T.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, v === null ? 'x' : v);
      default: return T.randn([2, v]);
    } }; } },
  { name: 'bad numbers in hand-written factories', make: (r) => { const v = r.pick([-1, 1.5, NaN, 'x', 2 ** 53 + 2, -Infinity]); const f = r.int(0, 6); return () => {
    switch (f) {
      case 0: return T.linspace(0, 1, v === -1 ? -1 : v);
      case 1: return T.eye(v);
      case 2: return T.randperm(v);
      case 3: return T.arange(0, typeof v === 'number' && Number.isFinite(v) ? 5 : v, typeof v === 'number' && Number.isFinite(v) ? 0 : 1);
      case 4: return T.full([2], typeof v === 'string' ? v : {});
      case 5: return T.randint(5, 2, [3]);
      default: return T.ones(v);
    } }; } },

  // ---- disposed tensors ----
  { name: 'use after dispose', make: (r) => { const f = r.int(0, 15); return () => {
    const x = any(torch.ones([2, 2], { requiresGrad: f === 13 })); const y = torch.ones([2, 2]);
    x.dispose();
    switch (f) {
      case 0: return x.add(1);
      case 1: return torch.mm(y, x);
      case 2: return x.shape;
      case 3: return x.toArray();
      case 4: return x.item();
      case 5: return x.grad;
      case 6: return torch.cat([y, x]);
      case 7: return x.sum();
      case 8: return x.dtype;
      case 9: return x.to('float64');
      case 10: return x.view(-1);
      case 11: return x.toFloat32Array();
      case 12: return x.numel();
      case 13: return x.backward();
      case 14: return torch.stack([y, x]);
      default: return x.requiresGrad_(true);
    } }; } },
  { name: 'use after the scope that created it', make: (r) => { const f = r.int(0, 2); return () => {
    let inner: Tensor | undefined;
    torch.scope(() => { inner = torch.ones([3]); return torch.zeros([1]); });
    return f === 0 ? inner!.add(1) : f === 1 ? inner!.toArray() : torch.cat([inner!, inner!]); }; } },

  // ---- out-of-range dims and indices ----
  { name: 'dim out of range', make: (r) => { const nd = r.int(1, 4); const s = r.shape(nd); const d = outDim(r, nd); const f = r.int(0, 10); return () => {
    const a = randn(s);
    switch (f) {
      case 0: return a.sum([d]);
      case 1: return a.softmax(d);
      case 2: return a.mean([d], true);
      case 3: return a.transpose(0, d);
      case 4: return a.flip(d);
      case 5: return a.cumsum(d);
      case 6: return a.amax([d]);
      case 7: return torch.cat([a, a], d);
      case 8: return a.unsqueeze(d + (d > 0 ? 1 : -1));
      case 9: return a.size(d);
      default: return a.logsumexp([d]);
    } }; } },
  { name: 'index out of range for select/narrow/slice', make: (r) => { const n = r.int(1, 5); const f = r.int(0, 3); return () => {
    const a = randn([n, 3]);
    switch (f) {
      case 0: return a.select(0, n + r.int(0, 10));
      case 1: return a.select(0, -n - 1 - r.int(0, 10));
      case 2: return a.narrow(0, r.int(0, n), n + 1);
      default: return a.slice(0, 0, n, 0);
    } }; } },
  { name: 'duplicate dims in reduction', make: (r) => { const d = r.int(0, 1); return () => randn([2, 3]).sum([d, d]); } },
  { name: 'chunk/split by zero', make: () => () => randn([3, 4]).chunk(0) },
  { name: 'item of a multi-element tensor', make: (r) => { const s = r.two(2, 4); return () => randn(s).item(); } },

  // ---- bad dtype names ----
  { name: 'bad dtype name', make: (r) => { const dt = any(r.pick(BAD_DTYPES)); const f = r.int(0, 9); return () => {
    const a = any(randn([2, 2]));
    switch (f) {
      case 0: return torch.zeros([2], { dtype: dt });
      case 1: return torch.ones([2], { dtype: dt });
      case 2: return torch.randn([2], { dtype: dt });
      case 3: return torch.tensor([1, 2], { dtype: dt });
      case 4: return torch.full([2], 1, { dtype: dt });
      case 5: return torch.arange(0, 3, 1, { dtype: dt });
      case 6: return a.to(typeof dt === 'string' ? dt : { dtype: dt });
      case 7: return a.sum({ dtype: dt });
      case 8: return a.softmax(0, dt);
      default: return torch.onesLike(a, { dtype: dt });
    } }; } },
  { name: 'bad device name', make: (r) => { const dev = r.pick(['cuda:99', 'gpu', '', 'cpu:x', 'mps', 'floaty']); return () => randn([2]).to({ device: dev }); } },

  // ---- bad keyword names and values ----
  { name: 'unknown keyword argument', make: (r) => { const f = r.int(0, 7); return () => {
    const a = any(randn([2, 3]));
    switch (f) {
      case 0: return a.gelu({ approx: 'tanh' });
      case 1: return T.add(a, a, { alhpa: 2 });
      case 2: return a.sum({ dtyp: 'float64' });
      case 3: return a.var([1], { correctoin: 0 });
      case 4: return T.cumsum(a, 0, { dtyep: 'float64' });
      case 5: return T.baddbmm(a.unsqueeze(0), a.unsqueeze(0), a.t().unsqueeze(0), { betta: 0.5 });
      case 6: return a.mean({ dtype: 'float64', extra: 1 });
      default: return a.gelu({ approximate: 'tanh', out: a, foo: 1 });
    } }; } },
  { name: 'keyword object of the wrong kind', make: (r) => { const v = r.pick<unknown>([new Map(), ['tanh'], 'tanh', 5, new Date(0)]); return () => any(randn([2])).gelu(v); } },
  { name: 'bad keyword value', make: (r) => { const v = r.pick(['fast', 'None', '', 'TANH']); return () => randn([2]).gelu({ approximate: v }); } },

  // ---- hand-written functions ----
  { name: 'torch.tensor bad data', make: (r) => { const f = r.int(0, 11); return () => {
    switch (f) {
      case 0: return T.tensor([[1, 2], [3]]);
      case 1: return T.tensor([1, true]);
      case 2: return T.tensor(['a']);
      case 3: return T.tensor('abc');
      case 4: return T.tensor(undefined);
      case 5: return T.tensor({});
      case 6: return T.tensor([1, 2, 3], [2, 2]);
      case 7: return T.tensor(new Float32Array(3), [2, 2]);
      case 8: return T.tensor([1.5], { dtype: 'int32' });
      case 9: return T.tensor(new DataView(new ArrayBuffer(8)));
      case 10: return T.tensor([1, 2], [-2]);
      default: return T.tensor([1, 2], ['2']);
    } }; } },
  { name: 'autograd misuse', make: (r) => { const f = r.int(0, 5); return () => {
    const x = torch.ones([2], { requiresGrad: true });
    switch (f) {
      case 0: return torch.ones([2]).sum().backward();
      case 1: { const y = x.exp().sum(); y.backward(); return y.backward(); }
      case 2: return torch.autograd.grad([x.sum()], [torch.ones([2], { requiresGrad: true })]);
      case 3: return torch.autograd.grad(any([1]), [x]);
      case 4: return torch.autograd.grad([x.sum()], any(x));
      default: return torch.autograd.backward(any([x.sum(), 'x']));
    } }; } },
  { name: 'bad settings (threads, seeds, generators)', make: (r) => { const f = r.int(0, 7); const v = r.pick([0, -1, 1.5, NaN, 'x', 2 ** 53 + 2]); return () => {
    switch (f) {
      case 0: return T.setNumThreads(v === 2 ** 53 + 2 ? 0 : v);
      case 1: return T.manualSeed(v === 0 ? -1 : v);
      case 2: return new T.Generator({ seed: v === 0 ? -5 : v });
      case 3: return new torch.Generator().setState(torch.ones([3]));
      case 4: return new torch.Generator().setState(any({}));
      case 5: return torch.randn([2], { generator: any({}) });
      case 6: return new torch.Generator().manualSeed(any(v === 0 ? -3 : v));
      default: return new torch.Generator({ device: 'cuda:7' });
    } }; } },
  { name: 'to() with a bad target', make: (r) => { const v = r.pick<unknown>([42, null, undefined, true, Symbol('s')]); return () => any(randn([2])).to(v); } },
  { name: 'toArray of complex', make: () => () => torch.viewAsComplex(randn([2, 2])).toArray() },
  { name: 'noGrad/enableGrad with a non-function', plainError: true, make: (r) => { const v = r.pick<unknown>([5, null, 'fn', {}]); return () => (r.next() < 0.5 ? T.noGrad(v) : T.enableGrad(v)); } },
  { name: 'scope with an async function', plainError: true, make: () => () => torch.scope(any(async () => 1)) },
];

const N_CALLS = 1000;

test(`${N_CALLS} random invalid calls all throw clear errors and the process survives`, () => {
  const r = new Rng(20240607);
  const liveBefore = torch.liveTensors();
  const threadsBefore = torch.getNumThreads();
  const gradModeBefore = torch.isGradEnabled();
  const counts = new Map<string, number>();
  const problems: string[] = [];
  for (let i = 0; i < N_CALLS; i++) {
    const m = r.pick(MAKERS);
    counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
    const call = m.make(r);
    let threw: unknown = undefined;
    let ok = false;
    try {
      torch.scope(() => { call(); });
    } catch (e) {
      threw = e;
      ok = true;
    }
    const where = `call #${i} (${m.name})`;
    if (!ok) { problems.push(`${where}: did not throw`); continue; }
    if (!(threw instanceof Error)) { problems.push(`${where}: threw a non-Error ${String(threw)}`); continue; }
    if (typeof threw.message !== 'string' || threw.message.trim() === '') problems.push(`${where}: empty message`);
    if (!m.plainError && !(threw instanceof torch.TorchError)) problems.push(`${where}: ${threw.constructor.name} instead of TorchError: ${threw.message}`);
    if (threw instanceof torch.TorchError && threw.op !== undefined && !(typeof threw.op === 'string' && threw.op.length > 0)) {
      problems.push(`${where}: op is ${String(threw.op)}`);
    }
  }
  assert.deepEqual(problems, [], problems.slice(0, 20).join('\n'));
  // Every kind of invalid call was exercised.
  assert.deepEqual(MAKERS.filter((m) => !counts.has(m.name)).map((m) => m.name), []);
  // Nothing leaked, no global setting was changed by a rejected call...
  assert.ok(torch.liveTensors() - liveBefore < 10, `live tensors grew from ${liveBefore} to ${torch.liveTensors()}`);
  assert.equal(torch.getNumThreads(), threadsBefore);
  assert.equal(torch.isGradEnabled(), gradModeBefore);
  assert.equal(torch.scopeDepth(), 0);
  // ...and the library still computes correctly.
  const c = torch.tensor([[1, 2], [3, 4]]).matmul(torch.tensor([[5, 6], [7, 8]]));
  assert.deepEqual(c.toArray(), [[19, 22], [43, 50]]);
  const x = torch.tensor([1, 2, 3], { requiresGrad: true });
  x.square().sum().backward();
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
});
