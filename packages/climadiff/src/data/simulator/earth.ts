// An Earth-like lat-lon surface-temperature and precipitation model (docs/simulator.md, "Earth model").
//
// Energy balance (Budyko-Sellers/North type) for the near-surface temperature T(lat, lon, t):
//   C(x) dT/dt = (1 - albedo) Q(lat, day) - (A + B (T - 273.15)) + sigma_F xi_F + D lap_s T
//                - C_air u(lat) dT/dx               (i.e. advection at speed gamma u, gamma = C_air / C(x))
// with daily-mean top-of-atmosphere insolation Q (obliquity, no eccentricity), a heat capacity C that is
// small over land and large over the ocean mixed layer (land mask rasterised from Natural Earth polygons),
// meridional+zonal diffusion on the sphere (cos-lat metric, flux form), semi-Lagrangian advection by a
// prescribed zonal jet u(lat) (periodic in longitude), and spatially correlated red-noise weather forcing.
// Column water vapour W is advected and diffused, gains evaporation toward a relative humidity RH_e of the
// Clausius-Clapeyron saturation W_sat(T), and condenses (precipitation) where it exceeds a saturation lowered
// by a red-noise ascent field xi_a: P = max(0, W - W_sat(T) exp(-lambda max(xi_a, 0))) / tau_c.
import * as torch from '@climadiff/torch';
import type { ClimateDataset, Coordinate, Variable } from '../types.js';
import { DataError } from '../types.js';
import { landMask, globalGrid } from './landmask.js';
import { checkOption, isPosInt, subSteps } from './common.js';

type Tensor = torch.Tensor;

/** Physical parameters of the Earth model (SI units unless named otherwise). */
export const EARTH_PARAMS = {
  radius: 6.371e6,               // m
  solarConstant: 1361,           // W m-2
  obliquityDeg: 23.44,
  olrA: 203.3, olrB: 2.09,       // OLR = A + B (T - 273.15) W m-2 (North et al. 1981)
  albedoBase: 0.27, albedoPolar: 0.20, albedoLand: 0.03, // albedo = base + polar sin^2(lat) + land
  heatCapacityLand: 4.0e6,       // J m-2 K-1 (land surface + boundary layer)
  heatCapacityAir: 2.0e6,        // J m-2 K-1 carried by the wind: advective heating C_air u dT/dx
  heatCapacityOcean: 1.26e8,     // J m-2 K-1 (30 m ocean mixed layer)
  diffusionD: 0.45,              // W m-2 K-1, heat transport D lap_s T on the unit sphere
  polarCapDeg: 60,               // zonal metric 1/cos^2(lat) capped at its value here (polar filter)
  zonalDiffusionFactor: 0.25,    // zonal part of lap_s weighted by this (the jet does most zonal transport)
  jetSpeed: 25, jetLatDeg: 45, jetWidthDeg: 15, // westerly jets, m s-1
  tradeSpeed: 6, tradeWidthDeg: 15,             // easterly trades at the equator, m s-1
  forcingStd: 40,                // W m-2, weather forcing amplitude
  forcingTauH: 72,               // h, red-noise correlation time of the forcing
  ascentTauH: 12,                // h, correlation time of the ascent field
  moistureDiffusivity: 1.0e6,    // m2 s-1
  wsatRef: 28, wsatRefT: 288, clausiusClapeyron: 0.065, // W_sat = 28 mm exp(0.065 (T - 288 K))
  rhEvap: 0.85, tauEvapH: 48, landEvapEfficiency: 0.3,
  tauCondH: 2, ascentLambda: 0.9,
} as const;

export interface EarthOptions {
  nlat?: number;
  nlon?: number;
  seed?: number;
  /** Hours between frames (default 6). */
  everyHours?: number;
  /** Model days simulated before the first frame (default 365). */
  spinupDays?: number;
  /** Largest internal time step in seconds (default: the stability limit times 0.9). */
  dtMaxSeconds?: number;
}

/** Stability limits of the explicit parts of the Earth model at a grid (seconds). */
export function earthStability(nlat: number, nlon: number): { dtDiffusion: number; dtCondensation: number; dtMax: number } {
  const p = EARTH_PARAMS;
  const lam = laplacianSpectralBound(nlat, nlon);
  // Forward Euler on the diffusion operator k * lap_s is stable when dt * k * rho(lap_s) <= 2; we require
  // dt * k * (Gershgorin bound) <= 1, a factor of two margin. k is largest over land.
  const k = Math.max(p.diffusionD / p.heatCapacityLand, p.moistureDiffusivity / (p.radius * p.radius));
  const dtDiffusion = 1 / (k * lam);
  const dtCondensation = p.tauCondH * 3600; // explicit relaxation P = excess / tau_c needs dt <= tau_c
  return { dtDiffusion, dtCondensation, dtMax: Math.min(dtDiffusion, dtCondensation) };
}

