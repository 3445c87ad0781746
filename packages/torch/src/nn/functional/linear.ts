// y = x·Wᵀ + b over the last dimension.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return aten.linear(x, weight, bias);
}
