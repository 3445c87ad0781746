// Graceful stops: SIGINT and SIGTERM at random moments of a training run (10 each) finish the step, leave a checkpoint
// at the step reached and exit with EXIT_STOPPED; resuming reaches the same final weights, bit for bit, as a run that
// was never stopped. Deadlines stop before the time runs out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { loadCheckpoint, train } from '../src/train/index.js';
import { EXIT_STOPPED, timeLimitOption, untilOption } from '../src/cli/options.js';
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
    p.on('exit', (code) => {
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
    assert.ok(Date.now() <= t0 + 1500, `stopped ${Date.now() - t0 - 1500} ms after the deadline`);
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
