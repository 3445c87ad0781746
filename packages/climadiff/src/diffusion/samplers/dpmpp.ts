// DPM-Solver++ multistep, order 1-3, and its SDE variant (Lu, Zhou, Bao, Chen, Li & Zhu 2022, "DPM-Solver++: fast
// solver for guided sampling of diffusion probabilistic models", sec. 4 and Alg. 2; the third-order multistep
// update of their reference implementation; the SDE variant as in k-diffusion's sample_dpmpp_2m_sde / 3m_sde).
import type { Tensor } from '@climadiff/torch';
import type { Denoiser } from '../parameterisation.js';
import type { Schedule } from '../schedule.js';
import { SamplingRun, alphaOf, checkInteger, checkNumber, noiseLike, predict, samplingGrid, sigmaOf } from './loop.js';
import type { SampleOptions, SampleResult } from './types.js';

export interface DpmSolverOptions extends SampleOptions {
  /** Multistep order: 1 (= DDIM), 2 (2M, the default) or 3 (3M). */
  order?: number;
  /** 0: the ODE solver (default); 1: SDE-DPM-Solver++ (each first-order step is then the ancestral step); between: both. */
  eta?: number;
}

/**
 * Exponential integrator of the diffusion ODE in data prediction (x_hat), in the half-logSNR lambda/2 = log(alpha/sigma).
 * Step k from level lambda_k (latent z, prediction m0 = x_hat(z, lambda_k)) to lambda_{k+1}, h = (lambda_{k+1} - lambda_k)/2,
 * h_eta = (1 + eta) h:
 *   z' = (sigma'/sigma) e^{-eta h} z + alpha' (1 - e^{-h_eta}) m0 + [higher-order terms] + sigma' sqrt(1 - e^{-2 eta h}) eps
 * - order 1 (their eq. 9 / Alg. 1 first step): no more terms; with eta = 0 this is DDIM, with eta = 1 the ancestral
 *   step q(z_s | z_t, x = x_hat) of eqs 2.59-2.62;
 * - order 2 (Alg. 2, 2M): + alpha' (1 - e^{-h_eta}) D / 2 with D = (m0 - m1) / r, r = h_{k-1} / h (m1 the previous
 *   step's prediction);
 * - order 3 (3M): + alpha' (phi2 D1 - phi3 D2), with r0 = h_{k-1}/h, r1 = h_{k-2}/h, D1_0 = (m0 - m1)/r0,
 *   D1_1 = (m1 - m2)/r1, D1 = D1_0 + r0 (D1_0 - D1_1)/(r0 + r1), D2 = (D1_0 - D1_1)/(r0 + r1),
 *   phi2 = 1 + expm1(-h_eta)/h_eta, phi3 = phi2/h_eta - 1/2.
 * A multistep method has no history at its first steps, and the final steps use lower orders too (their
 * "lower_order_final", which they find needed below ~15 steps): step k of T uses order min(order, k + 1, T - k); the last
 * step, to clean data (h = infinity), is first order and returns x_hat. One network evaluation per step.
 * Defaults: order 2, eta 0, T = 20 on the Karras grid.
 */
export function dpmSolverSample(model: Denoiser, schedule: Schedule, init: number[] | Tensor, options: DpmSolverOptions = {}): SampleResult {
  const fn = 'dpmSolverSample';
  const order = checkInteger(fn, 'order', options.order ?? 2, 1);
  if (order > 3) throw new Error(`${fn}: order must be 1, 2 or 3, got ${order}`);
  const eta = checkNumber(fn, 'eta', options.eta ?? 0, 0);
  const l = samplingGrid(fn, schedule, options, { steps: 20, grid: { kind: 'karras' } });
  const T = l.length - 1;
  const history: Tensor[] = []; // previous predictions, newest first (kept across steps)
  const run = new SamplingRun(fn, init, l[0]!, T, options);
  try {
    for (let k = 0; k < T; k++) {
      run.step(k, l[k]!, l[k + 1]!, (z) => {
        const { x: m0 } = predict(model, z, l[k]!, options);
        if (k === T - 1) return { z: m0, x: m0 };
        const [lt, ls] = [l[k]!, l[k + 1]!];
        const h = (ls - lt) / 2;
        const hEta = (1 + eta) * h;
        const q = Math.min(order, k + 1, T - k);
        const a = alphaOf(ls);
        let zs = z.mul((sigmaOf(ls) / sigmaOf(lt)) * Math.exp(-eta * h)).add(m0.mul(-a * Math.expm1(-hEta)));
        if (q === 2) {
          const r = (lt - l[k - 1]!) / 2 / h;
          zs = zs.add(m0.sub(history[0]!).mul((-a * Math.expm1(-hEta)) / (2 * r)));
        } else if (q === 3) {
          const r0 = (lt - l[k - 1]!) / 2 / h, r1 = (l[k - 1]! - l[k - 2]!) / 2 / h;
          const d10 = m0.sub(history[0]!).div(r0), d11 = history[0]!.sub(history[1]!).div(r1);
          const d1 = d10.add(d10.sub(d11).mul(r0 / (r0 + r1)));
          const d2 = d10.sub(d11).div(r0 + r1);
          const phi2 = 1 + Math.expm1(-hEta) / hEta;
          const phi3 = phi2 / hEta - 0.5;
          zs = zs.add(d1.mul(a * phi2)).sub(d2.mul(a * phi3));
        }
        if (eta > 0) zs = zs.add(noiseLike(z, options).mul(sigmaOf(ls) * Math.sqrt(-Math.expm1(-2 * eta * h))));
        history.unshift(m0.clone().keep());
        if (history.length > 2) history.pop()!.dispose();
        return { z: zs, x: m0 };
      });
    }
  } finally {
    for (const t of history) t.dispose();
  }
  return run.result();
}
