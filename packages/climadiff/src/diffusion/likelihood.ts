// The variational bound (ELBO) of a continuous-time variance-preserving diffusion in nats and bits per
// dimension (001_5e42003193798b1e.txt eqs 2.81-2.85; 002_b831863fd030c65c.txt sec. 3.3):
//   -ELBO(x) = reconstruction + prior + 1/2 int_{lambda_min}^{lambda_max} E_eps ||eps - eps_hat(z_lambda, lambda)||^2 dlambda.
import * as torch from '@climadiff/torch';
import type { Tensor, Generator } from '@climadiff/torch';
import type { Schedule } from './schedule.js';
import type { Denoiser } from './parameterisation.js';
import {
  type MaskOptions, type LogsnrProposal, fillUnobserved, observedMask, observedCount, reducePerExample, squaredError,
  scheduleProposal, uniformLogsnrProposal,
} from './losses/common.js';
import { priorLoss, reconstructionLoss } from './losses/vdm.js';
import { onDevice, randnOn } from './tensor-utils.js';

/** Gauss-Legendre nodes and weights on [-1, 1] (exact for polynomials of degree 2n - 1). */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`gaussLegendre: n must be a positive integer, got ${n}`);
  // P_n(x) and P_{n-1}(x) by the three-term recurrence
  const legendre = (x: number): [number, number] => {
    let p0 = 1;
    let p1 = x;
    for (let k = 2; k <= n; k++) {
      const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    return [p1, p0];
  };
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5)); // Newton from the asymptotic estimate of root i
    for (let iter = 0; iter < 100; iter++) {
      const [pn, pm] = legendre(x);
      const dx = pn / ((n * (x * pn - pm)) / (x * x - 1));
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    const [pn, pm] = legendre(x);
    const dp = (n * (x * pn - pm)) / (x * x - 1);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  if (n % 2 === 1) nodes[(n - 1) / 2] = 0;
  return { nodes, weights };
}

export interface DiffusionIntegralOptions extends MaskOptions {
  /**
   * 'monte-carlo': `samples` independent (lambda, eps) draws per example, lambda from `proposal`, each giving
   * w(lambda)/q(lambda) * 1/2 ||eps - eps_hat||^2 (eqs 2.88-2.90).
   * 'quadrature': Gauss-Legendre in lambda with `steps` nodes; the expectation over eps at each node is either a
   * mean over `samples` independent noise draws, or exact for linear denoisers with noise: 'sigma-points'.
   */
  method: 'monte-carlo' | 'quadrature';
  /** w(lambda) (default 1: the ELBO's diffusion term). */
  weight?: (logsnr: Tensor) => Tensor;
  /** Integration range (default the schedule's [logsnrMin, logsnrMax]). */
  logsnrMin?: number;
  logsnrMax?: number;
  /** Monte Carlo: draws per example (default 64). Quadrature with Gaussian noise: noise draws (default 8). */
  samples?: number;
  /** Quadrature nodes (default 128). */
  steps?: number;
  /**
   * Monte Carlo proposal for lambda: 'uniform' on the range (default), 'schedule' (the schedule's p(lambda),
   * t ~ U(0, 1); only when the range is the schedule's), or any LogsnrProposal covering the range.
   */
  proposal?: 'uniform' | 'schedule' | LogsnrProposal;
  /**
   * Quadrature noise: 'gaussian' (default) or 'sigma-points', the 2D points +-sqrt(D) e_k whose mean and
   * covariance are exactly 0 and I: the eps-expectation is then exact when the error is quadratic in eps
   * (any denoiser linear in z, such as the exact Gaussian one). Costs 2D model evaluations per node and example.
   */
  noise?: 'gaussian' | 'sigma-points';
  generator?: Generator;
  /** Most examples per model call (default: one node or draw for the whole batch per call). */
  batchSize?: number;
}

export interface DiffusionIntegralResult {
  /** Estimate of 1/2 int w(lambda) E_eps ||eps - eps_hat||^2 dlambda per example [B], summed over observed elements. */
  value: Tensor;
  /** Its standard error over the random draws [B] (0 for sigma-points quadrature). */
  stdErr: Tensor;
}

