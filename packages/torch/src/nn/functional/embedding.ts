// Row lookup in an embedding table; rows at paddingIdx receive no gradient.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export interface EmbeddingOptions {
  /** Index whose row gets no gradient (negative counts from the end). */
  paddingIdx?: number | null;
  scaleGradByFreq?: boolean;
}

export function embedding(indices: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  let paddingIdx = options.paddingIdx ?? -1;
  if (options.paddingIdx !== undefined && options.paddingIdx !== null) {
    const n = weight.shape[0]!;
    if (!Number.isInteger(paddingIdx) || paddingIdx < -n || paddingIdx >= n) {
      throw invalidArg('embedding paddingIdx', `an integer in [${-n}, ${n})`, options.paddingIdx);
    }
    if (paddingIdx < 0) paddingIdx += n; // ATen reads -1 as "no padding index"
  }
  return aten.embedding(weight, indices, paddingIdx, options.scaleGradByFreq ?? false, false);
}
