// The built-in simulators (docs/simulator.md): the land mask matches the real world, both models are
// deterministic per seed, the Earth model has a seasonal cycle with land-sea contrast and a plausible climate,
// the QG model's energy stays bounded with a steep inertial-range spectrum, precipitation is intermittent and
// heavy-tailed, unstable time steps are refused, and the CLI writes a file that reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as torch from '@climadiff/torch';
import {
  EarthSimulator, QGSimulator, landMask, isLand, globalGrid, precipStats, dailyInsolation, simulateEarth,
} from '../src/data/simulator/index.js';
import { DataError } from '../src/data/types.js';
import { Command } from 'commander';
import { register } from '../src/cli/simulate.js';
import { runSimulate } from '../src/run/simulate.js';
import { openDataset } from '../src/data/readers/index.js';

torch.setNumThreads(1);

const bitsEqual = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

test('land mask: known points, and an area-weighted land fraction near 0.29', () => {
  assert.equal(isLand(10, 23), true, 'Sahara');
  assert.equal(isLand(100, 60), true, 'Siberia');
  assert.equal(isLand(-100, 40), true, 'USA');
  assert.equal(isLand(-60, -10), true, 'Amazon');
  assert.equal(isLand(-150, 0), false, 'mid-Pacific');
  assert.equal(isLand(-35, 30), false, 'mid-Atlantic');
  assert.equal(isLand(80, -20), false, 'Indian Ocean');
  assert.equal(isLand(0, -80), true, 'Antarctica');
  const { lat, lon } = globalGrid(64, 128);
  const m = landMask(lat, lon.map((x) => (x > 180 ? x - 360 : x)));
  let land = 0, all = 0;
  for (let i = 0; i < 64; i++) {
    const w = Math.cos((lat[i]! * Math.PI) / 180);
    for (let j = 0; j < 128; j++) { land += w * m[i * 128 + j]!; all += w; }
  }
  const frac = land / all;
  assert.ok(frac > 0.26 && frac < 0.32, `land fraction ${frac}`);
});

test('insolation: annual-mean equator > pole, polar night, and the solstice peak at the summer pole', () => {
  assert.equal(dailyInsolation(80, 355), 0); // Dec 21: polar night at 80N
  assert.ok(dailyInsolation(89, 172) > dailyInsolation(0, 172), 'June solstice: north pole gets more than the equator');
  let eq = 0, pole = 0;
  for (let d = 0; d < 365; d++) { eq += dailyInsolation(0, d); pole += dailyInsolation(89, d); }
  assert.ok(Math.abs(eq / 365 - 417) < 10, `equator annual mean ${eq / 365}`);
  assert.ok(pole / 365 > 150 && pole / 365 < 190, `pole annual mean ${pole / 365}`);
});

test('earth: same seed gives bit-identical fields; a different seed differs', () => {
  const run = (seed: number) => {
    const sim = new EarthSimulator({ nlat: 16, nlon: 32, seed, spinupDays: 5, everyHours: 6 });
    sim.nextFrame();
    return sim.nextFrame();
  };
  const a = run(3), b = run(3), c = run(4);
  for (const k of ['tas', 'pr', 'prw'] as const) {
    assert.ok(bitsEqual(a[k], b[k]), `${k} identical`);
    assert.ok(!bitsEqual(a[k], c[k]), `${k} differs between seeds`);
  }
  assert.ok(a.pr.some((x) => x > 0.01), 'it rains somewhere');
});

