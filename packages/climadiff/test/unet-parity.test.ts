// The 3D U-Net (src/models): parity with the PyTorch twin interop/pytorch/unet3d.py on the same
// safetensors weights and inputs (the reference python's PyTorch, torch.backends.referencePython(), over the same libtorch), identical parameter
// names and counts, gradients reaching every parameter, shapes, frame-count independence, exact
// longitude-roll equivariance with periodic padding, the FLOP count against a hand count, config validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { collectGarbage } from './gc.js';
import { UNet3D, asDenoiser, ModelConfigError, ModelInputError, type UNet3DConfigInput } from '../src/models/index.js';

torch.setNumThreads(2);
const PYTHON = torch.backends.referencePython() ?? 'python3';
// the repository root is the first folder above the compiled test that holds interop/
const TWIN = ((): string => {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'interop', 'pytorch', 'unet3d.py'))) return join(d, 'interop', 'pytorch', 'unet3d.py');
  }
  return 'interop/pytorch/unet3d.py';
})();
const gen = new torch.Generator({ seed: 11 });

/** Moves every parameter away from its initialisation (zero-initialised layers would make parity trivial). */
function perturb(model: UNet3D, scale = 0.1): void {
  torch.noGrad(() => {
    for (const p of model.parameters()) p.add_(torch.randn(p.shape, { generator: gen }).mul(scale));
  });
}

function maxAbsDiff(a: Tensor, b: Tensor): number { return a.sub(b).abs().max().item(); }

