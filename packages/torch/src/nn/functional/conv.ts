// N-d convolutions with PyTorch's argument forms: ints or per-dimension arrays, and padding
// 'same' / 'valid' (mapped to ATen's string-padding overloads, which pad asymmetrically when needed).
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export type ConvPadding = number | number[] | 'same' | 'valid';
export interface ConvOptions {
  stride?: number | number[];
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
}

type AtenConv = typeof aten.conv2d; // conv1d/2d/3d wrappers share one TypeScript signature

function convNd(name: string, op: AtenConv, x: Tensor, weight: Tensor, bias: Tensor | null, o: ConvOptions): Tensor {
  const stride = o.stride ?? 1;
  const dilation = o.dilation ?? 1;
  const groups = o.groups ?? 1;
  const padding = o.padding ?? 0;
  if (typeof padding === 'string') {
    if (padding !== 'same' && padding !== 'valid') throw invalidArg(`${name} padding`, "a number, an array, 'same' or 'valid'", padding);
    return op.padding(x, weight, bias, stride, padding, dilation, groups);
  }
  return op.default(x, weight, bias, stride, padding, dilation, groups);
}

export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvOptions = {}): Tensor {
  return convNd('conv1d', aten.conv1d, x, weight, bias, options);
}
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvOptions = {}): Tensor {
  return convNd('conv2d', aten.conv2d, x, weight, bias, options);
}
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvOptions = {}): Tensor {
  return convNd('conv3d', aten.conv3d, x, weight, bias, options);
}
