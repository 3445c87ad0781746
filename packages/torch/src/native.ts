// Loads the native addon (context-aware: works on the main thread and in worker_threads).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { TorchError } from './errors.js';

/** Native tensor id: generation * 2^24 + slot in the addon's per-thread tensor table. */
export type Handle = number;
/** Opaque native generator handle. */
export type GenHandle = { readonly __gen: unique symbol };

export interface SchemaArg {
  name: string;
  type: string;
  n?: number;
  default?: string;
  kwargOnly: boolean;
  isWrite?: boolean;
  alias?: string;
}
export interface Schema {
  name: string;
  overload: string;
  arguments: SchemaArg[];
  returns: SchemaArg[];
  isVararg: boolean;
  schema: string;
}

export interface Native {
  allocatorPolicy(): string;
  releaseMemory(): boolean;
  setErrorClass(cls: unknown): void;
  listSchemas(): Schema[];
  lookupOp(name: string, overload: string): number;
  callOp(id: number, ...args: unknown[]): unknown;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: readonly number[], dtype: string): Handle;
  toBuffer(h: Handle, dtype?: string): ArrayBuffer;
  item(h: Handle): number | boolean;
  dispose(h: Handle): boolean;
  disposeMany(hs: Float64Array): void;
  liveTensors(): number;
  attachFinalizer(obj: object, h: Handle): void;
  isDisposed(h: Handle): boolean;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dtype(h: Handle): string;
  device(h: Handle): string;
  numel(h: Handle): number;
  sameTensor(a: Handle, b: Handle): boolean;
  requiresGrad(h: Handle): boolean;
  setRequiresGrad(h: Handle, v: boolean): void;
  isLeaf(h: Handle): boolean;
  hasGradFn(h: Handle): boolean;
  getGrad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  backward(ts: Handle[], grads: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean): void;
  grad(
    outputs: Handle[],
    inputs: Handle[],
    gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | undefined,
    createGraph: boolean,
    allowUnused: boolean,
  ): (Handle | null)[];
  isGradEnabled(): boolean;
  setGradEnabled(v: boolean): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  defaultGenerator(): GenHandle;
  newGenerator(seed?: number | bigint, device?: string): GenHandle;
  generatorSeed(g: GenHandle, seed?: number | bigint): bigint;
  generatorDevice(g: GenHandle): string;
  generatorGetState(g: GenHandle): Handle;
  generatorSetState(g: GenHandle, state: Handle): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(index?: number): void;
  cudaMemory(index?: number): [number, number, number];
  autocastGet(deviceType: string): [boolean, string, boolean];
  autocastSet(deviceType: string, enabled: boolean, dtype: string, cacheEnabled: boolean): void;
  autocastNesting(delta: 1 | -1): number;
  engineInfo(): { version: string; cxx11abi: boolean; cuda: boolean; cpuCapability: string };
  config(): string;
}

function load(): Native {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/native.js -> package root is two levels up
  const root = join(here, '..', '..');
  const file = join(root, 'build', 'Release', 'torch_native.node');
  if (!existsSync(file)) {
    throw new Error(
      `@climadiff/torch: native addon not built (${file} is missing). Run 'bash scripts/bootstrap' at the repository root.`,
    );
  }
  const require = createRequire(import.meta.url);
  const addon = require(file) as Native;
  addon.setErrorClass(TorchError);
  return addon;
}

export const native: Native = load();
