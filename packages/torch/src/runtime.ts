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
/** The keyword object of a call that passed none (generated code skips R.kw then). */
export const NO_KW: Record<string, any> = EMPTY;

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
type Pred = (v: unknown) => boolean;
const isDtype = (v: unknown) => typeof v === 'string' && (DTYPES as readonly string[]).includes(v);
const PREDICATES: Record<string, Pred> = {
  'Tensor': (v) => v instanceof Tensor,
  'Tensor[]': (v) => Array.isArray(v) && v.every((e) => e instanceof Tensor),
  '(Tensor|null)[]': (v) => Array.isArray(v) && v.every((e) => e === null || e === undefined || e instanceof Tensor),
  'int': isInt,
  'int[]': (v) => Array.isArray(v) && v.every(isInt),
  'int[N]': (v) => isInt(v) || (Array.isArray(v) && v.every(isInt)),
  'float': (v) => typeof v === 'number',
  'float[]': (v) => Array.isArray(v) && v.every((e) => typeof e === 'number'),
  'bool': (v) => typeof v === 'boolean',
  'bool[]': (v) => typeof v === 'boolean' || (Array.isArray(v) && v.every((e) => typeof e === 'boolean')),
  'Scalar': (v) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint',
  'Scalar[]': (v) => Array.isArray(v) && v.every((e) => typeof e === 'number'),
  'ScalarType': isDtype,
  'str': (v) => typeof v === 'string',
  'Device': (v) => typeof v === 'string',
  'Layout': (v) => typeof v === 'string',
  'MemoryFormat': (v) => typeof v === 'string',
  'Generator': (v) => v instanceof Generator,
};
/** The predicate for a kind; an optional kind ('T?') also accepts null and undefined. */
function predicate(kind: Kind): Pred {
  if (!kind.endsWith('?')) return PREDICATES[kind] ?? (() => false);
  const base = PREDICATES[kind.slice(0, -1)] ?? (() => false);
  return (v) => v === undefined || v === null || base(v);
}

export interface Overload {
  fn: (...a: any[]) => unknown;
  kinds: readonly Kind[];
  required: number;
  hasKw: boolean;
  schema: string;
  /** keyword-only arguments without a default: the overload applies only when they are given */
  requiredKw?: readonly string[];
  /** @internal compiled from kinds on first use */
  preds?: Pred[];
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function accepts(o: Overload, args: unknown[], lastIsKw: boolean): boolean {
  let n = args.length;
  if (lastIsKw) {
    if (!o.hasKw) return false;
    n--;
    if (o.requiredKw) {
      const kw = args[n] as Record<string, unknown>;
      for (const k of o.requiredKw) if (kw[k] === undefined || kw[k] === null) return false;
    }
  } else if (o.requiredKw) {
    return false;
  }
  while (n > 0 && args[n - 1] === undefined) n--; // trailing undefineds are "not given"
  if (n > o.kinds.length || n < o.required) return false;
  const preds = o.preds ?? (o.preds = o.kinds.map(predicate));
  for (let i = 0; i < n; i++) {
    const v = args[i];
    if (v === undefined ? i < o.required : !preds[i]!(v)) return false;
  }
  return true;
}

/** Picks the first overload whose positional argument kinds match (PyTorch's order). */
export function resolve(name: string, overloads: readonly Overload[], args: unknown[]): Overload {
  const lastIsKw = endsWithKw(args);
  for (const o of overloads) if (accepts(o, args, lastIsKw)) return o;
  const got = args.map((a) => (a instanceof Tensor ? 'Tensor' : describe(a))).join(', ');
  throw new TorchError(
    `${name}: no overload matches (${got}); candidates:\n  ${overloads.map((o) => o.schema).join('\n  ')}`, name);
}

function endsWithKw(args: unknown[]): boolean {
  const last = args[args.length - 1];
  return args.length > 0 && !(last instanceof Tensor) && isPlainObject(last);
}

/**
 * Calls an overload with positional arguments plus an optional trailing keyword object. When fewer
 * positionals than the schema has are given before the keyword object, the missing ones are passed
 * as undefined (schema defaults) so the object lands in the keyword slot: x.mean([1], { dtype }).
 */
export function invoke(o: Overload, args: unknown[]): unknown {
  if (o.hasKw && endsWithKw(args) && args.length - 1 < o.kinds.length) {
    const padded = args.slice(0, -1);
    while (padded.length < o.kinds.length) padded.push(undefined);
    padded.push(args[args.length - 1]);
    return o.fn(...padded);
  }
  return o.fn(...args);
}

/** Thrown by generated wrappers given more arguments than their schema has. */
export function tooMany(op: string, max: number, given: number): never {
  throw new TorchError(`${op}: takes at most ${max} arguments (${given} given)`, op);
}

/** Builds a callable operator packet (PyTorch's OpOverloadPacket) with one property per overload. */
export function packet<T>(name: string, overloads: readonly Overload[], byName: Record<string, unknown>): T {
  const only = overloads.length === 1 ? overloads[0]! : undefined;
  const call = only
    ? (...args: unknown[]) => invoke(only, args)
    : (...args: unknown[]) => invoke(resolve(name, overloads, args), args);
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
