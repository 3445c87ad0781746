// nn.Module: the base class of every layer, with PyTorch's registration rules and traversal order.
//
// Registration. As in PyTorch, assigning a Parameter or a Module to a field registers it
// (`this.weight = new Parameter(...)`, `this.conv = new Conv3d(...)`). JavaScript has no
// __setattr__, and subclass fields are only assigned after Module's constructor returns, so the
// own enumerable fields are scanned lazily, whenever the registry is read (namedParameters,
// stateDict, train, ...). Object.keys keeps assignment order, so names come out in declaration
// order, like PyTorch's OrderedDicts. Buffers are never inferred from fields (a plain Tensor field is
// just a tensor, as in PyTorch); they need registerBuffer.
//
// Explicit registration (registerParameter / registerBuffer / registerModule) is for names that are
// not JavaScript field names or that must differ from them, e.g. PyTorch's snake_case
// `in_proj_weight`: it defines a non-enumerable accessor `this[name]`; a class may add a camelCase
// getter over it. A field that holds a Parameter already registered explicitly on the same module
// is an alias, not a second registration.
import { inspect } from 'node:util';
import { Tensor } from '../tensor.js';
import { TorchError, invalidArg } from '../errors.js';
import { noGrad } from '../autograd.js';
import { loadInto, type StateDict, type StateDictOptions, type LoadStateDictOptions, type LoadStateDictResult } from './state-dict.js';
import { convertInPlace, type ModuleToTarget } from './convert.js';
import { Parameter } from './parameter.js';

export type { StateDict, StateDictOptions, LoadStateDictOptions, LoadStateDictResult } from './state-dict.js';
export type { ModuleToTarget } from './convert.js';

interface Registry {
  parameters: Map<string, Parameter | null>;
  buffers: Map<string, Tensor | null>;
  nonPersistent: Set<string>;
  modules: Map<string, Module | null>;
  /** Names that come from fields (re-read on every scan) rather than explicit registration. */
  fromFields: Set<string>;
}

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw invalidArg(`${kind} name`, 'a non-empty string without "."', name);
  }
  return name;
}

function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function shapeStr(s: number[]): string {
  return `[${s.join(', ')}]`;
}

