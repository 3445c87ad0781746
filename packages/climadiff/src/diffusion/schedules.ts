// More noise schedules, each viewed as a variance-preserving Schedule (a strictly decreasing logSNR
// lambda(t) on t in [0, 1], eq. 2.63, 001_5e42003193798b1e.txt): the discrete DDPM linear-beta schedule
// and its continuous-time limit, the NCSN geometric noise levels, and any user-given lambda(t).
// The interface and the alpha-cosine family live in schedule.ts.
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import type { Schedule } from './schedule.js';

// ---------------------------------------------------------------------------------------------
// DDPM linear-beta schedule (004_22bcb44419df31bb.txt sec. 3.1; 003_b86777f6ee6037e6.txt eq. 14)
// ---------------------------------------------------------------------------------------------

export interface DdpmOptions {
  /** Number of discrete steps (default 1000). */
  T?: number;
  /** beta_1 and beta_T of the linear sequence (defaults 1e-4 and 0.02, Ho et al.'s values). */
  betaStart?: number;
  betaEnd?: number;
}

function ddpmConfig(fn: string, o: DdpmOptions): { T: number; betaStart: number; betaEnd: number } {
  const T = o.T ?? 1000;
  const betaStart = o.betaStart ?? 1e-4;
  const betaEnd = o.betaEnd ?? 0.02;
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`${fn}: T must be an integer >= 1, got ${T}`);
  if (!(betaStart > 0 && betaStart <= betaEnd && betaEnd < 1)) {
    throw new Error(`${fn}: need 0 < betaStart <= betaEnd < 1, got betaStart=${betaStart}, betaEnd=${betaEnd}`);
  }
  return { T, betaStart, betaEnd };
}

/** lambda = log(abar / (1 - abar)) from log(abar) < 0, without cancellation near abar = 1. */
function logsnrFromLogAlphaBar(logAlphaBar: Tensor): Tensor {
  return logAlphaBar.sub(logAlphaBar.expm1().neg().log());
}

export interface DdpmBetas {
  /** beta_i, i = 1..T (index i-1), linear from betaStart to betaEnd. */
  betas: Tensor;
  /** alpha_i = 1 - beta_i (004 sec. 3.1 and 003 use this name for the per-step factor). */
  alphas: Tensor;
  /** alphaBar_i = prod_{j <= i} (1 - beta_j), so q(z_i | x) = N(sqrt(alphaBar_i) x, (1 - alphaBar_i) I). */
  alphaBars: Tensor;
  /** logSNR of step i: log(alphaBar_i / (1 - alphaBar_i)); strictly decreasing in i. */
  logsnr: Tensor;
}

/**
 * The discrete DDPM forward process z_i = sqrt(1 - beta_i) z_{i-1} + sqrt(beta_i) eps_i with beta_i linear in i
 * (004 sec. 3.1), whose marginal is q(z_i | x) = N(sqrt(alphaBar_i) x, (1 - alphaBar_i) I) (003 eq. 14).
 * In the VP notation of 001 that is alpha_i^2 = alphaBar_i and lambda_i = log(alphaBar_i / (1 - alphaBar_i)) (eq. 2.63).
 * All tensors are float64 of shape [T].
 */
export function ddpmBetas(options: DdpmOptions = {}): DdpmBetas {
  const { T, betaStart, betaEnd } = ddpmConfig('ddpmBetas', options);
  return torch.scope(() => {
    const betas = torch.linspace(betaStart, betaEnd, T, { dtype: 'float64' });
    const alphas = betas.neg().add(1);
    // cumulative sum of logs: log alphaBar without underflow or rounding of the running product
    const logAlphaBar = betas.neg().log1p().cumsum(0);
    return { betas, alphas, alphaBars: logAlphaBar.exp(), logsnr: logsnrFromLogAlphaBar(logAlphaBar) };
  });
}

/**
 * Untruncated continuous-time limit of the linear-beta DDPM (the VP-SDE with beta(u) = beta0 + (beta1 - beta0) u,
 * beta0 = T betaStart, beta1 = T betaEnd), at process time u in (0, inf):
 * log alphaBar(u) = -beta0 u - (beta1 - beta0) u^2 / 2, lambda(u) = log(alphaBar / (1 - alphaBar)).
 * Discrete step i sits at u = i / T. For the VP process of eqs 2.49-2.50, g(u)^2 = d/du log(1 + exp(-lambda)) = beta(u).
 */
export function ddpmContinuousLogsnr(u: Tensor, options: DdpmOptions = {}): Tensor {
  const { T, betaStart, betaEnd } = ddpmConfig('ddpmContinuousLogsnr', options);
  const b0 = T * betaStart;
  const b1 = T * betaEnd;
  return logsnrFromLogAlphaBar(u.mul(0.5 * (b1 - b0)).add(b0).mul(u).neg());
}

