// One writer per run folder: a lock held for the life of the training process (proper-lockfile: an atomic mkdir of
// RUN/train.lock whose mtime the holder refreshes; a lock not refreshed for `staleMs` belongs to a dead process and
// is taken over). Beside it, RUN/train.lock.json says who holds it (pid, host, start), for the refusal message; a
// holder on this host whose pid no longer runs is recognised at once, so a crash never blocks a resume.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export class RunLockedError extends Error {
  override name = 'RunLockedError';
}

export interface RunLockHolder { pid: number; host: string; started: string }

export interface RunLock {
  holder: RunLockHolder;
  /** Releases the lock (also done when the process exits). */
  release(): Promise<void>;
}

const LOCK = 'train.lock';
const HOLDER = 'train.lock.json';

function readHolder(runDir: string): RunLockHolder | null {
  try { return JSON.parse(readFileSync(join(runDir, HOLDER), 'utf8')) as RunLockHolder; } catch { return null; }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Takes the run folder's lock (creating the folder), or throws RunLockedError naming the holder. `staleMs`: how long
 * a lock may go without a refresh before it counts as abandoned (holders elsewhere on a shared file system).
 */
export async function lockRun(runDir: string, o: { staleMs?: number; onCompromised?: (e: Error) => void } = {}): Promise<RunLock> {
  mkdirSync(runDir, { recursive: true });
  const lockPath = join(runDir, LOCK);
  const before = readHolder(runDir);
  // a holder on this host that no longer runs: its lock is abandoned now, not after staleMs
  if (existsSync(lockPath) && before && before.host === hostname() && before.pid !== process.pid && !alive(before.pid)) {
    rmSync(lockPath, { recursive: true, force: true });
  }
  const staleMs = Math.max(2000, o.staleMs ?? 10_000);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(runDir, {
      lockfilePath: lockPath, realpath: false, retries: 0, stale: staleMs, update: Math.floor(staleMs / 2),
      // the lock was lost (its folder removed, the refresh failing): say so; the checkpoints stay atomic either way
      onCompromised: o.onCompromised ?? ((e) => process.stderr.write(`warning: the lock of ${runDir} was lost (${e.message}); another process may now write to it\n`)),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const h = readHolder(runDir);
    throw new RunLockedError(h
      ? `${runDir} is in use by another trainer: pid ${h.pid} on ${h.host}, since ${h.started} (one writer per run folder: wait for it to finish, or stop it with kill -TERM ${h.pid}; it checkpoints and exits)`
      : `${runDir} is in use by another trainer (its lock ${lockPath} is held; one writer per run folder)`);
  }
  const holder: RunLockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  writeFileSync(join(runDir, HOLDER), `${JSON.stringify(holder)}\n`);
  return {
    holder,
    release: async () => {
      if (readHolder(runDir)?.pid === holder.pid) rmSync(join(runDir, HOLDER), { force: true });
      await release();
    },
  };
}
