// The encoder of a representation model (002_b831863fd030c65c.txt sec. 2): q_phi(w|x) = N(mu_phi(x), diag sigma_phi^2(x))
// in d dimensions, from a clip (space-time convolutions) or from the clip's first frame (space-only convolutions), with
// the static fields as extra input channels. Its output head starts at zero, so an untrained encoder is the prior
// N(0, I) exactly (KL = 0) and the conditioned U-Net starts as an unconditional one fed noise.
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import type { BoundaryConfig } from './config.js';
import { SpaceConv } from './layers.js';

const F = torch.nn.functional;
const { Module, ModuleList, GroupNorm, Linear, Conv3d } = torch.nn;

export type EncoderKind = 'clip' | 'frame';

/** The latent variable w of a representation model and its encoder (stored in the U-Net's config). */
export interface RepresentationConfig {
  /** d, the dimension of w. */
  dim: number;
  /** 'clip': space-time convolutions over the whole clip; 'frame': space-only convolutions over its first frame. */
  encoder: EncoderKind;
  /** Channels of the encoder's first level (doubling per level, at most 4x). */
  channels: number;
  /** Stride-2 levels (each halves lat and lon). */
  levels: number;
}

/** mu and log sigma^2 of q(w|x), each [B, d]. */
export interface Posterior {
  mean: Tensor;
  logvar: Tensor;
}

class EncoderLevel extends Module {
  norm: torch.nn.GroupNorm;
  down: SpaceConv;
  /** Mixes neighbouring frames (kernel [3, 1, 1]); null for the frame encoder. */
  time: torch.nn.Conv3d | null;
  constructor(cin: number, cout: number, groups: number, boundary: BoundaryConfig, temporal: boolean) {
    super();
    this.norm = new GroupNorm(groups, cin);
    this.down = new SpaceConv(cin, cout, boundary, { stride: 2 });
    this.time = temporal ? new Conv3d(cout, cout, [3, 1, 1], { padding: [1, 0, 0] }) : null;
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      const h = this.down.forward(F.silu(this.norm.forward(x)));
      return this.time ? h.add(this.time.forward(F.silu(h))) : h;
    });
  }
}

/**
 * E_phi: [B, C, F, H, W] data (and [B, S, H, W] or [B, S, F, H, W] static fields) -> (mu, log sigma^2) [B, d].
 * stem conv -> `levels` x (GroupNorm, SiLU, stride-2 space conv [+ residual temporal conv]) -> GroupNorm, SiLU ->
 * mean over frames, lat and lon -> linear head to 2d (zero-initialised).
 */
export class LatentEncoder extends Module {
  readonly rep: RepresentationConfig;
  stem: SpaceConv;
  levels: torch.nn.ModuleList<EncoderLevel>;
  normOut: torch.nn.GroupNorm;
  head: torch.nn.Linear;

  constructor(rep: RepresentationConfig, inChannels: number, groups: number, boundary: BoundaryConfig) {
    super();
    this.rep = rep;
    const widths = Array.from({ length: rep.levels + 1 }, (_, l) => rep.channels * Math.min(2 ** l, 4));
    this.stem = new SpaceConv(inChannels, widths[0]!, boundary);
    this.levels = new ModuleList(widths.slice(1).map((w, l) => new EncoderLevel(widths[l]!, w, groups, boundary, rep.encoder === 'clip')));
    this.normOut = new GroupNorm(groups, widths[rep.levels]!);
    this.head = new Linear(widths[rep.levels]!, 2 * rep.dim);
    torch.noGrad(() => { this.head.weight.zero_(); this.head.bias!.zero_(); });
  }

  /** The clip (or its first frame) with the static fields concatenated as channels. */
  #input(x: Tensor, cond: Tensor | null | undefined): Tensor {
    const [b, , f, h, w] = x.shape as [number, number, number, number, number];
    let input = this.rep.encoder === 'frame' ? x.narrow(2, 0, 1) : x;
    const frames = input.shape[2]!;
    if (cond) {
      let c = cond.ndim === 4 ? cond.unsqueeze(2).expand([b, cond.shape[1]!, frames, h, w])
        : this.rep.encoder === 'frame' ? cond.narrow(2, 0, 1) : cond;
      if (c.shape[2] !== frames || (cond.ndim === 5 && cond.shape[2] !== f)) throw new Error(`encoder: cond has ${cond.shape[2]} frames, x has ${f}`);
      c = c.to({ dtype: x.dtype, device: x.device });
      input = torch.cat([input, c], 1);
    }
    return input;
  }

  forward(x: Tensor, cond?: Tensor | null): Posterior {
    return torch.scope(() => {
      let h = this.stem.forward(this.#input(x, cond));
      for (const level of this.levels) h = level.forward(h);
      const pooled = F.silu(this.normOut.forward(h)).mean([2, 3, 4]);
      const out = this.head.forward(pooled);
      const d = this.rep.dim;
      return { mean: out.narrow(1, 0, d).contiguous(), logvar: out.narrow(1, d, d).contiguous() };
    });
  }
}

/** w = mu + sigma * eps, eps ~ N(0, I) (the reparameterisation of q(w|x); 002 sec. 2), [B, d]. */
export function sampleLatent(q: Posterior, options: { generator?: Generator; eps?: Tensor } = {}): Tensor {
  const eps = options.eps ?? torch.randn(q.mean.shape, { dtype: q.mean.dtype, device: q.mean.device, generator: options.generator });
  return q.mean.add(q.logvar.mul(0.5).exp().mul(eps));
}

/**
 * KL(N(mu, diag sigma^2) || N(0, I)) per example [B], in nats: 1/2 sum_i (mu_i^2 + sigma_i^2 - 1 - log sigma_i^2)
 * (Kingma & Welling 2014, App. B; the KL term of 002 sec. 4 and App. A).
 */
export function gaussianKl(q: Posterior): Tensor {
  return q.mean.square().add(q.logvar.exp()).sub(1).sub(q.logvar).sum([1]).mul(0.5);
}
