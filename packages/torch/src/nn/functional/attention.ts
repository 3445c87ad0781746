// Scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v (Vaswani et al. 2017): PyTorch 2's
// torch.nn.functional.scaled_dot_product_attention, i.e. aten::scaled_dot_product_attention, which libtorch
// routes to its fused kernels (flash attention on CPU and CUDA, memory-efficient or cuDNN on CUDA) or to the
// composite math form, by its own rules.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { TorchError } from '../../errors.js';

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
  return aten.scaled_dot_product_attention.default(query, key, value, attnMask, dropoutP, isCausal, { scale: options.scale ?? null });
}
