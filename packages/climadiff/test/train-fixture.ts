// A tiny denoiser (one space-only Conv3d, a logSNR embedding mixed in, dropout) and a synthetic in-memory
// clip dataset with missing data, for the training tests. Nothing here depends on the U-Net.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { TrainBatch, TrainData } from '../src/train/index.js';

export class TinyDenoiser extends torch.nn.Module {
  conv: torch.nn.Conv3d;
  emb: torch.nn.Linear;
  drop: torch.nn.Dropout;
  /** Steps (forward calls counted in training mode) whose output is made NaN, to test non-finite losses. */
  poisonCalls = new Set<number>();
  calls = 0;
  /** Shapes of the cond tensors seen by forward. */
  condShapes = new Set<string>();
  constructor(readonly channels = 2) {
    super();
    this.conv = new torch.nn.Conv3d(channels, channels, [1, 3, 3], { padding: [0, 1, 1] });
    this.emb = new torch.nn.Linear(1, channels);
    this.drop = new torch.nn.Dropout(0.1);
  }
  forward(x: Tensor, logsnr: Tensor, cond?: Tensor): Tensor {
    if (cond !== undefined) this.condShapes.add(cond.shape.join('x'));
    const B = x.shape[0]!;
    const e = this.emb.forward(logsnr.div(10).unsqueeze(1)).view([B, this.channels, 1, 1, 1]);
    let y = this.drop.forward(this.conv.forward(x)).add(e);
    if (this.training) {
      this.calls += 1;
      if (this.poisonCalls.has(this.calls)) y = y.mul(Number.NaN);
    }
    return y;
  }
}

/** N clips [C, F, H, W] of smooth random fields with a missing patch in every third clip; order from (seed, epoch). */
export class SyntheticClips implements TrainData {
  readonly x: Tensor;
  readonly mask: Tensor;
  /** Static conditioning channels [n, 1, F, H, W] when withStatics. */
  readonly statics: Tensor | null;
  constructor(readonly n = 12, readonly shape: [number, number, number, number] = [2, 3, 6, 8], options: { seed?: number; nanWhereMissing?: boolean; withStatics?: boolean } = {}) {
    const g = new torch.Generator({ seed: options.seed ?? 123 });
    this.mask = torch.scope(() => {
      const m = torch.zeros([n, ...shape]);
      for (let i = 0; i < n; i += 3) m.select(0, i).narrow(3, 0, 3).fill_(1);
      return m;
    }).keep();
    this.x = torch.scope(() => {
      const x = torch.randn([n, ...shape], { generator: g }).cumsum(4).div(2);
      return options.nanWhereMissing ? torch.where(this.mask.ne(0), Number.NaN, x) : x;
    }).keep();
    this.statics = options.withStatics ? torch.ones([n, 1, shape[1], shape[2], shape[3]]).keep() : null;
  }
  async *batches(o: { batchSize: number; shuffle?: boolean; seed?: number; epoch?: number; dropLast?: boolean }): AsyncGenerator<TrainBatch> {
    const order = o.shuffle === false ? torch.arange(0, this.n, 1, { dtype: 'int64' })
      : torch.randperm(this.n, { generator: new torch.Generator({ seed: (o.seed ?? 0) * 1000 + (o.epoch ?? 0) }) });
    for (let b0 = 0; b0 < this.n; b0 += o.batchSize) {
      const len = Math.min(o.batchSize, this.n - b0);
      if (len < o.batchSize && o.dropLast) break;
      const idx = order.narrow(0, b0, len);
      yield { x: this.x.indexSelect(0, idx), mask: this.mask.indexSelect(0, idx), ...(this.statics ? { statics: this.statics.indexSelect(0, idx) } : {}) };
    }
  }
}

/** Every tensor of a state dict / map as bytes, for bitwise comparisons. */
export function bytesOf(sd: Record<string, Tensor> | Map<string, Tensor>): Map<string, string> {
  const entries = sd instanceof Map ? [...sd] : Object.entries(sd);
  return new Map(entries.map(([k, t]) => [k, Buffer.from(t.detach().contiguous().toBytes()).toString('base64')]));
}

// Compile-time check: the data module's ClipDataset is a TrainData (the CLI passes it straight to train()).
import type { ClipDataset } from '../src/data/index.js';
export const clipDatasetIsTrainData = (d: ClipDataset): TrainData => d;
