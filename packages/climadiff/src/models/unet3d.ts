// UNet3D: the space-time U-Net of Ho et al. 2022 ("Video Diffusion Models") for climate fields.
// Input [B, C, F, H, W] = (batch, channels, frames, lat, lon). Structure (ADM-style skips):
//   stem conv -> per level l: numResBlocks x Block(l) [+ space-only strided conv] -> middle
//   (res, spatial attn, temporal attn, res) -> per level l reversed: (numResBlocks + 1) x Block on
//   concat(h, skip) [+ nearest upsample + conv] -> GroupNorm, SiLU, conv.
// A Block is a residual block (noise embedding as scale and shift), spatial attention at the configured
// levels, and temporal attention with a relative position bias at every level. Parameter names and
// shapes are identical to interop/pytorch/unet3d.py.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { unet3dConfig, ModelConfigError, type UNet3DConfig, type UNet3DConfigInput, type ModelParameterisation } from './config.js';
import { Attention, Block, ResBlock, SpaceConv, Upsample, sinusoidalEmbedding } from './layers.js';
import { onDevice } from '../diffusion/tensor-utils.js';
import { MonotoneTransform, type InverseCounts } from './transform.js';
import { LatentEncoder, type Posterior } from './encoder.js';

const F = torch.nn.functional;
const { Module, ModuleList, Sequential, Linear, SiLU, GroupNorm } = torch.nn;

export class ModelInputError extends Error {
  override name = 'ModelInputError';
}

class DownLevel extends Module {
  blocks: torch.nn.ModuleList<Block>;
  downsample: SpaceConv | null;
  constructor(blocks: Block[], downsample: SpaceConv | null) {
    super();
    this.blocks = new ModuleList(blocks);
    this.downsample = downsample;
  }
  forward(): never { throw new Error('DownLevel is driven by UNet3D.forward'); }
}

class UpLevel extends Module {
  blocks: torch.nn.ModuleList<Block>;
  upsample: Upsample | null;
  constructor(blocks: Block[], upsample: Upsample | null) {
    super();
    this.blocks = new ModuleList(blocks);
    this.upsample = upsample;
  }
  forward(): never { throw new Error('UpLevel is driven by UNet3D.forward'); }
}

class Middle extends Module {
  res1: ResBlock;
  spatial: Attention;
  temporal: Attention | null;
  res2: ResBlock;
  constructor(res1: ResBlock, spatial: Attention, temporal: Attention | null, res2: ResBlock) {
    super();
    this.res1 = res1;
    this.spatial = spatial;
    this.temporal = temporal;
    this.res2 = res2;
  }
  forward(x: Tensor, embAct: Tensor): Tensor {
    return torch.scope(() => {
      let h = this.spatial.forward(this.res1.forward(x, embAct));
      if (this.temporal) h = this.temporal.forward(h);
      return this.res2.forward(h, embAct);
    });
  }
}

export class UNet3D extends Module {
  readonly config: UNet3DConfig;
  embed: torch.nn.Sequential;
  stem: SpaceConv;
  down: torch.nn.ModuleList<DownLevel>;
  mid: Middle;
  up: torch.nn.ModuleList<UpLevel>;
  normOut: torch.nn.GroupNorm;
  convOut: SpaceConv;
  /** The date embedding (D -> E -> E), added to the noise-level embedding; null without date features. */
  dateEmbed: torch.nn.Sequential | null;
  /** Learned monotone transforms of input channels (config.learnedTransforms, same order). */
  transforms: torch.nn.ModuleList<MonotoneTransform>;
  /** The embedding of the latent w (d -> E -> E), added to the noise-level embedding; null without a representation. */
  latentEmbed: torch.nn.Sequential | null;
  /** The encoder q(w|x) of a representation model (models/encoder.ts); null without a representation. */
  encoder: LatentEncoder | null;