/** The inverse of ddpmContinuousLogsnr: the positive root of (beta1 - beta0)/2 u^2 + beta0 u - softplus(-lambda) = 0. */
function ddpmProcessTime(logsnr: Tensor, b0: number, b1: number): Tensor {
  // -log alphaBar = -log sigmoid(lambda) = softplus(-lambda) > 0
  const c = torch.softplus(logsnr.neg());
  const a = 0.5 * (b1 - b0);
  // u = (-b0 + sqrt(b0^2 + 4 a c)) / (2a), written as 2c / (b0 + sqrt(b0^2 + 4 a c)): no cancellation, valid for a = 0
  return c.mul(2).div(c.mul(4 * a).add(b0 * b0).sqrt().add(b0));
}

export interface DdpmLinearSchedule extends Schedule {
  /** The process-time range: t in [0, 1] maps to u = u0 + t (u1 - u0); discrete step i is at u = i / T. */
  readonly u0: number;
  readonly u1: number;
}

/**
 * The continuous-time view of the linear-beta DDPM as a Schedule. lambda(u) of ddpmContinuousLogsnr is infinite at
 * u = 0, so, as eqs 2.64-2.66 do for the cosine, t in [0, 1] is mapped linearly onto the process times
 * [u0, u1] = [u(logsnrMax), u(logsnrMin)]. Defaults: logsnrMax = lambda(1/T), logsnrMin = lambda(1), so u0 = 1/T,
 * u1 = 1 and discrete step i (u = i/T) sits at t = (i - 1) / (T - 1).
 * How close the limit is to the discrete chain (T = 1000, defaults): |lambda(i/T) - lambda_i| <= 0.1 over all
 * steps, largest at i = 1 (the continuous beta averages beta over the first step) and near i = T (the discrete
 * chain's log(1 - beta) differs from -beta at second order); see test/schedules.test.ts.
 */
export function ddpmLinearSchedule(options: DdpmOptions & { logsnrMin?: number; logsnrMax?: number } = {}): DdpmLinearSchedule {
  const { T, betaStart, betaEnd } = ddpmConfig('ddpmLinearSchedule', options);
  const b0 = T * betaStart;
  const b1 = T * betaEnd;
  const at = (u: number) => torch.scope(() => ddpmContinuousLogsnr(torch.scalarTensor(u, { dtype: 'float64' }), options).item());
  const logsnrMax = options.logsnrMax ?? at(1 / T);
  const logsnrMin = options.logsnrMin ?? at(1);
  checkRange('ddpmLinearSchedule', logsnrMin, logsnrMax);
  const uOf = (l: number) => torch.scope(() => ddpmProcessTime(torch.scalarTensor(l, { dtype: 'float64' }), b0, b1).item());
  // the defaults hit the grid exactly (no round trip through the quadratic)
  const u0 = options.logsnrMax === undefined ? 1 / T : uOf(logsnrMax);
  const u1 = options.logsnrMin === undefined ? 1 : uOf(logsnrMin);
  const du = u1 - u0;
  return {
    name: 'ddpm-linear',
    logsnrMin,
    logsnrMax,
    u0,
    u1,
    logsnr: (t) => ddpmContinuousLogsnr(t.mul(du).add(u0), options),
    t: (l) => ddpmProcessTime(l, b0, b1).sub(u0).div(du),
    // dlambda/du = d(log abar)/du / (1 - abar) = -beta(u) / sigmoid(-lambda), so |dt/dlambda| = sigmoid(-lambda) / (beta(u) (u1 - u0))
    density: (l) => l.neg().sigmoid().div(ddpmProcessTime(l, b0, b1).mul(b1 - b0).add(b0).mul(du)),
  };
}

// ---------------------------------------------------------------------------------------------
// NCSN geometric noise levels (004_22bcb44419df31bb.txt sec. 2.4.2)
// ---------------------------------------------------------------------------------------------

export interface NcsnOptions {
  /** Largest and smallest noise level (defaults 1 and 0.01, the values quoted in 004 sec. 2.4.2). */
  sigmaMax?: number;
  sigmaMin?: number;
}

function ncsnConfig(fn: string, o: NcsnOptions): { sigmaMax: number; sigmaMin: number } {
  const sigmaMax = o.sigmaMax ?? 1;
  const sigmaMin = o.sigmaMin ?? 0.01;
  if (!(Number.isFinite(sigmaMax) && sigmaMin > 0 && sigmaMin < sigmaMax)) {
    throw new Error(`${fn}: need 0 < sigmaMin < sigmaMax < infinity, got sigmaMin=${sigmaMin}, sigmaMax=${sigmaMax}`);
  }
  return { sigmaMax, sigmaMin };
}

