// Embedding: a (numEmbeddings, embeddingDim) lookup table initialised N(0, 1), as in PyTorch.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../factories.js';
import { invalidArg } from '../../errors.js';
import { noGrad } from '../../autograd.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { embedding } from '../functional/embedding.js';
import { normal_ } from '../init.js';
import type { FactoryKwargs } from './utils.js';

export interface EmbeddingLayerOptions extends FactoryKwargs {
  /** Row that stays zero at reset and gets no gradient (negative counts from the end). */
  paddingIdx?: number | null;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** Normalised to a non-negative index, or null. */
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingLayerOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let p = options.paddingIdx ?? null;
    if (p !== null) {
      if (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings) {
        throw invalidArg('Embedding paddingIdx', `an integer in [${-numEmbeddings}, ${numEmbeddings})`, p);
      }
      if (p < 0) p += numEmbeddings;
    }
    this.paddingIdx = p;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { dtype: options.dtype, device: options.device }));
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx;
      noGrad(() => this.weight.select(0, row).fill_(0));
    }
  }

  /** indices: an int64 tensor of any shape → (*indices.shape, embeddingDim). */
  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, padding_idx=${this.paddingIdx}`}`;
  }
}