function latitudes(nlat: number): { lat: Float64Array; cosC: Float64Array; cosF: Float64Array } {
  const { lat } = globalGrid(nlat, 1);
  const cosC = lat.map((d) => Math.cos((d * Math.PI) / 180));
  const cosF = new Float64Array(nlat + 1); // faces; zero at the poles (no flux)
  for (let i = 1; i < nlat; i++) cosF[i] = Math.cos(((-90 + (180 * i) / nlat) * Math.PI) / 180);
  return { lat, cosC, cosF };
}

/** Gershgorin bound on the spectral radius of the discrete unit-sphere Laplacian (with the polar cap). */
function laplacianSpectralBound(nlat: number, nlon: number): number {
  const { cosC, cosF } = latitudes(nlat);
  const dphi = Math.PI / nlat, dlam = (2 * Math.PI) / nlon;
  const cap = 1 / Math.cos((EARTH_PARAMS.polarCapDeg * Math.PI) / 180) ** 2;
  let m = 0;
  for (let i = 0; i < nlat; i++) {
    const merid = (cosF[i]! + cosF[i + 1]!) / (cosC[i]! * dphi * dphi);
    const zonal = EARTH_PARAMS.zonalDiffusionFactor * Math.min(1 / cosC[i]! ** 2, cap) * 2 / (dlam * dlam);
    m = Math.max(m, 2 * (merid + zonal));
  }
  return m;
}

/** Daily-mean top-of-atmosphere insolation (W m-2) at latitude (deg) on day of year d (noleap, 0 = Jan 1). */
export function dailyInsolation(latDeg: number, day: number): number {
  const p = EARTH_PARAMS;
  const eps = (p.obliquityDeg * Math.PI) / 180;
  const decl = -eps * Math.cos((2 * Math.PI * (day + 10)) / 365); // solstices ~ Jun 21 / Dec 21
  const phi = (latDeg * Math.PI) / 180;
  const c = Math.max(-1, Math.min(1, -Math.tan(phi) * Math.tan(decl)));
  const h0 = Math.acos(c); // half-day length (radians)
  return (p.solarConstant / Math.PI) * (h0 * Math.sin(phi) * Math.sin(decl) + Math.cos(phi) * Math.cos(decl) * Math.sin(h0));
}

/** Prescribed zonal wind u(lat) in m/s: westerly jets near +-45 deg, weak easterly trades. */
export function zonalWind(latDeg: number): number {
  const p = EARTH_PARAMS;
  return p.jetSpeed * Math.exp(-(((Math.abs(latDeg) - p.jetLatDeg) / p.jetWidthDeg) ** 2))
    - p.tradeSpeed * Math.exp(-((latDeg / p.tradeWidthDeg) ** 2));
}

/** One frame of the Earth model (physical units). */
export interface EarthFrame {
  /** Hours since the model start (2000-01-01, noleap calendar). */
  timeHours: number;
  tas: Float32Array;  // K
  pr: Float32Array;   // mm h-1
  prw: Float32Array;  // kg m-2 (mm) column water vapour
}

export class EarthSimulator {
  readonly nlat: number;
  readonly nlon: number;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly land: Uint8Array;
  readonly dt: number;
  readonly stepsPerFrame: number;
  readonly everyHours: number;
  private t = 0; // seconds since start
  private readonly gen: torch.Generator;
  private readonly cosC: Tensor; private readonly cosF: Tensor; private readonly capZ: Tensor;
  private readonly heatCap: Tensor; private readonly albedo: Tensor; private readonly evapEff: Tensor;
  private readonly slT: { idx: Tensor; w: Tensor }; private readonly slAir: { idx: Tensor; w: Tensor };
  private readonly latList: number[];
  private T: Tensor; private W: Tensor; private xiF: Tensor; private xiA: Tensor; private P: Tensor;

