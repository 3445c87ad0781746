// torch.distributed in PyTorch's shape, on c10d (the collectives library inside the linked libtorch): stores,
// process groups, collectives with async Work handles. A group made here is the same c10d group a Python
// `torch.distributed.init_process_group` makes on the same store, so Python and climadiff ranks can share one.
//
//   const pg = distributed.initProcessGroup({ backend: 'gloo' });   // torchrun's / SLURM's environment
//   distributed.allReduce(t, { op: 'avg' });
//   const work = distributed.allReduce(t, { async: true }); ...; work.wait();
//   distributed.destroyProcessGroup();
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { TorchError } from './errors.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

/** The native half (packages/torch/native/distributed.h); opaque values are tagged externals. */
interface NativeDist {
  available(): { gloo: boolean; glooWhy: string; reducer: boolean };
  nowMs(): number;
  tcpStore(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number, waitWorkers: boolean, multiTenant: boolean): unknown;
  fileStore(path: string, worldSize: number): unknown;
  prefixStore(prefix: string, store: unknown): unknown;
  storeSet(store: unknown, key: string, value: Buffer): void;
  storeGet(store: unknown, key: string): Buffer;
  storeAdd(store: unknown, key: string, amount: number): number;
  storeWait(store: unknown, keys: string[], timeoutMs?: number): void;
  newGroup(store: unknown, rank: number, size: number, backend: string, timeoutMs: number, name: string, hostname?: string, threads?: number): unknown;
  groupInfo(g: unknown): { destroyed: boolean; backend: string; rank?: number; size?: number; name?: string };
  destroyGroup(g: unknown): void;
  allReduce(g: unknown, ts: number[], op: string, timeoutMs?: number): unknown;
  broadcast(g: unknown, ts: number[], root: number, timeoutMs?: number): unknown;
  allGather(g: unknown, outs: number[], input: number, timeoutMs?: number): unknown;
  allGatherInto(g: unknown, out: number, input: number, timeoutMs?: number): unknown;
  reduceScatter(g: unknown, out: number, ins: number[], op: string, timeoutMs?: number): unknown;
  barrier(g: unknown, timeoutMs?: number): unknown;
  broadcastCoalesced(g: unknown, ts: number[], bufferBytes: number, root: number): void;
  workWait(w: unknown, timeoutMs?: number): boolean;
  workCompleted(w: unknown): boolean;
  reducer(g: unknown, params: number[], capBytes: number, firstBytes: number, findUnused: boolean, asView: boolean, timeline: boolean): unknown;
  reducerPrepareForward(r: unknown): boolean;
  reducerPrepareBackward(r: unknown, outputs: number[]): void;
  reducerTimeline(r: unknown): { bucket: number; bytes: number; ms: number }[];
}

/** @internal */
export const dist = (native as unknown as { distributed: NativeDist }).distributed;

/** PyTorch's default for process groups (datetime.timedelta(minutes=30)). */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
export { DEFAULT_PORT } from './distributed-launch.js';

/** What this build can do: Gloo needs gloo's headers at build time; DDP needs PyTorch >= 2.13's Reducer. */
export function isAvailable(): { gloo: boolean; glooWhy: string; reducer: boolean } {
  return dist.available();
}

/** A steady clock in milliseconds, the same one the Reducer's timeline uses. */
export function nowMs(): number {
  return dist.nowMs();
}

// ---- stores ----------------------------------------------------------------------------------------

/** A c10d key-value store (TCPStore, FileStore or a PrefixStore over either), shared by all ranks. */
export class Store {
  /** @internal */
  constructor(readonly _s: unknown) {}

  /** TCPStore: rank 0 (isServer) listens on host:port; the others connect, retrying until the timeout. */
  static tcp(opts: { host: string; port: number; isServer: boolean; worldSize?: number; timeoutMs?: number; waitWorkers?: boolean; multiTenant?: boolean }): Store {
    return new Store(dist.tcpStore(opts.host, opts.port, opts.isServer, opts.worldSize ?? -1, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      opts.waitWorkers ?? true, opts.multiTenant ?? false));
  }

  /** FileStore: a file on a file system every rank sees (a shared file system across hosts). */
  static file(path: string, worldSize: number): Store {
    return new Store(dist.fileStore(path, worldSize));
  }

  /** Keys of the returned store are `prefix/key` in this one (torch.distributed.PrefixStore). */
  prefix(prefix: string): Store {
    return new Store(dist.prefixStore(prefix, this._s));
  }

  set(key: string, value: string | Uint8Array): void {
    dist.storeSet(this._s, key, typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));
  }

  /** Waits (up to the store's timeout) for the key, then returns its value. */
  get(key: string): Buffer {
    return dist.storeGet(this._s, key);
  }

  /** Atomically adds to an integer key (created at 0) and returns the new value. */
  add(key: string, amount: number): number {
    return dist.storeAdd(this._s, key, amount);
  }

  wait(keys: string[], timeoutMs?: number): void {
    dist.storeWait(this._s, keys, timeoutMs);
  }
}

