// Graceful stops: SIGINT and SIGTERM at random moments of a training run (10 each) finish the step, leave a checkpoint
// at the step reached and exit with EXIT_STOPPED; resuming reaches the same final weights, bit for bit, as a run that
// was never stopped. Deadlines stop before the time runs out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { CheckpointError, listCheckpoints, loadCheckpoint, readMetrics, truncateMetrics, train } from '../src/train/index.js';
import { EXIT_STOPPED, timeLimitOption, untilOption } from '../src/cli/options.js';
import { lockRun, RunLockedError } from '../src/train/lock.js';
import { TinyDenoiser, SyntheticClips } from './train-fixture.js';

const child = fileURLToPath(new URL('./train-stop-child.js', import.meta.url));

/** Runs the child; with a signal, sends it after `after` printed steps and a delay; returns the exit and the last step printed. */
function run(runDir: string, signal?: NodeJS.Signals, after = 2, delayMs = 0): Promise<{ code: number | null; last: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', sent = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const printed = (out.match(/step \d+/g) ?? []).length;
      if (signal && !sent && printed >= after) { sent = true; setTimeout(() => p.kill(signal), delayMs); }
    });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const guard = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`child hung: ${err}`)); }, 60_000);
    // 'close', not 'exit': the child's output may still be on its way when it exits
    p.on('close', (code) => {
      clearTimeout(guard);
      const steps = [...out.matchAll(/step (\d+)/g)].map((m) => Number(m[1]));
      resolve({ code, last: steps.length ? steps[steps.length - 1]! : 0, out: out + err });
    });
  });
}

