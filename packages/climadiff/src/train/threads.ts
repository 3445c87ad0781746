// Choosing the number of intra-op threads by measurement. More threads are not always faster: on a small
// virtual machine whose vCPUs share a core, a training step of the demo's U-Net ran ~40% faster on 1 thread
// than on 2 (docs/benchmarks.md). Results can differ in the last bits between thread counts (reductions
// split differently), so a run that must be reproducible bit for bit should fix the count instead.
import { availableParallelism } from 'node:os';
import * as torch from '@climadiff/torch';

export interface ThreadChoice {
  threads: number;
  /** Median milliseconds per call of the measured function, per candidate thread count. */
  msPerCall: Record<number, number>;
}

/**
 * Times `fn` (e.g. one training step on a throwaway model) at each candidate thread count, after one warm-up
 * call, and sets and returns the fastest. Candidates default to 1 and every available core.
 */
export function fastestThreadCount(fn: () => void, options: { candidates?: number[]; calls?: number } = {}): ThreadChoice {
  const cores = availableParallelism();
  const candidates = [...new Set(options.candidates ?? [1, cores])].filter((n) => Number.isInteger(n) && n >= 1);
  if (candidates.length === 0) throw new Error('fastestThreadCount: no valid candidate thread counts');
  const calls = Math.max(1, options.calls ?? 3);
  const msPerCall: Record<number, number> = {};
  for (const n of candidates) {
    torch.setNumThreads(n);
    torch.scope(fn);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      torch.scope(fn);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    msPerCall[n] = times[Math.floor(times.length / 2)]!;
  }
  const threads = candidates.reduce((best, n) => (msPerCall[n]! < msPerCall[best]! ? n : best), candidates[0]!);
  torch.setNumThreads(threads);
  return { threads, msPerCall };
}
