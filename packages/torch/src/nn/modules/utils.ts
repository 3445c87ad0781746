// Shared helpers of the layer modules: PyTorch's _ntuple and the factory options every layer takes.
import type { DType, Device } from '../../dtype.js';
import { invalidArg } from '../../errors.js';

/** dtype/device of the parameters a layer creates (PyTorch's factory_kwargs). */
export interface FactoryKwargs {
  dtype?: DType;
  device?: Device;
}

/** An int repeated n times, or an array of n ints (PyTorch's _single/_pair/_triple). */
export function ntuple(v: number | number[], n: number, what: string): number[] {
  const a = typeof v === 'number' ? new Array<number>(n).fill(v) : v;
  if (!Array.isArray(a) || a.length !== n || !a.every(Number.isInteger)) {
    throw invalidArg(what, `an integer or ${n} integers`, v);
  }
  return [...a];
}

/** Python's repr of a tuple of ints, for extraRepr: (3, 3) or (3,). */
export function tupleRepr(a: number[]): string {
  return a.length === 1 ? `(${a[0]},)` : `(${a.join(', ')})`;
}

export function pyBool(b: boolean): string { return b ? 'True' : 'False'; }

/** Python's repr of a float, for extraRepr: 1e-05, 0.5, 0.0. */
export function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) return v.toExponential().replace(/e([+-])(\d)$/, (_m, sign: string, d: string) => `e${sign}0${d}`);
  return String(v);
}