  constructor(o: EarthOptions = {}) {
    const nlat = o.nlat ?? 32, nlon = o.nlon ?? 64;
    checkOption(isPosInt(nlat) && nlat >= 8 && nlat <= 720, '--lat', 'an integer in [8, 720]', nlat);
    checkOption(isPosInt(nlon) && nlon >= 16 && nlon <= 1440, '--lon', 'an integer in [16, 1440]', nlon);
    const every = o.everyHours ?? 6;
    checkOption(Number.isFinite(every) && every > 0 && every <= 24 * 31, '--every', 'hours in (0, 744]', every);
    const seed = o.seed ?? 0;
    checkOption(Number.isSafeInteger(seed) && seed >= 0, '--seed', 'a non-negative integer', seed);
    const stab = earthStability(nlat, nlon);
    const dtMax = o.dtMaxSeconds ?? 0.9 * stab.dtMax;
    if (!(dtMax > 0) || dtMax > stab.dtMax) {
      throw new DataError('unstable-time-step', `earth model: a time step of ${dtMax} s exceeds the stability limit ` +
        `${stab.dtMax.toFixed(0)} s at ${nlat}x${nlon} (diffusion ${stab.dtDiffusion.toFixed(0)} s, condensation ${stab.dtCondensation} s)`);
    }
    const { n, dt } = subSteps(every * 3600, dtMax);
    this.nlat = nlat; this.nlon = nlon; this.dt = dt; this.stepsPerFrame = n; this.everyHours = every;
    const g = globalGrid(nlat, nlon);
    this.lat = g.lat; this.lon = g.lon; this.latList = Array.from(g.lat);
    this.land = landMask(g.lat, g.lon.map((x) => (x > 180 ? x - 360 : x)));
    this.gen = new torch.Generator({ seed });
    const p = EARTH_PARAMS;
    const { cosC, cosF } = latitudes(nlat);
    const f64 = { dtype: 'float64' as const };
    this.cosC = torch.fromArray(cosC, [nlat, 1], f64);
    this.cosF = torch.fromArray(cosF, [nlat + 1, 1], f64);
    const cap = 1 / Math.cos((p.polarCapDeg * Math.PI) / 180) ** 2;
    this.capZ = torch.fromArray(cosC.map((c) => p.zonalDiffusionFactor * Math.min(1 / (c * c), cap)), [nlat, 1], f64);
    const landT = torch.fromArray(Float64Array.from(this.land), [nlat, nlon], f64);
    this.heatCap = landT.mul(p.heatCapacityLand - p.heatCapacityOcean).add(p.heatCapacityOcean);
    const sin2 = torch.fromArray(g.lat.map((d) => Math.sin((d * Math.PI) / 180) ** 2), [nlat, 1], f64);
    this.albedo = sin2.mul(p.albedoPolar).add(p.albedoBase).add(landT.mul(p.albedoLand));
    this.evapEff = landT.mul(p.landEvapEfficiency - 1).add(1);
    const gammaT = new Float64Array(nlat * nlon);
    for (let k = 0; k < nlat * nlon; k++) gammaT[k] = p.heatCapacityAir / (this.land[k] ? p.heatCapacityLand : p.heatCapacityOcean);
    this.slT = this.semiLagrangian(gammaT);
    this.slAir = this.semiLagrangian(new Float64Array(nlat * nlon).fill(1));
    // Initial state: a rough annual-mean profile, saturated-ish moisture, unit-variance noise.
    this.T = torch.fromArray(g.lat.map((d) => 301 - 45 * Math.sin((d * Math.PI) / 180) ** 2), [nlat, 1], f64)
      .expand([nlat, nlon]).contiguous();
    this.W = this.wsat(this.T).mul(p.rhEvap);
    this.xiF = this.noise(Math.max(1, Math.round(nlat / 8)));
    this.xiA = this.noise(Math.max(1, Math.round(nlat / 16)));
    this.P = torch.zeros([nlat, nlon], f64);
    const spinSteps = Math.round(((o.spinupDays ?? 365) * 86400) / dt);
    checkOption(Number.isFinite(spinSteps) && spinSteps >= 0, '--spinup', 'non-negative days', o.spinupDays);
    for (let s = 0; s < spinSteps; s++) this.step();
  }

