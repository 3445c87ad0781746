// Which native libraries this process computes with (diagnostics, and so that PyTorch reference runs
// can be pointed at the same BLAS for fair comparisons).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import './native.js'; // make sure libtorch (and with it the BLAS) is loaded

/** Path of the BLAS library (libblas.so.3 or an implementation it resolves to) loaded in this process. */
export function blasLibrary(): string | null {
  let maps: string;
  try { maps = readFileSync('/proc/self/maps', 'utf8'); } catch { return null; }
  const paths = maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => /\/libblas\.so\.3/.test(p));
  return paths[0] ?? null;
}

/**
 * Environment for a child process (e.g. Debian's python3-torch reference) that makes it load the same
 * BLAS as this process: Debian's libtorch resolves libblas.so.3 through the system's alternatives,
 * while this addon may point it at OpenBLAS (see scripts/libtorch-paths.cjs).
 */
export function sameBlasEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const lib = blasLibrary();
  if (!lib) return { ...env };
  const dir = dirname(lib);
  return { ...env, LD_LIBRARY_PATH: env.LD_LIBRARY_PATH ? `${dir}:${env.LD_LIBRARY_PATH}` : dir };
}