test('earth: seasonal cycle, land-sea contrast, plausible climate, intermittent heavy-tailed rain', () => {
  const sim = new EarthSimulator({ nlat: 32, nlon: 64, seed: 1, spinupDays: 365, everyHours: 24 });
  const { nlat, nlon } = sim, N = nlat * nlon;
  const jan = new Float64Array(N), jul = new Float64Array(N), annual = new Float64Array(N);
  const rain = new Float32Array(365 * N);
  for (let d = 0; d < 365; d++) {
    const fr = sim.nextFrame();
    const doy = Math.floor(((fr.timeHours / 24) % 365 + 365) % 365);
    for (let k = 0; k < N; k++) {
      annual[k] = annual[k]! + fr.tas[k]! / 365;
      if (doy < 31) jan[k] = jan[k]! + fr.tas[k]! / 31;
      else if (doy >= 181 && doy < 212) jul[k] = jul[k]! + fr.tas[k]! / 31;
    }
    rain.set(fr.pr, d * N);
  }
  let gm = 0, wsum = 0, nhL = 0, nL = 0, nhO = 0, nO = 0, shJul = 0, shJan = 0, nSh = 0;
  for (let i = 0; i < nlat; i++) {
    const w = Math.cos((sim.lat[i]! * Math.PI) / 180);
    for (let j = 0; j < nlon; j++) {
      const k = i * nlon + j;
      gm += w * annual[k]!; wsum += w;
      if (sim.lat[i]! > 30 && sim.lat[i]! < 70) {
        if (sim.land[k]) { nhL += jul[k]! - jan[k]!; nL++; } else { nhO += jul[k]! - jan[k]!; nO++; }
      }
      if (sim.lat[i]! < -15 && sim.lat[i]! > -45 && sim.land[k]) { shJul += jul[k]!; shJan += jan[k]!; nSh++; }
    }
  }
  gm /= wsum;
  const landAmp = nhL / nL, oceanAmp = nhO / nO;
  assert.ok(gm > 280 && gm < 292, `global mean ${gm} K`);
  assert.ok(landAmp > 12, `NH land July-January ${landAmp} K`);
  assert.ok(oceanAmp > 2, `NH ocean July-January ${oceanAmp} K`);
  assert.ok(landAmp > 1.5 * oceanAmp, `land amplitude ${landAmp} > 1.5 x ocean ${oceanAmp}`);
  assert.ok(nSh > 0 && shJan > shJul + 3, `southern land (15-45S) warmer in January: ${shJan / nSh} vs July ${shJul / nSh}`);
  const eqRow = nlat / 2, poleRow = nlat - 1;
  const zm = (i: number): number => { let s = 0; for (let j = 0; j < nlon; j++) s += annual[i * nlon + j]!; return s / nlon; };
  assert.ok(zm(eqRow) > 293 && zm(eqRow) < 305, `equator ${zm(eqRow)}`);
  assert.ok(zm(poleRow) < 270, `pole ${zm(poleRow)}`);
  const st = precipStats(rain);
  assert.ok(st.dryFraction > 0.78 && st.dryFraction < 0.92, `dry fraction ${st.dryFraction}`);
  assert.ok(st.wetExcessKurtosis > 3, `wet excess kurtosis ${st.wetExcessKurtosis}`);
  assert.ok(st.top1PercentShare > 0.2, `top-1% share ${st.top1PercentShare}`);
  assert.ok(st.mean * 24 > 1 && st.mean * 24 < 8, `global mean precipitation ${st.mean * 24} mm/day`);
});

test('earth and qg refuse an unstable time step with a clear error', () => {
  assert.throws(() => new EarthSimulator({ nlat: 16, nlon: 32, dtMaxSeconds: 1e6, spinupDays: 0 }),
    (e: unknown) => e instanceof DataError && e.kind === 'unstable-time-step' && /stability limit/.test(e.message));
  assert.throws(() => new QGSimulator({ size: 32, dtMax: 10, spinupDays: 0 }),
    (e: unknown) => e instanceof DataError && e.kind === 'unstable-time-step' && /CFL/.test(e.message));
  assert.throws(() => new EarthSimulator({ nlat: 7 }), (e: unknown) => e instanceof DataError && /--lat/.test(e.message));
  assert.throws(() => new QGSimulator({ size: 33 }), (e: unknown) => e instanceof DataError && /--size/.test(e.message));
});

test('qg: same seed gives bit-identical fields; a different seed differs', () => {
  const run = (seed: number) => new QGSimulator({ size: 32, seed, spinupDays: 120 }).nextFrame();
  const a = run(5), b = run(5), c = run(6);
  assert.ok(a.pr.some((x) => x > 0.01), 'it rains somewhere');
  for (const k of ['psi1', 'ta', 'pr'] as const) {
    assert.ok(bitsEqual(a[k], b[k]), `${k} identical`);
    assert.ok(!bitsEqual(a[k], c[k]), `${k} differs between seeds`);
  }
});

test('qg: bounded energy, steep inertial-range spectrum, CFL respected, intermittent heavy-tailed rain', () => {
  const sim = new QGSimulator({ size: 64, seed: 2, spinupDays: 150, everyHours: 6 });
  const n = sim.n, N = n * n, F = 80;
  const rain = new Float32Array(F * N);
  const kes: number[] = [];
  const spec = new Float64Array(n / 2 + 1);
  for (let f = 0; f < F; f++) {
    const fr = sim.nextFrame();
    rain.set(fr.pr, f * N);
    if (f % 10 === 0) {
      const d = sim.diagnostics();
      kes.push(d.ke);
      d.spectrum.forEach((e, k) => { spec[k] = spec[k]! + e; });
    }
  }
  for (const ke of kes) assert.ok(Number.isFinite(ke) && ke > 0.5 && ke < 50, `kinetic energy ${ke}`);
  assert.ok(sim.maxCfl <= 0.6 + 1e-9, `CFL ${sim.maxCfl}`);
  // Least-squares slope of log E(k) against log k over 6 <= k <= 16.
  const xs: number[] = [], ys: number[] = [];
  for (let k = 6; k <= 16; k++) { xs.push(Math.log(k)); ys.push(Math.log(spec[k]!)); }
  const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
  let sxy = 0, sxx = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i]! - my); sxx += (x - mx) ** 2; });
  const slope = sxy / sxx;
  assert.ok(slope > -6.5 && slope < -3, `spectrum slope ${slope}`);
  const st = precipStats(rain);
  assert.ok(st.dryFraction > 0.72 && st.dryFraction < 0.92, `dry fraction ${st.dryFraction}`);
  assert.ok(st.wetExcessKurtosis > 3, `wet excess kurtosis ${st.wetExcessKurtosis}`);
  assert.ok(st.top1PercentShare > 0.15, `top-1% share ${st.top1PercentShare}`);
});

