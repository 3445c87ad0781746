// Runs a reference script from test/fixtures with the reference Python (the PyTorch whose libtorch the addon
// links, torch.backends.referencePython()), JSON in on stdin and JSON out on stdout. Returns { skip } when Python or torch is missing,
// so a test can skip with that reason instead of failing on a machine without the reference.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../../src/index.js';

/** The reference PyTorch's python (python3 when the engine has none, so that the scripts report it). */
export const PYTHON = backends.referencePython() ?? 'python3';
/** test/fixtures, from the compiled dist/test/helpers directory. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');

export type PythonResult<T> = { out: T; skip?: undefined } | { out?: undefined; skip: string };

export function runPython<T>(script: string, input: unknown, args: string[] = []): PythonResult<T> {
  const r = spawnSync(PYTHON, [join(FIXTURES, script), ...args], {
    input: JSON.stringify(input), encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return { skip: `${PYTHON} not found: no PyTorch reference` };
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${script} failed (status ${r.status}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as T & { unavailable?: string };
  if (out.unavailable) return { skip: out.unavailable };
  return { out };
}
