// Adam (Kingma & Ba, 2015) with optional L2 weight decay and AMSGrad: the single-tensor algorithm of
// PyTorch 2.x (torch/optim/adam.py, _single_tensor_adam), with the same operations in the same order
// (bias corrections computed on doubles, then one addcdiv_) so results match PyTorch to rounding.
import type { Tensor } from '../tensor.js';
import { aten } from '../generated/ops.js';
import { zerosLike } from '../factories.js';
import { invalidArg } from '../errors.js';
import {
  Optimizer, checkRange, checkOptionNames, requireStep, requireTensor,
  type ParamGroup, type ParamState, type Params,
} from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  /** Coefficients of the running averages of the gradient and of its square. */
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Use the maximum of past squared-gradient averages (Reddi et al., 2018). */
  amsgrad?: boolean;
  maximize?: boolean;
}
export type AdamGroup = Required<AdamOptions>;
export const ADAM_OPTION_NAMES = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'] as const;

export interface AdamState extends ParamState {
  step: number;
  exp_avg: Tensor;
  exp_avg_sq: Tensor;
  max_exp_avg_sq?: Tensor;
}

export function validateAdamGroup(g: AdamGroup): void {
  checkRange('lr', g.lr, 0);
  checkRange('eps', g.eps, 0);
  if (!Array.isArray(g.betas) || g.betas.length !== 2) throw invalidArg('betas', 'an array of two numbers in [0, 1)', g.betas);
  checkRange('betas[0]', g.betas[0], 0, 1);
  checkRange('betas[1]', g.betas[1], 0, 1);
  checkRange('weightDecay', g.weightDecay, 0);
}

export class Adam extends Optimizer<AdamGroup, AdamState> {
  /** AdamW sets this: weight decay shrinks the parameter instead of being added to the gradient. */
  protected readonly decoupledWeightDecay: boolean = false;
  /** PyTorch's default weight_decay: 0 for Adam, 1e-2 for AdamW. */
  static readonly defaultWeightDecay: number = 0;

  constructor(params: Params<AdamGroup>, options: AdamOptions = {}) {
    checkOptionNames(new.target.name, options, ADAM_OPTION_NAMES);
    const defaultWeightDecay = (new.target as typeof Adam).defaultWeightDecay;
    super(params, {
      lr: options.lr ?? 1e-3, betas: options.betas ?? [0.9, 0.999], eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? defaultWeightDecay, amsgrad: options.amsgrad ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected validateGroup(g: AdamGroup): void { validateAdamGroup(g); }

  protected validateState(s: ParamState, g: ParamGroup<AdamGroup>): void {
    requireStep(s);
    requireTensor(s, 'exp_avg');
    requireTensor(s, 'exp_avg_sq');
    if (g.amsgrad) requireTensor(s, 'max_exp_avg_sq');
  }

  protected updateGroup(g: ParamGroup<AdamGroup>): void {
    for (const p of g.params) {
      const grad = p.grad;
      if (grad === null) continue;
      let s = this.state.get(p);
      if (s === undefined) {
        // Lazy state initialization, as in PyTorch: zeros shaped like the parameter.
        s = { step: 0, exp_avg: zerosLike(p).keep(), exp_avg_sq: zerosLike(p).keep() };
        this.state.set(p, s);
      }
      if (g.amsgrad && s.max_exp_avg_sq === undefined) s.max_exp_avg_sq = zerosLike(p).keep();
      adamUpdate(p, grad, s, g, this.decoupledWeightDecay);
    }
  }
}

/** One Adam/AdamW update of one parameter, in place (adam.py / adamw.py, _single_tensor_*). */
function adamUpdate(p: Tensor, grad: Tensor, s: AdamState, g: AdamGroup, decoupled: boolean): void {
  const { lr, eps, weightDecay, amsgrad, maximize } = g;
  const [beta1, beta2] = g.betas;
  if (maximize) grad = grad.neg();
  s.step += 1;
  if (decoupled) p.mul_(1 - lr * weightDecay); // AdamW: decay the weights first, even when weightDecay is 0
  else if (weightDecay !== 0) grad = grad.add(p, { alpha: weightDecay });
  s.exp_avg.lerp_(grad, 1 - beta1); // PyTorch 2.x's form (1.13 had mul_ + add_): the same to the last bit as its Adam
  s.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });
  const biasCorrection1 = 1 - Math.pow(beta1, s.step);
  const biasCorrection2 = 1 - Math.pow(beta2, s.step);
  const stepSize = lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  let second = s.exp_avg_sq;
  if (amsgrad) {
    const maxSq = s.max_exp_avg_sq!;
    aten.maximum.out(maxSq, s.exp_avg_sq, { out: maxSq });
    second = maxSq;
  }
  const denom = second.sqrt().div(biasCorrection2Sqrt).add_(eps);
  p.addcdiv_(s.exp_avg, denom, { value: -stepSize });
}
