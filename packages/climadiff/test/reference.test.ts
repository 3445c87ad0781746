// The reference models' bookkeeping: which evaluations belong to the curve of diagnostics against steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCES, mergeHistory, recipeKey, type HistoryEntry, type ReferenceSpec } from '../src/run/index.js';

const entry = (recipe: string | undefined, step: number, passed = 1): HistoryEntry =>
  ({ ...(recipe ? { recipe } : {}), step, clips: 64, variables: { tas: { passed, checks: 6, measured: {} } } });

test('recipeKey: another normalisation, network or training setting is another model; more planned steps are not', () => {
  const earth = REFERENCES['earth']!;
  const key = recipeKey(earth);
  assert.match(key, /^[0-9a-f]{12}$/);
  assert.equal(recipeKey({ ...earth }), key);
  assert.equal(recipeKey({ ...earth, train: { ...earth.train, steps: earth.train.steps * 2 } }), key);
  const others: ReferenceSpec[] = [
    { ...earth, normalisation: 'climatology' },
    { ...earth, model: { channels: 32 } },
    { ...earth, train: { ...earth.train, batchSize: 16 } },
    { ...earth, transforms: { pr: 'learned' } },
    { ...earth, dates: 'none' },
  ];
  for (const o of others) assert.notEqual(recipeKey(o), key, JSON.stringify(o.normalisation));
  assert.notEqual(recipeKey(REFERENCES['earth-rep']!), recipeKey(REFERENCES['earth-plain']!));
});

test('mergeHistory keeps the same recipe at other steps, replaces its own step, drops other recipes, sorts by step', () => {
  const old = [entry(undefined, 19200, 0), entry('b', 5000), entry('a', 8000, 2), entry('a', 2000, 3)];
  const merged = mergeHistory(old, entry('a', 8000, 5));
  assert.deepEqual(merged.map((h) => [h.recipe, h.step, h.variables['tas']!.passed]), [['a', 2000, 3], ['a', 8000, 5]]);
  assert.deepEqual(mergeHistory([], entry('a', 100)).map((h) => h.step), [100]);
});

test('reference evaluate: a run folder without a checkpoint or an unknown reference is one clear error, and nothing is written', () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'ref-eval-'));
  try {
    const empty = spawnSync(process.execPath, [cli, 'reference', 'evaluate', 'earth', '--run-dir', dir], { encoding: 'utf8' });
    assert.notEqual(empty.status, 0);
    assert.match(empty.stderr, /holds no checkpoint of 'earth' to evaluate/);
    const unknown = spawnSync(process.execPath, [cli, 'reference', 'evaluate', 'nosuch', '--run-dir', dir], { encoding: 'utf8' });
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /nosuch/);
    assert.deepEqual(readdirSync(dir), []);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
