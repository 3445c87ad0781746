// The rank layout a launcher gives a process (torchrun's or SLURM's environment), for torch.distributed's env://.
import { createServer } from 'node:net';
import { TorchError } from './errors.js';

/** torchrun's default MASTER_PORT. */
export const DEFAULT_PORT = 29500;

/**
 * A TCP port that was free on `host` a moment ago (the OS's choice for port 0), for a rendezvous store started right
 * after: single-machine tests and benchmarks that must not collide with another group on DEFAULT_PORT.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface LaunchEnvironment {
  /** Where the values came from. */
  source: 'torchrun' | 'slurm' | 'none';
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** torchrun's elastic agent already hosts the TCPStore: every rank is a client. */
  agentStore: boolean;
}

function intVar(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TorchError(`environment variable ${name}=${JSON.stringify(v)} is not a non-negative integer`);
  return n;
}

/**
 * Expands a SLURM node list ("gpu[01-03,7],login1") into host names, in order. SLURM_LAUNCH_NODE_IPADDR is not
 * the first host of a job step launched elsewhere, so the first host of the step's list is the rendezvous host.
 */
export function expandNodelist(list: string): string[] {
  const hosts: string[] = [];
  // split on commas outside brackets
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list.trim()) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  if (depth !== 0) throw new TorchError(`malformed SLURM node list ${JSON.stringify(list)}: unbalanced brackets`);
  if (cur) parts.push(cur);
  for (const part of parts) {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(part);
    if (!m) { hosts.push(part); continue; }
    const [, prefix, ranges, suffix] = m;
    for (const r of ranges!.split(',')) {
      const mm = /^(\d+)(?:-(\d+))?$/.exec(r);
      if (!mm) throw new TorchError(`malformed SLURM node list ${JSON.stringify(list)}: range ${JSON.stringify(r)}`);
      const lo = Number(mm[1]);
      const hi = mm[2] === undefined ? lo : Number(mm[2]);
      const width = mm[1]!.length;
      for (let i = lo; i <= hi; i++) {
        for (const h of expandNodelist(`${prefix}${String(i).padStart(width, '0')}${suffix}`)) hosts.push(h);
      }
    }
  }
  return hosts;
}

/**
 * The rank layout a launcher gave this process: torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) first, then SLURM's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
 * SLURM_NTASKS_PER_NODE, the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST; MASTER_ADDR/PORT override).
 */
export function launchEnvironment(env: NodeJS.ProcessEnv = process.env): LaunchEnvironment {
  const port = intVar(env, 'MASTER_PORT') ?? DEFAULT_PORT;
  if (port > 65535) throw new TorchError(`MASTER_PORT=${port} is not a port`);
  const rank = intVar(env, 'RANK');
  const world = intVar(env, 'WORLD_SIZE');
  if (rank !== undefined || world !== undefined) {
    if (rank === undefined || world === undefined) throw new TorchError('RANK and WORLD_SIZE must be set together (torchrun sets both)');
    if (rank >= world) throw new TorchError(`RANK=${rank} is not below WORLD_SIZE=${world}`);
    return {
      source: 'torchrun', rank, worldSize: world,
      localRank: intVar(env, 'LOCAL_RANK') ?? rank, localWorldSize: intVar(env, 'LOCAL_WORLD_SIZE') ?? world,
      masterAddr: env.MASTER_ADDR || '127.0.0.1', masterPort: port,
      agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
    };
  }
  const procid = intVar(env, 'SLURM_PROCID');
  const ntasks = intVar(env, 'SLURM_NTASKS');
  if (procid !== undefined && ntasks !== undefined) {
    const nodes = env.SLURM_STEP_NODELIST || env.SLURM_JOB_NODELIST || '';
    const addr = env.MASTER_ADDR || (nodes ? expandNodelist(nodes)[0] : undefined) || '127.0.0.1';
    const perNode = intVar(env, 'SLURM_NTASKS_PER_NODE') ?? (Number(/^\d+/.exec(env.SLURM_TASKS_PER_NODE ?? '')?.[0] ?? ntasks) || ntasks);
    return {
      source: 'slurm', rank: procid, worldSize: ntasks, localRank: intVar(env, 'SLURM_LOCALID') ?? 0, localWorldSize: perNode,
      masterAddr: addr, masterPort: port, agentStore: false,
    };
  }
  return { source: 'none', rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: '127.0.0.1', masterPort: port, agentStore: false };
}

