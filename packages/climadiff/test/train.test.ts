// The training loop: bit-for-bit resume, determinism, non-finite losses, masked loss, validation, metrics,
// loss curve and checkpoint errors, with a tiny model and a synthetic in-memory dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import {
  Trainer, train, loadCheckpoint, loadTrainedModel, CheckpointError, ConfigError, NonFiniteLossError, parseTrainConfig, readMetrics,
  type TrainConfigInput, type TrainProgress,
} from '../src/train/index.js';
import { TinyDenoiser, SyntheticClips, bytesOf } from './train-fixture.js';

torch.setNumThreads(1);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'climadiff-train-'));
const data = new SyntheticClips();

const BASE: TrainConfigInput = {
  seed: 3, steps: 100, batchSize: 4, gradAccumulation: 2, emaDecay: 0.9, logEvery: 10,
  optimizer: { lr: 3e-3 }, lrSchedule: { kind: 'warmup-cosine', warmupSteps: 10 },
  validateEvery: 0, checkpointEvery: 0,
};

function freshModel(initSeed = 1): TinyDenoiser {
  torch.manualSeed(initSeed);
  return new TinyDenoiser();
}

function optimizerBytes(sd: torch.optim.OptimizerStateDict): string {
  const parts: string[] = sd.param_groups.map((g) => JSON.stringify(Object.fromEntries(Object.entries(g).sort(([a], [b]) => a.localeCompare(b)))));
  for (const [k, s] of Object.entries(sd.state)) {
    for (const [n, v] of Object.entries(s)) parts.push(`${k}.${n}=${v instanceof torch.Tensor ? Buffer.from(v.toBytes()).toString('base64') : String(v)}`);
  }
  return parts.join('\n');
}

