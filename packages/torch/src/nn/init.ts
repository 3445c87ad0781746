// nn.init: in-place initialisers with PyTorch's formulas, evaluated in the same double-precision
// order as torch/nn/init.py and drawing through ATen's uniform_/normal_ from the same
// generator, so that after torch.manualSeed(s) a layer's weights equal PyTorch's bit for bit.
import type { Tensor } from '../tensor.js';
import type { Generator } from '../random.js';
import { TorchError, invalidArg } from '../errors.js';
import { noGrad } from '../autograd.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';
export interface GeneratorOption { generator?: Generator }

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5.0 / 3;
    case 'relu': return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw invalidArg('negative_slope', 'a number', param);
      // a*a rather than a**2: both are the correctly rounded square, as Python's a ** 2 is.
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case 'selu': return 3.0 / 4;
    default: throw invalidArg('nonlinearity', 'a known nonlinearity name', nonlinearity);
  }
}

/** [fanIn, fanOut] of a weight: dims 1 and 0 times the receptive field (dims 2..). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const s = t.shape;
  if (s.length < 2) {
    throw new TorchError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
  }
  let receptive = 1;
  for (let i = 2; i < s.length; i++) receptive *= s[i]!;
  return [s[1]! * receptive, s[0]! * receptive];
}

function correctFan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw invalidArg('mode', "'fan_in' or 'fan_out'", mode);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** Fills t with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, options: GeneratorOption = {}): Tensor {
  return noGrad(() => t.uniform_(a, b, { generator: options.generator ?? null }));
}
/** Fills t with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, options: GeneratorOption = {}): Tensor {
  return noGrad(() => t.normal_(mean, std, { generator: options.generator ?? null }));
}
export function constant_(t: Tensor, value: number): Tensor { return noGrad(() => t.fill_(value)); }
export function zeros_(t: Tensor): Tensor { return noGrad(() => t.zero_()); }
export function ones_(t: Tensor): Tensor { return noGrad(() => t.fill_(1)); }

/** Glorot uniform: U(-a, a) with a = gain·sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1, options: GeneratorOption = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(t, -a, a, options);
}
/** Glorot normal: N(0, std²) with std = gain·sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, options: GeneratorOption = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return normal_(t, 0, std, options);
}

export interface KaimingOptions extends GeneratorOption {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He uniform: U(-bound, bound), bound = sqrt(3)·gain/sqrt(fan). Linear/Conv use a = sqrt(5). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  if (t.shape.includes(0)) return t; // PyTorch warns and leaves empty tensors alone
  const fan = correctFan(t, options.mode ?? 'fan_in');
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  const std = gain / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound, options);
}
/** He normal: N(0, std²), std = gain/sqrt(fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  if (t.shape.includes(0)) return t;
  const fan = correctFan(t, options.mode ?? 'fan_in');
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  const std = gain / Math.sqrt(fan);
  return normal_(t, 0, std, options);
}