test('CLI: simulate writes CF NetCDF that reads back (and ncdump reads), refuses bad options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-sim-'));
  try {
    const out = join(dir, 'earth.nc');
    const ds = await runSimulate({ model: 'earth', frames: 3, seed: 1, out, lat: 16, lon: 32, spinup: 2, every: 6, progress: false }, 'test');
    assert.ok(existsSync(out));
    assert.equal(readFileSync(out).subarray(0, 3).toString('latin1'), 'CDF');
    const back = await openDataset(out, { lonConvention: '0..360' });
    const pr = back.variables.get('pr');
    assert.ok(pr !== undefined);
    assert.deepEqual(pr.shape, [3, 16, 32]);
    assert.ok(bitsEqual(pr.data, ds.variables.get('pr')!.data));
    assert.equal(back.coords.get('time')?.calendar, 'noleap');
    try {
      const header = execFileSync('ncdump', ['-h', out], { encoding: 'utf8' });
      assert.match(header, /tas:units = "K"/);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // ncdump not installed: skip that check
    }
    const zout = join(dir, 'qg.zarr');
    await runSimulate({ model: 'qg', frames: 2, seed: 1, out: zout, size: 16, spinup: 1, every: 6, progress: false });
    assert.ok(existsSync(join(zout, 'pr')));
    const qout = join(dir, 'qg.nc');
    const qds = await runSimulate({ model: 'qg', frames: 2, seed: 1, out: qout, size: 16, spinup: 1, every: 6, progress: false });
    // default grid normalisation: x/y are km on a periodic plane, not longitudes, so nothing is wrapped or reordered
    const qback = await openDataset(qout);
    assert.ok(bitsEqual(qback.variables.get('ta')!.data, qds.variables.get('ta')!.data));
    assert.equal(qback.coords.get('x')?.units, 'km');
    await assert.rejects(runSimulate({ model: 'lorenz', frames: 1, seed: 0, out: join(dir, 'x.nc'), every: 6, progress: false }), /--model must be 'earth' or 'qg'/);
    await assert.rejects(runSimulate({ model: 'earth', frames: 1, seed: 0, out: join(dir, 'x.txt'), every: 6, progress: false }), /\.nc/);
    await assert.rejects(runSimulate({ model: 'earth', frames: 1, seed: 0, out: join(dir, 'y.nc'), size: 32, every: 6, progress: false }), /--size is for --model qg/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulateEarth returns CF metadata', () => {
  const ds = simulateEarth({ frames: 2, nlat: 8, nlon: 16, spinupDays: 0 });
  assert.equal(ds.coords.get('lat')?.units, 'degrees_north');
  assert.equal(ds.coords.get('lon')?.units, 'degrees_east');
  assert.match(String(ds.coords.get('time')?.units), /^hours since 2000-01-01/);
  assert.equal(ds.variables.get('tas')?.attrs.standard_name, 'air_temperature');
  assert.equal(ds.variables.get('pr')?.units, 'mm h-1');
});

test('CLI: `data simulate` parses its options through commander and rejects bad ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-sim-cli-'));
  const build = (): Command => {
    const program = new Command('climadiff').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program.command('data'));
    return program;
  };
  try {
    const out = join(dir, 'e.nc');
    await build().parseAsync(['node', 'climadiff', 'data', 'simulate', '--model', 'earth', '--frames', '2', '--lat', '8', '--lon', '16',
      '--spinup', '0', '--every', '3', '--seed', '7', '--out', out, '--no-progress']);
    const back = await openDataset(out, { lonConvention: '0..360' });
    assert.deepEqual(back.variables.get('tas')?.shape, [2, 8, 16]);
    assert.deepEqual(Array.from(back.coords.get('time')!.values), [3, 6]);
    await assert.rejects(build().parseAsync(['node', 'climadiff', 'data', 'simulate', '--model', 'qg', '--frames', '0', '--out', join(dir, 'q.nc')]),
      (e: Error & { code?: string }) => e.code === 'commander.invalidArgument');
    await assert.rejects(build().parseAsync(['node', 'climadiff', 'data', 'simulate', '--model', 'qg', '--frames', '1']),
      (e: Error & { code?: string }) => e.code === 'commander.missingMandatoryOptionValue');
    await assert.rejects(build().parseAsync(['node', 'climadiff', 'data', 'simulate', '--model', 'earth', '--frames', '1', '--lat', '8', '--lon', '16',
      '--spinup', '0', '--out', out, '--no-progress']), (e: unknown) => e instanceof DataError && e.kind === 'output-exists');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulators free their intermediate tensors (no native tensor growth per frame)', () => {
  const e = new EarthSimulator({ nlat: 16, nlon: 32, spinupDays: 1 });
  const q = new QGSimulator({ size: 16, spinupDays: 1 });
  e.nextFrame(); q.nextFrame(); q.diagnostics();
  const before = torch.liveTensors();
  for (let i = 0; i < 20; i++) { e.nextFrame(); q.nextFrame(); q.diagnostics(); }
  assert.ok(torch.liveTensors() <= before + 5, `live tensors ${before} -> ${torch.liveTensors()}`);
});
