// Learning-rate schedules with PyTorch's semantics (torch/optim/lr_scheduler.py): constructing a
// scheduler sets each group's lr for step 0 and records group.initialLr; each step() (called after
// optimizer.step()) advances lastEpoch and writes the new lr into every parameter group.
import { TorchError, invalidArg } from '../errors.js';
import { isPlainObject, type Optimizer } from './optimizer.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<{ lr: number }, any>;

/** A scheduler's state in PyTorch's layout (its __dict__ without the optimizer; snake_case keys). */
export type SchedulerStateDict = Record<string, unknown>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** The lr of each group when scheduling started (group.initialLr). */
  baseLrs: number[] = [];
  /** Index of the last step taken; 0 after construction. */
  lastEpoch = -1;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer) {
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray(optimizer.paramGroups)) {
      throw invalidArg('optimizer', 'an Optimizer', optimizer);
    }
    this.optimizer = optimizer;
  }

  /** The lr of every group for the current lastEpoch (PyTorch's get_lr, called only from step()). */
  protected abstract getLr(): number[];
  /** Subclass-specific entries of the state dict (snake_case keys as in PyTorch). */
  protected abstract ownState(): Record<string, unknown>;
  protected abstract loadOwnState(sd: Record<string, unknown>): void;

  // PyTorch's _LRScheduler.__init__ tail; subclasses call it once their own fields are set.
  protected start(lastEpoch: number): void {
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw invalidArg('lastEpoch', 'an integer >= -1', lastEpoch);
    this.optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (g.initialLr === undefined) {
        throw new TorchError(`param group ${i} has no initialLr: resuming a schedule (lastEpoch >= 0) needs an optimizer that was scheduled before`);
      }
    });
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
    this.stepCount = 0;
    this.step();
  }

  /** Advances the schedule by one step and sets every group's lr. Call after optimizer.step(). */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = values[i]!; });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The lr of every group as last set by this scheduler. */
  getLastLr(): number[] { return [...this.lastLr]; }

  stateDict(): SchedulerStateDict {
    return {
      ...this.ownState(), base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, verbose: false,
      _step_count: this.stepCount, _get_lr_called_within_step: false, _last_lr: [...this.lastLr],
    };
  }

  /** Restores a state from stateDict(); the optimizer's own state (its lrs) is restored separately. */
  loadStateDict(sd: SchedulerStateDict): void {
    if (!isPlainObject(sd)) throw invalidArg('scheduler state dict', 'an object from stateDict()', sd);
    const n = this.optimizer.paramGroups.length;
    const lrs = (k: string): number[] => {
      const v = sd[k];
      if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw invalidArg(`scheduler state dict '${k}'`, `an array of ${n} finite numbers (one per parameter group)`, v);
      }
      return [...v] as number[];
    };
    const int = (k: string, min: number): number => {
      const v = sd[k];
      if (!Number.isInteger(v) || (v as number) < min) throw invalidArg(`scheduler state dict '${k}'`, `an integer >= ${min}`, v);
      return v as number;
    };
    const baseLrs = lrs('base_lrs'), lastLr = lrs('_last_lr');
    const lastEpoch = int('last_epoch', -1), stepCount = int('_step_count', 0);
    this.loadOwnState(sd);
    Object.assign(this, { baseLrs, lastLr, lastEpoch, stepCount });
  }
}

/** A multiplicative factor of the base lr, as a function of the step index. */
export type LrLambda = (epoch: number) => number;

/** lr = baseLr * lrLambda(step) (PyTorch's LambdaLR). One function, or one per parameter group. */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: LrLambda[];

  constructor(optimizer: AnyOptimizer, lrLambda: LrLambda | LrLambda[], { lastEpoch = -1 }: { lastEpoch?: number } = {}) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== n) throw new TorchError(`LambdaLR: expected ${n} lr lambdas (one per parameter group), got ${lrLambda.length}`);
      this.lrLambdas = [...lrLambda];
    } else {
      this.lrLambdas = Array.from({ length: n }, () => lrLambda);
    }
    this.lrLambdas.forEach((f, i) => { if (typeof f !== 'function') throw invalidArg(`lrLambda[${i}]`, 'a function (step) => factor', f); });
    this.start(lastEpoch);
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i]!(this.lastEpoch));
  }
  // Functions are not state: PyTorch saves None for plain lambdas.
  protected ownState(): Record<string, unknown> { return { lr_lambdas: this.lrLambdas.map(() => null) }; }
  protected loadOwnState(): void {}
}