function haveTwin(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PYTHON} with torch is not available: no PyTorch reference`;
  return null;
}

interface TwinOut { shape: number[]; parameters: number; names: string[] }

function runTwin(model: UNet3D, inputs: Record<string, Tensor>, extra: Record<string, unknown> = {}): { out: TwinOut; y: Tensor } {
  const dir = mkdtempSync(join(tmpdir(), 'unet-parity-'));
  try {
    const weights = join(dir, 'model.safetensors');
    torch.save(model.stateDict(), weights);
    const spec: Record<string, { path: string; shape: number[] }> = {};
    for (const [k, t] of Object.entries(inputs)) {
      const path = join(dir, `${k}.f32`);
      writeFileSync(path, t.contiguous().toFloat32Array());
      spec[k] = { path, shape: t.shape };
    }
    const job = { config: model.toJSON(), weights, inputs: spec, out: join(dir, 'y.f32'), threads: 1, ...extra };
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    const r = spawnSync(PYTHON, [TWIN, join(dir, 'job.json')], { encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`twin failed (status ${r.status}):\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as TwinOut;
    const buf = readFileSync(join(dir, 'y.f32'));
    const arr = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    return { out, y: torch.tensor(arr, out.shape) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SMALL: UNet3DConfigInput = {
  inChannels: 1, channels: 16, channelMults: [1, 2], attentionLevels: [1], condChannels: 2, headChannels: 8,
  groups: 8, boundary: { lon: 'periodic', lat: 'zeros' },
};

const skipTwin = haveTwin();

test('parity with the PyTorch twin: same names, counts and outputs (static cond, periodic lon)', { skip: skipTwin ?? false }, () => {
  const model = new UNet3D(SMALL).eval();
  perturb(model);
  const x = torch.randn([2, 1, 4, 16, 32], { generator: gen });
  const logsnr = torch.tensor([-3, 5], [2]);
  const cond = torch.randn([2, 2, 16, 32], { generator: gen });
  const y = torch.noGrad(() => model.forward(x, logsnr, cond));
  const { out, y: yt } = runTwin(model, { x, logsnr, cond });
  assert.deepEqual(out.names, model.namedParameters().map(([n]) => n), 'parameter names and order');
  assert.equal(out.parameters, model.parameterCount());
  assert.deepEqual(out.shape, [2, 1, 4, 16, 32]);
  const scale = y.abs().max().item();
  assert.ok(scale > 1e-2, `output is not trivial (max |y| ${scale})`);
  const diff = maxAbsDiff(y, yt);
  assert.ok(diff < 1e-4 * Math.max(1, scale), `max |ours - twin| = ${diff} (output scale ${scale})`);
});

test('parity with the PyTorch twin: reflect lat, zeros lon, per-frame cond, 2 blocks, eps, 6 frames', { skip: skipTwin ?? false }, () => {
  const model = new UNet3D({
    ...SMALL, numResBlocks: 2, boundary: { lon: 'zeros', lat: 'reflect' }, parameterisation: 'eps', outChannels: 2, maxRelativeDistance: 2,
  }).eval();
  perturb(model);
  const x = torch.randn([1, 1, 6, 8, 16], { generator: gen });
  const logsnr = torch.tensor([1.5], [1]);
  const cond = torch.randn([1, 2, 6, 8, 16], { generator: gen });
  const y = torch.noGrad(() => model.forward(x, logsnr, cond));
  const { out, y: yt } = runTwin(model, { x, logsnr, cond });
  assert.equal(out.parameters, model.parameterCount());
  assert.deepEqual(out.shape, [1, 2, 6, 8, 16]);
  const scale = y.abs().max().item();
  const diff = maxAbsDiff(y, yt);
  assert.ok(diff < 1e-4 * Math.max(1, scale), `max |ours - twin| = ${diff} (output scale ${scale})`);
});

test('parity with the PyTorch twin: date embedding and a learned monotone transform (forward and encode)', { skip: skipTwin ?? false }, () => {
  const model = new UNet3D({
    ...SMALL, inChannels: 2, dateFeatures: 4, learnedTransforms: [{ channel: 1, domainMax: 20, threshold: 0.05 }],
  }).eval();
  perturb(model);
  const x = torch.randn([2, 2, 4, 16, 32], { generator: gen }).abs().mul(3);
  const logsnr = torch.tensor([-1, 2], [2]);
  const cond = torch.randn([2, 2, 16, 32], { generator: gen });
  const date = torch.randn([2, 4], { generator: gen });
  const y = torch.noGrad(() => model.forward(x, logsnr, cond, date));
  const { out, y: yt } = runTwin(model, { x, logsnr, cond, date });
  assert.deepEqual(out.names, model.namedParameters().map(([n]) => n), 'parameter names and order');
  assert.ok(out.names.includes('dateEmbed.0.weight') && out.names.includes('transforms.0.w2'));
  const scale = y.abs().max().item();
  assert.ok(maxAbsDiff(y, yt) < 1e-4 * Math.max(1, scale), `forward: max |ours - twin| = ${maxAbsDiff(y, yt)}`);
  // another date gives another output: the date reaches the network
  const y2 = torch.noGrad(() => model.forward(x, logsnr, cond, date.neg()));
  assert.ok(maxAbsDiff(y, y2) > 1e-3 * scale, 'the date changes the prediction');
  const e = torch.noGrad(() => model.encode(x).x);
  const { y: et } = runTwin(model, { x, logsnr }, { encode: true });
  assert.ok(maxAbsDiff(e, et) < 1e-5, `encode: max |ours - twin| = ${maxAbsDiff(e, et)}`);
  assert.equal(maxAbsDiff(e.select(1, 0), x.select(1, 0)), 0, 'channels without a transform pass unchanged');
  assert.throws(() => model.forward(x, logsnr, cond), (err: unknown) => err instanceof ModelInputError && /date/.test((err as Error).message));
  assert.throws(() => model.forward(x, logsnr, cond, torch.zeros([2, 3])), ModelInputError);
});

test('parity with the PyTorch twin: representation models (clip and frame encoders), q(w|x) and the prediction given w', { skip: skipTwin ?? false }, () => {
  for (const encoder of ['clip', 'frame'] as const) {
    const model = new UNet3D({ ...SMALL, inChannels: 2, representation: { dim: 5, encoder, channels: 8, levels: 2 } });
    perturb(model);
    const x = torch.randn([2, 2, 3, 8, 16], { generator: gen });
    const cond = torch.randn([2, 2, 8, 16], { generator: gen });
    const q = torch.noGrad(() => model.posterior(x, cond));
    const { out: po, y: pt } = runTwin(model, { x, cond }, { posterior: true });
    assert.deepEqual(po.shape, [2, 10]);
    assert.ok(maxAbsDiff(torch.cat([q.mean, q.logvar], 1), pt) < 1e-4, `${encoder}: posterior parity`);
    const latent = torch.randn([2, 5], { generator: gen });
    const logsnr = torch.tensor([-2, 3]);
    const y = torch.noGrad(() => model.forward(x, logsnr, cond, null, latent));
    const { out, y: yt } = runTwin(model, { x, logsnr, cond, latent });
    assert.equal(out.parameters, model.parameterCount());
    assert.deepEqual(out.names, [...model.namedParameters()].map(([n]) => n));
    assert.ok(out.names.includes('latentEmbed.0.weight') && out.names.includes('encoder.head.weight'));
    if (encoder === 'clip') assert.ok(out.names.includes('encoder.levels.0.time.weight'));
    else assert.ok(!out.names.some((n) => n.includes('.time.')), 'the frame encoder has no temporal convolutions');
    const scale = y.abs().max().item();
    assert.ok(maxAbsDiff(y, yt) < 1e-4 * Math.max(1, scale), `${encoder}: forward parity`);
    // w reaches the prediction; the frame encoder reads the first frame only
    const y2 = torch.noGrad(() => model.forward(x, logsnr, cond, null, latent.neg()));
    assert.ok(maxAbsDiff(y, y2) > 1e-3 * scale, 'w changes the prediction');
    const later = x.clone();
    torch.noGrad(() => later.narrow(2, 1, 2).mul_(3));
    const q2 = torch.noGrad(() => model.posterior(later, cond));
    const moved = maxAbsDiff(q.mean, q2.mean);
    if (encoder === 'frame') assert.equal(moved, 0); else assert.ok(moved > 1e-4);
    assert.throws(() => model.forward(x, logsnr, cond), (e: unknown) => e instanceof ModelInputError && /latent/.test((e as Error).message));
    assert.throws(() => model.forward(x, logsnr, cond, null, torch.zeros([2, 4])), (e: unknown) => e instanceof ModelInputError && /\[2, 5\]/.test((e as Error).message));
  }
  const plain = new UNet3D(SMALL);
  assert.throws(() => plain.posterior(torch.zeros([1, 1, 2, 8, 16]), torch.zeros([1, 2, 8, 16])), (e: unknown) => e instanceof ModelInputError && /no representation/.test((e as Error).message));
  assert.throws(() => plain.forward(torch.zeros([1, 1, 2, 8, 16]), torch.tensor(0), torch.zeros([1, 2, 8, 16]), null, torch.zeros([1, 3])), (e: unknown) => e instanceof ModelInputError && /no representation/.test((e as Error).message));
  assert.ok(![...plain.namedParameters()].some(([n]) => n.startsWith('latentEmbed') || n.startsWith('encoder')), 'an unconditional model is unchanged');
  assert.throws(() => new UNet3D({ ...SMALL, representation: { dim: 0 } }), (e: unknown) => e instanceof ModelConfigError && /representation.dim/.test(e.message));
  assert.throws(() => new UNet3D({ ...SMALL, representation: { dim: 2, encoder: 'video' as 'clip' } }), (e: unknown) => e instanceof ModelConfigError && /representation.encoder/.test(e.message));
  assert.throws(() => new UNet3D({ ...SMALL, representation: { dim: 2, channels: 12 } }), (e: unknown) => e instanceof ModelConfigError && /representation.channels/.test(e.message));
});

test('parameterCount equals the sum of stateDict numels; gradients reach every parameter', () => {
  const model = new UNet3D(SMALL);
  perturb(model);
  const sd = model.stateDict();
  let n = 0;
  for (const t of Object.values(sd)) n += t.numel();
  assert.equal(model.parameterCount(), n);
  const x = torch.randn([1, 1, 3, 8, 16], { generator: gen });
  const cond = torch.randn([1, 2, 8, 16], { generator: gen });
  model.forward(x, torch.tensor([0.3], [1]), cond).square().sum().backward();
  const unused: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (p.grad === null || p.grad.abs().sum().item() === 0) unused.push(name);
  }
  assert.deepEqual(unused, [], 'parameters without gradient');
});

