// Deterministic release of native memory (tfjs `tidy` semantics): every tensor created inside
// `scope(fn)` is disposed when fn returns, except tensors reachable from the returned value and
// tensors marked with `keep()`. Survivors move to the enclosing scope, so scopes nest.
//
// The garbage collector is only the safety net: a tensor that lives outside every scope is
// given a native finaliser (run inside the collection) that frees its native memory if it is collected without
// dispose(). Registration costs about as much as a small operator, so tensors created inside a scope
// are registered only if they outlive the outermost scope (or are kept).
import type { Tensor } from './tensor.js';
import { native } from './native.js';
import { TorchError } from './errors.js';

const stack: Tensor[][] = [];

/**
 * Lets the garbage collector free the tensor's native memory if it is dropped without dispose().
 * The native finaliser runs inside the collection itself (not later on the event loop, as a
 * FinalizationRegistry callback would), so synchronous loops are covered too. A stale id (the
 * tensor was disposed first) is ignored: ids carry a generation.
 */
export function registerFinalizer(t: Tensor): void {
  if (t.finalizable || t.isDisposed) return;
  t.finalizable = true;
  native.attachFinalizer(t, t._h);
}

/** Registers a newly created tensor with the innermost open scope, or with the GC safety net. */
export function track(t: Tensor): void {
  const top = stack[stack.length - 1];
  if (top !== undefined) top.push(t);
  else registerFinalizer(t);
}

/** Runs `fn` and frees every tensor it created that is not part of its result (or kept). */
export function scope<T>(fn: () => T): T {
  const created: Tensor[] = [];
  stack.push(created);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new TorchError('torch.scope(fn): fn must be synchronous (an async function would let other work share the scope)');
    }
  } catch (e) {
    stack.pop();
    for (const t of created) if (!t.kept) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Tensor>();
  collect(result, survivors, 0);
  const parent = stack[stack.length - 1];
  const doomed = new Float64Array(created.length);
  let n = 0;
  for (const t of created) {
    if (t.kept) continue;
    if (survivors.has(t)) {
      if (parent !== undefined) parent.push(t);
      else registerFinalizer(t);
    } else {
      doomed[n++] = t._h;
    }
  }
  native.disposeMany(doomed.subarray(0, n)); // one native call for the whole scope
  return result;
}

/** Alias of `scope` for users coming from TensorFlow.js. */
export const tidy = scope;

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8) return;
  if (isTensor(v)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const e of v) collect(e, out, depth + 1);
  } else if (v instanceof Map) {
    for (const e of v.values()) collect(e, out, depth + 1);
  } else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const e of Object.values(v)) collect(e, out, depth + 1);
  }
}

let tensorClass: (abstract new (...a: never[]) => Tensor) | undefined;
export function registerTensorClass(cls: abstract new (...a: never[]) => Tensor): void {
  tensorClass = cls;
}
function isTensor(v: unknown): v is Tensor {
  return tensorClass !== undefined && v instanceof tensorClass;
}

/** Number of scopes currently open (for diagnostics and tests). */
export function scopeDepth(): number {
  return stack.length;
}
