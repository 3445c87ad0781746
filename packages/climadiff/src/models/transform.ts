// The learned monotone input transform of the seed's final version (ANCHORS.md, "Input transforms compared") for
// intermittent, heavy-tailed channels such as precipitation, trained jointly with the U-Net:
//   h(u) = tanh(W3 tanh(W2 tanh(W1 u + b1) + b2) + b3) + 0.1 u,   W1: 16x1, W2: 16x16, W3: 1x16, all >= 0
//   y(u) = 2 (h(u) - h(0)) / (h(u_max) - h(0)) - 1                 (rescaled so the domain [0, u_max] maps to [-1, 1])
// u >= 0 is the channel divided by its training standard deviation (data/normalise.ts, transform 'learned'). The
// weights are non-negative by construction, W = softplus(raw), so h is strictly increasing (h' >= 0.1). The change
// of variables gives log p(x) = log p(y) + log y'(u) + log(du/dx) with
//   y'(u) = 2 h'(u) / (h(u_max) - h(0)),
//   h'(u) = (1 - t3^2) W3 diag(1 - t2^2) W2 diag(1 - t1^2) W1 + 0.1     (t_i the tanh outputs)
// (the rescaling is part of the Jacobian; du/dx = 1/std is constant). The inverse is bisection on [0, u_max] in
// float64: 48 halvings leave u within u_max 2^-48.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';

const { Module, Parameter } = torch.nn;

/** One learned transform: which input channel, its hidden width, the upper end of its domain and its wet threshold. */
export interface LearnedTransformConfig {
  channel: number;
  /** Hidden units of both tanh layers (the seed: 16). */
  hidden: number;
  /** u_max: values above it are outside the transform's range (clamped and counted when sampling). */
  domainMax: number;
  /** The penalty's indicator 1[u > threshold] (0.01 mm/h divided by the channel's std for precipitation). */
  threshold: number;
}

/** Where samples fell outside [-1, 1] and were clamped to the ends of the domain. */
export interface InverseCounts { below: number; above: number; total: number }

const BISECTIONS = 48;

export class MonotoneTransform extends Module {
  readonly config: LearnedTransformConfig;
  w1: InstanceType<typeof Parameter>;
  b1: InstanceType<typeof Parameter>;
  w2: InstanceType<typeof Parameter>;
  b2: InstanceType<typeof Parameter>;
  w3: InstanceType<typeof Parameter>;
  b3: InstanceType<typeof Parameter>;

  constructor(config: LearnedTransformConfig) {
    super();
    this.config = { ...config };
    const n = config.hidden;
    // raw weights whose softplus is about 1 / fan_in (pre-activations of order one), biases small
    const raw = (shape: number[], fanIn: number) => torch.noGrad(() => torch.rand(shape).mul(1 / fanIn).add(0.5 / fanIn).expm1().log());
    this.w1 = new Parameter(raw([n, 1], 1));
    this.b1 = new Parameter(torch.noGrad(() => torch.rand([n]).mul(-2)));
    this.w2 = new Parameter(raw([n, n], n));
    this.b2 = new Parameter(torch.noGrad(() => torch.rand([n]).sub(0.5)));
    this.w3 = new Parameter(raw([1, n], n));
    this.b3 = new Parameter(torch.zeros([1]));
  }

  /** The non-negative weights W = softplus(raw). */
  #weights(): [Tensor, Tensor, Tensor] {
    return [torch.softplus(this.w1), torch.softplus(this.w2), torch.softplus(this.w3)];
  }

  /** h(u) and, with `derivative`, h'(u), for u of any shape (same shape out). */
  #h(u: Tensor, derivative: boolean, w: [Tensor, Tensor, Tensor], b: [Tensor, Tensor, Tensor]): [Tensor, Tensor | null] {
    const [w1, w2, w3] = w;
    const flat = u.reshape([-1, 1]);
    const t1 = torch.tanh(torch.nn.functional.linear(flat, w1, b[0]));
    const t2 = torch.tanh(torch.nn.functional.linear(t1, w2, b[1]));
    const t3 = torch.tanh(torch.nn.functional.linear(t2, w3, b[2]));
    const h = t3.add(flat, { alpha: 0.1 }).reshape(u.shape);
    if (!derivative) return [h, null];
    // d t1/du = (1 - t1^2) W1^T; d t2/du = (1 - t2^2) (d t1/du W2^T); d t3/du = (1 - t3^2) (d t2/du W3^T)
    const d1 = t1.square().neg().add(1).mul(w1.reshape([1, -1]));
    const d2 = t2.square().neg().add(1).mul(d1.matmul(w2.t()));
    const d3 = t3.square().neg().add(1).mul(d2.matmul(w3.t()));
    return [h, d3.add(0.1).reshape(u.shape)];
  }

  /** y(u) in [-1, 1] for u in [0, u_max], and log y'(u) (same shapes as u). */
  forwardWithLogDerivative(u: Tensor): { y: Tensor; logDerivative: Tensor } {
    return torch.scope(() => {
      const w = this.#weights();
      const b: [Tensor, Tensor, Tensor] = [this.b1, this.b2, this.b3];
      const ends = torch.tensor([0, this.config.domainMax], [2], { dtype: u.dtype }).to(u.device);
      const [hEnds] = this.#h(ends, false, w, b);
      const h0 = hEnds.narrow(0, 0, 1), range = hEnds.narrow(0, 1, 1).sub(h0);
      const [h, dh] = this.#h(u, true, w, b);
      const y = h.sub(h0).div(range).mul(2).sub(1);
      const logDerivative = dh!.log().add(Math.log(2)).sub(range.log());
      return { y, logDerivative };
    });
  }

  override forward(u: Tensor): Tensor {
    return torch.scope(() => this.forwardWithLogDerivative(u).y);
  }

  /**
   * The exact inverse u(y) by bisection in float64 (no gradients). y outside [-1, 1] is clamped to the ends of the
   * domain and counted in `counts`.
   */
  inverse(y: Tensor, counts?: InverseCounts): Tensor {
    return torch.scope(() => torch.noGrad(() => {
      const y64 = y.to('float64');
      if (counts) {
        counts.below += y64.lt(-1).sum().item() as number;
        counts.above += y64.gt(1).sum().item() as number;
        counts.total += y64.numel();
      }
      const yc = y64.clamp(-1, 1);
      const w = this.#weights().map((t) => t.to('float64')) as [Tensor, Tensor, Tensor];
      const b = [this.b1, this.b2, this.b3].map((t) => t.to('float64')) as [Tensor, Tensor, Tensor];
      const uMax = this.config.domainMax;
      const [hEnds] = this.#h(torch.tensor([0, uMax], [2], { dtype: 'float64' }).to(y.device), false, w, b);
      const h0 = hEnds.narrow(0, 0, 1), range = hEnds.narrow(0, 1, 1).sub(h0);
      const target = yc.add(1).mul(0.5).mul(range).add(h0);
      let lo = torch.zerosLike(yc), hi = torch.fullLike(yc, uMax);
      for (let i = 0; i < BISECTIONS; i++) {
        const [nlo, nhi] = torch.scope(() => {
          const mid = lo.add(hi).mul(0.5);
          const up = this.#h(mid, false, w, b)[0].lt(target);
          return [torch.where(up, mid, lo), torch.where(up, hi, mid)];
        });
        lo.dispose(); hi.dispose();
        lo = nlo!; hi = nhi!;
      }
      return lo.add(hi).mul(0.5).to(y.dtype);
    }));
  }
}
