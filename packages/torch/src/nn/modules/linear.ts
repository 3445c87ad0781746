// Linear (y = x·Wᵀ + b) and Identity.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../factories.js';
import { invalidArg } from '../../errors.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { linear } from '../functional/linear.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from '../init.js';
import { pyBool, type FactoryKwargs } from './utils.js';

export interface LinearOptions extends FactoryKwargs {
  bias?: boolean;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw invalidArg(`Linear ${k}`, 'a non-negative integer', v);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const f = { dtype: options.dtype, device: options.device };
    this.weight = new Parameter(empty([outFeatures, inFeatures], f));
    this.bias = options.bias ?? true ? new Parameter(empty([outFeatures], f)) : null;
    this.resetParameters();
  }

  /** PyTorch's default: kaiming_uniform_(a=√5), i.e. U(±1/√fanIn), then bias U(±1/√fanIn). */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor { return linear(x, this.weight, this.bias); }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** Returns its input unchanged (PyTorch nn.Identity: stands in where a layer is optional). */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}
