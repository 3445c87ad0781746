// Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p). ATen's
// dropout draws its Bernoulli mask from the default generator exactly as PyTorch's F.dropout does.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidArg('dropout probability p', 'a number in [0, 1]', p);
  return aten.dropout(x, p, training);
}