test('forward releases its temporaries as it goes: only the output stays alive, with or without autograd', () => {
  const model = new UNet3D(SMALL);
  perturb(model);
  const x = torch.randn([2, 1, 3, 8, 16], { generator: gen }).keep();
  const cond = torch.randn([2, 2, 8, 16], { generator: gen }).keep();
  const logsnr = torch.tensor(1.5).keep();
  for (const grad of [false, true]) {
    collectGarbage(); // earlier tests' garbage would otherwise be freed during the count
    torch.scope(() => {
      const before = torch.liveTensors();
      const y = grad ? model.forward(x, logsnr, cond) : torch.noGrad(() => model.forward(x, logsnr, cond));
      assert.equal(torch.liveTensors() - before, 1, `live tensors created by forward (grad ${grad})`);
      if (grad) y.square().mean().backward(); // the graph kept what it saved
      assert.deepEqual(y.shape, [2, 1, 3, 8, 16]);
    });
  }
  assert.ok(!x.isDisposed && !cond.isDisposed && !logsnr.isDisposed, 'the caller\'s inputs are untouched');
  assert.ok(model.parameters().every((p) => p.grad !== null));
  x.dispose(); cond.dispose(); logsnr.dispose();
});

test('output shape follows outChannels; any number of frames works and temporal attention mixes frames', () => {
  const model = new UNet3D({ ...SMALL, outChannels: 3, maxRelativeDistance: 2 }).eval();
  perturb(model);
  for (const f of [1, 4, 7]) {
    const x = torch.randn([2, 1, f, 8, 16], { generator: gen });
    const y = torch.noGrad(() => model.forward(x, torch.tensor(2), torch.randn([2, 2, 8, 16], { generator: gen })));
    assert.deepEqual(y.shape, [2, 3, f, 8, 16]);
    assert.ok(Number.isFinite(y.abs().max().item()));
  }
  // changing the last frame changes the first frame's output (only temporal attention connects frames)
  const x = torch.randn([1, 1, 7, 8, 16], { generator: gen });
  const cond = torch.randn([1, 2, 8, 16], { generator: gen });
  const x2 = x.clone();
  torch.noGrad(() => x2.narrow(2, 6, 1).add_(1));
  const y1 = torch.noGrad(() => model.forward(x, torch.tensor(0), cond));
  const y2 = torch.noGrad(() => model.forward(x2, torch.tensor(0), cond));
  assert.ok(maxAbsDiff(y1.narrow(2, 0, 1), y2.narrow(2, 0, 1)) > 1e-4);
  // the relative position bias is relpos[h, clamp(j - i, -K, K) + K] for any number of frames
  const attn = model.down.get(0).blocks.get(0).temporal!;
  const bias = attn.relativeBias(7);
  assert.deepEqual(bias.shape, [attn.heads, 7, 7]);
  const table = attn.relpos!.detach();
  for (const [i, j] of [[0, 0], [0, 6], [6, 0], [2, 3], [5, 1]] as const) {
    const r = Math.max(-2, Math.min(2, j - i)) + 2;
    assert.equal(maxAbsDiff(bias.select(1, i).select(1, j), table.select(1, r)), 0, `bias[${i}, ${j}]`);
  }
});

