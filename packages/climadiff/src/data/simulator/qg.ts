// A stochastically forced two-layer quasi-geostrophic (Phillips) model on a doubly periodic domain,
// computed spectrally with libtorch's FFT (docs/simulator.md, "QG model").
//
// Non-dimensional equations (domain [0, 2 pi)^2, equal layer depths, F1 = F2 = F = kd^2 / 2):
//   q1 = lap psi1 + F (psi2 - psi1),   q2 = lap psi2 + F (psi1 - psi2)
//   dq_i/dt + J(psi_i, q_i) + U_i dq_i/dx + Q_iy dpsi_i/dx = -delta_i2 r lap psi2 - nu lap^4 q_i + forcing_i
//   Q_1y = beta + F (U1 - U2),  Q_2y = beta - F (U1 - U2)
// Background shear U1 - U2 makes the flow baroclinically unstable; bottom drag r and hyperviscosity nu
// (integrated exactly) remove energy and enstrophy; forcing is white in time, in a wavenumber ring.
// RK4 time stepping with a CFL-limited step; 2/3-rule dealiasing of the Jacobian.
// Vertical velocity at the interface from the upper-layer vorticity equation,
//   w = -(H1 / f0) (d zeta1/dt + J(psi1, zeta1) + U1 d zeta1/dx + beta d psi1/dx),
// and precipitation from condensation in ascent: P = rho0 q_sat(T') max(0, w - w_c), q_sat ~ exp(alpha T').
import * as torch from '@climadiff/torch';
import type { ClimateDataset, Coordinate, Variable } from '../types.js';
import { DataError } from '../types.js';
import { checkOption, isPosInt } from './common.js';

type Tensor = torch.Tensor;

/** Parameters of the QG model: non-dimensional dynamics plus the dimensional scales used for output. */
export const QG_PARAMS = {
  kd: 4,             // deformation wavenumber (non-dim); F1 = F2 = kd^2 / 2
  beta: 2.0,         // planetary vorticity gradient (non-dim)
  U1: 0.5, U2: -0.5, // background layer velocities (non-dim); shear 1
  drag: 1.0,         // bottom (lower-layer) drag r
  hyperviscDampingAtCutoff: 20, // nu k_cut^8: damping rate at the dealiasing cutoff
  forcingKmin: 8, forcingKmax: 10, forcingStd: 0.5, // white-noise forcing of q in a ring
  cfl: 0.6,          // max(|u| + |U|) dt / dx <= cfl (RK4)
  // Dimensional scales: length Ls (domain 2 pi Ls), velocity Us, time Ls / Us.
  lengthScale: 1.5e6, velocityScale: 5,    // m, m s-1
  f0: 1e-4, layerDepth: 5000, g: 9.81, theta0: 300, // s-1, m (each layer), m s-2, K
  rho0: 1.0, qsat0: 0.008, clausiusClapeyron: 0.07, // kg m-3, kg/kg at T' = 0, K-1
  ascentThreshold: 0.018,   // m s-1, w_c
} as const;

export interface QGOptions {
  size?: number;
  seed?: number;
  everyHours?: number;
  spinupDays?: number;
  /** Largest internal time step (non-dim); refused if it breaks the CFL limit at the initial state. */
  dtMax?: number;
  /** Overrides of the non-dimensional parameters (for experiments; the documented defaults are QG_PARAMS). */
  params?: Partial<Record<keyof typeof QG_PARAMS, number>>;
}

export interface QGFrame {
  timeHours: number;
  psi1: Float32Array; psi2: Float32Array; // m2 s-1
  q1: Float32Array;                       // s-1 (PV anomaly, upper layer)
  ta: Float32Array;                       // K (baroclinic temperature anomaly)
  wa: Float32Array;                       // m s-1 (vertical velocity at the interface)
  pr: Float32Array;                       // mm h-1
}

