// The engine and process-level settings of the native layer: which PyTorch the addon runs on (and that the
// reference python is that same PyTorch), CPU feature detection, and the memory allocator policy with its
// environment overrides (checked in child processes, since it is set once per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as torch from '../src/index.js';

const probe = (env: NodeJS.ProcessEnv): { policy: string } => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e',
  `import * as t from '${new URL('../src/index.js', import.meta.url).href}';
   console.log(JSON.stringify({ policy: t.backends.allocatorPolicy() }));`],
{ encoding: 'utf8', env: { ...process.env, ...env } })) as { policy: string };

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

test('the engine is PyTorch >= 2.4, and the reference python runs that same PyTorch', (t) => {
  const e = torch.backends.engine();
  const [major, minor] = e.version.split('.').map(Number) as [number, number];
  assert.ok(major > 2 || (major === 2 && minor >= 4), `engine version ${e.version}`);
  assert.equal(typeof e.cxx11abi, 'boolean');
  assert.equal(e.cuda, torch.cuda.isAvailable());
  assert.ok(e.cpuCapability.length > 0);
  if (!e.python) { t.skip('no reference python recorded'); return; }
  const py = JSON.parse(execFileSync(e.python, ['-c',
    'import json, os, torch; print(json.dumps({"v": torch.__version__, "abi": torch.compiled_with_cxx11_abi(), "dir": os.path.dirname(os.path.abspath(torch.__file__))}))'],
  { encoding: 'utf8' })) as { v: string; abi: boolean; dir: string };
  assert.equal(py.v.split('+')[0], e.version, 'the reference PyTorch is the engine\'s version');
  if (e.source !== 'LIBTORCH') {
    assert.equal(py.dir, e.libtorch, 'the addon links the reference python\'s own libtorch');
    assert.equal(py.abi, e.cxx11abi, 'built with the engine\'s C++ ABI');
  }
});

test('native bf16 is read from the CPU at run time', () => {
  let flags = '';
  try { flags = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
  const expected = /\b(avx512_bf16|amx_bf16)\b/.test(flags);
  assert.equal(torch.backends.cpu.hasNativeBf16(), expected);
  assert.ok(typeof torch.backends.cpu.capability() === 'string');
});

test('a generator knows its device', () => {
  assert.equal(new torch.Generator({ seed: 1 }).device, 'cpu');
  assert.equal(torch.defaultGenerator.device, 'cpu');
  if (torch.cuda.isAvailable()) assert.match(new torch.Generator({ seed: 1, device: 'cuda' }).device, /^cuda:\d+$/);
});