// ---- work handles -----------------------------------------------------------------------------------

/** The handle of a collective started with `async: true` (c10d Work). */
export class Work {
  /** @internal */
  constructor(readonly _w: unknown) {}

  /** Blocks until the collective finished; throws its error (a lost peer, a timeout) as a TorchError. */
  wait(timeoutMs?: number): true {
    dist.workWait(this._w, timeoutMs);
    return true;
  }

  isCompleted(): boolean {
    return dist.workCompleted(this._w);
  }
}

export interface CollectiveOptions {
  /** Return a Work instead of waiting (PyTorch's async_op). */
  async?: boolean;
  /** This collective's timeout; the group's by default. */
  timeoutMs?: number;
}

function handles(ts: Tensor | Tensor[], what: string): number[] {
  const list = Array.isArray(ts) ? ts : [ts];
  return list.map((t, i) => {
    if (!(t instanceof Tensor)) throw new TorchError(`${what}[${i}] must be a Tensor`);
    return t._h;
  });
}

function finish(w: unknown, opts: CollectiveOptions): Work | undefined {
  const work = new Work(w);
  if (opts.async) return work;
  work.wait();
  return undefined;
}

// ---- process groups ------------------------------------------------------------------------------------

export interface GroupOptions {
  store: Store;
  rank: number;
  worldSize: number;
  backend?: Backend;
  timeoutMs?: number;
  /** The group's name, also its key prefix in the store ('0' for the first group, as in PyTorch). */
  name?: string;
  /** The address Gloo binds; by default the host name's address, else loopback (GLOO_SOCKET_IFNAME is honoured). */
  hostname?: string;
  /** Gloo's worker threads (PyTorch's default 2). */
  threads?: number;
}

/** A c10d ProcessGroup: a set of ranks and the backend that moves their tensors. */
export class ProcessGroup {
  /** @internal */
  readonly _g: unknown;
  readonly rank: number;
  readonly size: number;
  readonly backend: Backend;
  readonly name: string;

  constructor(opts: GroupOptions) {
    const backend = opts.backend ?? 'gloo';
    const name = opts.name ?? '0';
    this._g = dist.newGroup(opts.store._s, opts.rank, opts.worldSize, backend, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, name,
      opts.hostname, opts.threads);
    this.rank = opts.rank;
    this.size = opts.worldSize;
    this.backend = backend;
    this.name = name;
  }

  get destroyed(): boolean {
    return dist.groupInfo(this._g).destroyed;
  }

  /** Reduces the tensors in place across ranks: every rank ends with the result. */
  allReduce(tensors: Tensor | Tensor[], opts: CollectiveOptions & { op?: ReduceOp } = {}): Work | undefined {
    return finish(dist.allReduce(this._g, handles(tensors, 'tensors'), opts.op ?? 'sum', opts.timeoutMs), opts);
  }

  /** Copies `src`'s tensors into every rank's. */
  broadcast(tensors: Tensor | Tensor[], opts: CollectiveOptions & { src?: number } = {}): Work | undefined {
    return finish(dist.broadcast(this._g, handles(tensors, 'tensors'), opts.src ?? 0, opts.timeoutMs), opts);
  }

  /** outputs[r] receives rank r's input (one output per rank, each shaped as the input). */
  allGather(outputs: Tensor[], input: Tensor, opts: CollectiveOptions = {}): Work | undefined {
    return finish(dist.allGather(this._g, handles(outputs, 'outputs'), handles(input, 'input')[0]!, opts.timeoutMs), opts);
  }

  /** Rank r's input lands in output[r * n : (r + 1) * n] along dim 0 (all_gather_into_tensor). */
  allGatherInto(output: Tensor, input: Tensor, opts: CollectiveOptions = {}): Work | undefined {
    return finish(dist.allGatherInto(this._g, output._h, input._h, opts.timeoutMs), opts);
  }

  /** Rank r receives the reduction over ranks of inputs[r]. */
  reduceScatter(output: Tensor, inputs: Tensor[], opts: CollectiveOptions & { op?: ReduceOp } = {}): Work | undefined {
    return finish(dist.reduceScatter(this._g, output._h, handles(inputs, 'inputs'), opts.op ?? 'sum', opts.timeoutMs), opts);
  }

  barrier(opts: CollectiveOptions = {}): Work | undefined {
    return finish(dist.barrier(this._g, opts.timeoutMs), opts);
  }

  /** Broadcasts many tensors from `src` in flattened buffers of at most `bufferBytes` (as DDP does at start). */
  broadcastCoalesced(tensors: Tensor[], opts: { src?: number; bufferBytes?: number } = {}): void {
    dist.broadcastCoalesced(this._g, handles(tensors, 'tensors'), opts.bufferBytes ?? 250 * 1024 * 1024, opts.src ?? 0);
  }

  /** Waits for queued work, then closes the group's connections. */
  destroy(): void {
    dist.destroyGroup(this._g);
  }
}

