// Helpers used by the generated operator wrappers (src/generated/ops.ts): lazy operator lookup,
// argument unwrapping, result wrapping, keyword arguments and overload resolution.
import { native, type Handle } from './native.js';
import { Tensor } from './tensor.js';
import { Generator } from './random.js';
import { TorchError, describe } from './errors.js';
import { DTYPES, dtypeFromScalarType, type DType } from './dtype.js';

export { native };

/** A lazily resolved reference to one operator overload. */
export interface OpRef {
  readonly name: string;
  readonly overload: string;
  id: number;
}
export function op(name: string, overload: string): OpRef {
  return { name, overload, id: -1 };
}
export function id(o: OpRef): number {
  return o.id >= 0 ? o.id : (o.id = native.lookupOp(o.name, o.overload));
}

// Argument unwrapping with precise errors (the native side only ever sees ids of real tensors).
function notA(what: string, x: unknown, op: string, arg: string): never {
  throw new TorchError(`${op}: argument '${arg}' must be ${what}, got ${describe(x)}`, op);
}
/** A required Tensor argument. */
export function t(x: unknown, op: string, arg: string): Handle {
  if (x instanceof Tensor) return x._h;
  return notA('a Tensor', x, op, arg);
}
/** An optional Tensor argument. */
export function to(x: unknown, op: string, arg: string): Handle | undefined | null {
  if (x instanceof Tensor) return x._h;
  if (x === undefined || x === null) return x;
  return notA('a Tensor or null', x, op, arg);
}
/** A Tensor[] or (Tensor | null)[] argument. */
export function tl(x: unknown, op: string, arg: string, nullable: boolean): (Handle | null)[] {
  if (!Array.isArray(x)) return notA('an array of Tensors', x, op, arg);
  return x.map((e) => {
    if (e instanceof Tensor) return e._h;
    if (nullable && (e === null || e === undefined)) return null;
    return notA(nullable ? 'an array of Tensors or nulls' : 'an array of Tensors', x, op, arg);
  });
}
/** An optional Generator argument. */
export function g(x: unknown, op: string, arg: string): unknown {
  if (x instanceof Generator) return x._g;
  if (x === undefined || x === null) return x;
  return notA('a torch.Generator', x, op, arg);
}

/** Wraps one returned handle. */
export function w(h: unknown): Tensor {
  return new Tensor(h as Handle);
}
/** Wraps every handle in a returned list. */
export function wl(hs: unknown): Tensor[] {
  return (hs as Handle[]).map((h) => new Tensor(h));
}
export function st(n: unknown): DType {
  return dtypeFromScalarType(n as number);
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** Validates a keyword-argument object against the names the schema accepts. */
export function kw(opName: string, opts: unknown, names: readonly string[]): Record<string, unknown> {
  if (opts === undefined || opts === null) return EMPTY;
  if (typeof opts !== 'object' || Object.getPrototypeOf(opts) !== Object.prototype) {
    throw new TorchError(`${opName}: keyword arguments must be a plain object, got ${describe(opts)}`, opName);
  }
  for (const k of Object.keys(opts)) {
    if (!names.includes(k)) {
      throw new TorchError(
        `${opName}: unknown keyword argument '${k}' (valid: ${names.length ? names.join(', ') : 'none'})`, opName);
    }
  }
  return opts as Record<string, unknown>;
}

// ---- overload resolution (for packets such as aten.add, which may mean add.Tensor or add.Scalar) ----

/** Argument kinds as written by the generator (one per positional argument). */
export type Kind = string;

function isInt(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}
function matches(kind: Kind, v: unknown): boolean {
  const optional = kind.endsWith('?');
  if (v === undefined || v === null) return optional;
  const k = optional ? kind.slice(0, -1) : kind;
  switch (k) {
    case 'Tensor': return v instanceof Tensor;
    case 'Tensor[]': return Array.isArray(v) && v.every((e) => e instanceof Tensor);
    case '(Tensor|null)[]': return Array.isArray(v) && v.every((e) => e === null || e === undefined || e instanceof Tensor);
    case 'int': return isInt(v);
    case 'int[]': return Array.isArray(v) && v.every(isInt);
    case 'int[N]': return isInt(v) || (Array.isArray(v) && v.every(isInt));
    case 'float': return typeof v === 'number';
    case 'float[]': return Array.isArray(v) && v.every((e) => typeof e === 'number');
    case 'bool': return typeof v === 'boolean';
    case 'bool[]': return typeof v === 'boolean' || (Array.isArray(v) && v.every((e) => typeof e === 'boolean'));
    case 'Scalar': return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
    case 'Scalar[]': return Array.isArray(v) && v.every((e) => typeof e === 'number');
    case 'ScalarType': return typeof v === 'string' && (DTYPES as readonly string[]).includes(v);
    case 'str': case 'Device': case 'Layout': case 'MemoryFormat': return typeof v === 'string';
    case 'Generator': return v instanceof Generator;
    default: return false;
  }
}

export interface Overload {
  fn: (...a: any[]) => unknown;
  kinds: readonly Kind[];
  required: number;
  hasKw: boolean;
  schema: string;
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** Picks the first overload whose positional argument kinds match (PyTorch's order). */
export function resolve(name: string, overloads: readonly Overload[], args: unknown[]): Overload {
  const lastIsKw = args.length > 0 && isPlainObject(args[args.length - 1]);
  outer: for (const o of overloads) {
    let n = args.length;
    if (lastIsKw && o.hasKw) n--;
    // trailing undefineds are "not given"
    while (n > 0 && args[n - 1] === undefined) n--;
    if (n > o.kinds.length) continue;
    for (let i = 0; i < n; i++) if (!matches(o.kinds[i]!, args[i]) && !(args[i] === undefined && i >= o.required)) continue outer;
    if (n < o.required) continue;
    return o;
  }
  const got = args.map((a) => (a instanceof Tensor ? 'Tensor' : describe(a))).join(', ');
  throw new TorchError(
    `${name}: no overload matches (${got}); candidates:\n  ${overloads.map((o) => o.schema).join('\n  ')}`, name);
}

/** Builds a callable operator packet (PyTorch's OpOverloadPacket) with one property per overload. */
export function packet<T>(name: string, overloads: readonly Overload[], byName: Record<string, unknown>): T {
  const only = overloads.length === 1 ? overloads[0]! : undefined;
  const call = only
    ? (...args: unknown[]) => only.fn(...args)
    : (...args: unknown[]) => resolve(name, overloads, args).fn(...args);
  Object.defineProperty(call, 'name', { value: name.replace('aten::', '') });
  Object.assign(call, byName);
  Object.defineProperty(call, 'overloads', { value: overloads, enumerable: false });
  return call as T;
}

/** Installs a generated Tensor method unless a hand-written one exists. */
export function method(cls: { prototype: object }, name: string, fn: (...a: any[]) => unknown): void {
  if (Object.prototype.hasOwnProperty.call(cls.prototype, name)) return;
  Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
}
