// Gradient scaling for float16 mixed precision: PyTorch 2.x's torch.amp.GradScaler in our style. The loss is
// multiplied by a scale before backward so that small float16 gradients do not flush to zero; before the
// optimizer steps, the gradients are divided by the scale again and checked for inf/NaN. A step whose
// gradients overflowed is skipped and the scale backs off; after growthInterval clean steps in a row it grows.
// The checks and the scale update are ATen's own operators (_amp_foreach_non_finite_check_and_unscale_,
// _amp_update_scale_), so a training loop takes exactly the steps PyTorch's would.
import { Tensor } from '../tensor.js';
import { aten } from '../generated/ops.js';
import { full } from '../factories.js';
import { noGrad } from '../autograd.js';
import { scope } from '../scope.js';
import { native } from '../native.js';
import { TorchError, invalidArg } from '../errors.js';
import { checkOptionNames, isPlainObject } from '../optim/optimizer.js';

export type GradScalerDevice = 'cpu' | 'cuda';

export interface GradScalerOptions {
  /** Device type of the training ('cpu' by default; 'cuda' disables the scaler, with a warning, when CUDA is missing). */
  device?: GradScalerDevice;
  /** Scale before the first step (default 2**16). */
  initScale?: number;
  /** Factor applied to the scale after growthInterval steps in a row without inf/NaN gradients (default 2, > 1). */
  growthFactor?: number;
  /** Factor applied to the scale after a step with inf/NaN gradients (default 0.5, in (0, 1)). */
  backoffFactor?: number;
  /** Number of clean steps in a row after which the scale grows (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through (default true). */
  enabled?: boolean;
}
const NAMES = ['device', 'initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled'] as const;

/** PyTorch's GradScaler.state_dict() layout, snake_case keys included, so it maps 1:1 to PyTorch's. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}
const STATE_KEYS = ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'] as const;

/** What the scaler needs of an optimizer: its parameter groups (to find gradients) and step(). */
export interface ScalableOptimizer {
  paramGroups: ReadonlyArray<{ params: readonly Tensor[] }>;
  step(): unknown;
}

// Where an optimizer is within one iteration (PyTorch's OptState): unscale_() moves READY to UNSCALED,
// step() moves either to STEPPED, update() starts every optimizer over at READY.
type Stage = 'ready' | 'unscaled' | 'stepped';
interface OptimizerState {
  stage: Stage;
  /** One float32 0-d tensor per gradient device: 1 when a gradient there had an inf/NaN, else 0 (kept). */
  foundInf: Map<string, Tensor>;
}

const INT32_MAX = 2 ** 31 - 1;

function checkScale(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalidArg(name, 'a finite number > 0', v);
  return v;
}
function checkGrowthFactor(name: string, v: unknown): number {
  // PyTorch: "The growth factor must be > 1.0."
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 1) throw invalidArg(name, 'a finite number > 1', v);
  return v;
}
function checkBackoffFactor(name: string, v: unknown): number {
  // PyTorch: "The backoff factor must be < 1.0." (and a factor <= 0 would zero or flip the scale).
  if (typeof v !== 'number' || !(v > 0 && v < 1)) throw invalidArg(name, 'a number > 0 and < 1', v);
  return v;
}
function checkInterval(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > INT32_MAX) throw invalidArg(name, `an integer in [1, ${INT32_MAX}]`, v);
  return v;
}
function checkTracker(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX) throw invalidArg(name, `an integer in [0, ${INT32_MAX}]`, v);
  return v;
}
const deviceType = (device: string): string => device.split(':')[0]!;

/**
 * PyTorch's torch.amp.GradScaler. The usual iteration:
 * ```ts
 * const loss = torch.autocast({ deviceType: 'cuda' }, () => lossFn(model.forward(x), y));
 * scaler.scale(loss).backward();
 * scaler.unscale_(opt);              // optional, e.g. before clipGradNorm
 * scaler.step(opt);                  // skipped when a gradient is inf/NaN
 * scaler.update();
 * opt.zeroGrad();
 * ```
 * The scale (float32) and the growth tracker (int32) are 0-d tensors created by the first scale(), on the
 * device of what it scales, as in PyTorch. Gradients must not be float16 (keep float32 master weights).
 */
export class GradScaler {
  private readonly device: GradScalerDevice;
  private readonly enabled: boolean;
  private initScale: number;
  private initGrowthTracker = 0;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private scaleT: Tensor | null = null;
  private growthTrackerT: Tensor | null = null;
  private perOptimizer = new Map<ScalableOptimizer, OptimizerState>();

