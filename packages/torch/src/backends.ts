// Which native libraries this process computes with (diagnostics, and so that PyTorch reference runs
// can be pointed at the same BLAS for fair comparisons).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { native } from './native.js'; // loading it loads libtorch (and with it the BLAS)

/** Path of the BLAS library (libblas.so.3 or an implementation it resolves to) loaded in this process. */
export function blasLibrary(): string | null {
  let maps: string;
  try { maps = readFileSync('/proc/self/maps', 'utf8'); } catch { return null; }
  const paths = maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => /\/libblas\.so\.3/.test(p));
  return paths[0] ?? null;
}

/**
 * Environment for a child process (e.g. Debian's python3-torch reference) that makes it load the same
 * BLAS as this process, with the same number of BLAS threads: Debian's libtorch resolves libblas.so.3
 * through the system's alternatives, while this addon may point it at OpenBLAS (see
 * scripts/libtorch-paths.cjs).
 */
export function sameBlasEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const lib = blasLibrary();
  const threads = blasThreads();
  const out = { ...env, ...(threads !== null && env.OPENBLAS_NUM_THREADS === undefined ? { OPENBLAS_NUM_THREADS: String(threads) } : {}) };
  if (!lib) return out;
  const dir = dirname(lib);
  return { ...out, LD_LIBRARY_PATH: env.LD_LIBRARY_PATH ? `${dir}:${env.LD_LIBRARY_PATH}` : dir };
}

/**
 * Threads of OpenBLAS's own pool (null when the BLAS is not OpenBLAS). The addon sets it to 1 unless
 * OPENBLAS_NUM_THREADS is set: libtorch's intra-op threads already parallelise around BLAS
 * calls, and a second spinning pool beside them made 2 threads slower than 1 on a 2-core machine.
 */
export function blasThreads(): number | null {
  return native.blasThreads();
}

/**
 * How this process allocates tensor memory: 'retain' (the default on glibc) serves every block from the heap and
 * keeps freed memory (up to 1 GiB free) for reuse, so a training loop's activations are not page-faulted in
 * again every step; 'system' is glibc's default (set CLIMADIFF_MALLOC=system, or any MALLOC_* variable).
 */
export function allocatorPolicy(): 'retain' | 'system' {
  return native.allocatorPolicy() === 'retain' ? 'retain' : 'system';
}

/** Returns free heap memory that the 'retain' policy keeps to the operating system (malloc_trim). */
export function releaseMemory(): boolean {
  return native.releaseMemory();
}
