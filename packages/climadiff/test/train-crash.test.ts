// Crash safety: a training process that checkpoints every step is killed with SIGKILL at random moments
// (resuming each time); the run folder must always hold a loadable, self-consistent checkpoint, and the run
// must go on from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { loadCheckpoint, readMetrics, Trainer } from '../src/train/index.js';
import { TinyDenoiser, SyntheticClips } from './train-fixture.js';

const child = fileURLToPath(new URL('./train-crash-child.js', import.meta.url));

/** Starts the child, waits until it has printed `minSteps` steps, then SIGKILLs it after a random delay. */
function runAndKill(runDir: string, minSteps: number, delayMs: number): Promise<{ printed: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = 0, stderr = '', armed = false;
    p.stdout.on('data', (d: Buffer) => {
      printed += (d.toString().match(/step \d+/g) ?? []).length;
      if (!armed && printed >= minSteps) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const guard = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`child did not progress: ${stderr}`)); }, 30_000);
    p.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`)); else resolve({ printed, signal });
    });
  });
}

test('kill -9 at random moments while checkpointing every step: the latest checkpoint always loads and is consistent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-crash-'));
  let lastStep = 0;
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    const delay = Math.floor(Math.random() * 120);
    const { printed } = await runAndKill(dir, 3, delay);
    assert.ok(printed >= 3);
    const ck = loadCheckpoint(dir);
    assert.equal(basename(ck.dir), `ckpt-${String(ck.step).padStart(6, '0')}`);
    assert.ok(ck.step >= lastStep + 2, `round ${round}: step ${ck.step} after ${lastStep}`);
    assert.equal(ck.updates, ck.step);
    for (const s of Object.values(ck.optimizer.state)) assert.equal(s.step, ck.updates, 'optimizer state matches the step');
    assert.deepEqual(Object.keys(ck.model).sort(), ['conv.bias', 'conv.weight', 'emb.bias', 'emb.weight']);
    for (const t of Object.values(ck.model)) assert.ok(t.isfinite().all().item());
    // The metrics log never runs ahead of a resumed run by more than the steps after its checkpoint.
    const steps = readMetrics(join(dir, 'metrics.jsonl')).map((r) => r.step);
    assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1), 'one metrics line per step, in order');
    // At most keepCheckpoints complete folders (+ one being written).
    assert.ok(readdirSync(dir).filter((f) => /^ckpt-\d+$/.test(f)).length <= 3);
    lastStep = ck.step;
  }
  // And the run goes on from there in this process.
  torch.setNumThreads(1);
  torch.manualSeed(5);
  const trainer = new Trainer({
    model: new TinyDenoiser(), data: new SyntheticClips(), runDir: dir, resume: true, untilStep: lastStep + 3,
    config: loadCheckpoint(dir).trainConfig,
  });
  const r = await trainer.run();
  assert.equal(r.step, lastStep + 3);
  assert.equal(loadCheckpoint(dir).step, lastStep + 3);
});