  constructor(options: GradScalerOptions = {}) {
    checkOptionNames('GradScaler', options, NAMES);
    const device = options.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') throw invalidArg('GradScaler device', "'cpu' or 'cuda'", device);
    const enabled = options.enabled ?? true;
    if (typeof enabled !== 'boolean') throw invalidArg('GradScaler enabled', 'a boolean', enabled);
    this.device = device;
    this.initScale = checkScale('GradScaler initScale', options.initScale ?? 2 ** 16);
    this.growthFactor = checkGrowthFactor('GradScaler growthFactor', options.growthFactor ?? 2.0);
    this.backoffFactor = checkBackoffFactor('GradScaler backoffFactor', options.backoffFactor ?? 0.5);
    this.growthInterval = checkInterval('GradScaler growthInterval', options.growthInterval ?? 2000);
    let on = enabled;
    if (on && device === 'cuda' && !native.cudaIsAvailable()) {
      process.emitWarning('torch.amp.GradScaler is enabled for cuda, but CUDA is not available. Disabling.');
      on = false;
    }
    this.enabled = on;
  }

  /** Whether the scaler does anything (false when constructed disabled, or for cuda without CUDA). */
  isEnabled(): boolean { return this.enabled; }

  /**
   * Multiplies the output(s) (usually the loss) by the current scale; backward of the result gives scaled
   * gradients. Differentiable, so call it with grad mode on. Disabled: returns `outputs` unchanged.
   */
  scale(outputs: Tensor): Tensor;
  scale(outputs: readonly Tensor[]): Tensor[];
  scale(outputs: Tensor | readonly Tensor[]): Tensor | Tensor[] {
    const list = outputs instanceof Tensor ? [outputs] : outputs;
    if (!Array.isArray(list)) throw invalidArg('GradScaler.scale outputs', 'a Tensor or an array of Tensors', outputs);
    list.forEach((t, i) => {
      const what = outputs instanceof Tensor ? 'GradScaler.scale outputs' : `GradScaler.scale outputs[${i}]`;
      if (!(t instanceof Tensor)) throw invalidArg(what, 'a Tensor', t);
      if (t.isDisposed) throw new TorchError(`${what} is a disposed Tensor`);
    });
    if (!this.enabled) return outputs instanceof Tensor ? outputs : [...list];
    if (list.length === 0) return [];
    this.lazyInit(list[0]!.device);
    const scale = this.scaleT!;
    const scaled = scope(() => {
      // One copy of the scale per device (PyTorch's _MultiDeviceReplicator).
      const perDevice = new Map<string, Tensor>([[scale.device, scale]]);
      return list.map((t) => {
        let s = perDevice.get(t.device);
        if (s === undefined) { s = scale.to({ device: t.device }); perDevice.set(t.device, s); }
        return t.mul(s);
      });
    });
    return outputs instanceof Tensor ? scaled[0]! : scaled;
  }

