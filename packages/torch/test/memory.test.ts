// Native memory must not wait for the garbage collector: a 1,000-step training loop keeps RSS flat
// after warm-up (growth under 10%), both with torch.scope (deterministic release) and without it
// (GC finaliser + V8 external-memory accounting as the safety net).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const loop = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'train-loop.js');

function run(mode: string) {
  const out = execFileSync(process.execPath, [loop, '1000', mode], { encoding: 'utf8' });
  return JSON.parse(out) as { rss: number[]; first: number; last: number; live: number };
}

for (const mode of ['scoped', 'unscoped']) {
  test(`1,000 training steps ${mode}: RSS flat after warm-up`, () => {
    const r = run(mode);
    assert.ok(r.last < r.first, `the loss falls (${r.first} -> ${r.last})`);
    const afterWarmup = r.rss[3]!; // after 200 steps
    const peak = Math.max(...r.rss.slice(3));
    const growth = (peak - afterWarmup) / afterWarmup;
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}% (${mb(afterWarmup)} MB -> peak ${mb(peak)} MB)`);
    if (mode === 'scoped') assert.ok(r.live < 40, `scoped loop leaves no tensors behind (live: ${r.live})`);
  });
}