export class QGSimulator {
  readonly n: number;
  readonly p: Record<keyof typeof QG_PARAMS, number>;
  readonly everyHours: number;
  /** Non-dimensional time. */
  private t = 0;
  private readonly gen: torch.Generator;
  private readonly ikx: Tensor; private readonly iky: Tensor; private readonly k2: Tensor;
  private readonly inv: { a11: Tensor; a12: Tensor; a21: Tensor; a22: Tensor };
  private readonly dealias: Tensor; private readonly ring: Tensor;
  private readonly nu: number; private readonly F: number;
  private readonly dtMax: number;
  private readonly dx: number;
  private qh: Tensor; // [2, n, n/2+1] complex128
  /** Steps taken in the last frame, and the largest CFL number seen. */
  lastSteps = 0;
  maxCfl = 0;

  constructor(o: QGOptions = {}) {
    const n = o.size ?? 64;
    checkOption(isPosInt(n) && n >= 16 && n <= 1024 && n % 2 === 0, '--size', 'an even integer in [16, 1024]', n);
    const every = o.everyHours ?? 6;
    checkOption(Number.isFinite(every) && every > 0 && every <= 24 * 31, '--every', 'hours in (0, 744]', every);
    const seed = o.seed ?? 0;
    checkOption(Number.isSafeInteger(seed) && seed >= 0, '--seed', 'a non-negative integer', seed);
    const spin = o.spinupDays ?? 300;
    checkOption(Number.isFinite(spin) && spin >= 0, '--spinup', 'non-negative days', spin);
    const p = { ...QG_PARAMS, ...(o.params ?? {}) };
    this.p = p;
    this.n = n; this.everyHours = every; this.dx = (2 * Math.PI) / n;
    this.F = (p.kd * p.kd) / 2;
    this.gen = new torch.Generator({ seed });
    const m = n / 2 + 1;
    const kx = new Float64Array(n * m), ky = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) { kx[i * m + j] = j; ky[i * m + j] = i <= n / 2 ? i : i - n; }
    const f64 = { dtype: 'float64' as const };
    const KX = torch.fromArray(kx, [n, m], f64), KY = torch.fromArray(ky, [n, m], f64);
    const zero = torch.zeros([n, m], f64);
    this.ikx = torch.complex(zero, KX); this.iky = torch.complex(zero, KY);
    this.k2 = KX.mul(KX).add(KY.mul(KY));
    const kcut = n / 3;
    this.dealias = KX.abs().lt(kcut).logicalAnd(KY.abs().lt(kcut)).to({ dtype: 'float64' });
    const kmag = this.k2.sqrt();
    this.ring = kmag.ge(p.forcingKmin).logicalAnd(kmag.le(p.forcingKmax)).to({ dtype: 'float64' });
    this.nu = p.hyperviscDampingAtCutoff / kcut ** 8;
    // Inversion q -> psi per wavenumber: psi = M^-1 q, M = [[-K2-F, F], [F, -K2-F]], det = K2 (K2 + 2F).
    const det = this.k2.mul(this.k2.add(2 * this.F));
    const invdet = det.eq(0).to({ dtype: 'float64' }).add(det).reciprocal().mul(det.ne(0).to({ dtype: 'float64' }));
    const diag = this.k2.add(this.F).neg().mul(invdet);
    const off = invdet.mul(-this.F);
    this.inv = { a11: diag, a12: off, a21: off, a22: diag };
    // Initial state: small random PV at large scales.
    const q0 = torch.randn([2, n, n], { generator: this.gen, dtype: 'float64' }).mul(1e-3);
    this.qh = torch.fft.rfft2(q0).mul(this.dealias);
    // dtMax: a frame never uses a step larger than this; the CFL limit is enforced per frame.
    const cflDt = (p.cfl * this.dx) / (Math.max(Math.abs(p.U1), Math.abs(p.U2)) + 1e-12);
    this.dtMax = o.dtMax ?? cflDt;
    if (!(this.dtMax > 0) || this.dtMax > cflDt) {
      throw new DataError('unstable-time-step', `qg model: a time step of ${this.dtMax} exceeds the CFL limit ${cflDt.toFixed(4)} ` +
        `(cfl ${p.cfl} x dx ${this.dx.toFixed(4)} / max |U|) at size ${n}`);
    }
    const spinFrames = Math.round((spin * 24) / every);
    for (let f = 0; f < spinFrames; f++) this.advanceFrame();
  }

  /** Time unit of the model in seconds. */
  static get timeUnit(): number { return QG_PARAMS.lengthScale / QG_PARAMS.velocityScale; }

  private invert(qh: Tensor): Tensor {
    const q1 = qh.select(0, 0), q2 = qh.select(0, 1);
    const { a11, a12, a21, a22 } = this.inv;
    return torch.stack([q1.mul(a11).add(q2.mul(a12)), q1.mul(a21).add(q2.mul(a22))], 0);
  }

  /** Conservative tendency dq/dt (advection, beta, background shear, bottom drag), dealiased; and psi. */
  private tendency(qh: Tensor): { dq: Tensor; ph: Tensor; umax: number } {
    const p = this.p;
    const n = this.n;
    const ph = this.invert(qh);
    const s = [n, n];
    const u = torch.fft.irfft2(ph.mul(this.iky).neg(), s), v = torch.fft.irfft2(ph.mul(this.ikx), s);
    const qx = torch.fft.irfft2(qh.mul(this.ikx), s), qy = torch.fft.irfft2(qh.mul(this.iky), s);
    const jac = torch.fft.rfft2(u.mul(qx).add(v.mul(qy)));
    const U = torch.fromArray([p.U1, p.U2], [2, 1, 1], { dtype: 'float64' });
    const Qy = torch.fromArray([p.beta + this.F * (p.U1 - p.U2), p.beta - this.F * (p.U1 - p.U2)], [2, 1, 1], { dtype: 'float64' });
    let dq = jac.add(qh.mul(this.ikx).mul(U)).add(ph.mul(this.ikx).mul(Qy)).neg();
    const drag = torch.stack([torch.zerosLike(this.k2), this.k2.mul(p.drag)], 0); // -r lap psi2 = r K2 psi2
    dq = dq.add(ph.mul(drag)).mul(this.dealias);
    const umax = u.abs().add(torch.fromArray([Math.abs(p.U1), Math.abs(p.U2)], [2, 1, 1], { dtype: 'float64' })).amax([1, 2])
      .max().item() as number;
    const vmax = v.abs().max().item() as number;
    return { dq, ph, umax: Math.max(umax, vmax) };
  }

  /** One RK4 step of length dt, then exact hyperviscous decay and the stochastic forcing (Euler-Maruyama). */
  private step(dt: number, k1: Tensor): void {
    const p = this.p;
    const next = torch.scope(() => {
      const q = this.qh;
      const k2 = this.tendency(q.add(k1.mul(dt / 2))).dq;
      const k3 = this.tendency(q.add(k2.mul(dt / 2))).dq;
      const k4 = this.tendency(q.add(k3.mul(dt))).dq;
      let qn = q.add(k1.add(k2.mul(2)).add(k3.mul(2)).add(k4).mul(dt / 6));
      qn = qn.mul(this.k2.pow(4).mul(-this.nu * dt).exp());
      const n = this.n;
      const white = torch.fft.rfft2(torch.randn([2, n, n], { generator: this.gen, dtype: 'float64' }));
      return qn.add(white.mul(this.ring).mul(p.forcingStd * Math.sqrt(dt)));
    });
    this.qh.dispose();
    this.qh = next;
    this.t += dt;
  }

  /** Advances by one frame interval with CFL-limited RK4 sub-steps. */
  private advanceFrame(): void {
    const p = this.p;
    let remaining = (this.everyHours * 3600) / QGSimulator.timeUnit;
    let steps = 0;
    while (remaining > 1e-12) torch.scope(() => {
      // The first RK4 stage's tendency also gives the current maximum speed for the CFL limit.
      const { dq: k1, umax } = this.tendency(this.qh);
      if (!Number.isFinite(umax)) throw new DataError('simulation-diverged', 'qg model: the flow became non-finite');
      const dt = Math.min(this.dtMax, (p.cfl * this.dx) / umax, remaining);
      this.maxCfl = Math.max(this.maxCfl, (umax * dt) / this.dx);
      this.step(dt, k1);
      remaining -= dt;
      steps++;
      return this.qh; // the new state must outlive this scope
    });
    this.lastSteps = steps;
  }

  /** Kinetic energy per unit area (non-dim) of both layers, and the barotropic KE spectrum by |k| (bins 0..n/2). */
  diagnostics(): { ke: number; spectrum: Float64Array } {
    return torch.scope(() => {
      const ph = this.invert(this.qh);
      const n = this.n;
      // Parseval for rfft2: interior columns count twice.
      const w = torch.ones([n, n / 2 + 1], { dtype: 'float64' }).mul(2);
      w.select(1, 0).fill_(1); w.select(1, n / 2).fill_(1);
      const e = ph.abs().pow(2).mul(this.k2).mul(w).div(2 * n ** 4); // per-mode energy, per layer
      const ke = e.sum().item() as number / 2;
      const bt = ph.select(0, 0).add(ph.select(0, 1)).div(2).abs().pow(2).mul(this.k2).mul(w).div(2 * n ** 4);
      const kb = this.k2.sqrt().round().toFloat64Array(), eb = bt.toFloat64Array();
      const spectrum = new Float64Array(n / 2 + 1);
      for (let i = 0; i < kb.length; i++) { const b = kb[i]!; if (b <= n / 2) spectrum[b] = spectrum[b]! + eb[i]!; }
      return { ke, spectrum };
    });
  }

  /** Advances one frame and returns its fields in physical units. */
  nextFrame(): QGFrame {
    this.advanceFrame();
    const p = this.p;
    const n = this.n;
    const psiScale = p.velocityScale * p.lengthScale;          // m2 s-1
    const timeScale = QGSimulator.timeUnit;
    const tempScale = (p.f0 * p.theta0 * psiScale) / (p.g * p.layerDepth); // K per unit non-dim (psi1 - psi2)
    // w = -(H1/f0) (D zeta1/Dt + beta v1); the bracket scales as (Us/Ls)^2 / (unit of q per unit time)
    const wScale = (p.layerDepth / p.f0) / (timeScale * timeScale);
    const out = torch.scope(() => {
      const { dq, ph } = this.tendency(this.qh);
      const s = [n, n];
      const psi = torch.fft.irfft2(ph, s);
      const q = torch.fft.irfft2(this.qh, s);
      const dph = this.invert(dq);
      const zeta1h = ph.select(0, 0).mul(this.k2).neg(), dzeta1h = dph.select(0, 0).mul(this.k2).neg();
      const ph1 = ph.select(0, 0);
      const u1 = torch.fft.irfft2(ph1.mul(this.iky).neg(), s), v1 = torch.fft.irfft2(ph1.mul(this.ikx), s);
      const zx = torch.fft.irfft2(zeta1h.mul(this.ikx), s), zy = torch.fft.irfft2(zeta1h.mul(this.iky), s);
      const bracket = torch.fft.irfft2(dzeta1h.add(zeta1h.mul(this.ikx).mul(p.U1)), s)
        .add(u1.mul(zx)).add(v1.mul(zy)).add(v1.mul(p.beta));
      const w = bracket.mul(-wScale);
      const T = psi.select(0, 0).sub(psi.select(0, 1)).mul(tempScale);
      const P = T.mul(p.clausiusClapeyron).exp().mul(p.rho0 * p.qsat0).mul(w.sub(p.ascentThreshold).relu()).mul(3600);
      return {
        psi1: psi.select(0, 0).mul(psiScale).toFloat32Array(), psi2: psi.select(0, 1).mul(psiScale).toFloat32Array(),
        q1: q.select(0, 0).div(timeScale).toFloat32Array(), ta: T.toFloat32Array(), wa: w.toFloat32Array(), pr: P.toFloat32Array(),
      };
    });
    return { timeHours: (this.t * timeScale) / 3600, ...out };
  }
}

