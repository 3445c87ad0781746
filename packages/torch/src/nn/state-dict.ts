// State dicts: the types, and loading one into a module's tensors (Module.loadStateDict).
import { Tensor } from '../tensor.js';
import { TorchError, invalidArg, describe } from '../errors.js';
import { noGrad } from '../autograd.js';

/**
 * A state dict: a plain object from PyTorch's dotted names (`blocks.0.conv.weight`) to tensors, in
 * registration order. Values share storage with the module's tensors but are detached (PyTorch's
 * `keep_vars=False`). `torch.save(m.stateDict(), file)` and `m.loadStateDict(torch.load(file))` work
 * as in PyTorch; loadStateDict also accepts a Map.
 */
export type StateDict = Record<string, Tensor>;

export interface StateDictOptions {
  /** Prepended to every key. */
  prefix?: string;
  /** Return the module's own Parameter/buffer objects instead of detached views. */
  keepVars?: boolean;
}
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches are errors either way. */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const shapeStr = (s: number[]): string => `[${s.join(', ')}]`;
const quoted = (keys: string[]): string => keys.map((k) => `"${k}"`).join(', ');

/**
 * Copies `given` into `own` (a module's stateDict({ keepVars: true })) under noGrad. Validates
 * everything first, so a failed load changes nothing (PyTorch would have copied some tensors
 * before raising); messages follow PyTorch's wording.
 */
export function loadInto(moduleName: string, own: StateDict, stateDict: StateDict | Map<string, Tensor>, strict: boolean): LoadStateDictResult {
  let given: Map<string, unknown>;
  if (stateDict instanceof Map) given = stateDict;
  else if (stateDict !== null && typeof stateDict === 'object') given = new Map(Object.entries(stateDict));
  else throw invalidArg('loadStateDict(stateDict)', 'a Record<string, Tensor> or Map<string, Tensor>', stateDict);

  const missingKeys = Object.keys(own).filter((k) => !given.has(k));
  const unexpectedKeys = [...given.keys()].filter((k) => !Object.prototype.hasOwnProperty.call(own, k));
  const errors: string[] = [];
  if (strict && unexpectedKeys.length > 0) errors.push(`Unexpected key(s) in state dict: ${quoted(unexpectedKeys)}.`);
  if (strict && missingKeys.length > 0) errors.push(`Missing key(s) in state dict: ${quoted(missingKeys)}.`);
  const pairs: [Tensor, Tensor][] = [];
  for (const [key, target] of Object.entries(own)) {
    if (!given.has(key)) continue;
    const src = given.get(key);
    if (!(src instanceof Tensor)) {
      errors.push(`value for ${key} is ${describe(src)}, not a Tensor.`);
      continue;
    }
    const a = src.shape;
    const b = target.shape;
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      errors.push(`size mismatch for ${key}: copying a param with shape ${shapeStr(a)} from checkpoint, the shape in current model is ${shapeStr(b)}.`);
      continue;
    }
    pairs.push([target, src]);
  }
  if (errors.length > 0) throw new TorchError(`Error(s) in loading state dict for ${moduleName}:\n\t${errors.join('\n\t')}`);
  noGrad(() => { for (const [target, src] of pairs) target.copy_(src); });
  return { missingKeys, unexpectedKeys };
}
