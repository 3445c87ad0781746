// Data-parallel training end to end (climadiff train --nproc-per-node, torchrun): 2 ranks x half a batch train the
// same model as one process with the whole batch; a run resumes at another world size; a killed rank stops the others
// with a clear error, and the last checkpoint resumes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { loadCheckpoint, readMetrics } from '../src/train/index.js';
import { openDataset } from '../src/data/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const gloo = torch.distributed.isAvailable();
const skip = gloo.gloo && gloo.reducer ? false : `no Gloo process groups in this build: ${gloo.glooWhy || 'no Reducer'}`;
let dir = '';

interface Run { code: number | null; signal: string | null; out: string; seconds: number }

/** Runs the CLI (or another command) in the test folder; `onOutput` sees everything it prints as it comes. */
function run(args: string[], opts: { cmd?: string; env?: Record<string, string>; onOutput?: (all: string, pid: number) => void; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(opts.cmd ?? process.execPath, opts.cmd ? args : [CLI, ...args], { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => { out += d.toString(); opts.onOutput?.(out, p.pid!); };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    const guard = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`hung:\n${out}`)); }, opts.timeoutMs ?? 180_000);
    p.on('close', (code, signal) => { clearTimeout(guard); resolve({ code, signal, out, seconds: (Date.now() - t0) / 1000 }); });
  });
}

const TRAIN = ['train', '--data', 'earth.nc', '--vars', 'tas', '--frames', '4', '--channels', '8', '--threads', '1', '--precision', 'fp32'];

async function trainRun(out: string, extra: string[] = [], config = 'cfg.json'): Promise<Run> {
  const r = await run([...TRAIN, '--out', out, '--config', config, ...extra]);
  assert.equal(r.code, 0, r.out);
  return r;
}

async function ddp(out: string, extra: string[] = [], config = 'cfg.json'): Promise<Run> {
  return trainRun(out, ['--nproc-per-node', '2', '--master-port', String(await torch.distributed.freePort()), ...extra], config);
}

/**
 * The weights (model and EMA) of two runs' latest checkpoints agree: every tensor to WEIGHT_TOL of the largest weight,
 * except tensors still near their zero initialisation (|w| < 2 steps lr), where Adam moves an element whose gradient is
 * ~0 by up to lr per step whichever sign rounding gives it: those to steps x lr. Returns the worst case for messages.
 */
function assertSameWeights(a: string, b: string, steps: number, relTol = WEIGHT_TOL, lr = 2e-4): void {
  const ca = loadCheckpoint(join(dir, a)), cb = loadCheckpoint(join(dir, b));
  let max = 0;
  for (const part of ['model', 'ema'] as const) for (const t of Object.values(ca[part] as Record<string, torch.Tensor>)) max = Math.max(max, t.abs().max().item());
  for (const part of ['model', 'ema'] as const) {
    const ta = ca[part] as Record<string, torch.Tensor>, tb = cb[part] as Record<string, torch.Tensor>;
    assert.deepEqual(Object.keys(ta).sort(), Object.keys(tb).sort());
    for (const k of Object.keys(ta)) {
      const diff = ta[k]!.sub(tb[k]!).abs().max().item();
      const nearZero = ta[k]!.abs().max().item() < 2 * steps * lr;
      const tol = Math.max(relTol * max, nearZero ? steps * lr : 0);
      assert.ok(diff <= tol, `${a} vs ${b}: ${part} ${k} differs by ${diff} (tolerance ${tol})`);
    }
  }
}

function losses(run: string): { train: number[]; val: number[] } {
  const m = readMetrics(join(dir, run, 'metrics.jsonl')) as unknown as { loss?: number; val_loss?: number }[];
  return { train: m.flatMap((r) => (r.loss !== undefined && r.loss !== null ? [r.loss] : [])), val: m.flatMap((r) => (r.val_loss !== undefined ? [r.val_loss] : [])) };
}