test('parity with the PyTorch twin: grids the levels do not divide, padded (reflect, zeros; periodic longitude) and cropped', { skip: skipTwin ?? false }, () => {
  for (const [gridPadding, lon, h, w] of [['reflect', 'zeros', 13, 10], ['zeros', 'periodic', 9, 14], ['reflect', 'periodic', 7, 11]] as const) {
    const model = new UNet3D({ ...SMALL, channelMults: [1, 2, 2], attentionLevels: [2], boundary: { lon, lat: 'zeros' }, gridPadding }).eval();
    perturb(model);
    const x = torch.randn([2, 1, 3, h, w], { generator: gen });
    const logsnr = torch.tensor([-2, 4], [2]);
    const cond = torch.randn([2, 2, h, w], { generator: gen });
    const y = torch.noGrad(() => model.forward(x, logsnr, cond));
    assert.deepEqual(y.shape, [2, 1, 3, h, w], 'the prediction is on the input grid');
    const { y: yt } = runTwin(model, { x, logsnr, cond });
    const scale = y.abs().max().item();
    assert.ok(maxAbsDiff(y, yt) < 1e-4 * Math.max(1, scale), `${gridPadding}/${lon} ${h}x${w}: max |ours - twin| = ${maxAbsDiff(y, yt)}`);
  }
});

