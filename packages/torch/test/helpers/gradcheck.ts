// Finite-difference gradient check in float64: the autograd gradient of a random scalar projection
// L = sum(fn(...inputs) * r) is compared with central differences (L(x+eps) - L(x-eps)) / 2eps for
// every element of every input. A random r (fixed seed) makes every output element count, so an
// error in any part of the Jacobian shows up (a plain sum would miss e.g. a wrong softmax gradient).
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

export interface GradcheckOptions {
  eps?: number;
  /** Accept |analytic - numeric| <= atol + rtol * |numeric|. */
  atol?: number;
  rtol?: number;
  /** Seed of the projection weights r. */
  seed?: number;
}

/**
 * Throws an Error naming the worst elements unless the gradients of fn with respect to each input
 * match. `inputs` are float64 leaf tensors with requiresGrad (module parameters included: fn may
 * close over a module and ignore its arguments); they are perturbed in place and restored. fn must
 * be deterministic (re-seed inside it if it draws random numbers). Returns the largest error seen.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): number {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-6, seed = 1234 } = options;
  for (const [i, t] of inputs.entries()) {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} is ${t.dtype}; use float64`);
    if (!t.requiresGrad || !t.isLeaf) throw new Error(`gradcheck: input ${i} must be a leaf with requiresGrad`);
  }
  const shape = torch.noGrad(() => fn(...inputs)).shape;
  const r = torch.randn(shape, { dtype: 'float64', generator: new torch.Generator({ seed }) });
  const loss = (): Tensor => fn(...inputs).mul(r).sum();

  const analytic = torch.autograd.grad([loss()], inputs).map((g) => g.toFloat64Array());
  const lossValue = (): number => torch.scope(() => torch.noGrad(() => loss().item()));

  let worst = 0;
  const failures: string[] = [];
  for (const [i, t] of inputs.entries()) {
    const flat = t.detach().view(-1); // shares t's storage: writes below perturb t itself
    const orig = t.toFloat64Array();
    for (let k = 0; k < orig.length; k++) {
      const set = (v: number): void => { torch.noGrad(() => torch.scope(() => { flat.select(0, k).fill_(v); })); };
      set(orig[k]! + eps);
      const plus = lossValue();
      set(orig[k]! - eps);
      const minus = lossValue();
      set(orig[k]!);
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i]![k]!;
      const err = Math.abs(a - numeric);
      worst = Math.max(worst, err);
      if (err > atol + rtol * Math.abs(numeric)) {
        failures.push(`input ${i} [${t.shape.join('x')}] element ${k}: autograd ${a}, finite difference ${numeric}`);
      }
    }
  }
  if (failures.length > 0) {
    throw new Error(`gradcheck: ${failures.length} gradient element(s) differ:\n  ${failures.slice(0, 8).join('\n  ')}`);
  }
  return worst;
}
