// In-place dtype/device conversion of a module's tensors (Module.to), keeping tensor identities.
import type { Tensor } from '../tensor.js';
import { TorchError, invalidArg } from '../errors.js';
import { noGrad } from '../autograd.js';
import { aten } from '../generated/ops.js';
import { DTYPES, type DType, type Device } from '../dtype.js';

/** A target for Module.to: a dtype, a device, or both. */
export type ModuleToTarget = DType | Device | { dtype?: DType; device?: Device };

function isFloatOrComplex(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16' || d === 'complex64' || d === 'complex128';
}

/**
 * Converts each tensor in place. As PyTorch's Module._apply does with `param.data = ...`, the
 * tensor object stays the same (aten::set_data swaps its storage and metadata), so optimizers and
 * other references keep working; a gradient is converted too. A dtype applies to floating-point
 * and complex tensors only (integer buffers such as step counters are left alone).
 */
export function convertInPlace(tensors: Tensor[], target: ModuleToTarget): void {
  let dtype: DType | undefined;
  let device: Device | undefined;
  if (typeof target === 'string') {
    if ((DTYPES as readonly string[]).includes(target)) dtype = target as DType;
    else device = target;
  } else if (target !== null && typeof target === 'object') {
    dtype = target.dtype;
    device = target.device;
  } else {
    throw invalidArg('Module.to(target)', 'a dtype, a device or { dtype, device }', target);
  }
  if (dtype !== undefined && !isFloatOrComplex(dtype)) {
    throw new TorchError(`nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=${dtype}`);
  }
  for (const t of tensors) {
    const d = dtype !== undefined && isFloatOrComplex(t.dtype) ? dtype : undefined;
    if (d === undefined && device === undefined) continue;
    const grad = t.grad;
    const data = noGrad(() => t.to({ dtype: d, device }));
    if (!data.isSame(t)) aten.set_data(t, data);
    data.dispose(); // only this handle; t now shares its storage
    if (grad !== null) {
      const g = noGrad(() => grad.to({ dtype: d, device }));
      if (!g.isSame(grad)) t.grad = g;
      g.dispose();
      grad.dispose();
    }
  }
}
