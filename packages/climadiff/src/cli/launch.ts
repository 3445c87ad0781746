// `climadiff train --nproc-per-node N`: starts N local worker processes of the same command with torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as torchrun does; several
// hosts with --nnodes / --node-rank / --master-addr / --master-port. The workers form a c10d group over a TCPStore that
// global rank 0 hosts. Signals are forwarded once to every worker (each worker finishes its step, rank 0 writes a
// checkpoint); when a worker fails, the others are stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import * as torch from '@climadiff/torch';
import { DataError } from '../data/types.js';
import { SIGNAL_NUMBERS, intOption, positiveInt, positiveNumber } from './options.js';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** libtorch threads per worker (default: this machine's cores shared out among the local workers). */
  threads?: number;
  /** Where the workers' messages go (default stderr). */
  log?: (line: string) => void;
}

/** Flags of the launcher, removed from what the workers are given. */
export const LAUNCH_FLAGS = ['--nproc-per-node', '--nnodes', '--node-rank', '--master-addr', '--master-port'];

/** The command line without the launcher's flags (both `--flag value` and `--flag=value`). */
export function workerArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = LAUNCH_FLAGS.find((f) => a === f || a.startsWith(`${f}=`));
    if (!flag) { out.push(a); continue; }
    if (a === flag) i++; // its value
  }
  return out;
}

/** How long the other workers get to stop by themselves once one has failed, before SIGTERM, then SIGKILL. */
const GRACE_MS = 15_000;

/**
 * Runs the workers of this node until all have exited; returns the exit code: 0 when all succeeded, else the first
 * failure's (a signal counts as 128 + its number), with a worker's own code 75 (stopped, resumable) when all stopped so.
 */
export async function launchWorkers(script: string, argv: string[], o: LaunchOptions): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const world = o.nprocPerNode * o.nnodes;
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / o.nprocPerNode));
  const args = workerArgs(argv);
  const hasThreads = args.some((a) => a === '--threads' || a.startsWith('--threads='));
  const children: { rank: number; child: ChildProcess; tail: string[]; code: number | null }[] = [];
  let firstFailure: number | null = null;
  let stopping = false;
  const exited = new Promise<void>((resolveAll) => {
    let left = o.nprocPerNode;
    for (let local = 0; local < o.nprocPerNode; local++) {
      const rank = o.nodeRank * o.nprocPerNode + local;
      const env = {
        ...process.env, RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(local), LOCAL_WORLD_SIZE: String(o.nprocPerNode),
        GROUP_RANK: String(o.nodeRank), MASTER_ADDR: o.masterAddr, MASTER_PORT: String(o.masterPort), CLIMADIFF_LAUNCHER_PID: String(process.pid),
      };
      // own process groups: a terminal's Ctrl-C reaches the launcher only, which forwards it once
      const child = spawn(process.execPath, [script, ...args, ...(hasThreads ? [] : ['--threads', String(threads)])], {
        env, detached: true, stdio: rank === 0 ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'ignore', 'pipe'],
      });
      const entry = { rank, child, tail: [] as string[], code: null as number | null };
      // the other ranks' messages are kept (the last 40 lines) and shown when that rank fails
      child.stderr?.on('data', (d: Buffer) => {
        entry.tail.push(...d.toString().split('\n').filter((l) => l.trim() !== ''));
        if (entry.tail.length > 40) entry.tail.splice(0, entry.tail.length - 40);
      });
      child.on('exit', (code, signal) => {
        entry.code = code ?? 128 + (SIGNAL_NUMBERS[signal as NodeJS.Signals] ?? 0);
        if (entry.code !== 0 && entry.code !== 75) {
          if (entry.rank !== 0) for (const l of entry.tail) log(`[rank ${entry.rank}] ${l}`);
          log(`[launcher] rank ${entry.rank} exited with ${signal ?? `code ${code}`}`);
          if (firstFailure === null) firstFailure = entry.code;
          stopOthers();
        }
        if (--left === 0) resolveAll();
      });
      children.push(entry);
    }
  });
  const live = () => children.filter((c) => c.code === null);
  function stopOthers(): void {
    if (stopping) return;
    stopping = true;
    const term = setTimeout(() => {
      for (const c of live()) { log(`[launcher] stopping rank ${c.rank} (SIGTERM)`); c.child.kill('SIGTERM'); }
      const kill = setTimeout(() => { for (const c of live()) c.child.kill('SIGKILL'); }, GRACE_MS);
      kill.unref();
    }, GRACE_MS);
    term.unref();
  }
  const forward = (sig: NodeJS.Signals): void => { for (const c of live()) c.child.kill(sig); };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR1'];
  for (const s of signals) process.on(s, forward);
  try {
    await exited;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
  if (firstFailure !== null) return firstFailure;
  return children.some((c) => c.code === 75) ? 75 : 0;
}

