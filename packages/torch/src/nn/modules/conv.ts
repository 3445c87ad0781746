// Conv1d / Conv2d / Conv3d with PyTorch's options, parameter shapes and initialisation.
// A non-'zeros' paddingMode pads explicitly with F.pad and then convolves without padding, as
// torch.nn's _ConvNd does.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../factories.js';
import { TorchError, invalidArg } from '../../errors.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { conv1d, conv2d, conv3d, type ConvOptions } from '../functional/conv.js';
import { pad } from '../functional/padding.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from '../init.js';
import { ntuple, tupleRepr, type FactoryKwargs } from './utils.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvLayerOptions extends FactoryKwargs {
  stride?: number | number[];
  /** Per-side zero padding (int or one per dim), or 'same' / 'valid'. */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

type ConvFn = (x: Tensor, w: Tensor, b: Tensor | null, o: ConvOptions) => Tensor;

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  weight: Parameter;
  bias: Parameter | null;
  /** F.pad's argument for non-'zeros' modes: per-dim (left, right), last dimension first. */
  readonly #reversedPadding: number[];
  readonly #conv: ConvFn;

  constructor(n: number, conv: ConvFn, inChannels: number, outChannels: number, kernelSize: number | number[], o: ConvLayerOptions) {
    super();
    const name = `Conv${n}d`;
    const groups = o.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) throw invalidArg(`${name} groups`, 'a positive integer', groups);
    if (!Number.isInteger(inChannels) || inChannels % groups !== 0) throw new TorchError(`${name}: in_channels (${inChannels}) must be divisible by groups (${groups})`);
    if (!Number.isInteger(outChannels) || outChannels % groups !== 0) throw new TorchError(`${name}: out_channels (${outChannels}) must be divisible by groups (${groups})`);
    const paddingMode = o.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode)) {
      throw invalidArg(`${name} paddingMode`, "'zeros', 'reflect', 'replicate' or 'circular'", paddingMode);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = ntuple(kernelSize, n, `${name} kernelSize`);
    this.stride = ntuple(o.stride ?? 1, n, `${name} stride`);
    this.dilation = ntuple(o.dilation ?? 1, n, `${name} dilation`);
    this.groups = groups;
    this.paddingMode = paddingMode;
    const p = o.padding ?? 0;
    if (typeof p === 'string') {
      if (p !== 'same' && p !== 'valid') throw invalidArg(`${name} padding`, "a number, an array, 'same' or 'valid'", p);
      if (p === 'same' && this.stride.some((s) => s !== 1)) throw new TorchError(`${name}: padding='same' is not supported for strided convolutions`);
      this.padding = p;
    } else {
      this.padding = ntuple(p, n, `${name} padding`);
    }
    this.#reversedPadding = reversedPadding(this.padding, this.kernelSize, this.dilation);
    this.#conv = conv;
    const f = { dtype: o.dtype, device: o.device };
    this.weight = new Parameter(empty([outChannels, inChannels / groups, ...this.kernelSize], f));
    this.bias = o.bias ?? true ? new Parameter(empty([outChannels], f)) : null;
    this.resetParameters();
  }

  /** PyTorch's default, the same as Linear's: kaiming_uniform_(a=√5), bias U(±1/√fanIn). */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        uniform_(this.bias, -bound, bound);
      }
    }
  }

  forward(x: Tensor): Tensor {
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== 'zeros') {
      const mode = this.paddingMode;
      return this.#conv(pad(x, this.#reversedPadding, { mode }), this.weight, this.bias, { ...o, padding: 0 });
    }
    return this.#conv(x, this.weight, this.bias, { ...o, padding: this.padding });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tupleRepr(this.kernelSize)}, stride=${tupleRepr(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((v) => v !== 0)) s += `, padding=${tupleRepr(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${tupleRepr(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** PyTorch's _reversed_padding_repeated_twice, including the asymmetric split for 'same'. */
function reversedPadding(padding: number[] | 'same' | 'valid', kernel: number[], dilation: number[]): number[] {
  const n = kernel.length;
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) {
    if (padding === 'valid') out.push(0, 0);
    else if (padding === 'same') {
      const total = dilation[i]! * (kernel[i]! - 1);
      const left = Math.floor(total / 2);
      out.push(left, total - left);
    } else out.push(padding[i]!, padding[i]!);
  }
  return out;
}

/** Convolution over (N, C, L). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(1, conv1d, inChannels, outChannels, kernelSize, options);
  }
}
/** Convolution over (N, C, H, W). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(2, conv2d, inChannels, outChannels, kernelSize, options);
  }
}
/** Convolution over (N, C, D, H, W). */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(3, conv3d, inChannels, outChannels, kernelSize, options);
  }
}
