// Containers: ModuleList (an indexable list of children named '0', '1', ...) and Sequential
// (children applied in order). Children are registered explicitly, so their PyTorch names
// ('blocks.0.conv.weight') are positions, exactly as in torch.nn.
import { Tensor } from '../tensor.js';
import { TorchError, invalidArg } from '../errors.js';
import { Module } from './module.js';

/** Anything with a one-tensor forward, which is what Sequential chains. */
type Forwardable = { forward(x: Tensor): Tensor };

/** Holds submodules in a list; registers them under their indices. Has no forward of its own. */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number { return this.#items.length; }

  /** The module at index i (negative counts from the end). */
  get(i: number): M {
    return this.#items[this.#index(i)]!;
  }
  /** Replaces the module at index i. */
  set(i: number, module: M): void {
    const k = this.#index(i);
    this.#items[k] = module;
    this.registerModule(String(k), module);
  }
  append(module: M): this {
    if (!(module instanceof Module)) throw invalidArg('ModuleList.append(module)', 'an nn.Module', module);
    this.registerModule(String(this.#items.length), module);
    this.#items.push(module);
    return this;
  }
  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  /** Inserts before index i and renumbers the following modules, as PyTorch does. */
  insert(i: number, module: M): this {
    const n = this.#items.length;
    const k = i < 0 ? Math.max(0, n + i) : Math.min(i, n);
    this.#items.splice(k, 0, module);
    for (let j = k; j < this.#items.length; j++) this.registerModule(String(j), this.#items[j]!);
    return this;
  }
  [Symbol.iterator](): Iterator<M> { return this.#items[Symbol.iterator](); }

  forward(): never {
    throw new TorchError('ModuleList has no forward: iterate over it and call each module');
  }

  #index(i: number): number {
    const n = this.#items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new TorchError(`ModuleList index ${i} out of range (length ${n})`);
    return i < 0 ? n + i : i;
  }
}

/**
 * Applies its children in order: `new Sequential(a, b, c)` names them '0', '1', '2';
 * `new Sequential({ conv: a, act: b })` uses the given names (PyTorch's OrderedDict form).
 */
export class Sequential extends Module implements Iterable<Module> {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module) && first !== null && typeof first === 'object') {
      for (const [name, m] of Object.entries(first as Record<string, Module>)) this.#add(name, m);
    } else {
      (modules as Module[]).forEach((m, i) => this.#add(String(i), m));
    }
  }

  #add(name: string, m: Module): void {
    if (!(m instanceof Module)) throw invalidArg(`Sequential module '${name}'`, 'an nn.Module', m);
    this.registerModule(name, m);
  }

  get length(): number { return this.children().length; }
  /** The child at position i (negative counts from the end). */
  get(i: number): Module {
    const cs = this.children();
    const k = i < 0 ? cs.length + i : i;
    if (!Number.isInteger(k) || k < 0 || k >= cs.length) throw new TorchError(`Sequential index ${i} out of range (length ${cs.length})`);
    return cs[k]!;
  }
  append(module: Module): this {
    this.#add(String(this.children().length), module);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> { return this.children()[Symbol.iterator](); }

  forward(x: Tensor): Tensor {
    for (const m of this.children()) x = (m as unknown as Forwardable).forward(x);
    return x;
  }
}
