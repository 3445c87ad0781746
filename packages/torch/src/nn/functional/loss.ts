// Losses with PyTorch's reduction names; ATen takes the reduction as an enum (0 none, 1 mean, 2 sum).
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export type Reduction = 'none' | 'mean' | 'sum';

function reductionEnum(r: Reduction | undefined): number {
  switch (r ?? 'mean') {
    case 'none': return 0;
    case 'mean': return 1;
    case 'sum': return 2;
    default: throw invalidArg('reduction', "'none', 'mean' or 'sum'", r);
  }
}

/** Squared error, reduced. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  return aten.mse_loss(input, target, reductionEnum(options.reduction));
}
/** Absolute error, reduced. */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  return aten.l1_loss(input, target, reductionEnum(options.reduction));
}

export interface CrossEntropyOptions {
  /** Per-class weights. */
  weight?: Tensor | null;
  /** Class index that contributes neither loss nor gradient. */
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}
/** Cross entropy between logits (N, C, ...) and class indices (N, ...) or class probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return aten.cross_entropy_loss(input, target, options.weight ?? null, reductionEnum(options.reduction),
    options.ignoreIndex ?? -100, options.labelSmoothing ?? 0);
}