export abstract class Module {
  /** True in training mode (dropout active); set by train()/eval() on the whole tree. */
  training = true;
  readonly #reg: Registry = {
    parameters: new Map(), buffers: new Map(), nonPersistent: new Set(), modules: new Map(), fromFields: new Set(),
  };

  /** The computation; subclasses define it with their own signature. */
  abstract forward(...args: never[]): unknown;

  // ---- registration ----

  /** Registers (or with null, declares) a parameter under `name`, reachable as `this[name]`. */
  registerParameter(name: string, param: Parameter | null): void {
    checkName('parameter', name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new TorchError(`cannot register ${describeValue(param)} as parameter '${name}' of ${this.constructor.name} (nn.Parameter or null required)`);
    }
    const r = this.#own();
    this.#checkFree(name, 'parameters');
    r.parameters.set(name, param);
    this.#defineAccessor(name, () => r.parameters.get(name) ?? null, (v) => this.registerParameter(name, v as Parameter | null));
  }

  /**
   * Registers a buffer: state that is not learned but is saved (unless persistent is false) and
   * converted by to(), e.g. running statistics. The tensor is kept (scopes never free it).
   */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } = {}): void {
    checkName('buffer', name);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TorchError(`cannot register ${describeValue(tensor)} as buffer '${name}' of ${this.constructor.name} (Tensor or null required)`);
    }
    const r = this.#own();
    this.#checkFree(name, 'buffers');
    tensor?.keep();
    r.buffers.set(name, tensor);
    if (options.persistent === false) r.nonPersistent.add(name);
    else r.nonPersistent.delete(name);
    this.#defineAccessor(name, () => r.buffers.get(name) ?? null,
      (v) => this.registerBuffer(name, v as Tensor | null, { persistent: !r.nonPersistent.has(name) }));
  }

  /** Registers a child module under `name` (PyTorch's add_module / register_module). */
  registerModule(name: string, module: Module | null): void {
    checkName('module', name);
    if (module !== null && !(module instanceof Module)) {
      throw new TorchError(`cannot register ${describeValue(module)} as submodule '${name}' of ${this.constructor.name} (nn.Module or null required)`);
    }
    const r = this.#own();
    this.#checkFree(name, 'modules');
    r.modules.set(name, module);
    this.#defineAccessor(name, () => r.modules.get(name) ?? null, (v) => this.registerModule(name, v as Module | null));
  }
  /** Alias of registerModule (PyTorch's add_module). */
  addModule(name: string, module: Module | null): void { this.registerModule(name, module); }

  #checkFree(name: string, kind: 'parameters' | 'buffers' | 'modules'): void {
    const r = this.#reg;
    for (const other of ['parameters', 'buffers', 'modules'] as const) {
      if (other !== kind && r[other].has(name)) {
        throw new TorchError(`cannot register '${name}' on ${this.constructor.name} as one of its ${kind}: it is already one of its ${other}`);
      }
    }
    // An explicit registration replaces a field of the same name (the accessor takes its place).
    r.fromFields.delete(name);
  }

  #defineAccessor(name: string, get: () => unknown, set: (v: unknown) => void): void {
    Object.defineProperty(this, name, { get, set, enumerable: false, configurable: true });
  }

  /** The registry after folding in the current own fields (see the file comment). */
  #own(): Registry {
    const r = this.#reg;
    const self = this as unknown as Record<string, unknown>;
    const explicitParams = new Set<Parameter>();
    for (const [k, p] of r.parameters) if (p !== null && !r.fromFields.has(k)) explicitParams.add(p);
    for (const key of Object.keys(this)) {
      const v = self[key];
      if (v instanceof Parameter) {
        if (r.parameters.get(key) === v || explicitParams.has(v)) continue;
        if (r.fromFields.has(key)) r.modules.delete(key); // the field changed kind
        this.#checkFree(key, 'parameters');
        r.parameters.set(key, v);
        r.fromFields.add(key);
      } else if (v instanceof Module) {
        if (r.modules.get(key) === v) continue;
        if (r.fromFields.has(key)) r.parameters.delete(key); // the field changed kind
        this.#checkFree(key, 'modules');
        r.modules.set(key, v);
        r.fromFields.add(key);
      } else if (r.fromFields.has(key)) {
        if (v instanceof Tensor && r.parameters.has(key)) {
          // PyTorch raises here too: silently dropping the parameter would stop it being trained.
          throw new TorchError(`cannot assign a plain Tensor to parameter '${key}' of ${this.constructor.name}: wrap it in nn.Parameter, or assign null`);
        }
        if (v === null || v === undefined) {
          if (r.parameters.has(key)) r.parameters.set(key, null);
          if (r.modules.has(key)) r.modules.set(key, null);
        } else {
          r.parameters.delete(key);
          r.modules.delete(key);
          r.fromFields.delete(key);
        }
      }
    }
    for (const key of r.fromFields) {
      if (!Object.prototype.hasOwnProperty.call(this, key)) {
        r.parameters.delete(key);
        r.modules.delete(key);
        r.fromFields.delete(key);
      }
    }
    return r;
  }

  /** The parameter registered directly on this module under `name`, or null. */
  getParameter(name: string): Parameter | null { return this.#own().parameters.get(name) ?? null; }
  /** The buffer registered directly on this module under `name`, or null. */
  getBuffer(name: string): Tensor | null { return this.#own().buffers.get(name) ?? null; }
  /** The submodule at a dotted path (`'blocks.0.conv'`); '' is this module. Throws if absent. */
  getSubmodule(target: string): Module {
    let m: Module = this;
    if (target === '') return m;
    for (const part of target.split('.')) {
      const c = m.#own().modules.get(part);
      if (!c) throw new TorchError(`${m.constructor.name} has no submodule '${part}' (looking up '${target}')`);
      m = c;
    }
    return m;
  }

  // ---- traversal (PyTorch's order: pre-order over modules, own entries in registration order) ----

  /** [name, child] for each direct child. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    for (const [n, m] of this.#own().modules) {
      if (m !== null && !seen.has(m)) { seen.add(m); out.push([n, m]); }
    }
    return out;
  }
  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** [dotted name, module] for this module ('' or prefix) and every descendant, each once. */
  namedModules(options: { prefix?: string } = {}): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, prefix: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [n, c] of m.#own().modules) if (c !== null) visit(c, joinName(prefix, n));
    };
    visit(this, options.prefix ?? '');
    return out;
  }
  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /** [dotted name, parameter] pairs, e.g. `blocks.0.conv.weight`; a shared parameter appears once. */
  namedParameters(options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Parameter][] {
    return this.#namedMembers((m) => m.#own().parameters, options) as [string, Parameter][];
  }
  parameters(recurse = true): Parameter[] { return this.namedParameters({ recurse }).map(([, p]) => p); }

  namedBuffers(options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Tensor][] {
    return this.#namedMembers((m) => m.#own().buffers, options);
  }
  buffers(recurse = true): Tensor[] { return this.namedBuffers({ recurse }).map(([, b]) => b); }

  #namedMembers(
    members: (m: Module) => Map<string, Tensor | null>,
    { prefix = '', recurse = true, removeDuplicate = true }: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean },
  ): [string, Tensor][] {
    const mods: [string, Module][] = recurse ? this.namedModules({ prefix }) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [mp, m] of mods) {
      for (const [n, t] of members(m)) {
        if (t === null || (removeDuplicate && seen.has(t))) continue;
        seen.add(t);
        out.push([joinName(mp, n), t]);
      }
    }
    return out;
  }

  // ---- modes ----

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw invalidArg('train(mode)', 'a boolean', mode);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }
  /** Evaluation mode (train(false)): dropout becomes the identity. */
  eval(): this { return this.train(false); }

  /** Sets requiresGrad on every parameter (freezing with false); returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Clears the gradients of every parameter. With setToNone (the default, as in PyTorch 2) the
   * gradients are dropped, which frees memory; otherwise they are zeroed in place.
   */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g === null) continue;
      if (setToNone) p.grad = null;
      else noGrad(() => g.zero_());
      g.dispose(); // only this handle: the gradient itself stays alive where it is still referenced
    }
  }

  /** Calls fn on every descendant (children first) and then on this module; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- state ----

  /** The module's persistent state (parameters and buffers) by dotted name; see StateDict. */
  stateDict(options: StateDictOptions = {}): StateDict {
    const out: StateDict = {};
    this.#saveTo(out, options.prefix ?? '', options.keepVars ?? false);
    return out;
  }

  #saveTo(out: StateDict, prefix: string, keepVars: boolean): void {
    const r = this.#own();
    const put = (name: string, t: Tensor): void => { out[prefix + name] = keepVars ? t : t.detach(); };
    for (const [n, p] of r.parameters) if (p !== null) put(n, p);
    for (const [n, b] of r.buffers) if (b !== null && !r.nonPersistent.has(n)) put(n, b);
    for (const [n, m] of r.modules) if (m !== null) m.#saveTo(out, `${prefix}${n}.`, keepVars);
  }

  /**
   * Copies tensors from a state dict into this module's parameters and buffers, in place and
   * without recording gradients (identities are kept, so optimizers stay valid). Everything is
   * checked before anything is copied: a shape mismatch, a non-tensor value or (when strict) a
   * missing or unexpected key throws a TorchError listing them, and the module is left unchanged.
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    return loadInto(this.constructor.name, this.stateDict({ keepVars: true }), stateDict, options.strict ?? true);
  }

  // ---- conversion ----

  /**
   * Converts parameters and buffers in place: `m.to('float64')`, `m.to('cuda')`,
   * `m.to({ dtype, device })`. As in PyTorch, a dtype applies only to floating-point (and complex)
   * tensors, and each Parameter object stays the same object: its data is replaced (`param.data =`),
   * and its gradient, if any, is converted too.
   */
  to(target: ModuleToTarget): this {
    convertInPlace([...this.parameters(), ...this.buffers()], target);
    return this;
  }
  float(): this { return this.to('float32'); }
  double(): this { return this.to('float64'); }
  half(): this { return this.to('float16'); }
  cpu(): this { return this.to({ device: 'cpu' }); }
  cuda(index = 0): this { return this.to({ device: `cuda:${index}` }); }

  // ---- printing ----

  /** The constructor arguments shown in toString (PyTorch's extra_repr). */
  extraRepr(): string { return ''; }

  /** PyTorch's module repr: `Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n)`. */
  toString(): string {
    const name = this.constructor.name;
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra !== '') lines.push(...extra.split('\n'));
    for (const [n, c] of this.namedChildren()) lines.push(`(${n}): ${String(c).split('\n').join('\n  ')}`);
    if (lines.length === 0) return `${name}()`;
    if (lines.length === 1 && extra !== '') return `${name}(${extra})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }
  [inspect.custom](): string { return this.toString(); }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return `a Tensor of shape ${shapeStr(v.shape)}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}
