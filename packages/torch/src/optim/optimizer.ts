// The Optimizer base class, shaped like PyTorch's torch/optim/optimizer.py: parameter groups that
// carry their own hyper-parameters, per-parameter state, and a state dict that names parameters by
// POSITION (0, 1, ... across groups in order) so it loads into a fresh optimizer over the same model.
import { Tensor } from '../tensor.js';
import { TorchError, invalidArg, describe } from '../errors.js';
import { noGrad, enableGrad } from '../autograd.js';
import { scope } from '../scope.js';

/** One entry of an optimizer's per-parameter state (PyTorch's snake_case keys, e.g. exp_avg, step). */
export type StateValue = Tensor | number | null;
export type ParamState = Record<string, StateValue | undefined>;

/** A parameter group: the parameters plus every hyper-parameter (defaults filled in). */
export type ParamGroup<O> = O & {
  params: Tensor[];
  /** Set by an LR scheduler (PyTorch's group['initial_lr']). */
  initialLr?: number;
};

/** What a caller passes for one group: parameters and any hyper-parameters that differ from the defaults. */
export type ParamGroupInput<O> = Partial<O> & { params: Iterable<Tensor> | Tensor; [extra: string]: unknown };

/** Parameters (e.g. `module.parameters()`) or a list of parameter groups. */
export type Params<O> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/**
 * PyTorch's optimizer state-dict layout, with its snake_case keys, so it maps 1:1 to
 * `optimizer.state_dict()`: `{ state: { 0: { step, exp_avg, ... } }, param_groups: [{ lr, ..., params: [0, 1] }] }`.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<{ params: number[]; [key: string]: unknown }>;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** weightDecay -> weight_decay (group keys inside a state dict use PyTorch's names). */