  /** Precomputed cubic-Lagrange semi-Lagrangian interpolation along longitude for displacement gamma*u*dt. */
  private semiLagrangian(gamma: Float64Array): { idx: Tensor; w: Tensor } {
    const { nlat, nlon, dt } = this;
    const a = EARTH_PARAMS.radius, dlam = (2 * Math.PI) / nlon;
    const N = nlat * nlon;
    const idx = new BigInt64Array(4 * N), w = new Float64Array(4 * N);
    for (let i = 0; i < nlat; i++) {
      const u = zonalWind(this.latList[i]!);
      const cosl = Math.cos((this.latList[i]! * Math.PI) / 180);
      for (let j = 0; j < nlon; j++) {
        const k = i * nlon + j;
        const shift = (gamma[k]! * u * dt) / (a * cosl * dlam); // cells moved east in one step
        const xd = j - shift, j0 = Math.floor(xd), f = xd - j0;
        const ws = [-f * (f - 1) * (f - 2) / 6, (f + 1) * (f - 1) * (f - 2) / 2, -(f + 1) * f * (f - 2) / 2, (f + 1) * f * (f - 1) / 6];
        for (let q = 0; q < 4; q++) {
          const jj = ((((j0 - 1 + q) % nlon) + nlon) % nlon);
          idx[q * N + k] = BigInt(i * nlon + jj);
          w[q * N + k] = ws[q]!;
        }
      }
    }
    return { idx: torch.fromArray(idx, [4 * N]), w: torch.fromArray(w, [4, nlat, nlon], { dtype: 'float64' }) };
  }

  private advect(x: Tensor, sl: { idx: Tensor; w: Tensor }): Tensor {
    return x.reshape([-1]).indexSelect(0, sl.idx).reshape([4, this.nlat, this.nlon]).mul(sl.w).sum(0);
  }

  /** Unit-sphere Laplacian in flux form: meridional (cos-lat faces, no flux at poles) + capped zonal term. */
  private lap(x: Tensor): Tensor {
    const { nlat, nlon } = this;
    const dphi = Math.PI / nlat, dlam = (2 * Math.PI) / nlon;
    const dy = x.narrow(0, 1, nlat - 1).sub(x.narrow(0, 0, nlat - 1));
    const zero = torch.zeros([1, nlon], { dtype: 'float64' });
    const flux = torch.cat([zero, dy, zero], 0).mul(this.cosF);
    const merid = flux.narrow(0, 1, nlat).sub(flux.narrow(0, 0, nlat)).div(this.cosC).div(dphi * dphi);
    const zonal = x.roll([1], [1]).add(x.roll([-1], [1])).sub(x.mul(2)).mul(this.capZ).div(dlam * dlam);
    return merid.add(zonal);
  }

  /** Spatially correlated unit-variance Gaussian noise: white noise smoothed by `passes` grid-Laplacian passes. */
  private noise(passes: number): Tensor {
    const { nlat, nlon } = this;
    let x = torch.randn([nlat, nlon], { generator: this.gen, dtype: 'float64' });
    for (let s = 0; s < passes; s++) {
      const up = torch.cat([x.narrow(0, 1, nlat - 1), x.narrow(0, nlat - 1, 1)], 0);
      const dn = torch.cat([x.narrow(0, 0, 1), x.narrow(0, 0, nlat - 1)], 0);
      x = x.add(up.add(dn).add(x.roll([1], [1])).add(x.roll([-1], [1])).sub(x.mul(4)).mul(0.2));
    }
    return x.sub(x.mean()).div(x.std());
  }

  private wsat(T: Tensor): Tensor {
    const p = EARTH_PARAMS;
    return T.sub(p.wsatRefT).mul(p.clausiusClapeyron).exp().mul(p.wsatRef);
  }

  /** One internal time step of length dt. */
  private step(): void {
    const p = EARTH_PARAMS;
    const dt = this.dt;
    const day = ((this.t / 86400) % 365);
    const next = torch.scope(() => {
      const Q = torch.fromArray(this.latList.map((d) => dailyInsolation(d, day)), [this.nlat, 1], { dtype: 'float64' });
      // Temperature: advection (semi-Lagrangian, weighted by C_air/C), then explicit energy balance.
      const Ta = this.advect(this.T, this.slT);
      const heating = torch.onesLike(this.albedo).sub(this.albedo).mul(Q)
        .sub(Ta.sub(273.15).mul(p.olrB).add(p.olrA))
        .add(this.xiF.mul(p.forcingStd))
        .add(this.lap(Ta).mul(p.diffusionD));
      const T = Ta.add(heating.div(this.heatCap).mul(dt));
      // Weather noise: advected red noise (AR(1) in time).
      const rF = Math.exp(-dt / (p.forcingTauH * 3600)), rA = Math.exp(-dt / (p.ascentTauH * 3600));
      const xiF = this.advect(this.xiF, this.slAir).mul(rF).add(this.noise(Math.max(1, Math.round(this.nlat / 8))).mul(Math.sqrt(1 - rF * rF)));
      const xiA = this.advect(this.xiA, this.slAir).mul(rA).add(this.noise(Math.max(1, Math.round(this.nlat / 16))).mul(Math.sqrt(1 - rA * rA)));
      // Moisture: advection, diffusion, evaporation toward RH_e W_sat(T), condensation above the lowered saturation.
      const Wa = this.advect(this.W, this.slAir).clampMin(0);
      const ws = this.wsat(Ta);
      const E = ws.mul(p.rhEvap).sub(Wa).relu().mul(this.evapEff).div(p.tauEvapH * 3600);
      const Wcond = ws.mul(this.xiA.relu().mul(-p.ascentLambda).exp());
      const P = Wa.sub(Wcond).relu().div(p.tauCondH * 3600); // kg m-2 s-1
      const W = Wa.add(this.lap(Wa).mul(p.moistureDiffusivity / (p.radius * p.radius)).add(E).sub(P).mul(dt)).clampMin(0);
      return [T, W, xiF, xiA, P.mul(3600)] as const;
    });
    for (const x of [this.T, this.W, this.xiF, this.xiA, this.P]) x.dispose();
    [this.T, this.W, this.xiF, this.xiA, this.P] = next;
    this.t += dt;
  }

