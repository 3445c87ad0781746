// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay:
// the single-tensor algorithm of PyTorch (torch/optim/sgd.py, _single_tensor_sgd), op for op.
import type { Tensor } from '../tensor.js';
import { TorchError } from '../errors.js';
import {
  Optimizer, checkRange, checkOptionNames, type ParamGroup, type ParamState, type Params,
} from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required, as in PyTorch). */
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize?: boolean;
}
type SGDGroup = Required<SGDOptions>;
const NAMES = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'] as const;

export interface SGDState extends ParamState {
  /** null while momentum is 0 (PyTorch stores None). */
  momentum_buffer: Tensor | null;
}

export class SGD extends Optimizer<SGDGroup, SGDState> {
  constructor(params: Params<SGDGroup>, options: SGDOptions) {
    checkOptionNames('SGD', options, NAMES);
    super(params, {
      lr: options.lr, momentum: options.momentum ?? 0, dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0, nesterov: options.nesterov ?? false, maximize: options.maximize ?? false,
    });
  }

  protected validateGroup(g: SGDGroup): void {
    checkRange('lr', g.lr, 0);
    checkRange('momentum', g.momentum, 0);
    checkRange('dampening', g.dampening, -Infinity);
    checkRange('weightDecay', g.weightDecay, 0);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new TorchError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected validateState(s: ParamState): void {
    const b = s.momentum_buffer;
    if (b !== undefined && b !== null && typeof b === 'number') throw new TorchError("state 'momentum_buffer' must be a Tensor or null");
  }

  protected updateGroup(g: ParamGroup<SGDGroup>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = g;
    for (const p of g.params) {
      const grad = p.grad;
      if (grad === null) continue;
      let dp = maximize ? grad.neg() : grad;
      if (weightDecay !== 0) dp = dp.add(p, { alpha: weightDecay });
      let buf: Tensor | null = this.state.get(p)?.momentum_buffer ?? null;
      if (momentum !== 0) {
        if (buf === null) {
          buf = dp.clone().keep(); // first step: the buffer starts as the (decayed) gradient itself
        } else {
          buf.mul_(momentum).add_(dp, { alpha: 1 - dampening });
        }
        dp = nesterov ? dp.add(buf, { alpha: momentum }) : buf;
      }
      p.add_(dp, { alpha: -lr });
      this.state.set(p, { momentum_buffer: buf });
    }
  }
}