// Float32: the reduction order differs between one process and two ranks (two half-batch sums, then an all-reduce);
// after a few steps the weights agree to ~1e-6 of their scale (measured 1e-7 to 1e-6).
const WEIGHT_TOL = 2e-5;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'climadiff-ddp-'));
  if (skip) return;
  const r = await run(['data', 'simulate', '--model', 'earth', '--frames', '120', '--seed', '3', '--spinup', '2', '--out', 'earth.nc', '--no-progress']);
  assert.equal(r.code, 0, r.out);
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ steps: 4, batchSize: 4, logEvery: 1, validateEvery: 2, checkpointEvery: 2,
    lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0 }));
  writeFileSync(join(dir, 'accum.json'), JSON.stringify({ steps: 3, batchSize: 2, gradAccumulation: 2, logEvery: 1, validateEvery: 3, checkpointEvery: 3,
    lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0 }));
  await trainRun('plain');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('2 ranks x 2 clips train the model that 1 process x 4 clips trains (losses, validation, weights and EMA)', { skip }, async () => {
  await ddp('two');
  const a = losses('plain'), b = losses('two');
  assert.equal(b.train.length, 4);
  b.train.forEach((l, i) => assert.ok(Math.abs(l - a.train[i]!) <= 1e-6 * Math.abs(a.train[i]!), `step ${i + 1}: ${l} vs ${a.train[i]}`));
  b.val.forEach((l, i) => assert.ok(Math.abs(l - a.val[i]!) <= 1e-6 * Math.abs(a.val[i]!), `validation ${i}: ${l} vs ${a.val[i]}`));
  assertSameWeights('plain', 'two', 4);
  // only rank 0 wrote: one metrics line per step and validation, checkpoints at 2 and 4
  assert.deepEqual(readMetrics(join(dir, 'two', 'metrics.jsonl')).map((r) => (r as unknown as { step: number }).step), [1, 2, 2, 3, 4, 4]);
});

// bf16-mixed: the forward in bfloat16 rounds the two ranks' half-batch activations differently from the whole batch's,
// so the tolerances are wider (measured: losses 2e-6 relative, weights 7e-5 of the largest weight after 4 steps).
test('bf16-mixed: 2 ranks x 2 clips train the model of 1 process x 4 clips (losses to 1e-5, weights to 2e-4 of the largest)', { skip }, async () => {
  const bf = ['--precision', 'bf16-mixed'];
  const TRAIN_BF = TRAIN.map((a) => (a === 'fp32' ? 'bf16-mixed' : a));
  const one = await run([...TRAIN_BF, '--out', 'bf1', '--config', 'cfg.json']);
  assert.equal(one.code, 0, one.out);
  await ddp('bf2', bf);
  const a = losses('bf1'), b = losses('bf2');
  [...b.train, ...b.val].forEach((l, i) => { const r = [...a.train, ...a.val][i]!; assert.ok(Math.abs(l - r) <= 1e-5 * Math.abs(r), `${i}: ${l} vs ${r}`); });
  assertSameWeights('bf1', 'bf2', 4, 2e-4);
});

test('gradient accumulation with 2 ranks equals it in 1 process (micro-batches of 2 clips, 1 per rank)', { skip }, async () => {
  await trainRun('accum1', [], 'accum.json');
  await ddp('accum2', [], 'accum.json');
  const a = losses('accum1'), b = losses('accum2');
  b.train.forEach((l, i) => assert.ok(Math.abs(l - a.train[i]!) <= 1e-6 * Math.abs(a.train[i]!), `step ${i + 1}: ${l} vs ${a.train[i]}`));
  assertSameWeights('accum1', 'accum2', 3);
});

test('a run resumes at another world size: 2 ranks then 1 process, and 1 process then 2 ranks, end where 1 process ends', { skip }, async () => {
  await ddp('down', ['--steps', '2']);
  await trainRun('down', ['--resume', '--steps', '4']);
  await trainRun('up', ['--steps', '2']);
  await ddp('up', ['--resume', '--steps', '4']);
  for (const r of ['down', 'up']) assertSameWeights('plain', r, 4);
});