  /**
   * Divides the gradients of the optimizer's parameters by the scale, in place, and records whether any is
   * inf/NaN. Call it at most once per optimizer between update()s, and only before step() (for instance to
   * clip the true gradients). step() calls it when it has not been called. Disabled: does nothing.
   */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.enabled) return;
    checkOptimizer(optimizer, 'GradScaler.unscale_');
    const scale = this.requireScale('unscale_');
    const state = this.stateOf(optimizer);
    if (state.stage === 'unscaled') {
      throw new TorchError('GradScaler.unscale_() has already been called on this optimizer since the last update().');
    }
    if (state.stage === 'stepped') throw new TorchError('GradScaler.unscale_() is being called after step().');
    const foundInf = scope(() => noGrad(() => {
      // 1/scale is computed in float64 and rounded once to float32, as PyTorch does.
      const invScale = scale.double().reciprocal().float();
      const found = full([], 0, { dtype: 'float32', device: scale.device });
      // Gradients grouped by device, then dtype: the foreach kernel takes one device and dtype per call.
      const groups = new Map<string, Map<string, Tensor[]>>();
      optimizer.paramGroups.forEach((g, gi) => g.params.forEach((p, pi) => {
        const grad = p.grad;
        if (grad === null) return;
        if (grad.dtype === 'float16') {
          throw new TorchError(`GradScaler.unscale_: attempting to unscale float16 gradients (paramGroups[${gi}].params[${pi}]); `
            + 'keep the parameters in float32 and run the forward pass under torch.autocast');
        }
        const byDtype = groups.get(grad.device) ?? new Map<string, Tensor[]>();
        groups.set(grad.device, byDtype);
        const list = byDtype.get(grad.dtype) ?? [];
        byDtype.set(grad.dtype, list);
        list.push(grad);
      }));
      const perDevice = new Map<string, Tensor>();
      for (const [device, byDtype] of groups) {
        const foundHere = device === scale.device ? found : found.to({ device, copy: true });
        const invHere = device === scale.device ? invScale : invScale.to({ device });
        for (const grads of byDtype.values()) aten._amp_foreach_non_finite_check_and_unscale_(grads, foundHere, invHere);
        perDevice.set(device, foundHere);
      }
      for (const t of perDevice.values()) t.keep(); // only once every kernel has run: a failure frees them all
      return perDevice;
    }));
    state.foundInf = foundInf;
    state.stage = 'unscaled';
  }

  /**
   * Unscales the gradients (unless unscale_() already did), then calls optimizer.step() unless a gradient
   * is inf/NaN. Returns whether the optimizer stepped. Once per optimizer between update()s. Disabled:
   * calls optimizer.step() and returns true.
   */
  step(optimizer: ScalableOptimizer): boolean {
    checkOptimizer(optimizer, 'GradScaler.step');
    if (arguments.length > 1) {
      throw new TorchError('GradScaler.step(optimizer) takes only the optimizer (closures are not supported with gradient scaling)');
    }
    if (!this.enabled) { optimizer.step(); return true; }
    this.requireScale('step');
    const state = this.stateOf(optimizer);
    if (state.stage === 'stepped') throw new TorchError('GradScaler.step() has already been called since the last update().');
    if (state.stage === 'ready') this.unscale_(optimizer);
    if (state.foundInf.size === 0) {
      throw new TorchError('GradScaler.step: no inf checks were recorded for this optimizer (none of its parameters has a gradient)');
    }
    let found = 0;
    for (const t of state.foundInf.values()) found += t.item();
    const stepped = found === 0;
    if (stepped) optimizer.step();
    state.stage = 'stepped';
    return stepped;
  }

  /**
   * Updates the scale for the next iteration: times backoffFactor when any optimizer saw an inf/NaN
   * gradient since the last update (the growth tracker restarts), else the tracker counts one more clean
   * step and at growthInterval the scale grows by growthFactor. `newScale` (a number, or a 1-element tensor
   * on the scaler's device type without requiresGrad) sets the scale instead. Disabled: does nothing.
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    const scale = this.requireScale('update');
    const tracker = this.growthTrackerT!;
    if (newScale !== undefined) {
      if (typeof newScale === 'number') {
        checkScale('GradScaler.update newScale', newScale);
        noGrad(() => scale.fill_(newScale));
      } else if (newScale instanceof Tensor) {
        if (newScale.isDisposed) throw new TorchError('GradScaler.update newScale is a disposed Tensor');
        if (deviceType(newScale.device) !== this.device || newScale.numel() !== 1 || newScale.requiresGrad) {
          throw new TorchError(`invalid GradScaler.update newScale: expected a number or a 1-element ${this.device} Tensor with requiresGrad false, `
            + `got a Tensor of shape [${newScale.shape.join(', ')}] on ${newScale.device}${newScale.requiresGrad ? ' that requires grad' : ''}`);
        }
        noGrad(() => scale.copy_(newScale.reshape([])));
      } else {
        throw invalidArg('GradScaler.update newScale', 'a number or a 1-element Tensor', newScale);
      }
    } else {
      const found = [...this.perOptimizer.values()].flatMap((s) => [...s.foundInf.values()]);
      if (found.length === 0) {
        throw new TorchError('GradScaler.update: no inf checks were recorded prior to update() (call step(optimizer) first)');
      }
      scope(() => noGrad(() => {
        let combined = found[0]!.to({ device: scale.device, copy: true });
        for (const f of found.slice(1)) combined = combined.add(f.to({ device: scale.device }));
        aten._amp_update_scale_(scale, tracker, combined, this.growthFactor, this.backoffFactor, this.growthInterval);
      }));
    }
    this.resetOptimizerStates();
  }

  /** The current scale as a number: initScale before the first scale(), 1 when disabled. Synchronizes. */
  getScale(): number {
    if (!this.enabled) return 1.0;
    return this.scaleT === null ? this.initScale : this.scaleT.item();
  }

  getGrowthFactor(): number { return this.growthFactor; }
  setGrowthFactor(v: number): void { this.growthFactor = checkGrowthFactor('GradScaler growthFactor', v); }
  getBackoffFactor(): number { return this.backoffFactor; }
  setBackoffFactor(v: number): void { this.backoffFactor = checkBackoffFactor('GradScaler backoffFactor', v); }
  getGrowthInterval(): number { return this.growthInterval; }
  setGrowthInterval(v: number): void { this.growthInterval = checkInterval('GradScaler growthInterval', v); }
  /** Clean steps in a row since the last growth or backoff (PyTorch's _get_growth_tracker). */
  getGrowthTracker(): number {
    if (!this.enabled) return 0;
    return this.growthTrackerT === null ? this.initGrowthTracker : this.growthTrackerT.item();
  }

  /** The scaler's state with PyTorch's keys (plain numbers); {} when disabled, as in PyTorch. */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.getGrowthTracker(),
    };
  }

  /**
   * Loads a state from stateDict() (or PyTorch's state_dict()); 'scale' and '_growth_tracker' may also be
   * 1-element tensors. Everything is checked before anything changes. Disabled: does nothing.
   */
  loadStateDict(sd: { [K in keyof GradScalerStateDict]: number | Tensor } | Record<string, never>): void {
    if (!this.enabled) return;
    const where = 'GradScaler.loadStateDict';
    if (!isPlainObject(sd)) throw invalidArg(`${where}: state dict`, 'an object as returned by stateDict()', sd);
    const raw = sd as Record<string, unknown>;
    if (Object.keys(raw).length === 0) {
      throw new TorchError(`${where}: the state dict is empty, possibly because it was saved from a disabled GradScaler`);
    }
    for (const k of Object.keys(raw)) {
      if (!(STATE_KEYS as readonly string[]).includes(k)) throw new TorchError(`${where}: unknown key '${k}' (valid: ${STATE_KEYS.join(', ')})`);
    }
    for (const k of STATE_KEYS) if (!(k in raw)) throw new TorchError(`${where}: the state dict has no '${k}'`);
    const num = (k: string): unknown => {
      const v = raw[k];
      if (!(v instanceof Tensor)) return v;
      if (v.isDisposed) throw new TorchError(`${where}: '${k}' is a disposed Tensor`);
      if (v.numel() !== 1) throw new TorchError(`invalid ${where}: '${k}': expected a number or a 1-element Tensor, got a Tensor of shape [${v.shape.join(', ')}]`);
      return v.item();
    };
    const scale = checkScale(`${where}: 'scale'`, num('scale'));
    const growthFactor = checkGrowthFactor(`${where}: 'growth_factor'`, raw.growth_factor);
    const backoffFactor = checkBackoffFactor(`${where}: 'backoff_factor'`, raw.backoff_factor);
    const growthInterval = checkInterval(`${where}: 'growth_interval'`, raw.growth_interval);
    const tracker = checkTracker(`${where}: '_growth_tracker'`, num('_growth_tracker'));
    this.initScale = scale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    this.initGrowthTracker = tracker;
    noGrad(() => {
      this.scaleT?.fill_(scale);
      this.growthTrackerT?.fill_(tracker);
    });
  }

  // PyTorch creates the scale and tracker on the device of the first tensor it scales.
  private lazyInit(device: string): void {
    if (this.scaleT !== null) return;
    this.scaleT = full([], this.initScale, { dtype: 'float32', device }).keep();
    this.growthTrackerT = full([], this.initGrowthTracker, { dtype: 'int32', device }).keep();
  }

  private requireScale(method: string): Tensor {
    if (this.scaleT === null) {
      throw new TorchError(`GradScaler.${method}: the scale is not initialized yet. `
        + 'This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration.');
    }
    return this.scaleT;
  }

  private stateOf(optimizer: ScalableOptimizer): OptimizerState {
    let s = this.perOptimizer.get(optimizer);
    if (s === undefined) { s = { stage: 'ready', foundInf: new Map() }; this.perOptimizer.set(optimizer, s); }
    return s;
  }

  private resetOptimizerStates(): void {
    for (const s of this.perOptimizer.values()) for (const t of s.foundInf.values()) t.dispose();
    this.perOptimizer = new Map();
  }
}

function checkOptimizer(o: unknown, where: string): asserts o is ScalableOptimizer {
  const ok = o !== null && typeof o === 'object' && Array.isArray((o as ScalableOptimizer).paramGroups)
    && typeof (o as ScalableOptimizer).step === 'function';
  if (!ok) throw invalidArg(`${where} optimizer`, 'an optimizer (an object with paramGroups and step())', o);
}
