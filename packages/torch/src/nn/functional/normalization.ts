// Group and layer normalisation (Wu & He 2018; Ba et al. 2016) via ATen's fused kernels.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';

export interface NormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Normalises each of numGroups channel groups over (channels in group × spatial dims). */
export function groupNorm(x: Tensor, numGroups: number, options: NormOptions = {}): Tensor {
  return aten.group_norm(x, numGroups, options.weight ?? null, options.bias ?? null, options.eps ?? 1e-5, true);
}
/** Normalises over the trailing dimensions given by normalizedShape. */
export function layerNorm(x: Tensor, normalizedShape: number | number[], options: NormOptions = {}): Tensor {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  return aten.layer_norm(x, shape, options.weight ?? null, options.bias ?? null, options.eps ?? 1e-5, true);
}
