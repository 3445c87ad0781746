// @climadiff/torch: a TypeScript tensor library over libtorch (PyTorch's engine), in PyTorch's
// vocabulary with camelCase names.
import { Tensor } from './tensor.js';
import { installTensorMethods } from './generated/ops.js';
import { native } from './native.js';

// Generated ATen methods go onto Tensor.prototype once every module has been evaluated.
installTensorMethods(Tensor);

// Generated camelCase functions for every public ATen operator (torch.softmax, torch.conv3d, ...);
// the hand-written exports below take precedence where names coincide.
export * from './generated/functions.js';
export { aten } from './generated/ops.js';
export { Tensor } from './tensor.js';
export type { BackwardOptions, ToOptions, NestedArray } from './tensor.js';
export { TorchError } from './errors.js';
export { DTYPES } from './dtype.js';
export type { DType, Device, Layout, MemoryFormat, Scalar, TypedArray } from './dtype.js';
export {
  tensor, fromArray, zeros, ones, empty, full, zerosLike, onesLike, fullLike, emptyLike, randn, rand, randint,
  randnLike, randLike, randperm, arange, linspace, eye, scalarTensor,
} from './factories.js';
export type { FactoryOptions, RandomOptions, ArrayLikeData } from './factories.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd.js';
export * as autograd from './autograd.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { scope, tidy, scopeDepth } from './scope.js';
export { autocast, isAutocastEnabled, getAutocastDtype } from './autocast.js';
export type { AutocastOptions, AutocastDeviceType, AutocastDtype } from './autocast.js';

/** torch.optim: SGD, Adam, AdamW, clipGradNorm and LR schedules (optim.lrScheduler). */
export * as optim from './optim/index.js';
export * as amp from './amp/index.js';
/** torch.save / torch.load in the safetensors format. */
export { save, load, saveBytes, loadBytes, loadMetadata } from './safetensors.js';
export type { TensorDict, SaveOptions } from './safetensors.js';

/** PyTorch's torch.ops: `torch.ops.aten.conv3d(...)`, `torch.ops.aten.add.Tensor(...)`. */
export { ops } from './ops-namespace.js';

export * as backends from './backends.js';
export * as distributed from './distributed.js';

/** Sets the number of threads libtorch uses for intra-op parallelism. */
export function setNumThreads(n: number): void { native.setNumThreads(n); }
export function getNumThreads(): number { return native.getNumThreads(); }
/** Number of tensors currently holding native memory on this thread (for leak checks). */
export function liveTensors(): number { return native.liveTensors(); }
/** libtorch's build configuration and parallel settings (at::show_config + get_parallel_info). */
export function config(): string { return native.config(); }

/** torch.cuda: devices, synchronisation and the caching allocator's counters (bytes). */
export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for every kernel queued on the device (default: the current one). */
  synchronize: (device?: number): void => native.cudaSynchronize(device),
  memoryAllocated: (device?: number): number => native.cudaMemory(device)[0],
  maxMemoryAllocated: (device?: number): number => native.cudaMemory(device)[1],
  memoryReserved: (device?: number): number => native.cudaMemory(device)[2],
};
/** PyTorch's torch.nn: Module, Parameter, layers, nn.functional, nn.init. */
export * as nn from './nn/index.js';
