// Process-level settings of the native layer: the BLAS library and its thread pool, and the memory allocator
// policy, with their environment overrides (checked in child processes, since both are set once per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as torch from '../src/index.js';

const probe = (env: NodeJS.ProcessEnv): { policy: string; blasThreads: number | null; blas: string | null } => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e',
  `import * as t from '${new URL('../src/index.js', import.meta.url).href}';
   console.log(JSON.stringify({ policy: t.backends.allocatorPolicy(), blasThreads: t.backends.blasThreads(), blas: t.backends.blasLibrary() }));`],
{ encoding: 'utf8', env: { ...process.env, ...env } })) as { policy: string; blasThreads: number | null; blas: string | null };

test('allocator: retain by default; CLIMADIFF_MALLOC=system or a MALLOC_* setting keeps glibc\'s behaviour', () => {
  const clean: NodeJS.ProcessEnv = { CLIMADIFF_MALLOC: undefined, MALLOC_ARENA_MAX: undefined };
  assert.equal(probe(clean).policy, 'retain');
  assert.equal(probe({ CLIMADIFF_MALLOC: 'system' }).policy, 'system');
  assert.equal(probe({ MALLOC_TRIM_THRESHOLD_: '1000000' }).policy, 'system');
  assert.ok(['retain', 'system'].includes(torch.backends.allocatorPolicy()));
  // memory handed back on request; computing afterwards still works
  torch.scope(() => { torch.ones([4096, 4096]).sum(); });
  assert.equal(typeof torch.backends.releaseMemory(), 'boolean');
  assert.equal(torch.scope(() => torch.ones([3]).sum().item()), 3);
});

test('OpenBLAS runs one thread unless OPENBLAS_NUM_THREADS says otherwise; children get the same setting', () => {
  const r = probe({ OPENBLAS_NUM_THREADS: undefined });
  if (r.blasThreads === null) return; // not OpenBLAS here: nothing to set
  assert.equal(r.blasThreads, 1);
  assert.equal(probe({ OPENBLAS_NUM_THREADS: '2' }).blasThreads, 2);
  const env = torch.backends.sameBlasEnv({ PATH: process.env.PATH });
  assert.equal(env.OPENBLAS_NUM_THREADS, String(torch.backends.blasThreads()));
  assert.equal(torch.backends.sameBlasEnv({ OPENBLAS_NUM_THREADS: '3' }).OPENBLAS_NUM_THREADS, '3', 'an explicit setting is passed on as it is');
});
