// GroupNorm and LayerNorm with PyTorch's affine parameters (weight = 1, bias = 0 at reset).
import type { Tensor } from '../../tensor.js';
import { empty } from '../../factories.js';
import { TorchError } from '../../errors.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { groupNorm, layerNorm } from '../functional/normalization.js';
import { ones_, zeros_ } from '../init.js';
import { pyBool, pyFloat, tupleRepr, type FactoryKwargs } from './utils.js';

export interface GroupNormOptions extends FactoryKwargs {
  eps?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
}

/** Normalises (N, C, *) over groups of C/numGroups channels (Wu & He 2018). */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups <= 0 || numChannels % numGroups !== 0) {
      throw new TorchError(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    const f = { dtype: options.dtype, device: options.device };
    this.weight = this.affine ? new Parameter(empty([numChannels], f)) : null;
    this.bias = this.affine ? new Parameter(empty([numChannels], f)) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight !== null) ones_(this.weight);
    if (this.bias !== null) zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

export interface LayerNormOptions extends FactoryKwargs {
  eps?: number;
  /** Learn an elementwise scale and shift over normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/** Normalises over the trailing dimensions normalizedShape (Ba et al. 2016). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const f = { dtype: options.dtype, device: options.device };
    this.weight = this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, f)) : null;
    this.bias = this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, f)) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight !== null) ones_(this.weight);
    if (this.bias !== null) zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${tupleRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}