/** Runs the QG model and returns `frames` frames as a CF dataset on a y-x grid in km. */
export function simulateQG(o: QGOptions & { frames: number; onFrame?: (i: number) => void }): ClimateDataset {
  checkOption(isPosInt(o.frames), '--frames', 'a positive integer', o.frames);
  const sim = new QGSimulator(o);
  const n = sim.n, N = n * n, F = o.frames;
  const names = ['psi1', 'psi2', 'q1', 'ta', 'wa', 'pr'] as const;
  const arrays = Object.fromEntries(names.map((k) => [k, new Float32Array(F * N)])) as Record<(typeof names)[number], Float32Array>;
  const time = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    const fr = sim.nextFrame();
    for (const k of names) arrays[k].set(fr[k], f * N);
    time[f] = fr.timeHours;
    o.onFrame?.(f);
  }
  const meta: Record<(typeof names)[number], [string, Record<string, string>]> = {
    psi1: ['m2 s-1', { long_name: 'upper-layer streamfunction' }],
    psi2: ['m2 s-1', { long_name: 'lower-layer streamfunction' }],
    q1: ['s-1', { long_name: 'upper-layer potential vorticity anomaly' }],
    ta: ['K', { long_name: 'baroclinic temperature anomaly (thermal wind from psi1 - psi2)' }],
    wa: ['m s-1', { standard_name: 'upward_air_velocity', long_name: 'vertical velocity at the layer interface (QG omega from the upper-layer vorticity equation)' }],
    pr: ['mm h-1', { standard_name: 'lwe_precipitation_rate', long_name: 'precipitation rate (condensation in ascent above a threshold)' }],
  };
  const variables = new Map<string, Variable>(names.map((k) => [k, {
    name: k, dims: ['time', 'y', 'x'], shape: [F, n, n], data: arrays[k], mask: null, units: meta[k][0],
    attrs: { units: meta[k][0], ...meta[k][1] },
  }]));
  const L = (2 * Math.PI * QG_PARAMS.lengthScale) / 1000; // km
  const xs = Float64Array.from({ length: n }, (_, i) => ((i + 0.5) * L) / n);
  const coords = new Map<string, Coordinate>([
    ['time', { name: 'time', values: time, axis: 'T', units: 'hours since 2000-01-01 00:00:00', calendar: 'standard',
      attrs: { standard_name: 'time', long_name: 'time', units: 'hours since 2000-01-01 00:00:00', calendar: 'standard', axis: 'T' } }],
    ['y', { name: 'y', values: xs.slice(), axis: 'Y', units: 'km', attrs: { standard_name: 'projection_y_coordinate', long_name: 'y (periodic)', units: 'km', axis: 'Y' } }],
    ['x', { name: 'x', values: xs, axis: 'X', units: 'km', attrs: { standard_name: 'projection_x_coordinate', long_name: 'x (periodic)', units: 'km', axis: 'X' } }],
  ]);
  return {
    variables, coords,
    attrs: {
      Conventions: 'CF-1.8',
      title: 'climadiff built-in two-layer quasi-geostrophic turbulence with precipitation',
      source: `climadiff simulate --model qg (seed ${o.seed ?? 0}, size ${n})`,
      references: 'docs/simulator.md',
    },
  };
}
