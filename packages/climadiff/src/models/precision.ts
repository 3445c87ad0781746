// Numeric precision of a model's computation: float32 throughout, or mixed precision (PyTorch's recipe): the
// network's forward pass under libtorch's autocast (convolutions and matrix products in bfloat16 or float16,
// normalisations, softmax and reductions in float32 by libtorch's own rules), everything else (the diffusion
// mathematics, losses, samplers, master weights, optimizer state, EMA, checkpoints) in float32.
import * as torch from '@climadiff/torch';
import { denoiser, type Denoiser } from '../diffusion/parameterisation.js';

export const PRECISIONS = ['fp32', 'bf16-mixed', 'fp16-mixed'] as const;
export type Precision = (typeof PRECISIONS)[number];

export class PrecisionError extends Error {
  override name = 'PrecisionError';
}

const deviceType = (device: string): 'cpu' | 'cuda' => (device.startsWith('cuda') ? 'cuda' : 'cpu');

/**
 * The default precision for a device, decided at run time: bf16-mixed on a CPU that computes bfloat16 natively
 * (AVX512-BF16 or AMX: 1.5-1.9x float32's speed in PyTorch on an AMX Xeon) and on CUDA; fp32 elsewhere, because without native bf16
 * libtorch emulates it and its bf16 convolutions leave oneDNN for a slow reference path (measured on an AVX2
 * CPU: the benchmark U-Net's batch-8 forward 78x slower than float32 in PyTorch; climadiff dispatches the same operators).
 */
export function defaultPrecision(device = 'cpu'): Precision {
  if (deviceType(device) === 'cuda') return 'bf16-mixed';
  return torch.backends.cpu.hasNativeBf16() ? 'bf16-mixed' : 'fp32';
}

/** Validates a requested precision for a device ('auto' or undefined: the device's default). */
export function resolvePrecision(requested: string | undefined, device = 'cpu'): Precision {
  if (requested === undefined || requested === 'auto') return defaultPrecision(device);
  if (!(PRECISIONS as readonly string[]).includes(requested)) {
    throw new PrecisionError(`unknown precision '${requested}': expected auto, ${PRECISIONS.join(', ')}`);
  }
  if (requested === 'fp16-mixed' && deviceType(device) !== 'cuda') {
    throw new PrecisionError(`precision fp16-mixed needs a CUDA device (got '${device}'): float16 on a CPU is emulated and its gradients need a ` +
      'loss scaler; use bf16-mixed or fp32 there');
  }
  return requested as Precision;
}

/** The autocast dtype of a precision (null for fp32). */
export function autocastDtype(precision: Precision): 'bfloat16' | 'float16' | null {
  return precision === 'bf16-mixed' ? 'bfloat16' : precision === 'fp16-mixed' ? 'float16' : null;
}

/** Runs fn in the precision's autocast region on the device (fp32: just runs it). */
export function inPrecision<T>(precision: Precision, device: string, fn: () => T): T {
  const dtype = autocastDtype(precision);
  if (dtype === null) return fn();
  return torch.autocast({ deviceType: deviceType(device), dtype }, fn);
}

/**
 * A denoiser whose network evaluations run in the given precision and whose predictions come back as float32,
 * so every sampler, loss and guidance computes in float32 whatever the network did.
 */
export function withPrecision(den: Denoiser, precision: Precision, device = 'cpu'): Denoiser {
  if (precision === 'fp32') return den;
  return denoiser(den.parameterisation, (z, logsnr, context) => {
    const out = inPrecision(precision, device, () => den(z, logsnr, context));
    if (out.dtype === 'float32') return out;
    const f = out.float();
    out.dispose();
    return f;
  });
}
