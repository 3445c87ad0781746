// Autograd entry points: grad mode, backward over several tensors and torch.autograd.grad.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { invalidArg } from './errors.js';

/** Runs fn with gradient recording disabled (PyTorch's torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try { return fn(); } finally { native.setGradEnabled(prev); }
}
/** Runs fn with gradient recording enabled, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try { return fn(); } finally { native.setGradEnabled(prev); }
}
export function isGradEnabled(): boolean { return native.isGradEnabled(); }
export function setGradEnabled(enabled: boolean): boolean { return native.setGradEnabled(enabled); }

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null (instead of throwing) for inputs the outputs do not depend on. */
  allowUnused?: boolean;
}

function handles(ts: Tensor[], what: string): number[] {
  if (!Array.isArray(ts) || !ts.every((t) => t instanceof Tensor)) throw invalidArg(what, 'an array of Tensors', ts);
  return ts.map((t) => t._h);
}

/** Gradients of `outputs` with respect to `inputs` without touching `.grad` (torch.autograd.grad). */
export function grad(outputs: Tensor[], inputs: Tensor[], options: GradOptions = {}): Tensor[] {
  const go = options.gradOutputs ? options.gradOutputs.map((g) => (g === null ? null : g._h)) : null;
  const res = native.grad(handles(outputs, 'outputs'), handles(inputs, 'inputs'), go, options.retainGraph,
    options.createGraph ?? false, options.allowUnused ?? false);
  return res.map((h) => (h === null ? (null as unknown as Tensor) : new Tensor(h)));
}

/** Accumulates gradients of several tensors into the leaves' .grad (torch.autograd.backward). */
export function backward(tensors: Tensor[], gradTensors?: (Tensor | null)[], options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(handles(tensors, 'tensors'), gradTensors ? gradTensors.map((g) => (g === null ? null : g._h)) : null,
    options.retainGraph, options.createGraph ?? false);
}