/**
 * The NCSN noise levels sigma_1 > sigma_2 > ... > sigma_L: a geometric sequence from sigmaMax to sigmaMin with
 * constant ratio sigma_{i-1} / sigma_i > 1 (004 sec. 2.4.2). float64, shape [L].
 */
export function ncsnSigmas(options: NcsnOptions & { L?: number } = {}): Tensor {
  const { sigmaMax, sigmaMin } = ncsnConfig('ncsnSigmas', options);
  const L = options.L ?? 10;
  if (!(Number.isInteger(L) && L >= 2)) throw new Error(`ncsnSigmas: L must be an integer >= 2, got ${L}`);
  return torch.scope(() => torch.linspace(Math.log(sigmaMax), Math.log(sigmaMin), L, { dtype: 'float64' }).exp());
}

/** The variance-exploding noise level of a VP logSNR: x + sigma eps is z / alpha, so sigma = sigma_t / alpha_t = exp(-lambda / 2). */
export function veSigmaFromLogsnr(logsnr: Tensor): Tensor {
  return logsnr.mul(-0.5).exp();
}
/** lambda = log(1 / sigma^2) = -2 log sigma for the variance-exploding perturbation x + sigma eps. */
export function logsnrFromVeSigma(sigma: Tensor): Tensor {
  return sigma.log().mul(-2);
}

/**
 * NCSN's variance-exploding process x_sigma = x + sigma eps (004 sec. 2.4) as a VP Schedule: z = alpha x_sigma with
 * alpha = 1 / sqrt(1 + sigma^2) is VP with lambda = -2 log sigma. sigma grows geometrically in t,
 * sigma(t) = sigmaMin (sigmaMax / sigmaMin)^t, so lambda is linear in t and p(lambda) is uniform on
 * [-2 log sigmaMax, -2 log sigmaMin]. ncsnSigmas' level i (1-based, of L) sits at t = (L - i) / (L - 1).
 */
export function ncsnSchedule(options: NcsnOptions = {}): Schedule {
  const { sigmaMax, sigmaMin } = ncsnConfig('ncsnSchedule', options);
  const logsnrMax = -2 * Math.log(sigmaMin);
  const logsnrMin = -2 * Math.log(sigmaMax);
  const span = logsnrMax - logsnrMin; // = 2 log(sigmaMax / sigmaMin)
  return {
    name: 'ncsn-geometric',
    logsnrMin,
    logsnrMax,
    logsnr: (t) => t.mul(-span).add(logsnrMax),
    t: (l) => l.neg().add(logsnrMax).div(span),
    density: (l) => torch.fullLike(l, 1 / span),
  };
}

// ---------------------------------------------------------------------------------------------
// Any strictly decreasing lambda(t)
// ---------------------------------------------------------------------------------------------

export interface CustomScheduleOptions {
  name?: string;
  /** Width of the bisection bracket at which t(lambda) stops (default 1e-12; float64 resolves about 1e-16). */
  tolerance?: number;
  /** dlambda/dt as a function of t; without it the density uses a second-order central difference of lambda. */
  derivative?: (t: Tensor) => Tensor;
  /** Largest step of the central differences (default 1e-5; steps down to step / 4^10 are tried). */
  step?: number;
  /** Number of equally spaced t at which monotonicity is checked on construction (default 1001). */
  checkPoints?: number;
}

/**
 * A Schedule from any strictly decreasing logsnrFn: t -> lambda(t) on [0, 1], given as an elementwise function on
 * tensors. logsnrMax = lambda(0) and logsnrMin = lambda(1). The inverse t(lambda) is a vectorised bisection (lambda
 * outside the range clamps to t = 0 or 1); the density is |dt/dlambda| = 1 / |lambda'(t(lambda))| (change of
 * variables, as eq. 2.69 is for the cosine). Neither is differentiable through autograd.
 * Monotonicity is checked on a grid of checkPoints values of t, with an error naming the first violation.
 */