test('gridPadding: the padded forward is the unpadded network on the padded grid, cropped; gradients reach the input', () => {
  const base: UNet3DConfigInput = { ...SMALL, condChannels: 0, channelMults: [1, 2, 2], attentionLevels: [2], boundary: { lon: 'zeros', lat: 'zeros' } };
  const padded = new UNet3D({ ...base, gridPadding: 'zeros' }).eval();
  perturb(padded);
  const plain = new UNet3D(base).eval();
  plain.loadStateDict(padded.stateDict());
  const x = torch.randn([1, 1, 2, 13, 10], { generator: gen });
  // 13 -> 16 rows (1 above, 2 below), 10 -> 12 columns (1 left, 1 right)
  const big = torch.nn.functional.pad(x, [1, 1, 1, 2, 0, 0]);
  const y = torch.noGrad(() => padded.forward(x, torch.tensor(0.5)));
  const ref = torch.noGrad(() => plain.forward(big, torch.tensor(0.5))).narrow(3, 1, 13).narrow(4, 1, 10);
  assert.ok(maxAbsDiff(y, ref) < 1e-6, `max diff ${maxAbsDiff(y, ref)}`);
  // reflection differs from zeros (the mode is used), and the input gets a gradient through the padding
  const reflect = new UNet3D({ ...base, gridPadding: 'reflect' }).eval();
  reflect.loadStateDict(padded.stateDict());
  const xg = x.clone().requiresGrad_(true);
  const yr = reflect.forward(xg, torch.tensor(0.5));
  assert.ok(maxAbsDiff(yr.detach(), y) > 1e-4, 'reflect and zeros padding give different edges');
  yr.square().sum().backward();
  assert.deepEqual(xg.grad!.shape, [1, 1, 2, 13, 10]);
  assert.ok(xg.grad!.abs().sum().item() > 0);
  assert.equal(padded.flops([1, 1, 2, 13, 10]), plain.flops([1, 1, 2, 16, 12]));
  assert.throws(() => new UNet3D({ ...base, gridPadding: 'edge' as 'zeros' }), /gridPadding/);
  assert.throws(() => new UNet3D({ ...base, gridPadding: 'reflect' }).forward(torch.zeros([1, 1, 2, 1, 8]), torch.tensor(0)), /too small to reflect/);
});

test('periodic longitude: rolling the input by k cells rolls the output by k cells', () => {
  const x = torch.randn([1, 1, 2, 8, 16], { generator: gen });
  const cond = torch.randn([1, 2, 8, 16], { generator: gen });
  const err = (lon: 'periodic' | 'zeros', lat: 'zeros' | 'reflect', k: number): number => {
    const model = new UNet3D({ ...SMALL, boundary: { lon, lat } }).eval();
    perturb(model);
    return torch.noGrad(() => {
      const y = model.forward(x, torch.tensor(1), cond);
      const yr = model.forward(x.roll([k], [4]), torch.tensor(1), cond.roll([k], [3]));
      return maxAbsDiff(yr, y.roll([k], [4])) / y.abs().max().item();
    });
  };
  for (const k of [2, 6]) { // multiples of 2 (one stride-2 level)
    assert.ok(err('periodic', 'zeros', k) < 1e-5, `periodic/zeros k=${k}: ${err('periodic', 'zeros', k)}`);
    assert.ok(err('periodic', 'reflect', k) < 1e-5, `periodic/reflect k=${k}`);
  }
  assert.ok(err('zeros', 'zeros', 2) > 1e-3, 'zero padding in longitude is not roll-equivariant');
});

