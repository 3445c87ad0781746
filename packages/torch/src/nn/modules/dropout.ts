// Dropout: active in training mode only (module.train() / module.eval()).
import type { Tensor } from '../../tensor.js';
import { invalidArg } from '../../errors.js';
import { Module } from '../module.js';
import { dropout } from '../functional/dropout.js';
import { pyFloat } from './utils.js';

export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidArg('Dropout probability p', 'a number in [0, 1]', p);
    this.p = p;
  }

  forward(x: Tensor): Tensor { return dropout(x, this.p, this.training); }

  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}
