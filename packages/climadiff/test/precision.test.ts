// Numeric precision (models/precision.ts): the run-time default, validation, the mixed-precision denoiser wrapper
// (network under autocast, predictions back in float32), and training in bf16-mixed: float32 master weights,
// optimizer state and checkpoints, the resolved precision recorded in the run, and the CLI's error paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { UNet3D, unet3dConfig, asDenoiser, defaultPrecision, resolvePrecision, withPrecision, PrecisionError } from '../src/models/index.js';
import { Trainer, loadCheckpoint } from '../src/train/index.js';
import { SyntheticClips } from './train-fixture.js';

torch.setNumThreads(1);

test('the default is read from the hardware: bf16-mixed with native bf16 (or on CUDA), fp32 otherwise', () => {
  assert.equal(defaultPrecision('cpu'), torch.backends.cpu.hasNativeBf16() ? 'bf16-mixed' : 'fp32');
  assert.equal(defaultPrecision('cuda:0'), 'bf16-mixed');
  assert.equal(resolvePrecision(undefined), defaultPrecision('cpu'));
  assert.equal(resolvePrecision('auto'), defaultPrecision('cpu'));
  assert.equal(resolvePrecision('bf16-mixed'), 'bf16-mixed');
  assert.equal(resolvePrecision('fp16-mixed', 'cuda'), 'fp16-mixed');
  assert.throws(() => resolvePrecision('fp16-mixed', 'cpu'), (e: Error) => e instanceof PrecisionError && /needs a CUDA device/.test(e.message));
  assert.throws(() => resolvePrecision('bf16'), /unknown precision 'bf16': expected auto, fp32, bf16-mixed, fp16-mixed/);
});

test('withPrecision: the U-Net runs under bf16 autocast, its prediction comes back float32 and close to the fp32 one', () => {
  torch.manualSeed(5);
  const model = new UNet3D(unet3dConfig({ inChannels: 1, channels: 8, channelMults: [1, 2], attentionLevels: [1], groups: 4, headChannels: 8 }));
  torch.noGrad(() => { for (const p of model.parameters()) p.copy_(torch.randnLike(p).mul(0.1)); });
  model.eval();
  const z = torch.randn([2, 1, 3, 8, 16]);
  const l = torch.tensor([-2, 3]);
  const fp32 = asDenoiser(model);
  assert.equal(withPrecision(fp32, 'fp32'), fp32, 'fp32: the denoiser itself');
  const mixed = withPrecision(fp32, 'bf16-mixed');
  assert.equal(mixed.parameterisation, fp32.parameterisation);
  const [a, b] = torch.noGrad(() => [fp32(z, l), mixed(z, l)]);
  assert.equal(b!.dtype, 'float32');
  const rel = b!.sub(a!).norm().item() / a!.norm().item();
  // bf16 keeps 8 bits of mantissa: a few parts in a thousand per op, a few per cent through the network
  assert.ok(rel > 0 && rel < 0.05, `relative difference ${rel}`);
  // the wrapper restores the autocast state
  assert.equal(torch.isAutocastEnabled('cpu'), false);
});

test('bf16-mixed training: float32 weights, gradients and optimizer state; the resolved precision is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-precision-'));
  try {
    torch.manualSeed(1);
    const model = new UNet3D(unet3dConfig({ inChannels: 2, channels: 8, channelMults: [1, 2], attentionLevels: [], groups: 4, headChannels: 8 }));
    const data = new SyntheticClips(8, [2, 2, 8, 8]);
    const base = { seed: 1, steps: 3, batchSize: 2, validateEvery: 0, checkpointEvery: 0, lrSchedule: { kind: 'constant' as const, warmupSteps: 0 } };
    const trainer = new Trainer({ model, config: { ...base, precision: 'bf16-mixed' }, data, runDir: join(dir, 'bf16') });
    assert.equal(trainer.config.precision, 'bf16-mixed');
    const r = await trainer.run();
    assert.ok(r.lastLoss !== null && Number.isFinite(r.lastLoss));
    for (const p of model.parameters()) assert.equal(p.dtype, 'float32');
    const ck = loadCheckpoint(join(dir, 'bf16'));
    assert.equal(ck.trainConfig.precision, 'bf16-mixed');
    for (const t of [...Object.values(ck.model), ...Object.values(ck.ema)]) assert.equal(t.dtype, 'float32');
    for (const s of Object.values(ck.optimizer.state)) for (const v of Object.values(s)) if (v instanceof torch.Tensor && v.numel() > 1) assert.equal(v.dtype, 'float32');
    // 'auto' is resolved before it is written
    const auto = new Trainer({ model, config: base, data, runDir: join(dir, 'auto') });
    assert.equal(auto.config.precision, defaultPrecision('cpu'));
    await auto.run();
    assert.equal(loadCheckpoint(join(dir, 'auto')).trainConfig.precision, defaultPrecision('cpu'));
    assert.throws(() => new Trainer({ model, config: { ...base, precision: 'fp16-mixed' }, data }), /fp16-mixed needs a CUDA device/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: a precision or device this machine cannot run is refused with one clear line and a non-zero exit', () => {
  const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-precision-cli-'));
  try {
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
    const fp16 = cli('train', '--data', 'none.nc', '--vars', 'tas', '--out', 'run', '--precision', 'fp16-mixed', '--steps', '1');
    assert.equal(fp16.status, 1);
    assert.match(fp16.stderr, /--precision: precision fp16-mixed needs a CUDA device/);
    const bad = cli('sample', '--checkpoint', 'run', '--out', 's.nc', '--precision', 'half');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unknown precision 'half'/);
    if (!torch.cuda.isAvailable()) {
      const cuda = cli('train', '--data', 'none.nc', '--vars', 'tas', '--out', 'run', '--device', 'cuda', '--steps', '1');
      assert.notEqual(cuda.status, 0);
      assert.match(cuda.stderr, /CUDA is not available/);
    }
    const dev = cli('sample', '--checkpoint', 'run', '--out', 's.nc', '--device', 'tpu');
    assert.notEqual(dev.status, 0);
    assert.match(dev.stderr, /expected cpu, cuda or cuda:N/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
