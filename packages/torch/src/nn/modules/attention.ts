// MultiheadAttention with PyTorch's parameters, state-dict names (in_proj_weight,
// in_proj_bias, out_proj.weight, out_proj.bias), initialisation order and forward arithmetic
// (F.multi_head_attention_forward), for the common case kdim = vdim = embedDim without
// bias_k/bias_v or add_zero_attn.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../factories.js';
import { TorchError, invalidArg } from '../../errors.js';
import { aten } from '../../generated/ops.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { linear } from '../functional/linear.js';
import { softmax } from '../functional/activation.js';
import { dropout } from '../functional/dropout.js';
import { constant_, xavierUniform_ } from '../init.js';
import { Linear } from './linear.js';
import { pyBool, pyFloat, type FactoryKwargs } from './utils.js';

export interface MultiheadAttentionOptions extends FactoryKwargs {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and output are (N, L, E) instead of (L, N, E) (default false). */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** (N, S) or (S): true (or a float -inf) marks keys to ignore. */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights (default true, as in PyTorch). */
  needWeights?: boolean;
  /** (L, S) or (N·numHeads, L, S): true marks pairs that may NOT attend; a float mask is added. */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true). */
  averageAttnWeights?: boolean;
}

export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(embedDim) || embedDim <= 0) throw invalidArg('MultiheadAttention embedDim', 'a positive integer', embedDim);
    if (!Number.isInteger(numHeads) || numHeads <= 0 || embedDim % numHeads !== 0) {
      throw new TorchError(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    const bias = options.bias ?? true;
    const f = { dtype: options.dtype, device: options.device };
    // Explicit snake_case names: these are PyTorch's state-dict keys.
    this.registerParameter('in_proj_weight', new Parameter(empty([3 * embedDim, embedDim], f)));
    this.registerParameter('in_proj_bias', bias ? new Parameter(empty([3 * embedDim], f)) : null);
    // out_proj draws its Linear default first, then resetParameters draws in_proj_weight: PyTorch's order.
    this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, ...f }));
    this.resetParameters();
  }

  get inProjWeight(): Parameter { return this.getParameter('in_proj_weight')!; }
  get inProjBias(): Parameter | null { return this.getParameter('in_proj_bias'); }
  get outProj(): Linear { return this.getSubmodule('out_proj') as Linear; }

  /** PyTorch's _reset_parameters: xavier_uniform_ in_proj_weight, zero biases; out_proj.weight is kept. */
  resetParameters(): void {
    xavierUniform_(this.inProjWeight);
    const b = this.inProjBias;
    if (b !== null) {
      constant_(b, 0);
      const ob = this.outProj.bias;
      if (ob !== null) constant_(ob, 0);
    }
  }

  /**
   * query (L, N, E), key/value (S, N, E) — (N, L, E)/(N, S, E) with batchFirst, or unbatched (L, E).
   * Returns [output like query, weights (N, L, S) (or (N, numHeads, L, S) without averaging) or null].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const needWeights = options.needWeights ?? true;
    const average = options.averageAttnWeights ?? true;
    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new TorchError(`MultiheadAttention: query must be 2-D or 3-D, got ${query.ndim}-D`);
    // To (L, N, E), keeping identities: the packed projection below depends on query === key === value.
    const toLNE = (t: Tensor): Tensor => (!batched ? t.unsqueeze(1) : this.batchFirst ? t.transpose(0, 1) : t);
    const q = toLNE(query);
    const k = key === query ? q : toLNE(key);
    const v = value === key ? k : toLNE(value);
    const [L, N, E] = q.shape as [number, number, number];
    const S = k.shape[0]!;
    const H = this.numHeads;
    const hd = this.headDim;
    if (E !== this.embedDim) throw new TorchError(`MultiheadAttention: expected embedding dim ${this.embedDim}, got ${E}`);

    const [qp, kp, vp] = this.#inProjection(q, k, v);
    const mask = this.#mergeMasks(options, L, S, N, q.dtype, batched);

    // (L, N, E) → (N·H, L, hd)
    const heads = (t: Tensor, len: number): Tensor => t.reshape([len, N * H, hd]).transpose(0, 1);
    const qh = heads(qp, L).div(Math.sqrt(hd));
    const kh = heads(kp, S);
    const vh = heads(vp, S);
    let w = mask === null ? qh.bmm(kh.transpose(-2, -1)) : aten.baddbmm(mask, qh, kh.transpose(-2, -1));
    w = softmax(w, -1);
    const p = this.training ? this.dropout : 0;
    if (p > 0) w = dropout(w, p, true);
    let out = w.bmm(vh).transpose(0, 1).contiguous().view([L * N, E]);
    const op = this.outProj;
    out = linear(out, op.weight, op.bias).view([L, N, E]);

    let weights: Tensor | null = null;
    if (needWeights) {
      weights = w.view([N, H, L, S]);
      if (average) weights = weights.sum(1).div(H);
      if (!batched) weights = weights.squeeze(0);
    }
    if (!batched) out = out.squeeze(1);
    else if (this.batchFirst) out = out.transpose(0, 1);
    return [out, weights];
  }

  /** PyTorch's _in_projection_packed: one matmul for self-attention, two when key === value. */
  #inProjection(q: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor, Tensor] {
    const w = this.inProjWeight;
    const b = this.inProjBias;
    const E = this.embedDim;
    if (k === v) {
      if (q === k) return linear(q, w, b).chunk(3, -1) as [Tensor, Tensor, Tensor];
      const [wq, wkv] = w.split([E, 2 * E]) as [Tensor, Tensor];
      const [bq, bkv] = b === null ? [null, null] : (b.split([E, 2 * E]) as [Tensor, Tensor]);
      const [kp, vp] = linear(k, wkv, bkv).chunk(2, -1) as [Tensor, Tensor];
      return [linear(q, wq, bq), kp, vp];
    }
    const [wq, wk, wv] = w.chunk(3) as [Tensor, Tensor, Tensor];
    const [bq, bk, bv] = b === null ? [null, null, null] : (b.chunk(3) as [Tensor, Tensor, Tensor]);
    return [linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)];
  }

  /** attnMask and keyPaddingMask as one additive float mask of shape (1 or N·H, L or 1, S), or null. */
  #mergeMasks(o: MultiheadAttentionForwardOptions, L: number, S: number, N: number, dtype: Tensor['dtype'], batched: boolean): Tensor | null {
    const additive = (m: Tensor): Tensor => {
      if (m.dtype === 'bool' || m.dtype === 'uint8') {
        return aten.zeros_like(m, { dtype }).maskedFill(m.to('bool'), -Infinity);
      }
      return m;
    };
    let mask: Tensor | null = null;
    if (o.attnMask !== undefined && o.attnMask !== null) {
      const m = o.attnMask;
      const ok = m.ndim === 2 ? m.shape[0] === L && m.shape[1] === S
        : m.ndim === 3 && m.shape[0] === N * this.numHeads && m.shape[1] === L && m.shape[2] === S;
      if (!ok) throw new TorchError(`MultiheadAttention: attnMask must be (${L}, ${S}) or (${N * this.numHeads}, ${L}, ${S}), got [${m.shape.join(', ')}]`);
      mask = additive(m.ndim === 2 ? m.unsqueeze(0) : m);
    }
    if (o.keyPaddingMask !== undefined && o.keyPaddingMask !== null) {
      const kpm = batched ? o.keyPaddingMask : o.keyPaddingMask.unsqueeze(0);
      if (kpm.ndim !== 2 || kpm.shape[0] !== N || kpm.shape[1] !== S) {
        throw new TorchError(`MultiheadAttention: keyPaddingMask must be (${N}, ${S}), got [${o.keyPaddingMask.shape.join(', ')}]`);
      }
      const k = additive(kpm).view([N, 1, 1, S]).expand([N, this.numHeads, 1, S]).reshape([N * this.numHeads, 1, S]);
      mask = mask === null ? k : mask.add(k);
    }
    return mask;
  }

  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, dropout=${pyFloat(this.dropout)}, batch_first=${pyBool(this.batchFirst)}`;
  }
}
