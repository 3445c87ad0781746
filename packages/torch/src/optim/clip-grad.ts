// Gradient-norm clipping: PyTorch's torch.nn.utils.clip_grad_norm_ (torch/nn/utils/clip_grad.py),
// with the same operations so the total norm and the clipped gradients match it to rounding.
import { Tensor } from '../tensor.js';
import { aten } from '../generated/ops.js';
import { scalarTensor } from '../factories.js';
import { noGrad } from '../autograd.js';
import { scope } from '../scope.js';
import { TorchError, invalidArg } from '../errors.js';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling by it (PyTorch's error_if_nonfinite). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `parameters` in place so that their joint `normType`-norm (all gradients
 * viewed as one vector) is at most `maxNorm`, and returns that total norm (before clipping) as a 0-d tensor.
 * The scale is min(1, maxNorm / (total + 1e-6)), as in PyTorch. Parameters without a gradient are skipped.
 */
export function clipGradNorm(
  parameters: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2, options: ClipGradNormOptions = {},
): Tensor {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw invalidArg('maxNorm', 'a number', maxNorm);
  if (typeof normType !== 'number' || Number.isNaN(normType)) throw invalidArg('normType', 'a number (Infinity for the max-norm)', normType);
  const params = parameters instanceof Tensor ? [parameters] : Array.from(parameters);
  params.forEach((p, i) => { if (!(p instanceof Tensor)) throw invalidArg(`parameters[${i}]`, 'a Tensor', p); });
  return scope(() => noGrad(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return scalarTensor(0);
    let total: Tensor;
    if (normType === Infinity) {
      const norms = grads.map((g) => g.abs().max());
      total = norms.length === 1 ? norms[0]! : aten.stack(norms).max();
    } else {
      // torch.norm(g, p) with dim=None reduces over every dimension (aten::norm.ScalarOpt_dim).
      const norms = grads.map((g) => aten.norm.ScalarOpt_dim(g, normType, range(g.ndim)));
      total = aten.norm.ScalarOpt_dim(aten.stack(norms), normType, [0]);
    }
    if (options.errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new TorchError(`The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped`);
    }
    // PyTorch: clip_coef = max_norm / (total_norm + 1e-6), i.e. reciprocal() * max_norm, clamped to 1.
    const coef = aten.clamp(total.add(1e-6).reciprocal().mul(maxNorm), null, 1.0);
    for (const g of grads) g.mul_(coef);
    return total;
  }));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
