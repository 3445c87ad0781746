// Small tensor helpers shared by the diffusion code.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';

/** A per-example coefficient (shape [], [B] or a number) shaped to broadcast against data `like` ([B, ...]). */
export function bcast(coef: Tensor | number, like: Tensor): Tensor {
  if (typeof coef === 'number') return torch.scalarTensor(coef, { dtype: like.dtype, device: like.device });
  const n = coef.ndim;
  if (n === 0 || n === like.ndim) return coef;
  return coef.reshape([...coef.shape, ...new Array<number>(like.ndim - n).fill(1)]);
}

/** A tensor of `value` shaped like the batch dimension of `like` (one entry per example). */
export function perExample(value: number, like: Tensor): Tensor {
  return torch.full([like.shape[0]!], value, { dtype: like.dtype, device: like.device });
}

/** Sum over every dimension but the first (per-example reduction). */
export function sumPerExample(x: Tensor): Tensor {
  if (x.ndim <= 1) return x;
  return x.flatten(1).sum([1]);
}

/** Mean over every dimension but the first. */
export function meanPerExample(x: Tensor): Tensor {
  if (x.ndim <= 1) return x;
  return x.flatten(1).mean([1]);
}
