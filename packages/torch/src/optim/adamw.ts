// AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay. As in PyTorch
// (torch/optim/adamw.py, _single_tensor_adamw) the parameter is first multiplied by (1 - lr * weightDecay),
// then the Adam update runs without any decay term in the gradient. Default weightDecay is 1e-2.
import { Adam, type AdamGroup, type AdamOptions } from './adam.js';
import type { Params } from './optimizer.js';

export class AdamW extends Adam {
  protected override readonly decoupledWeightDecay: boolean = true;
  static override readonly defaultWeightDecay: number = 1e-2;

  constructor(params: Params<AdamGroup>, options: AdamOptions = {}) {
    super(params, options);
  }
}
