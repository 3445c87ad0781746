// Parameter-free activation layers.
import type { Tensor } from '../../tensor.js';
import { invalidArg } from '../../errors.js';
import { Module } from '../module.js';
import { gelu, relu, silu, type GeluApproximate } from '../functional/activation.js';

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return silu(x); }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return relu(x); }
}

export class GELU extends Module {
  readonly approximate: GeluApproximate;
  constructor(options: { approximate?: GeluApproximate } = {}) {
    super();
    const a = options.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw invalidArg('GELU approximate', "'none' or 'tanh'", a);
    this.approximate = a;
  }
  forward(x: Tensor): Tensor { return gelu(x, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}
