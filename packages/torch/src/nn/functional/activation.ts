// Activations and (log-)softmax: thin names over the ATen kernels PyTorch's functional API calls.
import type { Tensor } from '../../tensor.js';
import type { DType } from '../../dtype.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export type GeluApproximate = 'none' | 'tanh';

export function relu(x: Tensor): Tensor { return aten.relu(x); }
/** x·sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor { return aten.silu(x); }
/** Gaussian error linear unit; approximate 'tanh' uses the tanh formula of Hendrycks & Gimpel. */
export function gelu(x: Tensor, options: { approximate?: GeluApproximate } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw invalidArg('gelu approximate', "'none' or 'tanh'", approximate);
  return aten.gelu(x, { approximate });
}
export function sigmoid(x: Tensor): Tensor { return aten.sigmoid(x); }
export function tanh(x: Tensor): Tensor { return aten.tanh(x); }
/** Softmax over `dim`; `dtype` casts the input first (useful for float16 inputs). */
export function softmax(x: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return aten.softmax.int(x, dim, options.dtype ?? null);
}
export function logSoftmax(x: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return aten.log_softmax.int(x, dim, options.dtype ?? null);
}