/**
 * Cosine annealing from the base lr down to etaMin over tMax steps (PyTorch's CosineAnnealingLR, SGDR
 * without restarts). Like PyTorch it uses the recursive form, so it composes with lrs changed elsewhere.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, { tMax, etaMin = 0, lastEpoch = -1 }: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer);
    if (!Number.isInteger(tMax) || tMax < 1) throw invalidArg('tMax', 'a positive integer', tMax);
    if (typeof etaMin !== 'number' || !Number.isFinite(etaMin)) throw invalidArg('etaMin', 'a finite number', etaMin);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.start(lastEpoch);
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const groups = this.optimizer.paramGroups;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + (base - etaMin) * (1 + Math.cos((e * Math.PI) / T)) / 2);
    }
    if (mod(e - 1 - T, 2 * T) === 0) {
      return groups.map((g, i) => g.lr + (this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin);
  }
  protected ownState(): Record<string, unknown> { return { T_max: this.tMax, eta_min: this.etaMin }; }
  protected loadOwnState(sd: Record<string, unknown>): void {
    if (!Number.isInteger(sd.T_max) || (sd.T_max as number) < 1) throw invalidArg("scheduler state dict 'T_max'", 'a positive integer', sd.T_max);
    if (typeof sd.eta_min !== 'number') throw invalidArg("scheduler state dict 'eta_min'", 'a number', sd.eta_min);
    this.tMax = sd.T_max as number;
    this.etaMin = sd.eta_min;
  }
}

/** Python's modulo (the result has the divisor's sign), which PyTorch's cosine restart test relies on. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/**
 * Linear warmup: factor = min(1, step / warmupSteps), i.e. lr rises from 0 to the base lr over
 * warmupSteps steps and then stays (the usual transformer warmup, as in Hugging Face's
 * get_constant_schedule_with_warmup). A LambdaLR, so it saves and loads like one.
 */
export function linearWarmup(optimizer: AnyOptimizer, warmupSteps: number, options: { lastEpoch?: number } = {}): LambdaLR {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw invalidArg('warmupSteps', 'a non-negative integer', warmupSteps);
  return new LambdaLR(optimizer, (step) => (step < warmupSteps ? step / warmupSteps : 1), options);
}

export interface WarmupCosineOptions {
  /** Steps of linear warmup from 0 to the base lr. */
  warmupSteps: number;
  /** Step at which the cosine reaches minLr; the lr stays at minLr afterwards. */
  totalSteps: number;
  /** Final lr (absolute, the same for every group). Default 0. */
  minLr?: number;
  lastEpoch?: number;
}

/**
 * Linear warmup then cosine decay: lr = base * step / warmupSteps for step < warmupSteps, then
 * minLr + (base - minLr) * (1 + cos(pi * progress)) / 2 with progress = (step - warmupSteps) /
 * (totalSteps - warmupSteps), clamped to 1. Closed form, so resuming from a state dict is exact.
 */
export class WarmupCosineLR extends LRScheduler {
  warmupSteps: number;
  totalSteps: number;
  minLr: number;

  constructor(optimizer: AnyOptimizer, options: WarmupCosineOptions) {
    super(optimizer);
    if (!isPlainObject(options)) throw invalidArg('warmupCosine options', '{ warmupSteps, totalSteps, minLr? }', options);
    const { warmupSteps, totalSteps, minLr = 0, lastEpoch = -1 } = options;
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw invalidArg('warmupSteps', 'a non-negative integer', warmupSteps);
    if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) throw invalidArg('totalSteps', `an integer >= warmupSteps (${warmupSteps})`, totalSteps);
    if (typeof minLr !== 'number' || !Number.isFinite(minLr) || minLr < 0) throw invalidArg('minLr', 'a finite number >= 0', minLr);
    for (const g of optimizer.paramGroups) {
      const base = g.initialLr ?? g.lr;
      if (minLr > base) throw invalidArg('minLr', `a number <= every group's base lr (${base})`, minLr);
    }
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
    this.minLr = minLr;
    this.start(lastEpoch);
  }

  protected getLr(): number[] {
    const step = this.lastEpoch, w = this.warmupSteps;
    if (step < w) return this.baseLrs.map((base) => base * (step / w));
    const progress = Math.min(1, (step - w) / Math.max(1, this.totalSteps - w));
    const cosine = (1 + Math.cos(Math.PI * progress)) / 2;
    return this.baseLrs.map((base) => this.minLr + (base - this.minLr) * cosine);
  }
  protected ownState(): Record<string, unknown> {
    return { warmup_steps: this.warmupSteps, total_steps: this.totalSteps, min_lr: this.minLr };
  }
  protected loadOwnState(sd: Record<string, unknown>): void {
    const { warmup_steps: w, total_steps: t, min_lr: m } = sd;
    if (!Number.isInteger(w) || (w as number) < 0) throw invalidArg("scheduler state dict 'warmup_steps'", 'a non-negative integer', w);
    if (!Number.isInteger(t) || (t as number) < (w as number)) throw invalidArg("scheduler state dict 'total_steps'", 'an integer >= warmup_steps', t);
    if (typeof m !== 'number' || !(m >= 0)) throw invalidArg("scheduler state dict 'min_lr'", 'a number >= 0', m);
    Object.assign(this, { warmupSteps: w, totalSteps: t, minLr: m });
  }
}

/** Linear warmup then cosine decay to minLr at totalSteps (see WarmupCosineLR). */
export function warmupCosine(optimizer: AnyOptimizer, options: WarmupCosineOptions): WarmupCosineLR {
  return new WarmupCosineLR(optimizer, options);
}