/** Estimates the weighted diffusion integral of eq. 2.87 (w = 1: the ELBO's diffusion term, eqs 2.82, 2.85). */
export function diffusionIntegral(model: Denoiser, x: Tensor, schedule: Schedule, options: DiffusionIntegralOptions): DiffusionIntegralResult {
  const B = x.shape[0]!;
  const rest = x.shape.slice(1);
  const D = x.numel() / B;
  const lmin = options.logsnrMin ?? schedule.logsnrMin;
  const lmax = options.logsnrMax ?? schedule.logsnrMax;
  if (!(lmin < lmax)) throw new Error(`diffusionIntegral: need logsnrMin < logsnrMax, got [${lmin}, ${lmax}]`);
  const weight = options.weight ?? ((l: Tensor) => torch.onesLike(l));
  const xf = fillUnobserved(x, options.mask, options.fill);
  const m = options.mask === undefined ? undefined : observedMask(options.mask, x);
  const dtype = x.dtype;
  const device = x.device;
  const gen = options.generator;

  // summed eps error of items (example index b, logsnr, eps)
  const errors = (b: Tensor, logsnr: Tensor, eps: Tensor): Tensor => {
    const { err } = squaredError(model, xf.indexSelect(0, b), eps, logsnr, 'eps');
    return reducePerExample(err, m?.indexSelect(0, b), 'sum');
  };

  if (options.method === 'quadrature') {
    const steps = options.steps ?? 128;
    const { nodes, weights } = gaussLegendre(steps);
    const half = (lmax - lmin) / 2;
    const mid = (lmax + lmin) / 2;
    const lam = torch.tensor(nodes.map((u) => mid + half * u), { dtype, device });
    const wq = torch.tensor(weights.map((v) => v * half), { dtype, device }).mul(weight(lam));
    // item k: node j = floor(k / SB), draw r = k mod SB of example r mod B
    let S: number;
    let epsOf: (r: Tensor) => Tensor;
    if (options.noise === 'sigma-points') {
      S = 2 * D;
      const pts = torch.eye(D, undefined, { dtype, device }).mul(Math.sqrt(D));
      const epsSet = torch.cat([pts, pts.neg()], 0).reshape([S, 1, ...rest]).expand([S, B, ...rest]).reshape([S * B, ...rest]);
      epsOf = (r) => epsSet.indexSelect(0, r);
    } else {
      // fresh noise at every node: a noise draw shared by all nodes integrates its own chi-square fluctuation
      // over the whole range (measured: about 6-7x the standard error at equal cost)
      S = options.samples ?? 8;
      epsOf = (r) => randnOn([r.shape[0]!, ...rest], { dtype, device, generator: gen });
    }
    const SB = S * B;
    const N = steps * SB;
    const chunk = Math.max(1, options.batchSize ?? SB);
    let acc = torch.zeros([SB], { dtype, device });
    for (let start = 0; start < N; start += chunk) {
      const end = Math.min(N, start + chunk);
      const next = torch.scope(() => {
        const k = torch.arange(start, end, 1, { device });
        const r = k.remainder(SB);
        const j = k.div(SB, { roundingMode: 'floor' });
        const l = lam.indexSelect(0, j);
        const e = errors(r.remainder(B), l, epsOf(r));
        return acc.indexAdd(0, r, e.mul(wq.indexSelect(0, j)));
      });
      acc.dispose();
      acc = next;
    }
    const perDraw = acc.mul(0.5).reshape([S, B]);
    const value = perDraw.mean([0]);
    const stdErr = options.noise === 'sigma-points' || S < 2 ? torch.zerosLike(value) : perDraw.std([0], true).div(Math.sqrt(S));
    return { value, stdErr };
  }
  if (options.method !== 'monte-carlo') throw new Error(`method must be 'monte-carlo' or 'quadrature', got ${String(options.method)}`);
  if (options.noise === 'sigma-points') throw new Error("noise: 'sigma-points' is for method: 'quadrature'");
  const S = options.samples ?? 64;
  const p = options.proposal ?? 'uniform';
  let proposal: LogsnrProposal;
  if (p === 'uniform') proposal = uniformLogsnrProposal(lmin, lmax);
  else if (p === 'schedule') {
    if (lmin !== schedule.logsnrMin || lmax !== schedule.logsnrMax) throw new Error("proposal 'schedule' covers only the schedule's own logSNR range");
    proposal = scheduleProposal(schedule);
  } else proposal = p;
  const N = S * B;
  const chunk = Math.max(1, options.batchSize ?? B);
  const parts: Tensor[] = [];
  for (let start = 0; start < N; start += chunk) {
    const end = Math.min(N, start + chunk);
    parts.push(torch.scope(() => {
      const n = end - start;
      const b = torch.arange(start, end, 1, { device }).remainder(B);
      // a user's proposal may not know about devices
      const l = onDevice(proposal.sample(n, { dtype, device, generator: gen }), device);
      const eps = randnOn([n, ...rest], { dtype, device, generator: gen });
      return errors(b, l, eps).mul(weight(l)).div(proposal.density(l)).mul(0.5);
    }));
  }
  const perDraw = torch.cat(parts, 0).reshape([S, B]);
  const value = perDraw.mean([0]);
  const stdErr = S < 2 ? torch.zerosLike(value) : perDraw.std([0], true).div(Math.sqrt(S));
  return { value, stdErr };
}