test('flops: hand count for a one-level model', () => {
  // channels 8, E 32, input [1, 1, 2, 4, 4] (P = 32 positions, N = 16 per frame):
  // embed 2(8*32 + 32*32) = 2560; stem 2*32*8*9 = 4608; down res 8->8: 2*36864 + 2*32*16 = 74752;
  // mid: res 74752 + spatial attention (qkv 12288, proj 4096, QK^T and AV 4*2*16*16*8 = 16384) + res 74752;
  // up: 2 x res 16->8 (conv1 73728, conv2 36864, emb 1024, skip 8192); out conv 4608
  const model = new UNet3D({ inChannels: 1, channels: 8, channelMults: [1], attentionLevels: [], temporalAttention: false, headChannels: 8, groups: 4 });
  const expected = 2560 + 4608 + 74752 + 74752 + 32768 + 74752 + 2 * 119808 + 4608;
  assert.equal(model.flops([1, 1, 2, 4, 4]), expected);
  assert.equal(model.flops([3, 1, 2, 4, 4]), 3 * expected);
});

test('config validation and input errors are clear', () => {
  assert.throws(() => new UNet3D({ inChannels: 1, channels: 12, groups: 8 }), (e: unknown) => e instanceof ModelConfigError && /groups/.test(e.message));
  assert.throws(() => new UNet3D({ inChannels: 1, boundary: { lon: 'wrap' as 'periodic' } }), /boundary.lon/);
  assert.throws(() => new UNet3D({ inChannels: 1, attentionLevels: [5] }), /attentionLevels/);
  assert.throws(() => new UNet3D({ inChannels: 1, chanels: 8 } as UNet3DConfigInput), /unknown field 'chanels'/);
  const model = new UNet3D(SMALL);
  assert.throws(() => model.forward(torch.zeros([1, 1, 2, 9, 16]), torch.tensor(0), torch.zeros([1, 2, 9, 16])), (e: unknown) => e instanceof ModelInputError && /divisible by 2.*gridPadding/.test(e.message));
  assert.throws(() => model.forward(torch.zeros([1, 1, 2, 8, 16]), torch.tensor(0)), /conditioning channels/);
  // the stored config round-trips through JSON to an identical model layout
  const again = new UNet3D(JSON.parse(JSON.stringify(model.toJSON())));
  assert.deepEqual(again.namedParameters().map(([n, p]) => [n, p.shape]), model.namedParameters().map(([n, p]) => [n, p.shape]));
});

test('asDenoiser: the model parameterisation and cond from options or context', () => {
  const model = new UNet3D({ ...SMALL, parameterisation: 'eps' }).eval();
  perturb(model);
  const x = torch.randn([1, 1, 2, 8, 16], { generator: gen });
  const cond = torch.randn([1, 2, 8, 16], { generator: gen });
  const d = asDenoiser(model, { cond });
  assert.equal(d.parameterisation, 'eps');
  const ref = torch.noGrad(() => model.forward(x, torch.tensor([0.5], [1]), cond));
  assert.equal(maxAbsDiff(torch.noGrad(() => d(x, torch.tensor([0.5], [1]))), ref), 0);
  const d2 = asDenoiser(model);
  assert.equal(maxAbsDiff(torch.noGrad(() => d2(x, torch.tensor([0.5], [1]), { cond })), ref), 0);
  assert.equal(new UNet3D({ inChannels: 1, channels: 8, channelMults: [1], headChannels: 8 }).config.parameterisation, 'v');
});

test('dropout acts in training mode only', () => {
  const model = new UNet3D({ ...SMALL, dropout: 0.3 });
  perturb(model);
  const x = torch.randn([1, 1, 2, 8, 16], { generator: gen });
  const cond = torch.randn([1, 2, 8, 16], { generator: gen });
  const run = (): Tensor => torch.noGrad(() => model.forward(x, torch.tensor(0), cond));
  assert.ok(maxAbsDiff(run(), run()) > 1e-4, 'training mode: two passes differ');
  model.eval();
  assert.equal(maxAbsDiff(run(), run()), 0, 'eval mode: deterministic');
});