export function customSchedule(logsnrFn: (t: Tensor) => Tensor, options: CustomScheduleOptions = {}): Schedule {
  const name = options.name ?? 'custom';
  const tolerance = options.tolerance ?? 1e-12;
  const step = options.step ?? 1e-5;
  const checkPoints = options.checkPoints ?? 1001;
  if (typeof logsnrFn !== 'function') throw new Error(`customSchedule '${name}': logsnrFn must be a function (t: Tensor) => Tensor`);
  if (!(tolerance > 0 && tolerance < 1)) throw new Error(`customSchedule '${name}': tolerance must be in (0, 1), got ${tolerance}`);
  if (!(step > 0 && step < 0.25)) throw new Error(`customSchedule '${name}': step must be in (0, 0.25), got ${step}`);
  if (!(Number.isInteger(checkPoints) && checkPoints >= 2)) throw new Error(`customSchedule '${name}': checkPoints must be an integer >= 2, got ${checkPoints}`);

  const { logsnrMin, logsnrMax } = torch.scope(() => {
    const grid = torch.linspace(0, 1, checkPoints, { dtype: 'float64' });
    const lam = logsnrFn(grid);
    if (!(lam instanceof torch.Tensor) || lam.shape.length !== 1 || lam.shape[0] !== checkPoints) {
      throw new Error(`customSchedule '${name}': logsnrFn must map a tensor of t to a tensor of the same shape`);
    }
    const v = lam.toFloat64Array();
    const g = grid.toFloat64Array();
    for (let k = 0; k < v.length; k++) {
      if (!Number.isFinite(v[k]!)) throw new Error(`customSchedule '${name}': lambda(${g[k]}) = ${v[k]} is not finite; lambda must be finite on [0, 1]`);
    }
    for (let k = 0; k + 1 < v.length; k++) {
      if (!(v[k + 1]! < v[k]!)) {
        throw new Error(`customSchedule '${name}': lambda(t) must be strictly decreasing on [0, 1], but lambda(${g[k]}) = ${v[k]} <= lambda(${g[k + 1]}) = ${v[k + 1]}`);
      }
    }
    return { logsnrMax: v[0]!, logsnrMin: v[v.length - 1]! };
  });
  checkRange(`customSchedule '${name}'`, logsnrMin, logsnrMax);
  const iterations = Math.min(60, Math.ceil(Math.log2(1 / tolerance)));

  const inverse = (l: Tensor): Tensor => torch.noGrad(() => torch.scope(() => {
    const target = l.detach();
    let lo = torch.zerosLike(target);
    let hi = torch.onesLike(target);
    for (let k = 0; k < iterations; k++) {
      const mid = lo.add(hi).mul(0.5);
      const beforeRoot = logsnrFn(mid).gt(target); // lambda decreasing: lambda(mid) > target means the root is right of mid
      lo = torch.where(beforeRoot, mid, lo);
      hi = torch.where(beforeRoot, hi, mid);
    }
    return lo.add(hi).mul(0.5);
  }));

  // dlambda/dt at t: a central difference on the stencil moved inside [0, 1], plus the curvature term for the
  // shift, which is second order everywhere (at t = 0 it is the one-sided (-3 f0 + 4 f1 - f2) / 2h). A single step
  // fails where lambda bends on a scale shorter than the step (the cosine near t = 0), so, in the spirit of Ridders'
  // method, the difference is taken for steps h, h/4, ..., h/4^10 and each element keeps the estimate whose error
  // (change from the previous step plus rounding of lambda divided by the step) is smallest.
  const difference = (t: Tensor, h: number): Tensor => {
    const tc = t.clamp(h, 1 - h);
    const fm = logsnrFn(tc.sub(h));
    const f0 = logsnrFn(tc);
    const fp = logsnrFn(tc.add(h));
    const d1 = fp.sub(fm).div(2 * h);
    const d2 = fp.sub(f0.mul(2)).add(fm).div(h * h);
    return d1.add(t.sub(tc).mul(d2));
  };
  const slope = options.derivative ?? ((t: Tensor): Tensor => torch.scope(() => {
    const steps = LEVELS.map((k) => step / 4 ** k);
    const estimates = torch.stack(steps.map((h) => difference(t, h))); // [levels, ...]
    const n = steps.length - 1;
    // error of estimate k+1: its change from estimate k (truncation) plus the rounding of lambda amplified by 1/h
    const unit = t.dtype === 'float64' ? 2.2e-16 : t.dtype === 'float32' ? 1.2e-7 : 1e-3;
    const rounding = torch.tensor(steps.slice(1).map((h) => (8 * unit) / h), { dtype: t.dtype, device: t.device }).reshape([n, ...t.shape.map(() => 1)]);
    const scale = logsnrFn(t).abs().add(1).unsqueeze(0);
    const error = estimates.narrow(0, 1, n).sub(estimates.narrow(0, 0, n)).abs().add(rounding.mul(scale));
    return estimates.gather(0, error.argmin(0, true).add(1)).squeeze(0);
  }));

  return {
    name,
    logsnrMin,
    logsnrMax,
    logsnr: logsnrFn,
    t: inverse,
    density: (l) => torch.noGrad(() => torch.scope(() => slope(inverse(l)).abs().reciprocal())),
  };
}

const LEVELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function checkRange(fn: string, logsnrMin: number, logsnrMax: number): void {
  if (!(Number.isFinite(logsnrMin) && Number.isFinite(logsnrMax) && logsnrMin < logsnrMax)) {
    throw new Error(`${fn}: need finite logsnrMin < logsnrMax, got [${logsnrMin}, ${logsnrMax}]`);
  }
}