// ---- the flags, shared by `train` and the task commands ----

export interface LaunchFlags {
  nprocPerNode?: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  distTimeout?: number;
  threads?: number;
}

/** --nproc-per-node, --nnodes, --node-rank, --master-addr, --master-port, --dist-timeout. */
export function addLaunchOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--nproc-per-node <n>', `${what}: start n worker processes on this machine (c10d Gloo; docs/training.md)`, positiveInt)
    .option('--nnodes <n>', 'machines taking part (each runs this command with its --node-rank)', positiveInt, 1)
    .option('--node-rank <r>', 'this machine\'s rank among --nnodes', intOption(0), 0)
    .option('--master-addr <host>', 'address of node rank 0, whose first worker hosts the rendezvous store', '127.0.0.1')
    .option('--master-port <port>', 'port of the rendezvous store on --master-addr', intOption(1, 65535), 29500)
    .option('--dist-timeout <seconds>', 'how long a collective waits for a slow or lost rank before failing (default 1800, PyTorch\'s)', positiveNumber);
}

/**
 * Launches this command's workers when asked to (and this process is not itself a worker); returns the workers' exit
 * code, or null when this process is to do the work itself.
 */
export async function launchIfAsked(o: LaunchFlags): Promise<number | null> {
  if ((o.nprocPerNode ?? 1) * o.nnodes <= 1 || process.env['CLIMADIFF_LAUNCHER_PID'] !== undefined) return null;
  if (o.nodeRank >= o.nnodes) throw new DataError('bad-option', `--node-rank ${o.nodeRank} is not below --nnodes ${o.nnodes}`);
  return launchWorkers(process.argv[1]!, process.argv.slice(2), {
    nprocPerNode: o.nprocPerNode ?? 1, nnodes: o.nnodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort,
  });
}

/**
 * A worker (of this launcher, of torchrun, of srun) joins the default process group its environment describes; null
 * in a single process. Local workers share the machine's cores unless --threads says otherwise; a worker whose
 * launcher is gone stops gracefully (SIGTERM to itself) instead of working on alone.
 */
export function joinGroup(o: LaunchFlags & { device?: string }): { group: torch.distributed.ProcessGroup | null; device: string | undefined; dispose: () => void } {
  const launch = torch.distributed.launchEnvironment();
  if (launch.worldSize <= 1) return { group: null, device: o.device, dispose: () => undefined };
  const group = torch.distributed.initProcessGroup({ backend: 'gloo', timeoutMs: (o.distTimeout ?? 1800) * 1000 });
  if (!o.threads && launch.localWorldSize > 1) torch.setNumThreads(Math.max(1, Math.floor(availableParallelism() / launch.localWorldSize)));
  const launcherPid = Number(process.env['CLIMADIFF_LAUNCHER_PID'] ?? 0);
  // a launcher that died took the read ends of this worker's pipes with it: writing there must not kill the worker
  // before it has stopped cleanly (EPIPE is an 'error' event on the stream)
  if (launcherPid > 0) for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const watch = launcherPid > 0 ? setInterval(() => { if (process.ppid !== launcherPid) process.kill(process.pid, 'SIGTERM'); }, 2000) : null;
  watch?.unref();
  return {
    group,
    // one GPU per local rank, as torchrun users expect (--device cuda:N pins one explicitly)
    device: o.device === 'cuda' ? `cuda:${launch.localRank}` : o.device,
    dispose: () => {
      if (watch) clearInterval(watch);
      torch.distributed.destroyProcessGroup();
    },
  };
}
