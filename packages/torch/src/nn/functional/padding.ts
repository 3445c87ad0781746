// F.pad: `pad` lists (left, right) amounts starting from the LAST dimension, as in PyTorch.
import type { Tensor } from '../../tensor.js';
import { aten } from '../../generated/ops.js';
import { invalidArg } from '../../errors.js';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

export function pad(x: Tensor, padding: number[], options: { mode?: PadMode; value?: number } = {}): Tensor {
  const mode = options.mode ?? 'constant';
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw invalidArg('pad mode', "'constant', 'reflect', 'replicate' or 'circular'", mode);
  }
  if (!Array.isArray(padding) || padding.length % 2 !== 0 || !padding.every(Number.isInteger)) {
    throw invalidArg('pad', 'an even-length array of integers', padding);
  }
  if (mode !== 'constant' && options.value !== undefined && options.value !== 0) {
    throw invalidArg(`pad value for mode '${mode}'`, 'no value (only constant padding takes one)', options.value);
  }
  return aten.pad(x, padding, mode, mode === 'constant' ? options.value ?? null : null);
}