  /** Advances one frame interval and returns the fields at its end. */
  nextFrame(): EarthFrame {
    for (let s = 0; s < this.stepsPerFrame; s++) this.step();
    return {
      timeHours: this.t / 3600,
      tas: this.T.toFloat32Array(),
      pr: this.P.toFloat32Array(),
      prw: this.W.toFloat32Array(),
    };
  }
}

/** Runs the Earth model and returns `frames` frames as a CF dataset (variables tas, pr, prw, sftlf). */
export function simulateEarth(o: EarthOptions & { frames: number; onFrame?: (i: number) => void }): ClimateDataset {
  checkOption(isPosInt(o.frames), '--frames', 'a positive integer', o.frames);
  const sim = new EarthSimulator(o);
  const { nlat, nlon } = sim;
  const N = nlat * nlon, F = o.frames;
  const tas = new Float32Array(F * N), pr = new Float32Array(F * N), prw = new Float32Array(F * N);
  const time = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    const fr = sim.nextFrame();
    tas.set(fr.tas, f * N); pr.set(fr.pr, f * N); prw.set(fr.prw, f * N);
    time[f] = fr.timeHours;
    o.onFrame?.(f);
  }
  const dims = ['time', 'lat', 'lon'], shape = [F, nlat, nlon];
  const v = (name: string, data: Float32Array, units: string, attrs: Record<string, string>): Variable =>
    ({ name, dims, shape, data, mask: null, units, attrs: { units, ...attrs } });
  const variables = new Map<string, Variable>([
    ['tas', v('tas', tas, 'K', { standard_name: 'air_temperature', long_name: 'near-surface air temperature' })],
    ['pr', v('pr', pr, 'mm h-1', { standard_name: 'lwe_precipitation_rate', long_name: 'precipitation rate (condensation of column water vapour)' })],
    ['prw', v('prw', prw, 'kg m-2', { standard_name: 'atmosphere_mass_content_of_water_vapor', long_name: 'column water vapour' })],
    ['sftlf', { name: 'sftlf', dims: ['lat', 'lon'], shape: [nlat, nlon], data: Float32Array.from(sim.land, (x) => 100 * x), mask: null, units: '%',
      attrs: { units: '%', standard_name: 'land_area_fraction', long_name: 'land area fraction (Natural Earth 110m, cell centres)' } }],
  ]);
  const coords = new Map<string, Coordinate>([
    ['time', { name: 'time', values: time, axis: 'T', units: 'hours since 2000-01-01 00:00:00', calendar: 'noleap',
      attrs: { standard_name: 'time', long_name: 'time', units: 'hours since 2000-01-01 00:00:00', calendar: 'noleap', axis: 'T' } }],
    ['lat', { name: 'lat', values: sim.lat, axis: 'Y', units: 'degrees_north', attrs: { standard_name: 'latitude', long_name: 'latitude', units: 'degrees_north', axis: 'Y' } }],
    ['lon', { name: 'lon', values: sim.lon, axis: 'X', units: 'degrees_east', attrs: { standard_name: 'longitude', long_name: 'longitude', units: 'degrees_east', axis: 'X' } }],
  ]);
  return {
    variables, coords,
    attrs: {
      Conventions: 'CF-1.8',
      title: 'climadiff built-in Earth-like energy-balance model with moisture and precipitation',
      source: `climadiff simulate --model earth (seed ${o.seed ?? 0}, dt ${sim.dt} s, ${sim.stepsPerFrame} steps per frame)`,
      references: 'docs/simulator.md',
    },
  };
}