  constructor(config: UNet3DConfigInput | UNet3DConfig) {
    super();
    const c = unet3dConfig(config);
    this.config = c;
    const E = c.embedChannels;
    const bd = c.boundary;
    const mk = (cin: number, cout: number, level: number): Block => new Block(
      new ResBlock(cin, cout, E, c.groups, c.dropout, bd),
      c.attentionLevels.includes(level) ? new Attention('spatial', cout, c.headChannels, c.groups, c.maxRelativeDistance) : null,
      c.temporalAttention ? new Attention('temporal', cout, c.headChannels, c.groups, c.maxRelativeDistance) : null,
    );
    this.embed = new Sequential(new Linear(c.channels, E), new SiLU(), new Linear(E, E));
    this.stem = new SpaceConv(c.inChannels + c.condChannels, c.channels, bd);
    const L = c.channelMults.length;
    const skips: number[] = [c.channels];
    let ch = c.channels;
    const down: DownLevel[] = [];
    for (let l = 0; l < L; l++) {
      const blocks: Block[] = [];
      const out = c.channels * c.channelMults[l]!;
      for (let i = 0; i < c.numResBlocks; i++) {
        blocks.push(mk(ch, out, l));
        ch = out;
        skips.push(ch);
      }
      let ds: SpaceConv | null = null;
      if (l < L - 1) {
        ds = new SpaceConv(ch, ch, bd, { stride: 2 });
        skips.push(ch);
      }
      down.push(new DownLevel(blocks, ds));
    }
    this.down = new ModuleList(down);
    this.mid = new Middle(
      new ResBlock(ch, ch, E, c.groups, c.dropout, bd),
      new Attention('spatial', ch, c.headChannels, c.groups, c.maxRelativeDistance),
      c.temporalAttention ? new Attention('temporal', ch, c.headChannels, c.groups, c.maxRelativeDistance) : null,
      new ResBlock(ch, ch, E, c.groups, c.dropout, bd),
    );
    const up: UpLevel[] = new Array<UpLevel>(L);
    for (let l = L - 1; l >= 0; l--) {
      const blocks: Block[] = [];
      const out = c.channels * c.channelMults[l]!;
      for (let i = 0; i < c.numResBlocks + 1; i++) {
        blocks.push(mk(ch + skips.pop()!, out, l));
        ch = out;
      }
      up[l] = new UpLevel(blocks, l > 0 ? new Upsample(ch, bd) : null);
    }
    this.up = new ModuleList(up);
    this.normOut = new GroupNorm(c.groups, ch);
    this.convOut = new SpaceConv(ch, c.outChannels, bd);
    torch.noGrad(() => { this.convOut.weight.zero_(); this.convOut.bias!.zero_(); });
    // registered last, so a model without them has exactly the parameters (and order) it always had
    this.dateEmbed = c.dateFeatures > 0 ? new Sequential(new Linear(c.dateFeatures, E), new SiLU(), new Linear(E, E)) : null;
    this.transforms = new ModuleList(c.learnedTransforms.map((t) => new MonotoneTransform(t)));
    const rep = c.representation;
    this.latentEmbed = rep ? new Sequential(new Linear(rep.dim, E), new SiLU(), new Linear(E, E)) : null;
    this.encoder = rep ? new LatentEncoder(rep, c.inChannels + c.condChannels, c.groups, bd) : null;
  }

  /**
   * q(w|x) of a representation model: x as the U-Net sees it (after encode) [B, inChannels, F, H, W], and its static
   * fields when the model has them.
   */
  posterior(x: Tensor, cond?: Tensor | null): Posterior {
    if (!this.encoder) throw new ModelInputError('UNet3D: the model has no representation (config.representation is null)');
    const c = this.config;
    this.#checkInput(x);
    if (x.shape[1] !== c.inChannels) throw new ModelInputError(`UNet3D.posterior: x has ${x.shape[1]} channels, the model expects ${c.inChannels}`);
    if (c.condChannels > 0 && !cond) throw new ModelInputError(`UNet3D.posterior: the model expects ${c.condChannels} conditioning channels, but no cond was given`);
    return this.encoder.forward(x, c.condChannels > 0 ? cond : null);
  }

  /**
   * Data as the U-Net sees it: the learned-transform channels of x (u = x / std >= 0) mapped to y(u) in [-1, 1], the
   * others unchanged; `logDerivative` [B] is, per example, the sum over learned channels of the mean over their
   * elements of 1[u > threshold] log y'(u) (observed elements only when `observed` is given; the seed's penalty).
   */
  encode(x: Tensor, observed?: Tensor): { x: Tensor; logDerivative: Tensor } {
    const b = x.shape[0]!;
    if (this.transforms.length === 0) return { x, logDerivative: torch.zeros([b], { device: x.device }) };
    return torch.scope(() => {
      const chans = x.unbind(1);
      let logDet = torch.zeros([b], { device: x.device });
      this.config.learnedTransforms.forEach((t, i) => {
        const u = chans[t.channel]!;
        const { y, logDerivative } = this.transforms.get(i).forwardWithLogDerivative(u);
        let wet = u.gt(t.threshold);
        if (observed) wet = wet.logicalAnd(observed.select(1, t.channel));
        const term = logDerivative.mul(wet.to(logDerivative.dtype)).reshape([b, -1]).mean([1]);
        logDet = logDet.add(term);
        chans[t.channel] = observed ? y.mul(observed.select(1, t.channel).to(y.dtype)) : y;
      });
      return { x: torch.stack(chans, 1), logDerivative: logDet };
    });
  }

