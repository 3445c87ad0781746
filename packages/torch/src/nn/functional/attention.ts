// Scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v (Vaswani et al. 2017), as a composite
// of matmul + softmax so it is differentiable (twice, too) on every device. libtorch 1.13's
// aten::_scaled_dot_product_attention is private and has 1.13-only mask conventions; this follows
// the public torch.nn.functional.scaled_dot_product_attention of PyTorch 2.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { TorchError } from '../../errors.js';
import { softmax } from './activation.js';
import { dropout } from './dropout.js';

export interface AttentionOptions {
  /** Broadcastable to (..., L, S): a bool mask (true = may attend) or a float mask added to the scores. */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights (applied whenever > 0, as in PyTorch). */
  dropoutP?: number;
  /** Query i may attend to keys j ≤ i only (top-left aligned); exclusive with attnMask. */
  isCausal?: boolean;
  /** Score scale; default 1/sqrt(E). */
  scale?: number;
}

/** query (..., L, E), key (..., S, E), value (..., S, Ev) → (..., L, Ev). */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions = {}): Tensor {
  const { attnMask = null, dropoutP = 0, isCausal = false } = options;
  if (isCausal && attnMask !== null) throw new TorchError('scaledDotProductAttention: give either attnMask or isCausal, not both');
  const e = query.shape[query.ndim - 1]!;
  const scale = options.scale ?? 1 / Math.sqrt(e);
  let scores = query.mul(scale).matmul(key.transpose(-2, -1));
  if (isCausal) {
    const l = query.shape[query.ndim - 2]!;
    const s = key.shape[key.ndim - 2]!;
    const allowed = aten.ones([l, s], { dtype: 'bool', device: query.device }).tril();
    scores = scores.maskedFill(allowed.logicalNot(), -Infinity);
  } else if (attnMask !== null) {
    scores = attnMask.dtype === 'bool' ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
  }
  let weights = softmax(scores, -1);
  if (dropoutP > 0) weights = dropout(weights, dropoutP, true);
  return weights.matmul(value);
}
