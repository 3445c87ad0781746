// nn.parallel.DistributedDataParallel on c10d's Reducer (the C++ half of PyTorch's DDP): parameters are
// broadcast from rank 0 when it is built; during backward, each bucket of gradients is all-reduced (averaged over
// ranks) as soon as all of its gradients are ready, while backward still runs on the rest; `noSync` accumulates
// local gradients without communication.
import { Module } from './module.js';
import { Tensor } from '../tensor.js';
import { TorchError } from '../errors.js';
import { isGradEnabled, noGrad } from '../autograd.js';
import { dist, getDefaultGroup, type ProcessGroup } from '../distributed.js';
import { tensor } from '../factories.js';

const MB = 1024 * 1024;

export interface DistributedDataParallelOptions {
  /** The group whose ranks hold replicas (the default group). */
  group?: ProcessGroup;
  /** Bucket size in MiB (PyTorch's 25). */
  bucketCapMB?: number;
  /** The first bucket's size in MiB (PyTorch's 1), so the last layers' gradients leave early. */
  firstBucketCapMB?: number;
  /** Allow parameters that some forward passes do not use (costs a graph traversal per step). */
  findUnusedParameters?: boolean;
  /** Broadcast rank 0's buffers before every forward (PyTorch's default: true). */
  broadcastBuffers?: boolean;
  /** Let .grad be views into the communication buckets (saves one copy per step). */
  gradientAsBucketView?: boolean;
  /** Record the launch time of every bucket's all-reduce (timeline()). */
  timeline?: boolean;
}

function collectTensors(v: unknown, out: Tensor[]): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectTensors(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) collectTensors(x, out);
  }
  return out;
}

export class DistributedDataParallel<M extends Module> extends Module {
  readonly module: M;
  readonly group: ProcessGroup;
  readonly #reducer: unknown;
  readonly #findUnused: boolean;
  readonly #broadcastBuffers: boolean;
  #sync = true;

  constructor(module: M, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new TorchError('DistributedDataParallel wraps an nn.Module');
    this.module = module;
    this.group = options.group ?? getDefaultGroup();
    this.#findUnused = options.findUnusedParameters ?? false;
    this.#broadcastBuffers = options.broadcastBuffers ?? true;
    const params = module.parameters().filter((p) => p.requiresGrad);
    if (params.length === 0) throw new TorchError('DistributedDataParallel: the module has no parameter that requires grad');
    this.#verifyAcrossRanks(params);
    // Every replica starts from rank 0's state (PyTorch's _sync_module_states).
    noGrad(() => this.group.broadcastCoalesced([...module.parameters(), ...module.buffers()], { src: 0, bufferBytes: 250 * MB }));
    const cap = Math.round((options.bucketCapMB ?? 25) * MB);
    const first = Math.round((options.firstBucketCapMB ?? 1) * MB);
    if (!(cap > 0) || !(first > 0)) throw new TorchError('DistributedDataParallel: bucket sizes must be positive');
    this.#reducer = dist.reducer(this.group._g, params.map((p) => p._h), cap, first, this.#findUnused,
      options.gradientAsBucketView ?? false, options.timeline ?? false);
  }

  // The same number, shapes and dtypes of parameters on every rank (PyTorch's _verify_param_shape_across_processes):
  // a mismatch would otherwise corrupt buckets silently or hang.
  #verifyAcrossRanks(params: Tensor[]): void {
    let h = 0;
    const mix = (x: number) => { h = (Math.imul(h ^ x, 0x9e3779b1) + 0x7f4a7c15) | 0; };
    mix(params.length);
    for (const p of params) {
      for (const d of p.shape) mix(d);
      for (const c of p.dtype) mix(c.charCodeAt(0));
    }
    const t = tensor([h, -h], { dtype: 'float64' });
    try {
      this.group.allReduce(t, { op: 'max' });
      const [max, negMin] = t.toArray() as number[];
      if (max !== h || -negMin! !== h) {
        throw new TorchError(`DistributedDataParallel: rank ${this.group.rank}'s parameters (${params.length} tensors) differ ` +
          'in number, shape or dtype from another rank\'s: every rank must build the same model');
      }
    } finally {
      t.dispose();
    }
  }

  override forward(...args: never[]): unknown {
    const sync = this.#sync && isGradEnabled();
    if (sync) dist.reducerPrepareForward(this.#reducer);
    const buffers = this.#broadcastBuffers && this.group.size > 1 ? this.module.buffers() : [];
    if (buffers.length > 0) noGrad(() => this.group.broadcastCoalesced(buffers, { src: 0, bufferBytes: 250 * MB }));
    const out = (this.module.forward as (...a: never[]) => unknown)(...args);
    if (sync) dist.reducerPrepareBackward(this.#reducer, this.#findUnused ? collectTensors(out, []).map((t) => t._h) : []);
    return out;
  }

  /** Runs fn (forward and backward) without gradient communication: gradients accumulate locally. */
  noSync<T>(fn: () => T): T {
    const prev = this.#sync;
    this.#sync = false;
    try {
      return fn();
    } finally {
      this.#sync = prev;
    }
  }

  /** Launches of bucket all-reduces since the last call: bucket index, bytes, steady-clock ms (see distributed.nowMs). */
  timeline(): { bucket: number; bytes: number; ms: number }[] {
    return dist.reducerTimeline(this.#reducer);
  }
}