test('torchrun --no-python --nproc-per-node 2 climadiff train: PyTorch\'s launcher starts the same training', { skip }, async (t) => {
  const engine = JSON.parse(readFileSync(join(ROOT, '.cache', 'engine.json'), 'utf8')) as { python?: string };
  const torchrun = engine.python ? join(dirname(engine.python), 'torchrun') : '';
  const bin = join(ROOT, 'node_modules', '.bin');
  if (!torchrun || !existsSync(torchrun) || !existsSync(join(bin, 'climadiff'))) { t.skip('no torchrun next to the reference python, or no climadiff command'); return; }
  const r = await run(['--no-python', '--nproc-per-node', '2', '--master-port', String(await torch.distributed.freePort()), 'climadiff', ...TRAIN, '--out', 'torchrun', '--config', 'cfg.json'],
    { cmd: torchrun, env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(r.code, 0, r.out);
  assertSameWeights('plain', 'torchrun', 4);
});

test('a rank killed mid-run: the launcher exits non-zero naming it, the other rank stops with a clear error, the last checkpoint resumes', { skip }, async () => {
  // long enough that the kill lands mid-run however fast the machine (the progress line shows only some steps)
  writeFileSync(join(dir, 'long.json'), JSON.stringify({ steps: 3000, batchSize: 4, logEvery: 1, validateEvery: 0, checkpointEvery: 1,
    lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0 }));
  let killed = false;
  const port = await torch.distributed.freePort();
  const r = await run([...TRAIN, '--out', 'killed', '--config', 'long.json', '--nproc-per-node', '2', '--master-port', String(port), '--dist-timeout', '20'], {
    onOutput: (all, launcher) => {
      if (killed || !/train step ([3-9]|\d\d+)\//.test(all)) return;
      killed = true;
      // rank 1: the launcher's worker whose environment says RANK=1
      for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        try {
          const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
          if (env.includes(`CLIMADIFF_LAUNCHER_PID=${launcher}`) && env.includes('RANK=1')) process.kill(Number(pid), 'SIGKILL');
        } catch { /* gone, or not ours */ }
      }
    },
  });
  assert.ok(killed, `never saw step 3:\n${r.out}`);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.code, 75);
  assert.match(r.out, /rank 1 exited with SIGKILL/);
  assert.match(r.out, /Connection closed by peer|Connection reset|timed out/i, 'rank 0 reports the lost peer');
  assert.ok(r.seconds < 60, `took ${r.seconds} s`);
  const ck = loadCheckpoint(join(dir, 'killed'));
  assert.ok(ck.step >= 2, `checkpoint at step ${ck.step}`);
  const resumed = await ddp('killed', ['--resume', '--steps', String(ck.step + 2)], 'long.json');
  assert.match(resumed.out, new RegExp(`trained to step ${ck.step + 2}`));
});

test('bad launches fail before training: a batch smaller than the world, a node rank outside --nnodes', { skip }, async () => {
  const small = await run([...TRAIN, '--out', 'small', '--config', 'cfg.json', '--batch-size', '1', '--nproc-per-node', '2', '--master-port', String(await torch.distributed.freePort())]);
  assert.notEqual(small.code, 0);
  assert.match(small.out, /batch of 1 clips is global .* at least the world size 2/);
  const rank = await run([...TRAIN, '--out', 'rank', '--config', 'cfg.json', '--nnodes', '2', '--node-rank', '2']);
  assert.equal(rank.code, 1);
  assert.match(rank.out, /--node-rank 2 is not below --nnodes 2/);
  assert.ok(!existsSync(join(dir, 'rank')));
});

test('a forecast ensemble shared among 2 ranks (cases split) is the one a single process makes, bit for bit', { skip }, async () => {
  const args = ['forecast', '--checkpoint', 'plain', '--data', 'earth.nc', '--members', '2', '--max-cases', '3', '--steps', '4', '--starts', 'every:1d:all', '--threads', '1'];
  const one = await run([...args, '--out', 'f1.nc']);
  assert.equal(one.code, 0, one.out);
  const two = await run([...args, '--out', 'f2.nc', '--nproc-per-node', '2', '--master-port', String(await torch.distributed.freePort())]);
  assert.equal(two.code, 0, two.out);
  assert.match(two.out, /forecast: 3 case\(s\) x 2 member\(s\)/);
  const a = (await openDataset(join(dir, 'f1.nc'), { variables: ['tas'], normalise: false })).variables.get('tas')!.data;
  const b = (await openDataset(join(dir, 'f2.nc'), { variables: ['tas'], normalise: false })).variables.get('tas')!.data;
  assert.equal(a.length, b.length);
  assert.deepEqual(b, a);
  assert.ok(!existsSync(join(dir, 'f2.nc.partial')), 'the partial folder is removed');
});

/** Two network namespaces joined by a veth pair (test addresses 10.213.x.1 and .2): two "hosts" on this machine. */
function netnsPair(): { hosts: [string, string]; addrs: [string, string]; ifs: [string, string]; cleanup: () => void } | string {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  const ip = (...a: string[]) => spawnSync('ip', a, { encoding: 'utf8' });
  if (ip('-V').error) return 'no ip command (iproute2)';
  const tag = String(process.pid % 100000);
  const hosts: [string, string] = [`cdA${tag}`, `cdB${tag}`];
  const ifs: [string, string] = [`cva${tag}`, `cvb${tag}`];
  const net = `10.213.${process.pid % 250}`;
  const addrs: [string, string] = [`${net}.1`, `${net}.2`];
  const cleanup = () => { for (const h of hosts) ip('netns', 'delete', h); };
  const steps = [
    ['netns', 'add', hosts[0]], ['netns', 'add', hosts[1]],
    ['link', 'add', ifs[0], 'type', 'veth', 'peer', 'name', ifs[1]],
    ['link', 'set', ifs[0], 'netns', hosts[0]], ['link', 'set', ifs[1], 'netns', hosts[1]],
    ['-n', hosts[0], 'addr', 'add', `${addrs[0]}/24`, 'dev', ifs[0]], ['-n', hosts[1], 'addr', 'add', `${addrs[1]}/24`, 'dev', ifs[1]],
    ['-n', hosts[0], 'link', 'set', ifs[0], 'up'], ['-n', hosts[1], 'link', 'set', ifs[1], 'up'],
    ['-n', hosts[0], 'link', 'set', 'lo', 'up'], ['-n', hosts[1], 'link', 'set', 'lo', 'up'],
  ];
  for (const s of steps) {
    const r = ip(...s);
    if (r.status !== 0) { cleanup(); return `ip ${s.join(' ')} failed: ${r.stderr.trim()}`; }
  }
  return { hosts, addrs, ifs, cleanup };
}

test('two hosts (network namespaces joined by veth): ranks rendezvous over TCPStore at --master-addr and train the 1-process model', { skip }, async (t) => {
  const pair = netnsPair();
  if (typeof pair === 'string') { t.skip(pair); return; }
  try {
    const port = String(await torch.distributed.freePort());
    const node = (rank: 0 | 1) => run(['netns', 'exec', pair.hosts[rank], process.execPath, CLI, ...TRAIN, '--out', 'twohosts', '--config', 'cfg.json',
      '--nnodes', '2', '--node-rank', String(rank), '--nproc-per-node', '1', '--master-addr', pair.addrs[0], '--master-port', port, '--dist-timeout', '60'],
      { cmd: 'ip', env: { GLOO_SOCKET_IFNAME: pair.ifs[rank] } });
    const [a, b] = await Promise.all([node(0), node(1)]);
    assert.equal(a.code, 0, a.out);
    assert.equal(b.code, 0, b.out);
    assertSameWeights('plain', 'twohosts', 4);
  } finally {
    pair.cleanup();
  }
});

test('a data source that ignores shard: the trainer cuts whole batches itself (3 ranks x 2 = 1 x 6, with and without accumulation)', { skip }, async () => {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'distributed-child.js');
  for (const accumulation of ['1', '2']) {
    const one = await run([child, accumulation], { cmd: process.execPath });
    assert.equal(one.code, 0, one.out);
    const port = String(await torch.distributed.freePort());
    const three = await Promise.all([0, 1, 2].map((rank) => run([child, accumulation], {
      cmd: process.execPath, env: { RANK: String(rank), WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port },
    })));
    for (const r of three) assert.equal(r.code, 0, r.out);
    const a = JSON.parse(one.out.trim().split('\n').pop()!) as { losses: number[]; weights: Record<string, number[]> };
    const b = JSON.parse(three[0]!.out.trim().split('\n').pop()!) as typeof a;
    assert.equal(b.losses.length, 4);
    b.losses.forEach((l, i) => assert.ok(Math.abs(l - a.losses[i]!) <= 1e-6 * Math.abs(a.losses[i]!), `accumulation ${accumulation}, step ${i + 1}: ${l} vs ${a.losses[i]}`));
    for (const k of Object.keys(a.weights)) {
      a.weights[k]!.forEach((w, i) => assert.ok(Math.abs(w - b.weights[k]![i]!) <= 1e-5 * Math.max(1, Math.abs(w)), `${k}[${i}]: ${w} vs ${b.weights[k]![i]}`));
    }
  }
});

