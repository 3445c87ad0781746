// Average pooling; stride defaults to the kernel size. Takes PyTorch's positional form
// `avgPool2d(x, 3, 1, 1)` as well as an options object `avgPool2d(x, 3, { stride: 1, padding: 1 })`.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';

export interface AvgPoolOptions {
  stride?: number | number[] | null;
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

type IntOrInts = number | number[];

function options(strideOrOptions: IntOrInts | AvgPoolOptions | null | undefined, rest: [IntOrInts?, boolean?, boolean?, (number | null)?]): AvgPoolOptions {
  if (strideOrOptions !== null && typeof strideOrOptions === 'object' && !Array.isArray(strideOrOptions)) return strideOrOptions;
  const [padding, ceilMode, countIncludePad, divisorOverride] = rest;
  return { stride: strideOrOptions, padding, ceilMode, countIncludePad, divisorOverride };
}

export function avgPool2d(
  x: Tensor, kernelSize: IntOrInts, strideOrOptions?: IntOrInts | AvgPoolOptions | null,
  padding?: IntOrInts, ceilMode?: boolean, countIncludePad?: boolean, divisorOverride?: number | null,
): Tensor {
  const o = options(strideOrOptions, [padding, ceilMode, countIncludePad, divisorOverride]);
  return aten.avg_pool2d(x, kernelSize, o.stride ?? [], o.padding ?? 0, o.ceilMode ?? false, o.countIncludePad ?? true, o.divisorOverride ?? null);
}
export function avgPool3d(
  x: Tensor, kernelSize: IntOrInts, strideOrOptions?: IntOrInts | AvgPoolOptions | null,
  padding?: IntOrInts, ceilMode?: boolean, countIncludePad?: boolean, divisorOverride?: number | null,
): Tensor {
  const o = options(strideOrOptions, [padding, ceilMode, countIncludePad, divisorOverride]);
  return aten.avg_pool3d(x, kernelSize, o.stride ?? [], o.padding ?? 0, o.ceilMode ?? false, o.countIncludePad ?? true, o.divisorOverride ?? null);
}