function assertSameMaps(a: Map<string, string>, b: Map<string, string>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: names`);
  for (const [k, v] of a) assert.ok(b.get(k) === v, `${what}: '${k}' differs`);
}

let uninterruptedDir = '';

test('2 x 50 steps with a checkpoint and resume between them equal 100 uninterrupted steps, bit for bit', async () => {
  uninterruptedDir = tmp();
  const initial = bytesOf(freshModel().stateDict());
  const a = await train({ model: freshModel(), config: BASE, data, runDir: uninterruptedDir, modelConfig: { channels: 2 }, normStats: { mean: [0, 1] } });
  assert.equal(a.step, 100);
  const split = tmp();
  const b1 = await train({ model: freshModel(), config: BASE, data, runDir: split, untilStep: 50 });
  assert.equal(b1.step, 50);
  assert.equal(b1.stopReason, 'untilStep');
  assert.equal(loadCheckpoint(split).step, 50);
  // A model initialised differently: everything must come from the checkpoint.
  const resumedModel = freshModel(99);
  const trainer = new Trainer({ model: resumedModel, config: BASE, data, runDir: split, resume: true });
  assert.equal(trainer.step, 50);
  const b2 = await trainer.run();
  assert.equal(b2.step, 100);
  assert.equal(b2.resumedFrom, 50);

  const ca = loadCheckpoint(uninterruptedDir), cb = loadCheckpoint(split);
  assert.equal(ca.step, 100); assert.equal(cb.step, 100);
  assert.deepEqual(ca.normStats, { mean: [0, 1] });
  assert.equal(ca.updates, cb.updates);
  assert.deepEqual(ca.data, cb.data);
  assertSameMaps(bytesOf(ca.model), bytesOf(cb.model), 'model weights');
  assertSameMaps(bytesOf(ca.ema), bytesOf(cb.ema), 'EMA weights');
  assert.equal(optimizerBytes(ca.optimizer), optimizerBytes(cb.optimizer), 'optimizer state');
  assert.deepEqual(ca.scheduler, cb.scheduler);
  assert.equal(ca.json.rng.train, cb.json.rng.train);
  assert.equal(ca.json.rng.default, cb.json.rng.default);
  // In memory too: the resumed trainer's live state equals the checkpointed uninterrupted one.
  assertSameMaps(bytesOf(resumedModel.stateDict()), bytesOf(ca.model), 'live model weights');
  assertSameMaps(bytesOf(trainer.ema.stateDict()), bytesOf(ca.ema), 'live EMA');
  assert.equal(optimizerBytes(trainer.optimizer.stateDict()), optimizerBytes(ca.optimizer), 'live optimizer');
  // Training did something (so the comparison can fail), and EMA differs from the raw weights.
  assert.notDeepEqual([...bytesOf(ca.model).values()], [...initial.values()]);
  assert.notDeepEqual([...bytesOf(ca.model).values()], [...bytesOf(ca.ema).values()]);
  // The metrics log reads as one run.
  const la = readMetrics(join(uninterruptedDir, 'metrics.jsonl')).map((r) => [r.step, r.loss]);
  const lb = readMetrics(join(split, 'metrics.jsonl')).map((r) => [r.step, r.loss]);
  assert.equal(la.length, 10);
  assert.deepEqual(lb, la);
});

test('same seed and config give the same weights; another seed gives others', async () => {
  const cfg = { ...BASE, steps: 30 };
  const m1 = freshModel(), m2 = freshModel(), m3 = freshModel();
  await train({ model: m1, config: cfg, data });
  await train({ model: m2, config: cfg, data });
  await train({ model: m3, config: { ...cfg, seed: 4 }, data });
  assertSameMaps(bytesOf(m1.stateDict()), bytesOf(m2.stateDict()), 'same seed');
  assert.notDeepEqual([...bytesOf(m1.stateDict()).values()], [...bytesOf(m3.stateDict()).values()]);
});

test('a non-finite loss skips the step (no update), is logged, and K in a row stop training with a clear error', async () => {
  const model = freshModel();
  model.poisonCalls = new Set([5, 6]); // gradAccumulation 1: forward call k is step k
  const snapshots = new Map<number, Map<string, string>>();
  const seen: TrainProgress[] = [];
  const logs: string[] = [];
  const dir = tmp();
  const r = await train({
    model, config: { ...BASE, steps: 10, gradAccumulation: 1, logEvery: 1 }, data, runDir: dir,
    onLog: (m) => logs.push(m),
    onProgress: (p) => { seen.push(p); if (p.step === 4 || p.step === 6 || p.step === 7) snapshots.set(p.step, bytesOf(model.stateDict())); },
  });
  assert.equal(r.step, 10);
  assert.equal(r.updates, 8);
  assert.deepEqual(seen.filter((p) => p.skipped).map((p) => p.step), [5, 6]);
  assert.equal(logs.length, 2);
  assert.match(logs[0]!, /step 5: non-finite loss, step skipped/);
  assertSameMaps(snapshots.get(4)!, snapshots.get(6)!, 'weights across skipped steps');
  assert.notDeepEqual([...snapshots.get(6)!.values()], [...snapshots.get(7)!.values()]);
  const skippedLines = readMetrics(join(dir, 'metrics.jsonl')).filter((l) => l.loss === null);
  assert.deepEqual(skippedLines.map((l) => l.step), [5, 6]);
  for (const p of seen) if (!p.skipped) assert.ok(Number.isFinite(p.loss));

  const bad = freshModel();
  bad.poisonCalls = new Set([3, 4, 5, 6, 7]);
  await assert.rejects(
    train({ model: bad, config: { ...BASE, steps: 20, gradAccumulation: 1, maxNonFiniteInARow: 3 }, data, onLog: () => {} }),
    (e: unknown) => e instanceof NonFiniteLossError && /step 5: the loss was NaN or infinite for 3 steps in a row/.test((e as Error).message),
  );
});

test('masked loss: NaN in missing elements never reaches the loss; without the mask it does', async () => {
  const nanData = new SyntheticClips(12, [2, 3, 6, 8], { nanWhereMissing: true });
  const r = await train({ model: freshModel(), config: { ...BASE, steps: 6 }, data: nanData, onLog: () => {} });
  assert.equal(r.updates, 6);
  assert.ok(r.lastLoss !== null && Number.isFinite(r.lastLoss));
  await assert.rejects(
    train({ model: freshModel(), config: { ...BASE, steps: 6, maskedLoss: false, maxNonFiniteInARow: 2 }, data: nanData, onLog: () => {} }),
    NonFiniteLossError,
  );
});

test('weighted losses by option; validation loss and bits/dim, metrics.jsonl, loss curve SVG and PNG, previews', async () => {
  const dir = tmp();
  const vals: number[] = [];
  const previews: number[] = [];
  const r = await train({
    model: freshModel(), config: { ...BASE, steps: 20, loss: 'weighted:eps-mse', validateEvery: 10, previewEvery: 10, validation: { maxBatches: 2, elboSteps: 8, elboSamples: 1 } },
    data, validation: new SyntheticClips(8, [2, 3, 6, 8], { seed: 5 }), runDir: dir,
    onValidation: (v) => vals.push(v.step),
    preview: (ctx) => { assert.equal(ctx.model.training, false); previews.push(ctx.step); },
  });
  assert.deepEqual(vals, [10, 20]);
  assert.deepEqual(previews, [10, 20]);
  assert.ok(r.lastValidation && Number.isFinite(r.lastValidation.loss) && r.lastValidation.bpd !== null);
  assert.ok(r.lastValidation.bpd! > 0 && r.lastValidation.bpd! < 1000, `bpd ${r.lastValidation.bpd}`);
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train_ = lines.filter((l) => 'loss' in l), val = lines.filter((l) => 'val_loss' in l);
  assert.deepEqual(train_.map((l) => l.step), [10, 20]);
  for (const l of train_) for (const k of ['loss', 'lr', 'samples_per_s']) assert.ok(Number.isFinite(l[k]), `${k} in ${JSON.stringify(l)}`);
  assert.deepEqual(val.map((l) => l.step), [10, 20]);
  for (const l of val) assert.ok(Number.isFinite(l.val_loss) && Number.isFinite(l.bpd));
  const svg = readFileSync(join(dir, 'loss_curve.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /<path/);
  const png = readFileSync(join(dir, 'loss_curve.png'));
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.ok(statSync(join(dir, 'loss_curve.png')).size > 1000);
});

test('checkpoint policy: the newest N and the best K by validation loss; best names the lowest', async () => {
  const dir = tmp();
  await train({
    model: freshModel(), data, validation: new SyntheticClips(8, [2, 3, 6, 8], { seed: 5 }), runDir: dir,
    config: { ...BASE, steps: 24, validateEvery: 3, checkpointEvery: 8, keepCheckpoints: 1, keepBest: 2, validation: { maxBatches: 2, elboSteps: 0, elboSamples: 1 } },
  });
  const vals = readMetrics(join(dir, 'metrics.jsonl'), null).filter((r) => typeof r.val_loss === 'number').map((r) => ({ step: r.step, loss: r.val_loss as number }));
  assert.equal(vals.length, 8);
  // every new best was written when it was found: the lowest two validations are on disk, with the newest checkpoint
  const byLoss = [...vals].sort((a, b) => a.loss - b.loss || a.step - b.step);
  const want = new Set([24, byLoss[0]!.step, byLoss[1]!.step].map((k) => `ckpt-${String(k).padStart(6, '0')}`));
  assert.deepEqual(new Set(readdirSync(dir).filter((f) => /^ckpt-\d+$/.test(f))), want);
  assert.equal(readFileSync(join(dir, 'best'), 'utf8').trim(), `ckpt-${String(byLoss[0]!.step).padStart(6, '0')}`);
  const best = loadCheckpoint(dir, 'best');
  assert.equal(best.step, byLoss[0]!.step);
  assert.equal(best.valLoss, byLoss[0]!.loss, 'the loss recorded with the checkpoint is the one in the metrics');
  assert.equal(loadCheckpoint(dir).step, 24);
  // keepBest 0: no best pointer, only the newest
  const plain = tmp();
  await train({ model: freshModel(), data, validation: new SyntheticClips(8, [2, 3, 6, 8], { seed: 5 }), runDir: plain,
    config: { ...BASE, steps: 6, validateEvery: 2, checkpointEvery: 3, keepCheckpoints: 1, keepBest: 0, validation: { maxBatches: 1, elboSteps: 0, elboSamples: 1 } } });
  assert.deepEqual(readdirSync(plain).filter((f) => /^ckpt-\d+$/.test(f) || f === 'best'), ['ckpt-000006']);
  assert.throws(() => loadCheckpoint(plain, 'best'), /has no 'best' checkpoint/);
});

test('checkpoints: keep the newest K, clear errors for missing or corrupt ones, no silent overwrite, bad config', async () => {
  const dir = tmp();
  await train({ model: freshModel(), config: { ...BASE, steps: 20, checkpointEvery: 5, keepCheckpoints: 2 }, data, runDir: dir });
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ckpt-')).sort(), ['ckpt-000015', 'ckpt-000020']);
  assert.equal(readFileSync(join(dir, 'latest'), 'utf8').trim(), 'ckpt-000020');
  const ck = loadCheckpoint(dir);
  assert.equal(ck.step, 20);
  assert.equal(ck.trainConfig.keepCheckpoints, 2);
  for (const s of Object.values(ck.optimizer.state)) assert.equal(s.step, ck.updates);
  // A second fresh run into the same folder is refused.
  await assert.rejects(train({ model: freshModel(), config: BASE, data, runDir: dir }), /already holds a run; pass resume/);

  const empty = tmp();
  assert.throws(() => loadCheckpoint(empty), (e: unknown) => e instanceof CheckpointError && /no checkpoint in/.test((e as Error).message));
  assert.throws(() => loadCheckpoint(join(empty, 'nope')), /does not exist/);
  assert.throws(() => new Trainer({ model: freshModel(), config: BASE, data, runDir: empty, resume: true }), /cannot resume: no checkpoint/);

  const jsonPath = join(dir, 'ckpt-000020', 'checkpoint.json');
  const good = readFileSync(jsonPath, 'utf8');
  writeFileSync(jsonPath, good.slice(0, good.length / 2));
  assert.throws(() => loadCheckpoint(dir), /checkpoint.json is corrupt/);
  writeFileSync(jsonPath, JSON.stringify({ ...JSON.parse(good), step: -1 }));
  assert.throws(() => loadCheckpoint(dir), /does not validate:\n\s+step:/);
  writeFileSync(jsonPath, good);
  truncateSync(join(dir, 'ckpt-000020', 'model.safetensors'), 40);
  assert.throws(() => loadCheckpoint(dir), /model.safetensors is corrupt/);
  writeFileSync(join(dir, 'latest'), 'garbage');
  assert.throws(() => loadCheckpoint(dir), /latest is corrupt/);
  // A checkpoint of another architecture does not load into the model.
  writeFileSync(join(dir, 'latest'), 'ckpt-000015\n');
  assert.equal(loadCheckpoint(dir).step, 15);
  assert.throws(() => new Trainer({ model: new TinyDenoiser(3), config: BASE, data, runDir: dir, resume: true }), /does not match the model|shape/);

  assert.throws(() => new Trainer({ model: freshModel(), config: { ...BASE, batchSize: 3 }, data, runDir: dir, resume: true }),
    /config 'batchSize' is 3 but the checkpoint was trained with 4/);
  assert.throws(() => parseTrainConfig({ batchSize: 0, optimizer: { lr: -1 } }), (e: unknown) =>
    e instanceof ConfigError && /batchSize/.test((e as Error).message) && /optimizer\.lr/.test((e as Error).message) && /steps or minutes/.test((e as Error).message));
  assert.throws(() => parseTrainConfig({ steps: 10, bogus: 1 }), /bogus/);
  assert.ok(existsSync(join(uninterruptedDir, 'latest')));
  // Sampling side: the EMA weights of the latest checkpoint in a freshly built model, in eval mode.
  const trained = loadTrainedModel(uninterruptedDir, (cfg) => { assert.deepEqual(cfg, { channels: 2 }); return new TinyDenoiser(2); });
  assert.equal(trained.model.training, false);
  assert.equal(trained.denoiser.parameterisation, 'v');
  // the network says what it predicts; a config that names another parameterisation is refused, not silently used
  const epsModel = Object.assign(freshModel(), { parameterisation: 'eps' as const });
  assert.equal(new Trainer({ model: epsModel, config: { ...BASE, steps: 1 }, data }).denoiser.parameterisation, 'eps');
  assert.equal(new Trainer({ model: epsModel, config: { ...BASE, steps: 1, diffusion: { parameterisation: 'eps' } }, data }).denoiser.parameterisation, 'eps');
  assert.throws(() => new Trainer({ model: epsModel, config: { ...BASE, steps: 1, diffusion: { parameterisation: 'v' } }, data }),
    (e: unknown) => e instanceof ConfigError && /says the network predicts 'v' but the network declares 'eps'/.test((e as Error).message));
  assertSameMaps(bytesOf(trained.model.stateDict()), bytesOf(loadCheckpoint(uninterruptedDir).ema), 'EMA weights loaded for sampling');
});

test('the progress bar helper shows step, loss, samples/s and ETA', async () => {
  const { Writable } = await import('node:stream');
  const { progressBar } = await import('../src/train/index.js');
  let out = '';
  const stream = new Writable({ write(chunk, _enc, cb) { out += chunk.toString(); cb(); } });
  const bar = progressBar({ stream });
  await train({ model: freshModel(), config: { ...BASE, steps: 5 }, data, onProgress: bar.onProgress });
  bar.stop();
  assert.match(out, /step 5\/5 \| loss \d\.\d+(e[-+]\d+)? \| \d+\.\d samples\/s \| ETA \d+m\d\ds/);
  // not a terminal: plain lines, the first step and then at most one per 10 s, the last one on stop
  assert.deepEqual(out.trim().split('\n').map((l) => l.split(' | ')[0]), ['train step 1/5', 'train step 5/5']);
});

test('a minutes budget stops the run and checkpoints', async () => {
  const dir = tmp();
  const totals: (number | null)[] = [];
  const r = await train({ model: freshModel(), config: { ...BASE, steps: 1_000_000, minutes: 0.004, lrSchedule: { kind: 'constant', warmupSteps: 2 } }, data, runDir: dir,
    onProgress: (p) => totals.push(p.totalSteps) });
  assert.equal(r.stopReason, 'minutes');
  assert.ok(r.step > 0);
  // the progress total is where the time budget is projected to end, not the unreachable config.steps
  assert.ok(totals.length > 0 && totals.every((t) => t !== null && t < 1_000_000), `totals ${totals.slice(0, 5)}`);
  assert.equal(loadCheckpoint(dir).step, r.step);
  assert.equal(loadCheckpoint(dir).scheduler?.last_epoch, r.updates);
});

test('static conditioning channels reach forward(x, logsnr, cond) in training, validation and the ELBO', async () => {
  const model = freshModel();
  const withStatics = new SyntheticClips(12, [2, 3, 6, 8], { withStatics: true });
  await train({ model, config: { ...BASE, steps: 2, validateEvery: 2, validation: { maxBatches: 1, elboSteps: 2, elboSamples: 1 } }, data: withStatics, validation: withStatics });
  assert.deepEqual([...model.condShapes], ['4x1x3x6x8']);
  const plain = freshModel();
  await train({ model: plain, config: { ...BASE, steps: 2 }, data });
  assert.equal(plain.condShapes.size, 0);
});

test('EMA warm-up: update n uses min(emaDecay, (1 + n) / (10 + n)); without warm-up the constant decay', async () => {
  for (const emaWarmup of [true, false]) {
    const model = freshModel();
    const ema = new Map<string, Float64Array>();
    for (const [k, p] of model.namedParameters()) ema.set(k, Float64Array.from(p.toFloat32Array()));
    let n = 0;
    // after each step, fold the model's new weights into a float64 EMA by the formula
    const onProgress = (): void => {
      const d = emaWarmup ? Math.min(0.5, (1 + n) / (10 + n)) : 0.5;
      for (const [k, p] of model.namedParameters()) {
        const w = p.toFloat32Array(), e = ema.get(k)!;
        for (let i = 0; i < e.length; i++) e[i] = d * e[i]! + (1 - d) * w[i]!;
      }
      n += 1;
    };
    const trainer = new Trainer({ model, config: { ...BASE, steps: 3, gradAccumulation: 1, emaDecay: 0.5, emaWarmup }, data, onProgress });
    await trainer.run();
    assert.equal(n, 3);
    for (const [k, t] of trainer.ema.shadow) {
      const got = t.toFloat32Array(), want = ema.get(k)!;
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-6, `${k}[${i}] warmup ${emaWarmup}: ${got[i]} vs ${want[i]}`);
    }
  }
});