export interface ElboOptions extends Omit<DiffusionIntegralOptions, 'weight' | 'logsnrMin' | 'logsnrMax'> {
  /** p(x|z_0) of reconstructionLoss: 'gaussian' (default, continuous data) or 'discretized-gaussian'. */
  decoder?: 'gaussian' | 'discretized-gaussian';
  /**
   * Data precision Delta. Discretised decoder: the bin width (required). Gaussian decoder: bits/dim are reported
   * for bins of this width, -log2 p(x) - log2 Delta per dimension (default: none, bits/dim of the density).
   */
  binWidth?: number;
  /** Discretised decoder: [lowest, highest] data value (edge bins open to infinity). */
  dataRange?: [number, number];
}

export interface ElboResult {
  /** -ELBO in nats per example [B] = reconstruction + prior + diffusion. */
  total: Tensor;
  /** KL(q(z_1|x) || N(0, I)) at the schedule's logsnrMin. */
  prior: Tensor;
  /** 1/2 int_{lambda_min}^{lambda_max} E ||eps - eps_hat||^2 dlambda. */
  diffusion: Tensor;
  diffusionStdErr: Tensor;
  /** E_{q(z_0|x)} -log p(x|z_0) at the schedule's logsnrMax. */
  reconstruction: Tensor;
  /** Bits per (observed) dimension. */
  bpd: Tensor;
  /** Number of observed elements per example. */
  dims: Tensor;
}

/**
 * Negative ELBO of eq. 2.82 per example, in nats and bits per dimension. Only the endpoints of `schedule` matter
 * (the continuous-time bound does not depend on the schedule between them), except for proposal: 'schedule'.
 * With a mask every term sums over observed elements only and bits/dim divide by the observed count.
 * Runs without recording gradients.
 */
export function elbo(model: Denoiser, x: Tensor, schedule: Schedule, options: ElboOptions): ElboResult {
  return torch.noGrad(() => {
    const decoder = options.decoder ?? 'gaussian';
    const { value: diffusion, stdErr: diffusionStdErr } = diffusionIntegral(model, x, schedule, options);
    const prior = priorLoss(x, schedule.logsnrMin, { mask: options.mask, fill: options.fill });
    const reconstruction = reconstructionLoss(x, schedule.logsnrMax, {
      decoder, binWidth: options.binWidth, dataRange: options.dataRange, mask: options.mask, fill: options.fill, generator: options.generator,
    });
    const total = reconstruction.add(prior).add(diffusion);
    const dims = observedCount(x, options.mask);
    let nats = total;
    if (decoder === 'gaussian' && options.binWidth !== undefined) {
      if (!(options.binWidth > 0)) throw new Error(`binWidth must be > 0, got ${options.binWidth}`);
      nats = total.sub(dims.mul(Math.log(options.binWidth)));
    }
    const bpd = nats.div(dims.mul(Math.LN2));
    return { total, prior, diffusion, diffusionStdErr, reconstruction, bpd, dims };
  });
}
