// Automatic mixed precision, PyTorch's torch.autocast in our style: a region (a synchronous function) in which
// libtorch's own autocast state is on, so that every operator dispatched inside it is cast by libtorch's rules
// (matrix products and convolutions in the lower precision, reductions and normalisations in float32), exactly
// as in PyTorch, with no casting in JavaScript. Regions nest; leaving one restores the state it found.
import { native } from './native.js';
import { TorchError, invalidArg } from './errors.js';

export type AutocastDeviceType = 'cpu' | 'cuda';
export type AutocastDtype = 'bfloat16' | 'float16';

export interface AutocastOptions {
  deviceType: AutocastDeviceType;
  /** Lower-precision dtype (PyTorch's defaults: bfloat16 on cpu, float16 on cuda). */
  dtype?: AutocastDtype;
  /** false switches autocast off inside the region (e.g. for a part that must run in float32). Default true. */
  enabled?: boolean;
  /** Cache casted leaf tensors (weights) within the outermost region, as PyTorch does. Default true. */
  cacheEnabled?: boolean;
}

const DEFAULT_DTYPE: Record<AutocastDeviceType, AutocastDtype> = { cpu: 'bfloat16', cuda: 'float16' };

function checkDevice(d: unknown): AutocastDeviceType {
  if (d === 'cpu' || d === 'cuda') return d;
  throw invalidArg('autocast deviceType', "'cpu' or 'cuda'", d);
}

/**
 * Runs `fn` under autocast (PyTorch's `with torch.autocast(device_type, dtype):`). Master weights stay float32;
 * outputs of lower-precision operators are bfloat16/float16, and gradients flow back to float32 leaves.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  if (options === null || typeof options !== 'object') throw invalidArg('autocast options', '{ deviceType, dtype?, enabled? }', options);
  if (typeof fn !== 'function') throw invalidArg('autocast fn', 'a function', fn);
  const dev = checkDevice(options.deviceType);
  const dtype = options.dtype ?? DEFAULT_DTYPE[dev];
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw invalidArg('autocast dtype', "'bfloat16' or 'float16'", dtype);
  const enabled = options.enabled ?? true;
  if (typeof enabled !== 'boolean') throw invalidArg('autocast enabled', 'a boolean', enabled);
  const [prevEnabled, prevDtype, prevCache] = native.autocastGet(dev);
  native.autocastSet(dev, enabled, dtype, options.cacheEnabled ?? prevCache);
  native.autocastNesting(1);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TorchError('torch.autocast(options, fn): fn must be synchronous (autocast state is per thread and would leak into other work)');
    }
    return result;
  } finally {
    native.autocastNesting(-1);
    native.autocastSet(dev, prevEnabled, prevDtype, prevCache);
  }
}

/** Whether autocast is on for the device type here (torch.is_autocast_enabled(device_type)). */
export function isAutocastEnabled(deviceType: AutocastDeviceType): boolean {
  return native.autocastGet(checkDevice(deviceType))[0];
}

/** The lower-precision dtype autocast uses for the device type (torch.get_autocast_dtype(device_type)). */
export function getAutocastDtype(deviceType: AutocastDeviceType): AutocastDtype {
  return native.autocastGet(checkDevice(deviceType))[1] as AutocastDtype;
}
