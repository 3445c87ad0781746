// Which engine this process computes with (diagnostics; the reference PyTorch of parity tests and benchmarks),
// what the CPU can do natively, and the process's memory policy.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from './native.js'; // loading it loads libtorch

export interface EngineInfo {
  /** libtorch's version (TORCH_VERSION of the headers the addon was compiled with), e.g. '2.13.0'. */
  version: string;
  /** Directory of the libtorch the addon links (holds include/ and lib/). */
  libtorch: string | null;
  /** Where scripts/bootstrap found it: 'LIBTORCH', 'python3' (the user's PyTorch) or 'venv' (.cache/pytorch). */
  source: string | null;
  /**
   * The python whose PyTorch is the same engine (or, for LIBTORCH, a PyTorch >= 2.4 found beside it): the
   * reference of every parity test and benchmark. null when there is none.
   */
  python: string | null;
  /** Built with the C++11 ABI (_GLIBCXX_USE_CXX11_ABI=1), as the engine's own build. */
  cxx11abi: boolean;
  /** CUDA kernels are linked and a GPU is visible. */
  cuda: boolean;
  /** The CPU kernels' instruction set chosen by libtorch at run time ('AVX512', 'AVX2', 'DEFAULT', ...). */
  cpuCapability: string;
}

let cached: EngineInfo | undefined;
/** The engine this process runs on (`torch.backends.engine()`). */
export function engine(): EngineInfo {
  if (cached) return cached;
  const n = native.engineInfo();
  // build/engine.json: what scripts/bootstrap recorded when the addon was built (dist/src -> package root)
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'engine.json');
  const rec = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  cached = { ...n, libtorch: str(rec.libtorch), source: str(rec.source), python: str(rec.python) };
  return cached;
}

/** The python of the reference PyTorch (see EngineInfo.python), or null. */
export function referencePython(): string | null {
  return engine().python;
}

let cpuFlags: Set<string> | undefined;
function readCpuFlags(): Set<string> {
  if (cpuFlags) return cpuFlags;
  cpuFlags = new Set();
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^flags\s*:/.test(l));
    if (line) for (const f of line.slice(line.indexOf(':') + 1).trim().split(/\s+/)) cpuFlags.add(f);
  } catch { /* not Linux: no flags known */ }
  return cpuFlags;
}

export const cpu = {
  /**
   * Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16, read from the CPU at run time): there
   * bf16 autocast is about twice as fast as float32; elsewhere libtorch emulates bf16 and it is slower.
   */
  hasNativeBf16(): boolean {
    const f = readCpuFlags();
    return f.has('avx512_bf16') || f.has('amx_bf16');
  },
  /** The CPU kernels' instruction set chosen by libtorch ('AVX512', 'AVX2', ...). */
  capability(): string {
    return native.engineInfo().cpuCapability;
  },
};

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