  /** The inverse of encode for generated data: learned channels mapped back to u (clamped outside [-1, 1] and counted). */
  decode(y: Tensor, counts?: InverseCounts[]): Tensor {
    if (this.transforms.length === 0) return y;
    return torch.scope(() => {
      const chans = y.unbind(1);
      this.config.learnedTransforms.forEach((t, i) => { chans[t.channel] = this.transforms.get(i).inverse(chans[t.channel]!, counts?.[i]); });
      return torch.stack(chans, 1);
    });
  }

  /**
   * decode with gradients, for guidance through the inverse transform: the exact inverse u* (bisection, no graph) plus
   * one Newton correction u = u* + (y - y(u*)) / y'(u*) with y(u*) and y'(u*) held constant. Its value is u* (to the
   * bisection's round-off) and its derivative du/dy = 1 / y'(u*), the derivative of the inverse function.
   */
  decodeDifferentiable(y: Tensor): Tensor {
    if (this.transforms.length === 0) return y;
    return torch.scope(() => {
      const chans = y.unbind(1);
      this.config.learnedTransforms.forEach((t, i) => {
        const tr = this.transforms.get(i);
        const yc = chans[t.channel]!;
        const u0 = tr.inverse(yc);
        const { y: y0, logDerivative } = torch.noGrad(() => tr.forwardWithLogDerivative(u0));
        chans[t.channel] = u0.add(yc.sub(y0).mul(logDerivative.neg().exp()));
      });
      return torch.stack(chans, 1);
    });
  }

  /** d of the latent w of a representation model; 0 without one. */
  get latentDim(): number { return this.config.representation?.dim ?? 0; }
  /** What forward predicts (config.parameterisation). */
  get parameterisation(): ModelParameterisation { return this.config.parameterisation; }
  /** Levels below the top halve H and W, so both must be divisible by this. */
  get spatialMultiple(): number { return 2 ** (this.config.channelMults.length - 1); }

  /**
   * x [B, inChannels, F, H, W]; logsnr [B] or a scalar; cond [B, condChannels, H, W] (static, broadcast over
   * frames) or [B, condChannels, F, H, W]; date [B, dateFeatures] when the model has date features; latent [B, d] (w)
   * for a representation model. Returns the prediction [B, outChannels, F, H, W] in config.parameterisation.
   */
  forward(x: Tensor, logsnr: Tensor, cond?: Tensor | null, date?: Tensor | null, latent?: Tensor | null): Tensor {
    const c = this.config;
    const [b, ch, f, h, w] = this.#checkInput(x);
    if (ch !== c.inChannels) throw new ModelInputError(`UNet3D: x has ${ch} channels, the model expects ${c.inChannels} (x shape [${x.shape.join(', ')}])`);
    return torch.scope(() => {
      let input = x;
      if (c.condChannels > 0) {
        if (cond === undefined || cond === null) throw new ModelInputError(`UNet3D: the model expects ${c.condChannels} conditioning channels, but no cond was given`);
        let cc = cond;
        const ok4 = cc.ndim === 4 && cc.shape[0] === b && cc.shape[1] === c.condChannels && cc.shape[2] === h && cc.shape[3] === w;
        const ok5 = cc.ndim === 5 && cc.shape[0] === b && cc.shape[1] === c.condChannels && cc.shape[2] === f && cc.shape[3] === h && cc.shape[4] === w;
        if (!ok4 && !ok5) {
          throw new ModelInputError(`UNet3D: cond must be [${b}, ${c.condChannels}, ${h}, ${w}] or [${b}, ${c.condChannels}, ${f}, ${h}, ${w}], got [${cc.shape.join(', ')}]`);
        }
        if (ok4) cc = cc.unsqueeze(2).expand([b, c.condChannels, f, h, w]);
        input = torch.cat([x, cc.to({ dtype: x.dtype, device: x.device })], 1);
      } else if (cond !== undefined && cond !== null) {
        throw new ModelInputError('UNet3D: cond was given but the model has condChannels = 0');
      }
      // the noise level may come from the CPU (a number turned into a tensor); the embedding runs with x
      let ls = onDevice(logsnr, x.device);
      if (ls.numel() === 1 && ls.ndim <= 1) ls = ls.reshape([1]).expand([b]);
      if (ls.ndim !== 1 || ls.shape[0] !== b) throw new ModelInputError(`UNet3D: logsnr must be a scalar or [${b}], got [${ls.shape.join(', ')}]`);
      let dt: Tensor | null = null;
      if (c.dateFeatures > 0) {
        if (date === undefined || date === null) throw new ModelInputError(`UNet3D: the model is conditioned on the date (${c.dateFeatures} features), but no date was given`);
        if (date.ndim !== 2 || date.shape[0] !== b || date.shape[1] !== c.dateFeatures) throw new ModelInputError(`UNet3D: date must be [${b}, ${c.dateFeatures}], got [${date.shape.join(', ')}]`);
        dt = date.to({ dtype: 'float32', device: x.device });
      } else if (date !== undefined && date !== null) {
        throw new ModelInputError('UNet3D: a date was given but the model has dateFeatures = 0');
      }
      let wt: Tensor | null = null;
      if (c.representation) {
        const d = c.representation.dim;
        if (latent === undefined || latent === null) throw new ModelInputError(`UNet3D: the model is conditioned on a latent w (${d} dimensions), but none was given`);
        if (latent.ndim !== 2 || latent.shape[0] !== b || latent.shape[1] !== d) throw new ModelInputError(`UNet3D: latent must be [${b}, ${d}], got [${latent.shape.join(', ')}]`);
        wt = onDevice(latent, x.device).to((this.latentEmbed!.get(0) as torch.nn.Linear).weight.dtype);
      } else if (latent !== undefined && latent !== null) {
        throw new ModelInputError('UNet3D: a latent was given but the model has no representation');
      }
      const pads = this.#padding(h, w);
      if (!pads) return this.#unet(input, input === x ? null : input, ls, dt, wt);
      const padded = this.#pad(input, pads);
      if (input !== x) input.dispose();
      const y = this.#unet(padded, padded, ls, dt, wt);
      return y.narrow(3, pads[0], h).narrow(4, pads[2], w).contiguous();
    });
  }