export function toSnake(k: string): string { return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`); }
/** weight_decay -> weightDecay. */
export function toCamel(k: string): string { return k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()); }

/** Throws unless v is a finite number within [min, max) (or [min, max] when maxInclusive). */
export function checkRange(name: string, v: unknown, min: number, max = Infinity, maxInclusive = false): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (maxInclusive ? v <= max : v < max);
  if (!ok) {
    const upper = max === Infinity ? '' : maxInclusive ? ` and <= ${max}` : ` and < ${max}`;
    throw invalidArg(name, `a finite number >= ${min}${upper}`, v);
  }
  return v as number;
}

/** Rejects misspelt option names (e.g. weight_decay instead of weightDecay), which would otherwise be ignored. */
export function checkOptionNames(what: string, opts: object, valid: readonly string[]): void {
  if (!isPlainObject(opts)) throw invalidArg(`${what} options`, 'a plain object', opts);
  for (const k of Object.keys(opts)) {
    if (!valid.includes(k)) throw new TorchError(`${what}: unknown option '${k}' (valid: ${valid.join(', ')})`);
  }
}

const copyValue = (v: unknown): unknown => (Array.isArray(v) ? [...v] : v);

export abstract class Optimizer<O extends { lr: number }, S extends ParamState = ParamState> {
  readonly defaults: O;
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, keyed by the parameter Tensor object (PyTorch's optimizer.state[p]). */
  state = new Map<Tensor, S>();

  constructor(params: Params<O>, defaults: O) {
    this.validateGroup(defaults);
    this.defaults = defaults;
    if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      // PyTorch: "params argument given to the optimizer should be an iterable of Tensors or dicts"
      throw invalidArg('params', 'an iterable of Tensors or of parameter groups { params, ...options }', params);
    }
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) throw new TorchError('optimizer got an empty parameter list');
    const groups = list.every((x) => x instanceof Tensor) ? [{ params: list as Tensor[] }] : list;
    for (const g of groups) this.addParamGroup(g as ParamGroupInput<O>);
  }

  /** Throws a clear error when a group's hyper-parameters are invalid (PyTorch's ValueError checks). */
  protected abstract validateGroup(group: O): void;
  /** Applies one update to every parameter of the group that has a gradient (grad mode is off). */
  protected abstract updateGroup(group: ParamGroup<O>): void;
  /** Throws unless a loaded per-parameter state has every entry this optimizer's update needs. */
  protected abstract validateState(state: ParamState, group: ParamGroup<O>, param: Tensor): void;

  /** Adds a group of parameters, e.g. with its own learning rate (PyTorch's add_param_group). */
  addParamGroup(group: ParamGroupInput<O>): void {
    if (!isPlainObject(group)) throw invalidArg('parameter group', 'an object { params, ...options }', group);
    const raw = group.params;
    if (raw === undefined || raw === null || !(raw instanceof Tensor || Symbol.iterator in Object(raw))) {
      throw invalidArg('parameter group params', 'a Tensor or an iterable of Tensors', raw);
    }
    const params = raw instanceof Tensor ? [raw] : Array.from(raw);
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    const mine = new Set<Tensor>();
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw invalidArg(`params[${i}]`, 'a Tensor', p);
      if (p.isDisposed) throw new TorchError(`params[${i}] is a disposed Tensor`);
      if (!p.isLeaf) throw new TorchError(`params[${i}]: can't optimize a non-leaf Tensor (use a parameter, not the result of an operation)`);
      if (mine.has(p)) throw new TorchError(`params[${i}] appears twice in the same parameter group`);
      if (seen.has(p)) throw new TorchError(`params[${i}] appears in more than one parameter group`);
      mine.add(p);
    });
    const full: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.defaults)) full[k] = copyValue(v);
    for (const [k, v] of Object.entries(group)) if (k !== 'params' && v !== undefined) full[k] = copyValue(v);
    this.validateGroup(full as unknown as O);
    full.params = params;
    this.paramGroups.push(full as ParamGroup<O>);
  }

  /**
   * Clears the gradients of every parameter. With setToNone (the default, as in PyTorch 2.x) `.grad`
   * becomes null; otherwise it is detached and zeroed in place (PyTorch's zero_grad(set_to_none=False)).
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (setToNone) { p.grad = null; continue; }
        const grad = p.grad;
        if (grad === null) continue;
        if (grad.hasGradFn) grad.detach_(); else grad.requiresGrad_(false);
        grad.zero_();
        grad.dispose(); // only this handle: the parameter still owns its (now zero) gradient
      }
    }
  }

  /**
   * One optimization step. Parameters are updated in place (they keep their identity); every
   * temporary is freed on return. `closure` re-evaluates the model with grad enabled and returns the loss.
   */
  step<L extends Tensor | number>(closure?: () => L): L | undefined {
    const loss = closure === undefined ? undefined : enableGrad(closure);
    scope(() => noGrad(() => { for (const g of this.paramGroups) this.updateGroup(g); }));
    return loss;
  }

  /**
   * The optimizer's state in PyTorch's layout. As in PyTorch the state tensors are the optimizer's own
   * (not copies): serialize them before the next step(), or clone them.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[toSnake(k)] = copyValue(v);
      packed.params = g.params.map((p) => { const i = index.size; index.set(p, i); return i; });
      return packed as { params: number[] };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, param_groups };
  }

  /**
   * Loads a state dict from stateDict() (or converted from PyTorch's). Parameters are matched by position;
   * the group and parameter counts must agree. Hyper-parameters come from the state dict, as in PyTorch.
   * State tensors are copied (cast to the parameter's dtype and device). On error nothing changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = 'loadStateDict';
    if (!isPlainObject(sd) || !isPlainObject(sd.state) || !Array.isArray(sd.param_groups)) {
      throw invalidArg(`${where}: state dict`, 'an object { state, param_groups } as returned by stateDict()', sd);
    }
    const saved = sd.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new TorchError(`${where}: the state dict has ${saved.length} parameter group(s) but the optimizer has ${this.paramGroups.length}`);
    }
    const byPosition = new Map<number, { param: Tensor; group: number }>();
    const groups = saved.map((sg, gi) => {
      const cur = this.paramGroups[gi]!;
      if (!isPlainObject(sg) || !Array.isArray(sg.params)) throw invalidArg(`${where}: param_groups[${gi}]`, 'an object with a params array', sg);
      if (sg.params.length !== cur.params.length) {
        throw new TorchError(`${where}: parameter group ${gi} has ${sg.params.length} parameter(s) in the state dict but ${cur.params.length} in the optimizer`);
      }
      sg.params.forEach((pos, j) => {
        if (!Number.isInteger(pos) || pos < 0 || byPosition.has(pos)) {
          throw invalidArg(`${where}: param_groups[${gi}].params[${j}]`, 'a distinct non-negative integer position', pos);
        }
        byPosition.set(pos, { param: cur.params[j]!, group: gi });
      });
      const g: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(this.defaults)) g[k] = copyValue(v);
      for (const [k, v] of Object.entries(sg)) if (k !== 'params') g[toCamel(k)] = copyValue(v);
      try { this.validateGroup(g as unknown as O); } catch (e) {
        throw new TorchError(`${where}: param_groups[${gi}]: ${(e as Error).message}`);
      }
      g.params = cur.params;
      return g as ParamGroup<O>;
    });
    // Tensors are created inside a scope, so a failure part-way frees them; they are kept only at the end.
    const state = scope(() => {
      const out = new Map<Tensor, S>();
      for (const [key, entry] of Object.entries(sd.state)) {
        const target = byPosition.get(Number(key));
        if (target === undefined) throw new TorchError(`${where}: the state dict has state for parameter ${key}, which no parameter group lists`);
        if (!isPlainObject(entry)) throw invalidArg(`${where}: state[${key}]`, 'an object', entry);
        const { param, group } = target;
        const s: ParamState = {};
        for (const [k, v] of Object.entries(entry)) s[k] = this.castStateValue(v, param, `${where}: state[${key}].${k}`, k);
        try { this.validateState(s, groups[group]!, param); } catch (e) {
          throw new TorchError(`${where}: state[${key}]: ${(e as Error).message}`);
        }
        out.set(param, s as S);
      }
      for (const s of out.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.keep();
      return out;
    });
    this.paramGroups = groups;
    this.state = state;
  }

  // PyTorch's load_state_dict `cast`: floating-point state follows the parameter's dtype and device,
  // except 'step'. 'step' is a number here (PyTorch keeps a float32 0-d tensor; both are accepted).
  private castStateValue(v: unknown, param: Tensor, what: string, key: string): StateValue {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return v;
    if (!(v instanceof Tensor)) throw invalidArg(what, 'a Tensor, a number or null', v);
    if (v.isDisposed) throw new TorchError(`${what} is a disposed Tensor`);
    if (key === 'step') return v.item();
    const ps = param.shape, vs = v.shape;
    if (ps.length !== vs.length || ps.some((d, i) => d !== vs[i])) {
      throw new TorchError(`${what} has shape [${vs.join(', ')}] but its parameter has shape [${ps.join(', ')}]`);
    }
    const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(param.dtype);
    return v.to({ dtype: floating ? param.dtype : v.dtype, device: param.device, copy: true });
  }
}

/** Throws unless state[key] is a Tensor (used by validateState implementations). */
export function requireTensor(state: ParamState, key: string): Tensor {
  const v = state[key];
  if (!(v instanceof Tensor)) throw new TorchError(`missing state tensor '${key}' (got ${describe(v)})`);
  return v;
}

/** Throws unless state.step is a non-negative integer count of steps taken. */
export function requireStep(state: ParamState): number {
  const v = state.step;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidArg("state 'step'", 'a non-negative integer', v);
  return v;
}
