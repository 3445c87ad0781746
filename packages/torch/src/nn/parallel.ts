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

export interface DistributedDataParallelOptions extends GradientReducerOptions {
  /** The group whose ranks hold replicas (the default group). */
  group?: ProcessGroup;
  /** Broadcast rank 0's buffers before every forward (PyTorch's default: true). */
  broadcastBuffers?: boolean;
}

function collectTensors(v: unknown, out: Tensor[]): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectTensors(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) collectTensors(x, out);
  }
  return out;
}

export interface GradientReducerOptions {
  /** Bucket size in MiB (PyTorch's 25). */
  bucketCapMB?: number;
  /** The first bucket's size in MiB (PyTorch's 1), so the last layers' gradients leave early. */
  firstBucketCapMB?: number;
  /** Allow parameters that some forward passes do not use (costs a graph traversal per step). */
  findUnusedParameters?: boolean;
  /** Let .grad be views into the communication buckets (saves one copy per step). */
  gradientAsBucketView?: boolean;
  /** Record the launch time of every bucket's all-reduce (timeline()). */
  timeline?: boolean;
}

/**
 * c10d's Reducer over a list of parameters, for training loops that do not call a wrapped module (PyTorch's
 * dist.Reducer): `prepareForward()` before a forward whose backward is to be synchronised, `prepareBackward(outputs)`
 * after it; skipping both accumulates gradients locally (no_sync). Gradients are averaged over the group's ranks.
 */
export class GradientReducer {
  readonly group: ProcessGroup;
  readonly #reducer: unknown;
  readonly #findUnused: boolean;

  constructor(params: Tensor[], group: ProcessGroup, options: GradientReducerOptions = {}) {
    if (params.length === 0) throw new TorchError('GradientReducer: no parameter that requires grad');
    this.group = group;
    this.#findUnused = options.findUnusedParameters ?? false;
    verifyAcrossRanks(params, group);
    const cap = Math.round((options.bucketCapMB ?? 25) * MB);
    const first = Math.round((options.firstBucketCapMB ?? 1) * MB);
    if (!(cap > 0) || !(first > 0)) throw new TorchError('bucket sizes must be positive');
    this.#reducer = dist.reducer(group._g, params.map((p) => p._h), cap, first, this.#findUnused,
      options.gradientAsBucketView ?? false, options.timeline ?? false);
  }

  /** Before a forward whose backward all-reduces; true when the buckets were just rebuilt in gradient order. */
  prepareForward(): boolean {
    return dist.reducerPrepareForward(this.#reducer);
  }

  /** After that forward: arms the gradient hooks (outputs are searched for unused parameters when asked to). */
  prepareBackward(output?: unknown): void {
    dist.reducerPrepareBackward(this.#reducer, this.#findUnused ? collectTensors(output, []).map((t) => t._h) : []);
  }

  /** Launches of bucket all-reduces since the last call: bucket index, bytes, steady-clock ms (distributed.nowMs). */
  timeline(): { bucket: number; bytes: number; ms: number }[] {
    return dist.reducerTimeline(this.#reducer);
  }
}

// The same number, shapes and dtypes of parameters on every rank (PyTorch's _verify_param_shape_across_processes):
// a mismatch would otherwise corrupt buckets silently or hang.
function verifyAcrossRanks(params: Tensor[], group: ProcessGroup): void {
  let h = 0;
  const mix = (x: number) => { h = (Math.imul(h ^ x, 0x9e3779b1) + 0x7f4a7c15) | 0; };
  mix(params.length);
  for (const p of params) {
    for (const d of p.shape) mix(d);
    for (const c of p.dtype) mix(c.charCodeAt(0));
  }
  const t = tensor([h, -h], { dtype: 'float64' });
  try {
    group.allReduce(t, { op: 'max' });
    const [max, negMin] = t.toArray() as number[];
    if (max !== h || -negMin! !== h) {
      throw new TorchError(`rank ${group.rank}'s parameters (${params.length} tensors) differ in number, shape or dtype from ` +
        'another rank\'s: every rank must build the same model');
    }
  } finally {
    t.dispose();
  }
}

/** Copies rank 0's tensors (parameters, buffers) into every rank's, in buffers of 250 MiB. */
export function broadcastState(tensors: Tensor[], group: ProcessGroup): void {
  noGrad(() => group.broadcastCoalesced(tensors, { src: 0, bufferBytes: 250 * MB }));
}

export class DistributedDataParallel<M extends Module> extends Module {
  readonly module: M;
  readonly group: ProcessGroup;
  readonly #reducer: GradientReducer;
  readonly #broadcastBuffers: boolean;
  #sync = true;

  constructor(module: M, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new TorchError('DistributedDataParallel wraps an nn.Module');
    this.module = module;
    this.group = options.group ?? getDefaultGroup();
    this.#broadcastBuffers = options.broadcastBuffers ?? true;
    const params = module.parameters().filter((p) => p.requiresGrad);
    if (params.length === 0) throw new TorchError('DistributedDataParallel: the module has no parameter that requires grad');
    // the reducer checks that every rank built the same model; then every replica starts from rank 0's state
    // (PyTorch's _sync_module_states)
    this.#reducer = new GradientReducer(params, this.group, options);
    broadcastState([...module.parameters(), ...module.buffers()], this.group);
  }

  override forward(...args: never[]): unknown {
    const sync = this.#sync && isGradEnabled();
    if (sync) this.#reducer.prepareForward();
    const buffers = this.#broadcastBuffers && this.group.size > 1 ? this.module.buffers() : [];
    if (buffers.length > 0) broadcastState(buffers, this.group);
    const out = (this.module.forward as (...a: never[]) => unknown)(...args);
    if (sync) this.#reducer.prepareBackward(out);
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
    return this.#reducer.timeline();
  }
}
