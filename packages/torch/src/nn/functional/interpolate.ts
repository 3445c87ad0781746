// F.interpolate with PyTorch's rules: exactly one of size / scaleFactor; a given scale factor is
// passed on to the kernel (which then uses it for the source coordinates) unless
// recomputeScaleFactor asks to derive it from the floored output size instead.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { TorchError, invalidArg } from '../../errors.js';

export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area';
export interface InterpolateOptions {
  size?: number | number[];
  scaleFactor?: number | number[];
  mode?: InterpolateMode;
  /** Linear modes only: align the corner pixels' centres (default false). */
  alignCorners?: boolean;
  recomputeScaleFactor?: boolean;
}

function perDim(v: number | number[], dims: number, what: string): number[] {
  const a = typeof v === 'number' ? new Array<number>(dims).fill(v) : v;
  if (!Array.isArray(a) || a.length !== dims) throw invalidArg(what, `a number or ${dims} numbers`, v);
  return a;
}

export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const mode = options.mode ?? 'nearest';
  const dims = x.ndim - 2;
  if (dims < 1 || dims > 3) throw new TorchError(`interpolate: expected a 3-D, 4-D or 5-D input, got ${x.ndim}-D`);
  if ((options.size === undefined) === (options.scaleFactor === undefined)) {
    throw new TorchError('interpolate: give exactly one of size and scaleFactor');
  }
  let outputSize: number[] | null = options.size === undefined ? null : perDim(options.size, dims, 'interpolate size');
  let scales: number[] | null = options.scaleFactor === undefined ? null : perDim(options.scaleFactor, dims, 'interpolate scaleFactor');
  const linear = mode === 'linear' || mode === 'bilinear' || mode === 'bicubic' || mode === 'trilinear';
  if (!linear && options.alignCorners !== undefined) {
    throw new TorchError(`interpolate: alignCorners only applies to linear, bilinear, bicubic and trilinear modes, not '${mode}'`);
  }
  const alignCorners = options.alignCorners ?? false;
  if (scales !== null && (options.recomputeScaleFactor === true || mode === 'area')) {
    const s = x.shape;
    outputSize = scales.map((f, i) => Math.floor(s[i + 2]! * f));
    scales = null;
  }
  const need = (m: string, d: number): void => {
    if (dims !== d) throw new TorchError(`interpolate: mode '${m}' needs a ${d + 2}-D input, got ${x.ndim}-D`);
  };
  switch (mode) {
    case 'nearest':
      if (dims === 1) return aten.upsample_nearest1d.vec(x, outputSize, scales);
      if (dims === 2) return aten.upsample_nearest2d.vec(x, outputSize, scales);
      return aten.upsample_nearest3d.vec(x, outputSize, scales);
    case 'linear': need(mode, 1); return aten.upsample_linear1d.vec(x, outputSize, alignCorners, scales);
    case 'bilinear': need(mode, 2); return aten.upsample_bilinear2d.vec(x, outputSize, alignCorners, scales);
    case 'bicubic': need(mode, 2); return aten.upsample_bicubic2d.vec(x, outputSize, alignCorners, scales);
    case 'trilinear': need(mode, 3); return aten.upsample_trilinear3d.vec(x, outputSize, alignCorners, scales);
    case 'area':
      if (dims === 1) return aten.adaptive_avg_pool1d(x, outputSize!);
      if (dims === 2) return aten.adaptive_avg_pool2d(x, outputSize!);
      return aten.adaptive_avg_pool3d(x, outputSize!);
    default:
      throw invalidArg('interpolate mode', "'nearest', 'linear', 'bilinear', 'bicubic', 'trilinear' or 'area'", mode);
  }
}