export { launchEnvironment, expandNodelist, freePort, type LaunchEnvironment } from './distributed-launch.js';
import { launchEnvironment } from './distributed-launch.js';

// ---- the default group (torch.distributed's module-level API) -----------------------------------------------

export interface InitOptions {
  backend?: Backend;
  /** 'env://' (default: the launcher's environment), 'tcp://host:port' or 'file:///path'. */
  initMethod?: string;
  /** A store made by the caller (then rank and worldSize are required). */
  store?: Store;
  rank?: number;
  worldSize?: number;
  timeoutMs?: number;
  hostname?: string;
  threads?: number;
}

let defaultGroup: ProcessGroup | null = null;

/** The store and rank layout of an init method, as torch.distributed.rendezvous makes them. */
export function rendezvous(opts: InitOptions = {}): { store: Store; rank: number; worldSize: number } {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (opts.store) {
    if (opts.rank === undefined || opts.worldSize === undefined) throw new TorchError('initProcessGroup with a store needs rank and worldSize');
    return { store: opts.store, rank: opts.rank, worldSize: opts.worldSize };
  }
  const method = opts.initMethod ?? 'env://';
  if (method === 'env://') {
    const e = launchEnvironment();
    const rank = opts.rank ?? e.rank;
    const worldSize = opts.worldSize ?? e.worldSize;
    const store = Store.tcp({
      host: e.masterAddr, port: e.masterPort, isServer: !e.agentStore && rank === 0, worldSize, timeoutMs,
      multiTenant: !e.agentStore,
    });
    return { store, rank, worldSize };
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(method);
  if (tcp) {
    if (opts.rank === undefined || opts.worldSize === undefined) throw new TorchError(`init method ${method} needs rank and worldSize`);
    const host = tcp[1]!.replace(/^\[|\]$/g, '');
    return {
      store: Store.tcp({ host, port: Number(tcp[2]), isServer: opts.rank === 0, worldSize: opts.worldSize, timeoutMs, multiTenant: true }),
      rank: opts.rank, worldSize: opts.worldSize,
    };
  }
  if (method.startsWith('file://')) {
    if (opts.rank === undefined || opts.worldSize === undefined) throw new TorchError(`init method ${method} needs rank and worldSize`);
    return { store: Store.file(method.slice('file://'.length), opts.worldSize), rank: opts.rank, worldSize: opts.worldSize };
  }
  throw new TorchError(`unknown init method ${JSON.stringify(method)} (env://, tcp://host:port or file:///path)`);
}

/**
 * Joins the default process group (torch.distributed.init_process_group): the store gets PyTorch's "default_pg"
 * prefix and the group its name "0", so Python ranks calling init_process_group on the same store join it.
 */
export function initProcessGroup(opts: InitOptions = {}): ProcessGroup {
  if (defaultGroup) throw new TorchError('the default process group is already initialized (destroyProcessGroup() first)');
  const { store, rank, worldSize } = rendezvous(opts);
  defaultGroup = new ProcessGroup({
    store: store.prefix('default_pg'), rank, worldSize, backend: opts.backend ?? 'gloo', timeoutMs: opts.timeoutMs,
    name: '0', hostname: opts.hostname, threads: opts.threads,
  });
  return defaultGroup;
}

export function isInitialized(): boolean {
  return defaultGroup !== null;
}

export function getDefaultGroup(): ProcessGroup {
  if (!defaultGroup) throw new TorchError('the default process group is not initialized: call distributed.initProcessGroup() first');
  return defaultGroup;
}

export function getRank(group?: ProcessGroup): number {
  return (group ?? getDefaultGroup()).rank;
}

export function getWorldSize(group?: ProcessGroup): number {
  return (group ?? getDefaultGroup()).size;
}

/** Destroys a group (the default one when none is given). */
export function destroyProcessGroup(group?: ProcessGroup): void {
  const g = group ?? defaultGroup;
  if (!g) return;
  g.destroy();
  if (g === defaultGroup) defaultGroup = null;
}

type Grouped = { group?: ProcessGroup };

export function allReduce(tensor: Tensor | Tensor[], opts: CollectiveOptions & Grouped & { op?: ReduceOp } = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).allReduce(tensor, opts);
}
export function broadcast(tensor: Tensor | Tensor[], opts: CollectiveOptions & Grouped & { src?: number } = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).broadcast(tensor, opts);
}
export function allGather(outputs: Tensor[], input: Tensor, opts: CollectiveOptions & Grouped = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).allGather(outputs, input, opts);
}
export function allGatherInto(output: Tensor, input: Tensor, opts: CollectiveOptions & Grouped = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).allGatherInto(output, input, opts);
}
export function reduceScatter(output: Tensor, inputs: Tensor[], opts: CollectiveOptions & Grouped & { op?: ReduceOp } = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).reduceScatter(output, inputs, opts);
}
export function barrier(opts: CollectiveOptions & Grouped = {}): Work | undefined {
  return (opts.group ?? getDefaultGroup()).barrier(opts);
}