test('the launcher killed: its workers notice, stop after their step with a checkpoint written, and the run resumes', { skip }, async () => {
  writeFileSync(join(dir, 'orphan.json'), JSON.stringify({ steps: 400, batchSize: 4, logEvery: 1, validateEvery: 0, checkpointEvery: 1000,
    lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0 }));
  let killed = false;
  const r = await run([...TRAIN, '--out', 'orphan', '--config', 'orphan.json', '--nproc-per-node', '2', '--master-port', String(await torch.distributed.freePort())], {
    onOutput: (all, launcher) => {
      if (killed || !/train step ([3-9]|\d\d+)\//.test(all)) return;
      killed = true;
      process.kill(launcher, 'SIGKILL');
    },
  });
  // the pipe closes when the workers (which inherited it) have exited
  assert.ok(killed, r.out);
  assert.equal(r.signal, 'SIGKILL');
  assert.match(r.out, /SIGTERM: finishing the step and writing a checkpoint/);
  assert.ok(r.seconds < 90, `the workers took ${r.seconds} s to stop`);
  const ck = loadCheckpoint(join(dir, 'orphan'));
  assert.ok(ck.step >= 3 && ck.step < 400, `checkpoint at step ${ck.step}`);
  const resumed = await trainRun('orphan', ['--resume', '--steps', String(ck.step + 1)], 'orphan.json');
  assert.match(resumed.out, new RegExp(`trained to step ${ck.step + 1}`));
});