function weights(dir: string): Record<string, number[]> {
  const ck = loadCheckpoint(dir);
  return Object.fromEntries(Object.entries(ck.model).map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
}

test('SIGINT and SIGTERM at random moments: a checkpoint at the step reached, exit 75, and resuming ends bit for bit where an uninterrupted run ends', async () => {
  const base = mkdtempSync(join(tmpdir(), 'climadiff-stop-'));
  try {
    const plain = join(base, 'plain');
    const u = await run(plain);
    assert.equal(u.code, 0, u.out);
    const reference = weights(plain);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      for (let i = 0; i < 10; i++) {
        const dir = join(base, `${sig}-${i}`);
        const s = await run(dir, sig, 1 + (i % 5), Math.floor(Math.random() * 40));
        assert.equal(s.code, EXIT_STOPPED, `${sig} ${i}: ${s.out}`);
        assert.match(s.out, new RegExp(`${sig}: stopping`));
        const ck = loadCheckpoint(dir);
        assert.equal(ck.step, s.last, `${sig} ${i}: the checkpoint is at the step reached`);
        assert.ok(ck.step < 30);
        // metrics: valid JSON lines, one per step up to the stop
        const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
        assert.deepEqual(lines.map((l) => l.step), Array.from({ length: ck.step }, (_, k) => k + 1));
        const r = await run(dir);
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(weights(dir), reference, `${sig} ${i}: resumed from step ${ck.step}`);
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a deadline stops before it, with the checkpoint written; --until and --time-limit parse as a scheduler writes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-deadline-'));
  try {
    torch.setNumThreads(1);
    const t0 = Date.now();
    const r = await train({
      model: new TinyDenoiser(), data: new SyntheticClips(), runDir: dir, deadline: t0 + 1500,
      config: { seed: 3, steps: 1_000_000, batchSize: 4, logEvery: 10, checkpointEvery: 0, validateEvery: 0 },
    });
    assert.equal(r.stopReason, 'deadline');
    // the margin (half again a step and a checkpoint) absorbs ordinary jitter; 0.5 s more keeps a busy CI machine from
    // failing a run that stopped in time on any quiet one
    assert.ok(Date.now() <= t0 + 2000, `stopped ${Date.now() - t0 - 1500} ms after the deadline`);
    assert.equal(loadCheckpoint(dir).step, r.step);
    assert.ok(r.step > 5);
    const aborted = new AbortController();
    aborted.abort('SIGUSR1');
    const s = await train({ model: new TinyDenoiser(), data: new SyntheticClips(), signal: aborted.signal, config: { steps: 10, batchSize: 4, validateEvery: 0 } });
    assert.deepEqual([s.step, s.stopReason, s.signalReason], [0, 'signal', 'SIGUSR1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(timeLimitOption('90'), 90 * 60_000);
  assert.equal(timeLimitOption('1-02:03:04'), (((24 + 2) * 60 + 3) * 60 + 4) * 1000);
  assert.equal(timeLimitOption('02:30'), (2 * 60 + 30) * 60_000);
  assert.throws(() => timeLimitOption('soon'), /minutes, or \[D-\]HH:MM\[:SS\]/);
  const until = untilOption('23:59');
  assert.ok(until > Date.now() && until - Date.now() <= 24 * 3600_000);
  assert.throws(() => untilOption('25:00'), /HH:MM/);
});

test('one writer per run folder: a second lock is refused with the holder named; a dead holder never blocks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-lock-'));
  try {
    const run = join(dir, 'run');
    const a = await lockRun(run);
    await assert.rejects(lockRun(run), (e: Error) => e instanceof RunLockedError
      && e.message.includes(`pid ${process.pid} on ${hostname()}, since ${a.holder.started}`) && /kill -TERM/.test(e.message));
    await a.release();
    assert.ok(!existsSync(join(run, 'train.lock')) && !existsSync(join(run, 'train.lock.json')));
    const b = await lockRun(run);
    await b.release();
    // a holder that died (SIGKILL leaves the lock behind, freshly refreshed): taken over at once on this host
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(join(run, 'train.lock'));
    utimesSync(join(run, 'train.lock'), new Date(), new Date());
    writeFileSync(join(run, 'train.lock.json'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), started: '2026-01-01T00:00:00Z' }));
    const c = await lockRun(run);
    assert.equal(c.holder.pid, process.pid);
    await c.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two trainers on one run folder: the second exits non-zero with the lock message, the first finishes untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-two-'));
  const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  try {
    const sim = spawnSync(process.execPath, [CLI, 'data', 'simulate', '--model', 'earth', '--frames', '64', '--lat', '8', '--lon', '16', '--spinup', '2', '--out', join(dir, 'e.nc'), '--no-progress'], { encoding: 'utf8' });
    assert.equal(sim.status, 0, sim.stderr);
    // a time budget alone trains (constant rate after the warm-up), and --time-limit stops it with exit 75
    const budget = spawnSync(process.execPath, [CLI, 'train', '--data', join(dir, 'e.nc'), '--vars', 'tas', '--out', join(dir, 'budget'), '--frames', '4', '--channels', '8',
      '--minutes', '0.05', '--batch-size', '2', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(budget.status, 0, budget.stderr);
    assert.match(budget.stderr, /note: no --steps, so the learning rate is constant after 100 warm-up steps/);
    assert.match(budget.stdout, /trained to step \d+ \(minutes\)/);
    const limited = spawnSync(process.execPath, [CLI, 'train', '--data', join(dir, 'e.nc'), '--vars', 'tas', '--out', join(dir, 'budget'), '--frames', '4', '--channels', '8',
      '--steps', '100000', '--time-limit', '0.05', '--batch-size', '2', '--threads', '1', '--resume'], { encoding: 'utf8' });
    assert.equal(limited.status, 75, limited.stderr);
    assert.match(limited.stderr, /stopped at step \d+ \(before the time limit\), resumable: run the same command with --resume/);
    const args = ['train', '--data', join(dir, 'e.nc'), '--vars', 'tas', '--out', join(dir, 'run'), '--frames', '4', '--channels', '8', '--steps', '40', '--batch-size', '2', '--threads', '1'];
    const first = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let firstOut = '';
    first.stdout.on('data', (d: Buffer) => { firstOut += d.toString(); });
    first.stderr.on('data', (d: Buffer) => { firstOut += d.toString(); });
    const firstDone = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
    // the first holds the lock once it has written its run data
    for (let i = 0; i < 600 && !existsSync(join(dir, 'run', 'train.lock.json')); i++) await new Promise((r) => setTimeout(r, 100));
    const second = spawnSync(process.execPath, [CLI, ...args, '--resume'], { encoding: 'utf8' });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`run is in use by another trainer: pid ${first.pid} on ${hostname()}`));
    const again = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(again.status, 1, 'a fresh trainer on the folder is refused too');
    assert.equal(await firstDone, 0, firstOut);
    assert.equal(loadCheckpoint(join(dir, 'run')).step, 40);
    assert.match(firstOut, /trained to step 40 \(steps\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics.jsonl with a torn last line: readers keep every whole record and say which line they skipped; a resume rewrites it whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-metrics-'));
  try {
    const path = join(dir, 'metrics.jsonl');
    writeFileSync(path, '{"step":1,"loss":0.5}\n{"step":2,"loss":0.4}\n{"step":3,"lo');
    const said: string[] = [];
    assert.deepEqual(readMetrics(path, (m) => said.push(m)).map((r) => r.step), [1, 2]);
    assert.equal(said.length, 1);
    assert.match(said[0]!, /line 3 is not a metrics record \(a torn last line: the writer was killed while appending\); skipped/);
    truncateMetrics(path, 2);
    assert.equal(readFileSync(path, 'utf8'), '{"step":1,"loss":0.5}\n{"step":2,"loss":0.4}\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk during a checkpoint: the previous checkpoint and latest stay, the error names the folder and the bytes needed', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('mounting a small tmpfs needs root'); return; }
  const mnt = mkdtempSync(join(tmpdir(), 'climadiff-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) { rmSync(mnt, { recursive: true, force: true }); t.skip(`cannot mount a tmpfs here: ${m.stderr.trim()}`); return; }
  try {
    torch.setNumThreads(1);
    const runDir = join(mnt, 'run');
    const config = { seed: 3, steps: 4, batchSize: 4, logEvery: 100, checkpointEvery: 1, validateEvery: 0 };
    await train({ model: new TinyDenoiser(), data: new SyntheticClips(), runDir, untilStep: 2, config });
    // fill the file system
    const fd = openSync(join(mnt, 'filler'), 'w');
    try { for (;;) writeSync(fd, Buffer.alloc(4096)); } catch (e) { assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC'); } finally { closeSync(fd); }
    await assert.rejects(train({ model: new TinyDenoiser(), data: new SyntheticClips(), runDir, resume: true, config }), (e: Error) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.match(e.message, new RegExp(`could not write checkpoint ckpt-000003 in ${runDir}: .*\\(a checkpoint needs about \\d+\\.\\d kB, 0\\.0 kB free\\); the previous checkpoint ckpt-000002 is intact`));
      return true;
    });
    assert.equal(loadCheckpoint(runDir).step, 2);
    assert.equal(readFileSync(join(runDir, 'latest'), 'utf8').trim(), 'ckpt-000002');
    assert.deepEqual(readdirSync(runDir).filter((f) => f.endsWith('.tmp')), [], 'nothing half-written is left');
    assert.deepEqual(listCheckpoints(runDir).map((c) => c.step), [1, 2]);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
