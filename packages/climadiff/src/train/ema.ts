// Exponential moving average of a module's weights (the weights used for sampling): after every optimizer
// step ema <- decay * ema + (1 - decay) * param. Buffers are copied as they are.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';

export class EMA {
  readonly decay: number;
  /** Averaged copies of the module's state dict entries, PyTorch dotted names. */
  readonly shadow: Map<string, Tensor>;
  private readonly params: Map<string, Tensor>;
  private readonly buffers: Map<string, Tensor>;

  constructor(module: torch.nn.Module, decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${decay}`);
    this.decay = decay;
    // The module's state dict entries (parameters and persistent buffers), as PyTorch's state_dict names them.
    const all = module.stateDict({ keepVars: true });
    const paramNames = new Set(module.namedParameters().map(([k]) => k));
    this.params = new Map(Object.entries(all).filter(([k]) => paramNames.has(k)));
    this.buffers = new Map(Object.entries(all).filter(([k]) => !paramNames.has(k)));
    this.shadow = new Map();
    torch.noGrad(() => {
      for (const [k, v] of [...this.params, ...this.buffers]) this.shadow.set(k, v.detach().clone().keep());
    });
  }

  /** One EMA update from the module's current weights, with this.decay or the given decay. */
  update(decay = this.decay): void {
    torch.scope(() => torch.noGrad(() => {
      for (const [k, p] of this.params) this.shadow.get(k)!.lerp_(p.detach(), 1 - decay);
      for (const [k, b] of this.buffers) this.shadow.get(k)!.copy_(b);
    }));
  }

  /** The averaged weights as a state dict (the EMA's own tensors; save or clone before the next update). */
  stateDict(): Record<string, Tensor> { return Object.fromEntries(this.shadow); }

  /** Loads averaged weights (from a checkpoint); names and shapes must match the module's. */
  loadStateDict(sd: Record<string, Tensor>): void {
    for (const k of this.shadow.keys()) if (!(k in sd)) throw new Error(`EMA state dict lacks '${k}'`);
    for (const k of Object.keys(sd)) if (!this.shadow.has(k)) throw new Error(`EMA state dict has unexpected '${k}'`);
    torch.scope(() => torch.noGrad(() => {
      for (const [k, t] of this.shadow) {
        const src = sd[k]!;
        if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`EMA '${k}' has shape [${src.shape}] but the model's is [${t.shape}]`);
        t.copy_(src);
      }
    }));
  }

  /**
   * Puts the EMA weights into the module and returns a function that puts the training weights back exactly
   * (copies, so the training state is bit-for-bit unchanged).
   */
  swapIn(): () => void {
    const backup = new Map<string, Tensor>();
    const entries = [...this.params, ...this.buffers];
    torch.scope(() => torch.noGrad(() => {
      for (const [k, p] of entries) { backup.set(k, p.detach().clone().keep()); p.detach().copy_(this.shadow.get(k)!); }
    }));
    return () => torch.scope(() => torch.noGrad(() => {
      for (const [k, p] of entries) { p.detach().copy_(backup.get(k)!); backup.get(k)!.dispose(); }
    }));
  }

  /** Runs fn (sync or async) with the EMA weights in the module, then restores the training weights. */
  async withWeights<T>(fn: () => T | Promise<T>): Promise<T> {
    const restore = this.swapIn();
    try { return await fn(); } finally { restore(); }
  }

  /** Copies the EMA weights into a module of the same architecture (e.g. a fresh model for sampling). */
  copyTo(module: torch.nn.Module): void {
    module.loadStateDict(this.stateDict());
  }
}
