// torch.distributed on c10d: the launcher's environment, the soundness of the Gloo build, interoperability with a
// Python torch.distributed rank, collectives' results, errors as exceptions (bad arguments, a killed peer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';
import { PYTHON, FIXTURES } from './helpers/python-ref.js';

const { distributed } = torch;
const here = dirname(fileURLToPath(import.meta.url));
const ADDON = join(here, '..', '..', 'build', 'Release', 'torch_native.node');
const WORKER = join(FIXTURES, 'dist_worker.mjs');
const gloo = distributed.isAvailable();
const noGloo = gloo.gloo ? false : `Gloo not built: ${gloo.glooWhy}`;

interface Proc { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function launch(cmd: string, args: string[], env: Record<string, string>, onLine?: (line: string, kill: (signal?: NodeJS.Signals) => void) => void): Promise<Proc> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout += text;
      if (onLine) for (const l of text.split('\n').filter(Boolean)) onLine(l, (signal = 'SIGKILL') => child.kill(signal));
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function lastJson(p: Proc): Record<string, unknown> {
  const lines = p.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON result (exit ${p.code}, signal ${p.signal}):\n${p.stdout}\n${p.stderr}`);
  }
}

// ---- the launcher's environment (pure) ----

test('launchEnvironment: torchrun variables, SLURM variables, defaults and bad values', () => {
  const tr = distributed.launchEnvironment({ RANK: '3', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'h0', MASTER_PORT: '1234' });
  assert.deepEqual(tr, { source: 'torchrun', rank: 3, worldSize: 8, localRank: 1, localWorldSize: 2, masterAddr: 'h0', masterPort: 1234, agentStore: false });
  assert.equal(distributed.launchEnvironment({ RANK: '0', WORLD_SIZE: '2', TORCHELASTIC_USE_AGENT_STORE: 'True' }).agentStore, true);
  const sl = distributed.launchEnvironment({ SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_TASKS_PER_NODE: '4(x2)', SLURM_STEP_NODELIST: 'gpu[07-08]' });
  assert.deepEqual(sl, { source: 'slurm', rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, masterAddr: 'gpu07', masterPort: 29500, agentStore: false });
  assert.equal(distributed.launchEnvironment({}).source, 'none');
  assert.equal(distributed.launchEnvironment({}).worldSize, 1);
  assert.throws(() => distributed.launchEnvironment({ RANK: '2', WORLD_SIZE: '2' }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => distributed.launchEnvironment({ RANK: '0' }), /RANK and WORLD_SIZE must be set together/);
  assert.throws(() => distributed.launchEnvironment({ RANK: 'x', WORLD_SIZE: '2' }), /RANK="x" is not a non-negative integer/);
  assert.throws(() => distributed.launchEnvironment({ MASTER_PORT: '70000' }), /not a port/);
});

test('expandNodelist: SLURM host lists with ranges, zero padding and several groups', () => {
  assert.deepEqual(distributed.expandNodelist('gpu[01-03,7],login1'), ['gpu01', 'gpu02', 'gpu03', 'gpu7', 'login1']);
  assert.deepEqual(distributed.expandNodelist('a[9-11]-ib'), ['a9-ib', 'a10-ib', 'a11-ib']);
  assert.deepEqual(distributed.expandNodelist('node1'), ['node1']);
  assert.throws(() => distributed.expandNodelist('gpu[01-03'), /unbalanced/);
  assert.throws(() => distributed.expandNodelist('gpu[a-b]'), /range "a-b"/);
});

// ---- the build ----

test('the addon defines no gloo code and links no libgloo: gloo headers only declare libtorch\'s ProcessGroupGloo', { skip: noGloo }, (t) => {
  const nm = spawnSync('nm', ['-C', '--defined-only', ADDON], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (nm.error) { t.skip('nm not found'); return; }
  const glooDefs = nm.stdout.split('\n').filter((l) => / (gloo::|vtable for gloo::|typeinfo for gloo::)/.test(l));
  assert.deepEqual(glooDefs, [], 'gloo functions were compiled into the addon');
  const ldd = spawnSync('ldd', [ADDON], { encoding: 'utf8' });
  if (!ldd.error) assert.doesNotMatch(ldd.stdout, /libgloo/);
});

// ---- a single-process group ----

test('world size 1: every collective, async work, and bad arguments throw clear errors', { skip: noGloo }, async () => {
  const port = await torch.distributed.freePort();
  const store = distributed.Store.tcp({ host: '127.0.0.1', port, isServer: true, worldSize: 1, timeoutMs: 5000 });
  store.set('k', 'v');
  assert.equal(store.get('k').toString(), 'v');
  assert.equal(store.add('n', 2), 2);
  assert.equal(store.add('n', 3), 5);
  assert.throws(() => store.wait(['absent'], 200), /timeout|Timeout|timed out/);
  const pg = new distributed.ProcessGroup({ store: store.prefix('g'), rank: 0, worldSize: 1, timeoutMs: 5000 });
  const x = torch.tensor([1, 2, 3]);
  pg.allReduce(x, { op: 'avg' });
  assert.deepEqual(x.toArray(), [1, 2, 3]);
  const w = pg.allReduce(x, { async: true })!;
  assert.equal(w.wait(), true);
  assert.equal(w.isCompleted(), true);
  const outs = [torch.zeros([3])];
  pg.allGather(outs, x);
  assert.deepEqual(outs[0]!.toArray(), [1, 2, 3]);
  assert.throws(() => pg.allReduce(torch.tensor([1, 2], { dtype: 'int32' }), { op: 'avg' }), /'avg' needs floating-point tensors/);
  assert.throws(() => pg.allReduce(x, { op: 'mean' as never }), /reduce op must be/);
  assert.throws(() => pg.allGather([torch.zeros([3]), torch.zeros([3])], x), /one output tensor per rank \(1\)/);
  assert.throws(() => pg.broadcast(x, { src: 1 }), /root is not a rank/);
  assert.throws(() => pg.allReduce([x, 'y' as never]), /tensors\[1\] must be a Tensor/);
  assert.throws(() => new distributed.ProcessGroup({ store, rank: 1, worldSize: 1 }), /rank 1 is not in a group of size 1/);
  assert.throws(() => new distributed.ProcessGroup({ store, rank: 0, worldSize: 1, backend: 'mpi' as never }), /backend must be 'gloo' or 'nccl'/);
  pg.destroy();
  assert.equal(pg.destroyed, true);
  assert.throws(() => pg.allReduce(x), /the process group was destroyed/);
  assert.throws(() => distributed.getRank(), /not initialized/);
  assert.throws(() => distributed.rendezvous({ initMethod: 'udp://x:1' }), /unknown init method/);
  assert.throws(() => distributed.rendezvous({ initMethod: 'tcp://127.0.0.1:1' }), /needs rank and worldSize/);
});

test('a store that nobody serves: the client times out with an exception, not a hang or an abort', { skip: noGloo }, async () => {
  const port = await torch.distributed.freePort();
  const t0 = Date.now();
  assert.throws(() => distributed.Store.tcp({ host: '127.0.0.1', port, isServer: false, worldSize: 2, timeoutMs: 1500 }), /timed out|timeout|connect/i);
  assert.ok(Date.now() - t0 < 30_000);
});

// ---- several processes ----

async function group(size: number, python: number[], scenario: string, timeoutMs = 60_000,
  onLine?: (rank: number, line: string, kill: (signal?: NodeJS.Signals) => void) => void): Promise<Proc[]> {
  const port = await torch.distributed.freePort();
  return await Promise.all(Array.from({ length: size }, (_, rank) => {
    const env = { RANK: String(rank), WORLD_SIZE: String(size), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), DIST_TIMEOUT_MS: String(timeoutMs) };
    const cb = onLine ? (l: string, k: (signal?: NodeJS.Signals) => void) => onLine(rank, l, k) : undefined;
    return python.includes(rank)
      ? launch(PYTHON, [join(FIXTURES, 'dist_peer.py')], env, cb)
      : launch(process.execPath, [WORKER, scenario], env, cb);
  }));
}

test('interoperability: a Python torch.distributed rank and two climadiff ranks agree on every collective', { skip: noGloo || (torch.backends.referencePython() ? false : 'no reference PyTorch') }, async () => {
  const procs = await group(3, [1], 'collectives');
  const results = procs.map((p) => lastJson(p).result as Record<string, unknown>);
  const keys = Object.keys(results[0]!).sort();
  assert.deepEqual(Object.keys(results[1]!).sort(), keys, 'Python and climadiff ran the same collectives');
  for (const k of keys.filter((k) => !k.startsWith('reduce_scatter/'))) {
    for (const r of [1, 2]) assert.deepEqual(results[r]![k], results[0]![k], `${k}: rank ${r} differs from rank 0`);
  }
  // Results against hand-computed values: x[i] = i % 97 + rank + 1 on rank 0, 1, 2.
  const n = 1000;
  let base = 0;
  for (let i = 0; i < n; i++) base += i % 97;
  const sumOf = (k: string) => (results[0]![k] as number[])[0];
  for (const dt of ['float32', 'float64', 'int32']) {
    assert.equal(sumOf(`allreduce/sum/${dt}/${n}`), 3 * base + n * (1 + 2 + 3), `sum ${dt}`);
    assert.equal(sumOf(`allreduce/max/${dt}/${n}`), base + n * 3, `max ${dt}`);
    assert.equal(sumOf(`allreduce/min/${dt}/${n}`), base + n * 1, `min ${dt}`);
    assert.equal(sumOf(`broadcast/${dt}/${n}`), base + n * 3, `broadcast from rank 2 ${dt}`);
    assert.equal(sumOf(`allgather_into/${dt}/${n}`), 3 * base + n * 6, `allgather ${dt}`);
    assert.deepEqual((results[0]![`allgather/${dt}/${n}`] as number[][]).map((s) => s[0]), [0, 1, 2].map((r) => base + n * (r + 1)));
    // rank r receives the sum over ranks q of input(n, q * 10 + r)
    for (const r of [0, 1, 2]) {
      const got = (results[r]![`reduce_scatter/${dt}/${n}`] as number[])[0];
      assert.equal(got, 3 * base + n * (30 + 3 * r + 3), `reduce_scatter ${dt} on rank ${r}`);
    }
  }
  for (const dt of ['float32', 'float64']) assert.equal(sumOf(`allreduce/avg/${dt}/${n}`), base + n * 2, `avg ${dt}`);
  assert.deepEqual(results[0]!.async, [true, true]);
});

test('a killed rank: the others get an exception within the timeout, never a hang or an abort', { skip: noGloo }, async () => {
  let killed = false;
  const procs = await group(3, [], 'survive', 4000, (rank, line, kill) => {
    if (rank === 1 && !killed && line.includes('"ready"')) {
      killed = true;
      setTimeout(kill, 300);
    }
  });
  assert.equal(procs[1]!.signal, 'SIGKILL');
  for (const r of [0, 2]) {
    const p = procs[r]!;
    assert.equal(p.code, 3, `rank ${r} exit ${p.code} ${p.signal}: ${p.stderr.slice(-500)}`);
    const res = lastJson(p) as { error: string; seconds: number };
    assert.match(res.error, /closed|reset|timed out|Timeout|peer/i);
    assert.ok(res.seconds < 30, `rank ${r} took ${res.seconds} s to notice`);
  }
});

// ---- DistributedDataParallel ----

interface DdpOut { losses: number[]; refLosses: number[]; maxWeightDiff?: number; maxWeight?: number; bucketsDuringBackward: { buckets: number; before: number; first: number | null }[] }

async function ddpRun(scenario: string, size = 2): Promise<DdpOut[]> {
  const procs = await group(size, [], scenario);
  return procs.map((p, r) => {
    assert.equal(p.code, 0, `rank ${r}: ${p.stderr.slice(-800)}`);
    return lastJson(p).result as DdpOut;
  });
}

for (const [dtype, tol] of [['float64', 1e-12], ['float32', 2e-6]] as const) {
  test(`DistributedDataParallel (${dtype}): 2 ranks x batch 2 equal 1 process x batch 4 (losses and weights within ${tol})`, { skip: noGloo || !gloo.reducer && 'no Reducer' }, async () => {
    const [r0, r1] = await ddpRun(`ddp-sync-${dtype}`);
    assert.deepEqual(r0!.losses, r1!.losses, 'every rank sees the same averaged loss');
    r0!.losses.forEach((l, i) => assert.ok(Math.abs(l - r0!.refLosses[i]!) <= tol * Math.abs(r0!.refLosses[i]!), `step ${i}: ${l} vs ${r0!.refLosses[i]}`));
    assert.ok(r0!.refLosses[2]! < r0!.refLosses[0]!, 'training reduces the loss');
    assert.ok(r0!.maxWeightDiff! <= tol * r0!.maxWeight!, `weights differ by ${r0!.maxWeightDiff}`);
  });
}

test('DistributedDataParallel: noSync accumulation of two micro-batches equals the larger batch', { skip: noGloo || !gloo.reducer && 'no Reducer' }, async () => {
  const [r0] = await ddpRun('ddp-nosync-float64');
  r0!.losses.forEach((l, i) => assert.ok(Math.abs(l - r0!.refLosses[i]!) <= 1e-12 * r0!.refLosses[i]!, `step ${i}: ${l} vs ${r0!.refLosses[i]}`));
  assert.ok(r0!.maxWeightDiff! <= 1e-12 * r0!.maxWeight!, `weights differ by ${r0!.maxWeightDiff}`);
});

test('DistributedDataParallel: bucket all-reduces start while backward still runs', { skip: noGloo || !gloo.reducer && 'no Reducer' }, async () => {
  const [r0, r1] = await ddpRun('ddp-timeline-float32');
  for (const r of [r0!, r1!]) {
    // after the first step the buckets are rebuilt in gradient order: several buckets, the first launched early
    const later = r.bucketsDuringBackward.slice(1);
    for (const it of later) {
      assert.ok(it.buckets >= 2, `only ${it.buckets} bucket(s)`);
      assert.equal(it.before, it.buckets, 'every launch happened before backward returned');
      assert.ok(it.first !== null && it.first >= 0 && it.first < 1, `first launch at ${it.first} of backward`);
    }
  }
});

test('a hung rank (SIGSTOP): the others fail with a timeout error after the group\'s timeout, never hang', { skip: noGloo }, async () => {
  const port = await torch.distributed.freePort();
  const env = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), DIST_TIMEOUT_MS: '3000' });
  let stop: ((signal?: NodeJS.Signals) => void) | null = null;
  const hung = launch(process.execPath, [WORKER, 'survive'], env(1), (line, kill) => {
    if (!stop && line.includes('"ready"')) { stop = kill; setTimeout(() => kill('SIGSTOP'), 300); }
  });
  const others = await Promise.all([0, 2].map((r) => launch(process.execPath, [WORKER, 'survive'], env(r))));
  (stop as ((signal?: NodeJS.Signals) => void) | null)?.('SIGKILL');
  await hung;
  for (const p of others) {
    assert.equal(p.code, 3, p.stderr.slice(-500));
    const res = lastJson(p) as { error: string; seconds: number };
    assert.match(res.error, /timed out|timeout/i);
    assert.ok(res.seconds >= 2 && res.seconds < 30, `noticed after ${res.seconds} s (timeout 3 s)`);
  }
});