  /**
   * [top, bottom, left, right] cells that bring an H x W grid to the levels' multiple (config.gridPadding), null when
   * none are needed; the shortfall is split evenly, the extra cell going to the bottom (right).
   */
  #padding(h: number, w: number): [number, number, number, number] | null {
    const m = this.spatialMultiple;
    const ph = (m - (h % m)) % m, pw = (m - (w % m)) % m;
    if (ph === 0 && pw === 0) return null;
    const c = this.config;
    const pads: [number, number, number, number] = [ph >> 1, ph - (ph >> 1), pw >> 1, pw - (pw >> 1)];
    // reflection needs more cells than it mirrors; wrapping needs as many as it copies
    const lonWraps = c.boundary.lon === 'periodic';
    if (c.gridPadding === 'reflect' && (pads[1] >= h || (!lonWraps && pads[3] >= w))) {
      throw new ModelInputError(`UNet3D: a ${h} x ${w} grid is too small to reflect-pad to a multiple of ${m}`);
    }
    if (lonWraps && pads[3] > w) throw new ModelInputError(`UNet3D: a ${h} x ${w} grid is too small to wrap to a multiple of ${m}`);
    return pads;
  }

  /** The input padded by `pads`: longitude wrapped on periodic grids, otherwise reflected or zero (config.gridPadding). */
  #pad(t: Tensor, [top, bottom, left, right]: [number, number, number, number]): Tensor {
    const c = this.config;
    const mode = c.gridPadding === 'reflect' ? 'reflect' : 'constant';
    let out = t;
    if (c.boundary.lon === 'periodic') {
      const w = t.shape[4]!;
      if (left + right > 0) out = torch.cat([t.narrow(4, w - left, left), t, t.narrow(4, 0, right)], 4);
      if (top + bottom > 0) {
        const v = F.pad(out, [0, 0, top, bottom, 0, 0], { mode });
        if (out !== t) out.dispose();
        out = v;
      }
    } else {
      out = F.pad(t, [left, right, top, bottom, 0, 0], { mode });
    }
    return out;
  }

  /**
   * The U-Net proper. Activations are released as soon as they are used up (a skip after its concat, a level's
   * output after the next layer ran), as reference counting does in PyTorch; autograd keeps what it saved.
   */
  #unet(input: Tensor, ownedInput: Tensor | null, logsnr: Tensor, date: Tensor | null, latent: Tensor | null): Tensor {
    const c = this.config;
    let emb = this.embed.forward(sinusoidalEmbedding(logsnr, c.channels));
    if (date && this.dateEmbed) emb = emb.add(this.dateEmbed.forward(date));
    if (latent && this.latentEmbed) emb = emb.add(this.latentEmbed.forward(latent));
    const embAct = F.silu(emb);
    let hcur = this.stem.forward(input);
    ownedInput?.dispose();
    const hs: Tensor[] = [hcur];
    for (const level of this.down) {
      for (const blk of level.blocks) { hcur = blk.forward(hcur, embAct); hs.push(hcur); }
      if (level.downsample) { hcur = level.downsample.forward(hcur); hs.push(hcur); }
    }
    hcur = this.mid.forward(hcur, embAct);
    for (let l = c.channelMults.length - 1; l >= 0; l--) {
      const level = this.up.get(l);
      for (const blk of level.blocks) {
        const skip = hs.pop()!;
        const joined = torch.cat([hcur, skip], 1);
        skip.dispose();
        hcur.dispose();
        hcur = blk.forward(joined, embAct);
        joined.dispose();
      }
      if (level.upsample) {
        const up = level.upsample.forward(hcur);
        hcur.dispose();
        hcur = up;
      }
    }
    return this.convOut.forward(F.silu(this.normOut.forward(hcur)));
  }

  #checkInput(x: Tensor): [number, number, number, number, number] {
    if (x.ndim !== 5) throw new ModelInputError(`UNet3D: x must be [batch, channels, frames, lat, lon], got [${x.shape.join(', ')}]`);
    const s = x.shape as [number, number, number, number, number];
    const m = this.spatialMultiple;
    if (this.config.gridPadding === 'none' && (s[3] % m !== 0 || s[4] % m !== 0)) {
      throw new ModelInputError(`UNet3D: lat and lon sizes must be divisible by ${m} (${this.config.channelMults.length} levels), got ${s[3]} x ${s[4]} (gridPadding 'reflect' or 'zeros' pads to the multiple)`);
    }
    return s;
  }

  /** Number of parameters (the sum of the numels of stateDict's tensors; the model has no buffers). */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.numel();
    return n;
  }

  /**
   * Forward FLOPs (2 per multiply-add) for an input shape [B, C, F, H, W]: convolutions, linear layers and
   * the attention matmuls (QK^T and AV). Normalisation, activations, softmax and additions are not counted.
   */
  flops(shape: number[]): number {
    if (!Array.isArray(shape) || shape.length !== 5 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
      throw new ModelInputError(`UNet3D.flops: shape must be [batch, channels, frames, lat, lon], got ${JSON.stringify(shape)}`);
    }
    const c = this.config;
    const m = this.spatialMultiple;
    if (c.gridPadding === 'none' && (shape[3]! % m !== 0 || shape[4]! % m !== 0)) throw new ModelInputError(`UNet3D.flops: lat and lon must be divisible by ${m}`);
    // a padded grid costs what the grid of the next multiple costs
    shape = [shape[0]!, shape[1]!, shape[2]!, Math.ceil(shape[3]! / m) * m, Math.ceil(shape[4]! / m) * m];
    const b = shape[0]!;
    const E = c.embedChannels;
    const d = c.representation?.dim ?? 0;
    // (the encoder runs once per clip, not per network evaluation: not counted)
    let total = 2 * b * (c.channels * E + E * E + (c.dateFeatures > 0 ? c.dateFeatures * E + E * E : 0) + (d > 0 ? d * E + E * E : 0));
    let [fl, s] = this.stem.flops([b, c.inChannels + c.condChannels, shape[2]!, shape[3]!, shape[4]!]);
    total += fl;
    const hs: number[][] = [s];
    for (const level of this.down) {
      for (const blk of level.blocks) { [fl, s] = blk.flops(s); total += fl; hs.push(s); }
      if (level.downsample) { [fl, s] = level.downsample.flops(s); total += fl; hs.push(s); }
    }
    total += this.mid.res1.flops(s) + this.mid.spatial.flops(s) + (this.mid.temporal?.flops(s) ?? 0) + this.mid.res2.flops(s);
    for (let l = c.channelMults.length - 1; l >= 0; l--) {
      const level = this.up.get(l);
      for (const blk of level.blocks) {
        const skip = hs.pop()!;
        [fl, s] = blk.flops([s[0]!, s[1]! + skip[1]!, s[2]!, s[3]!, s[4]!]);
        total += fl;
      }
      if (level.upsample) { [fl, s] = level.upsample.flops(s); total += fl; }
    }
    return total + this.convOut.flops(s)[0];
  }

  /** The config as stored in checkpoints (a JSON-serialisable copy). */
  toJSON(): UNet3DConfig { return JSON.parse(JSON.stringify(this.config)) as UNet3DConfig; }
}

export { ModelConfigError };
