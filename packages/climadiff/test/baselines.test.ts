import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockMean, climatologyEnsemble, conserveBlockMeans, dampedPersistenceEnsemble, fitAnomalyAR1, interpolateFrames, laplaceFill,
  laplaceFillFrames, seasonalClimatology, persistenceForecast, rangeIndices, upsample, type BaselineSeries,
} from '../src/eval/index.js';
import { rng, gauss } from './random-fixture.js';

/** A [T, H, W] (or any 3/4-axis) array from f(indices). */
function series(shape: number[], f: (...ix: number[]) => number): BaselineSeries {
  const n = shape.reduce((a, b) => a * b, 1), data = new Float32Array(n);
  const ix = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    data[i] = f(...ix);
    for (let k = shape.length - 1; k >= 0; k--) { if (++ix[k]! < shape[k]!) break; ix[k] = 0; }
  }
  return { data, shape };
}
const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

// ---------------------------------------------------------------------------------------------------
// Persistence

test('persistenceForecast: every lead is frame start - 1; a missing value falls back to the latest known frame', () => {
  const s = series([7, 1, 2], (t, _y, x) => 10 * t! + x!);
  const p = persistenceForecast(s, [2, 4], 2, 3);
  assert.deepEqual(p.shape, [1, 2, 3, 1, 2]);
  assert.deepEqual(Array.from(p.data), [10, 11, 10, 11, 10, 11, 30, 31, 30, 31, 30, 31]);
  s.data[3 * 2 + 1] = NaN; // frame 3, cell 1 missing -> frame 2 (21); frame 1 is outside k = 1
  assert.deepEqual(Array.from(persistenceForecast(s, [4], 2, 1).data), [30, 21]);
  assert.ok(Number.isNaN(persistenceForecast(s, [4], 1, 1).data[1]!));
  assert.throws(() => persistenceForecast(s, [1], 2, 1), /persistenceForecast: start 1 is out of range: starts must be integers in 2\.\.6/);
  assert.throws(() => persistenceForecast(s, [6], 2, 2), /start 6 is out of range/);
  assert.throws(() => persistenceForecast(s, [2.5], 2, 1), /start 2.5 is out of range/);
  assert.throws(() => persistenceForecast(s, [], 1, 1), /non-empty/);
  assert.throws(() => persistenceForecast(s, [3], 0, 1), /k \(known frames before the start\) must be a positive integer/);
  assert.throws(() => persistenceForecast({ data: new Float32Array(5), shape: [3, 1, 2] }, [1], 1, 1), /data has 5 values, shape \[3, 1, 2\] needs 6/);
  assert.throws(() => persistenceForecast({ data: new Float32Array(6), shape: [6, 1] }, [1], 1, 1), /shape must be \[T, H, W\]/);
});

// ---------------------------------------------------------------------------------------------------
// Climatological ensemble

/** 5 "years" (2000..2004) of 12 monthly frames, positions t % 12 + 0.5, value 1000 * (year - 2000) + 10 * position + cell. */
function monthly(): { s: BaselineSeries; cal: { yearOf: number[]; positionInYear: number[]; period: number } } {
  const T = 60;
  const yearOf = Array.from({ length: T }, (_, t) => 2000 + Math.floor(t / 12));
  const positionInYear = Array.from({ length: T }, (_, t) => (t % 12) + 0.5);
  const s = series([T, 1, 2], (t, _y, x) => 1000 * (yearOf[t!]! - 2000) + 10 * positionInYear[t!]! + x!);
  return { s, cal: { yearOf, positionInYear, period: 12 } };
}

test('climatologyEnsemble: members are the training years at the start\'s calendar position; windows that do not fit are skipped', () => {
  const { s, cal } = monthly();
  const train = rangeIndices([[0, 36]]); // 2000..2002
  const r = climatologyEnsemble(s, cal, train, [39, 46], 3);
  assert.deepEqual(r.years, [2000, 2001, 2002]);
  assert.deepEqual(r.ensemble.shape, [3, 2, 3, 1, 2]);
  // start 39 (2003, position 3.5): year y's frames 3 + 12 y .. 5 + 12 y
  assert.deepEqual(Array.from(r.sourceStart), [3, 10, 15, 22, 27, -1]);
  assert.deepEqual(r.memberCount, [3, 2]);
  const at = (m: number, n: number, l: number, j: number) => r.ensemble.data[(((m * 2 + n) * 3 + l) * 2) + j]!;
  for (let m = 0; m < 3; m++) for (let l = 0; l < 3; l++) for (let j = 0; j < 2; j++) close(at(m, 0, l, j), 1000 * m + 10 * (3.5 + l) + j, 0, `m${m} l${l}`);
  // start 46 (position 10.5): 2000 -> frames 10, 11, 12 (crossing into 2001, still training); 2002 -> 34..36, 36 is not training
  assert.deepEqual([at(0, 1, 0, 0), at(0, 1, 1, 0), at(0, 1, 2, 1)], [105, 115, 1000 + 5 + 1]);
  for (let l = 0; l < 3; l++) assert.ok(Number.isNaN(at(2, 1, l, 0)) && Number.isNaN(at(2, 1, l, 1)));
  // dropIncomplete removes year 2002 entirely
  const d = climatologyEnsemble(s, cal, train, [39, 46], 3, { dropIncomplete: true });
  assert.deepEqual(d.years, [2000, 2001]);
  assert.deepEqual(d.ensemble.shape, [2, 2, 3, 1, 2]);
  assert.ok(d.ensemble.data.every(Number.isFinite));
  // a start inside a training year leaves its own year out by default
  const own = climatologyEnsemble(s, cal, train, [15], 2);
  assert.deepEqual(Array.from(own.sourceStart), [3, -1, 27]);
  const all = climatologyEnsemble(s, cal, train, [15], 2, { excludeStartYear: false });
  assert.deepEqual(Array.from(all.sourceStart), [3, 15, 27]);
  // maxDistance: a start half a month off still matches within 0.5, not within 0.4
  const cal2 = { ...cal, positionInYear: cal.positionInYear.map((p, t) => (t === 40 ? p + 0.5 : p)) };
  assert.equal(climatologyEnsemble(s, cal2, train, [40], 1, { maxDistance: 0.5 }).memberCount[0], 3);
  assert.throws(() => climatologyEnsemble(s, cal2, train, [40], 1, { maxDistance: 0.4 }), /start 40 has 0 climatological member/);
});

test('climatologyEnsemble: positions are compared circularly', () => {
  // period 4, positions 0..3; the start frame's position is 3.9: position 0 (distance 0.1) beats position 3 (0.9)
  const T = 16;
  const yearOf = Array.from({ length: T }, (_, t) => Math.floor(t / 4));
  const positionInYear = Array.from({ length: T }, (_, t) => (t === 13 ? 3.9 : t % 4));
  const s = series([T, 1, 1], (t) => t!);
  const r = climatologyEnsemble(s, { yearOf, positionInYear, period: 4 }, rangeIndices([[0, 12]]), [13], 1);
  assert.deepEqual(Array.from(r.ensemble.data), [0, 4, 8]);
  const r2 = climatologyEnsemble(s, { yearOf, positionInYear: positionInYear.map((p, t) => (t === 13 ? 2.9 : p)), period: 4 }, rangeIndices([[0, 12]]), [13], 1);
  assert.deepEqual(Array.from(r2.ensemble.data), [3, 7, 11]);
});

test('climatologyEnsemble: fewer than 2 members and bad inputs are errors', () => {
  const { s, cal } = monthly();
  assert.throws(() => climatologyEnsemble(s, cal, rangeIndices([[0, 12]]), [39], 2), /climatologyEnsemble: start 39 has 1 climatological member\(s\) \(training years 2000\); at least 2/);
  // 2000 and 2001 trained, but a 3-frame window at position 10.5 of 2001 runs into 2002 (not trained)
  assert.throws(() => climatologyEnsemble(s, cal, rangeIndices([[0, 24]]), [46], 3), /start 46 has 1 climatological member/);
  assert.throws(() => climatologyEnsemble(s, { ...cal, yearOf: cal.yearOf.slice(1) }, rangeIndices([[0, 36]]), [39], 2), /yearOf has 59 .* T = 60/);
  assert.throws(() => climatologyEnsemble(s, { ...cal, period: 0 }, rangeIndices([[0, 36]]), [39], 2), /period must be a positive number/);
  assert.throws(() => climatologyEnsemble(s, cal, rangeIndices([[0, 36]]), [59], 2), /start 59 is out of range/);
  assert.throws(() => climatologyEnsemble(s, cal, [0, 60], [39], 2), /training index 60 is not an integer in 0\.\.59/);
  assert.throws(() => climatologyEnsemble(s, cal, [], [39], 2), /trainIndices is empty/);
  assert.throws(() => rangeIndices([[3, 1]]), /rangeIndices/);
});

// ---------------------------------------------------------------------------------------------------
// Damped persistence

const PHI = 0.8, SIG = 0.5;
/** x = c + a, a an AR(1) per cell (phi 0.8, innovation sd 0.5, stationary start), c a seasonal cycle. */
function ar1Series(T: number, H: number, W: number, seed: number): { s: BaselineSeries; clim: BaselineSeries } {
  const HW = H * W, g = gauss(rng(seed));
  const clim = series([T, H, W], (t, y, x) => 10 + 3 * Math.sin((2 * Math.PI * t!) / 50) + y! * W + x!);
  const data = new Float32Array(T * HW);
  const sa = SIG / Math.sqrt(1 - PHI * PHI);
  for (let j = 0; j < HW; j++) {
    let a = sa * g();
    for (let t = 0; t < T; t++) {
      if (t > 0) a = PHI * a + SIG * g();
      data[t * HW + j] = clim.data[t * HW + j]! + a;
    }
  }
  return { s: { data, shape: [T, H, W] }, clim };
}

test('fitAnomalyAR1: recovers phi and the innovation sigma of a known AR(1) around a seasonal climatology', () => {
  const { s, clim } = ar1Series(20000, 2, 3, 7);
  const train = rangeIndices([[0, 20000]]);
  const fit = fitAnomalyAR1(s, train, clim);
  for (let j = 0; j < 6; j++) {
    close(fit.phi[j]!, PHI, 0.03 * PHI, `phi ${j}`);
    close(fit.sigma[j]!, SIG, 0.03 * SIG, `sigma ${j}`);
    close(fit.anomalyStd[j]! ** 2 * (1 - fit.phi[j]! ** 2), fit.sigma[j]! ** 2, 1e-9, `s^2 = var (1 - phi^2) ${j}`);
    assert.equal(fit.pairs[j], 19999);
  }
  // the same climatology as a function of t gives the same fit; no climatology (0) is a different, wrong model
  const f2 = fitAnomalyAR1(s, train, (t) => clim.data.subarray(t * 6, (t + 1) * 6));
  assert.deepEqual(Array.from(f2.phi), Array.from(fit.phi));
  const f0 = fitAnomalyAR1(s, train, new Float32Array(6));
  assert.ok(f0.phi[0]! > 0.95, `uncorrected mean gives phi ${f0.phi[0]}`);
  // pairs only between consecutive training frames: two ranges give 2 * 99 pairs
  assert.equal(fitAnomalyAR1(s, rangeIndices([[0, 100], [200, 300]]), clim).pairs[0], 198);
});

test('dampedPersistenceEnsemble: mean ~ phi^l a0, variance ~ var (1 - phi^(2l)), deterministic for a seed', () => {
  const T = 16010, H = 2, W = 3, HW = 6, F = 5, M = 4000;
  const { s, clim } = ar1Series(T, H, W, 11);
  const start = 16005;
  for (let j = 0; j < HW; j++) s.data[(start - 1) * HW + j] = clim.data[(start - 1) * HW + j]! + 2 + 0.3 * j; // a0 = 2 + 0.3 j
  const train = rangeIndices([[0, 16000]]);
  const r = dampedPersistenceEnsemble(s, train, [start], F, { members: M, seed: 3, climatology: clim });
  assert.deepEqual(r.ensemble.shape, [M, 1, F, H, W]);
  assert.deepEqual(r.mean.shape, [1, 1, F, H, W]);
  const { phi, sigma, anomalyStd } = r.fit;
  for (let j = 0; j < HW; j++) { close(phi[j]!, PHI, 0.03 * PHI, 'phi'); close(sigma[j]!, SIG, 0.03 * SIG, 'sigma'); }
  for (let l = 1; l <= F; l++) for (let j = 0; j < HW; j++) {
    const c = clim.data[(start + l - 1) * HW + j]!, a0 = 2 + 0.3 * j, i = (l - 1) * HW + j;
    // deterministic mean: exactly c + phi_fit^l a0 (float32), and close to the true phi^l a0
    close(r.mean.data[i]!, c + phi[j]! ** l * a0, 1e-4, `mean l${l} j${j}`);
    close(r.mean.data[i]! - c, PHI ** l * a0, 0.1 * PHI ** l * a0, `true mean l${l} j${j}`);
    let sum = 0, sq = 0;
    for (let m = 0; m < M; m++) { const v = r.ensemble.data[m * F * HW + i]! - c; sum += v; sq += v * v; }
    const mean = sum / M, variance = sq / M - mean * mean;
    const expVar = anomalyStd[j]! ** 2 * (1 - phi[j]! ** (2 * l));
    close(mean, phi[j]! ** l * a0, 4.5 * Math.sqrt(expVar / M), `ensemble mean l${l} j${j}`);
    close(variance, expVar, 0.12 * expVar, `ensemble variance l${l} j${j}`);
    close(expVar, (SIG ** 2 / (1 - PHI ** 2)) * (1 - PHI ** (2 * l)), 0.1 * expVar, `true variance l${l}`);
  }
  const again = dampedPersistenceEnsemble(s, train, [start], F, { members: 3, seed: 3, climatology: clim });
  assert.deepEqual(Array.from(again.ensemble.data.subarray(0, F * HW)), Array.from(r.ensemble.data.subarray(0, F * HW)));
  const other = dampedPersistenceEnsemble(s, train, [start], F, { members: 3, seed: 4, climatology: clim });
  assert.notDeepEqual(Array.from(other.ensemble.data), Array.from(again.ensemble.data));
  assert.throws(() => dampedPersistenceEnsemble(s, train, [0], F, { members: 2, climatology: clim }), /dampedPersistenceEnsemble: start 0 is out of range: starts must be integers in 1\.\./);
  assert.throws(() => dampedPersistenceEnsemble(s, train, [T - 2], F, { members: 2, climatology: clim }), /start 16008 is out of range/);
  assert.throws(() => dampedPersistenceEnsemble(s, train, [start], F, { members: 0, climatology: clim }), /members must be a positive integer/);
  assert.throws(() => dampedPersistenceEnsemble(s, train, [start], F, { members: 2, climatology: new Float32Array(7) }), /climatology has 7 values, expected T\*H\*W = 96060 or H\*W = 6/);
  assert.throws(() => dampedPersistenceEnsemble(s, [0, 2, 4], [start], F, { members: 2, climatology: clim }), /no cell has a pair of consecutive training frames/);
});

// ---------------------------------------------------------------------------------------------------
// Temporal interpolation

test('interpolateFrames: linear reproduces linear-in-time fields exactly and holds the ends; known frames are copied', () => {
  const lin = series([2, 9, 2, 2], (n, t, y, x) => 100 * n! + (1 + y! + 2 * x!) * t! - 3 * y!);
  const known = [1, 0, 0, 1, 1, 0, 0, 0, 1];
  for (const method of ['linear', 'cubic'] as const) {
    const r = interpolateFrames(lin, known, { method });
    assert.deepEqual(r.shape, [1, 2, 9, 2, 2]);
    r.data.forEach((v, i) => close(v, lin.data[i]!, 1e-4, `${method} ${i}`));
  }
  // ends: known frames 2 and 5 only -> frames 0, 1 = frame 2; frames 6..8 = frame 5; 3, 4 linear
  const r = interpolateFrames(series([9, 1, 1], (t) => t! * t!), [0, 0, 1, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(r.data), [4, 4, 4, 11, 18, 25, 25, 25, 25]);
  // a missing known value at one cell: that cell interpolates over the other known frames; the NaN stays
  const m = series([9, 1, 2], (t, _y, x) => 2 * t! + x!);
  m.data[4 * 2] = NaN;
  const rm = interpolateFrames(m, [1, 0, 0, 0, 1, 0, 0, 0, 1], { method: 'cubic' });
  for (let t = 0; t < 9; t++) if (t !== 4) close(rm.data[t * 2]!, 2 * t, 1e-5, `t${t}`);
  assert.ok(Number.isNaN(rm.data[8]!));
});

test('interpolateFrames: natural cubic spline (hand value) beats linear on a smooth curve', () => {
  // natural spline through (0, 0), (2, 1), (4, 0): s(1) = s(3) = 0.6875
  const h = interpolateFrames(series([5, 1, 1], (t) => [0, 9, 1, 9, 0][t!]!), [1, 0, 1, 0, 1], { method: 'cubic' });
  assert.deepEqual(Array.from(h.data), [0, 0.6875, 1, 0.6875, 0]);
  const curve = series([13, 1, 1], (t) => Math.sin(0.35 * t!));
  const known = Array.from({ length: 13 }, (_, t) => t % 3 === 0);
  const err = (method: 'linear' | 'cubic') => {
    const r = interpolateFrames(curve, known, { method });
    let e = 0;
    for (let t = 4; t <= 8; t++) e = Math.max(e, Math.abs(r.data[t]! - Math.sin(0.35 * t))); // between interior known frames
    return e;
  };
  const el = err('linear'), ec = err('cubic');
  assert.ok(ec < el / 3, `cubic ${ec} vs linear ${el}`);
  // two known frames: the spline is the straight line
  const two = interpolateFrames(series([5, 1, 1], (t) => t! * t!), [1, 0, 0, 0, 1], { method: 'cubic' });
  assert.deepEqual(Array.from(two.data), [0, 4, 8, 12, 16]);
  assert.throws(() => interpolateFrames(curve, [1, 0]), /interpolateFrames: known has 2 entries, the clips have F = 13 frames/);
  assert.throws(() => interpolateFrames(curve, new Array(13).fill(0)), /no frame is known/);
  assert.throws(() => interpolateFrames(curve, known, { method: 'quintic' as 'linear' }), /method must be 'linear' or 'cubic'/);
  assert.throws(() => interpolateFrames({ data: new Float32Array(4), shape: [4, 1] }, [1, 1, 1, 1]), /shape must be \[F, H, W\] or \[N, F, H, W\]/);
});

// ---------------------------------------------------------------------------------------------------
// Upsampling and block means

test('upsample: constants stay constant; bilinear is exact for linear and bicubic for quadratic fields in the interior', () => {
  const c = series([2, 3, 4], () => 2.5);
  for (const method of ['nearest', 'bilinear', 'bicubic'] as const) for (const periodicLon of [false, true]) {
    const u = upsample(c, 3, { method, periodicLon });
    assert.deepEqual(u.shape, [2, 9, 12]);
    u.data.forEach((v) => close(v, 2.5, 1e-6, method));
  }
  const h = 5, w = 6, K = 2;
  const lin = series([h, w], (i, j) => 2 * i! + 3 * j!);
  const quad = series([h, w], (i, j) => i! * i! - 0.5 * j! * j! + i! * j!);
  const bl = upsample(lin, K, { method: 'bilinear' }), bc = upsample(lin, K, { method: 'bicubic' }), bq = upsample(quad, K, { method: 'bicubic' });
  let nb = 0, nc = 0;
  for (let I = 0; I < h * K; I++) for (let J = 0; J < w * K; J++) {
    const u = (I + 0.5) / K - 0.5, v = (J + 0.5) / K - 0.5;
    if (u >= 0 && u <= h - 1 && v >= 0 && v <= w - 1) { close(bl.data[I * w * K + J]!, 2 * u + 3 * v, 1e-5, `bilinear ${I},${J}`); nb++; }
    if (u >= 1 && u <= h - 2 && v >= 1 && v <= w - 2) {
      close(bc.data[I * w * K + J]!, 2 * u + 3 * v, 1e-5, `bicubic ${I},${J}`);
      close(bq.data[I * w * K + J]!, u * u - 0.5 * v * v + u * v, 1e-4, `bicubic quadratic ${I},${J}`);
      nc++;
    }
  }
  assert.ok(nb > 50 && nc > 20);
  // bilinear fine values of a quadratic are not exact (so the test above can fail)
  const blq = upsample(quad, K, { method: 'bilinear' });
  assert.ok(Math.abs(blq.data[2 * w * K + 2]! - (0.75 * 0.75 - 0.5 * 0.75 * 0.75 + 0.75 * 0.75)) > 1e-3);
  // nearest: K x K blocks
  assert.deepEqual(Array.from(upsample(series([1, 2], (_i, j) => j!), 2, { method: 'nearest' }).data), [0, 0, 1, 1, 0, 0, 1, 1]);
});

test('upsample: periodic longitude wraps, otherwise clamps', () => {
  const row = { data: Float32Array.from([0, 0, 0, 8]), shape: [1, 4] };
  // fine column 0 sits at v = -0.25: wraps to 0.25 x[3] + 0.75 x[0] = 2; clamped: x[0] = 0. Column 7 at v = 3.25.
  const p = upsample(row, 2, { method: 'bilinear', periodicLon: true }), q = upsample(row, 2, { method: 'bilinear' });
  assert.deepEqual(Array.from(p.data.subarray(0, 8)), [2, 0, 0, 0, 0, 2, 6, 6]);
  assert.deepEqual(Array.from(q.data.subarray(0, 8)), [0, 0, 0, 0, 0, 2, 6, 8]);
  const pc = upsample(row, 2, { method: 'bicubic', periodicLon: true });
  close(pc.data[0]!, pc.data[5]!, 1e-6, 'bicubic wrap: v = 3.75 and 2.25 are symmetric about the 8 at column 3');
  close(pc.data[7]!, pc.data[6]!, 1e-6, 'bicubic wrap: v = 3.25 and 2.75');
  assert.ok(pc.data[0]! > 1);
  assert.throws(() => upsample(row, 0), /upsample: K \(upsampling factor\) must be a positive integer/);
  assert.throws(() => upsample({ data: new Float32Array(3), shape: [1, 4] }, 2), /coarse data has 3 values/);
  assert.throws(() => upsample(row, 2, { method: 'lanczos' as 'nearest' }), /method must be/);
});

test('blockMean: inverse of nearest upsampling exactly; cos(lat) weights; mass-conserving correction', () => {
  const r = rng(5);
  const coarse = series([2, 3, 4, 5], () => (r() - 0.5) * 100);
  const lats = Array.from({ length: 12 }, (_, i) => -82.5 + 15 * i);
  const fine = upsample(coarse, 3, { method: 'nearest' });
  assert.deepEqual(Array.from(blockMean(fine, 3).data), Array.from(coarse.data));
  const bw = blockMean(fine, 3, { latitudes: lats });
  assert.deepEqual(bw.shape, [2, 3, 4, 5]);
  assert.deepEqual(Array.from(bw.data), Array.from(coarse.data));
  // a constant stays constant with weights; hand-weighted block: rows 1 and 3 at lat 0 and 60 -> (1 + 0.5 * 3) / 1.5
  blockMean(series([12, 15], () => 4.25), 3, { latitudes: lats }).data.forEach((v) => assert.equal(v, 4.25));
  const two = { data: Float32Array.from([1, 1, 3, 3]), shape: [2, 2] };
  close(blockMean(two, 2, { latitudes: [0, 60] }).data[0]!, 5 / 3, 1e-6);
  close(blockMean(two, 2, { latWeights: [1, 3] }).data[0]!, 2.5, 1e-6);
  assert.equal(blockMean(two, 2).data[0], 2);
  // missing values are left out of the block mean
  assert.equal(blockMean({ data: Float32Array.from([1, NaN, 3, 3]), shape: [2, 2] }, 2).data[0], Math.fround(7 / 3));
  // bilinear + conserveBlockMeans has the coarse block means
  const bl = upsample(coarse, 3, { method: 'bilinear' });
  const cons = conserveBlockMeans(bl, coarse, 3, { latitudes: lats });
  const back = blockMean(cons, 3, { latitudes: lats });
  back.data.forEach((v, i) => close(v, coarse.data[i]!, 1e-4, `conserved ${i}`));
  assert.ok(blockMean(bl, 3, { latitudes: lats }).data.some((v, i) => Math.abs(v - coarse.data[i]!) > 1e-2));
  assert.throws(() => blockMean(fine, 4), /blockMean: K = 4 does not divide the fine grid 12 x 15/);
  assert.throws(() => blockMean(fine, 3, { latitudes: [0, 1] }), /latitudes has 2 entries, the fine grid has H = 12 rows/);
  assert.throws(() => blockMean(fine, 3, { latitudes: lats, latWeights: lats }), /not both/);
  assert.throws(() => conserveBlockMeans(bl, coarse, 2), /does not match/);
});

// ---------------------------------------------------------------------------------------------------
// Laplace infill

test('laplaceFill: recovers a harmonic field in a masked box; known cells untouched; Neumann lat edges; periodic lon', () => {
  const H = 12, W = 16;
  const f = series([H, W], (y, x) => x! + 2 * y!);
  const mask = new Uint8Array(H * W).fill(1), field = { data: f.data.slice(), shape: [H, W] };
  for (let y = 3; y <= 8; y++) for (let x = 4; x <= 11; x++) { mask[y * W + x] = 0; field.data[y * W + x] = y % 2 ? 1e3 : NaN; }
  const r = laplaceFill(field, mask, { tol: 1e-9 });
  assert.ok(r.converged && r.iterations > 1);
  r.data.forEach((v, j) => (mask[j] ? assert.equal(v, field.data[j]) : close(v, f.data[j]!, 1e-4, `cell ${j}`)));
  // iterations 0: the unknowns hold the mean of the known values
  const known: number[] = [];
  mask.forEach((k, j) => { if (k) known.push(f.data[j]!); });
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const r0 = laplaceFill(field, mask, { iterations: 0 });
  assert.ok(!r0.converged);
  close(r0.data[5 * W + 6]!, mean, 1e-4);
  // Neumann at the top edge: a field constant in latitude, unknown top rows, is recovered
  const g = series([H, W], (_y, x) => 3 * x!), gm = new Uint8Array(H * W).fill(1);
  for (let y = 0; y <= 2; y++) for (let x = 5; x <= 10; x++) gm[y * W + x] = 0;
  laplaceFill(g, gm, { tol: 1e-9 }).data.forEach((v, j) => close(v, g.data[j]!, 1e-4, `neumann ${j}`));
  // periodic: a box across the lon seam of a field harmonic on the cylinder (cos of longitude times exp of latitude)
  const k = (2 * Math.PI) / W;
  // the discrete harmonic: cos(k x) e^{b y} with 2 cos k + 2 cosh b = 4
  const b = Math.acosh(2 - Math.cos(k));
  const d = series([H, W], (y, x) => 5 * Math.cos(k * x!) * Math.exp(b * y!));
  const pm = new Uint8Array(H * W).fill(1);
  for (let y = 3; y <= 8; y++) for (const x of [13, 14, 15, 0, 1, 2]) pm[y * W + x] = 0;
  const pr = laplaceFill(d, pm, { periodicLon: true, tol: 1e-10 });
  pr.data.forEach((v, j) => close(v, d.data[j]!, 1e-3, `periodic ${j}`));
  const np = laplaceFill(d, pm, { periodicLon: false, tol: 1e-10 });
  assert.ok(np.data.some((v, j) => Math.abs(v - d.data[j]!) > 1e-2), 'without wrap the seam box is not harmonic-exact');
});

test('laplaceFillFrames with a background fills the anomalies: a sharp climatology plus a harmonic anomaly is recovered', () => {
  const H = 8, W = 9;
  // a background with structure no harmonic fill reproduces (a land block 20 units warmer), plus a linear anomaly
  const bg = series([1, 2, H, W], (_n, t, y, x) => (y! >= 3 && y! <= 5 && x! >= 3 && x! <= 5 ? 20 : 0) + 0.1 * t!);
  const truth = { data: bg.data.map((v, i) => v + ((i % (H * W)) % W) * 0.5 - 1), shape: bg.shape };
  const mask = new Uint8Array(H * W).fill(1);
  for (let y = 2; y <= 6; y++) for (let x = 2; x <= 6; x++) mask[y * W + x] = 0;
  const given = { data: truth.data.map((v, i) => (mask[i % (H * W)] ? v : NaN)), shape: truth.shape };
  const anomaly = laplaceFillFrames(given, mask, { tol: 1e-9, background: bg.data });
  anomaly.ensemble.data.forEach((v, i) => close(v, truth.data[i]!, 1e-4, `anomaly fill ${i}`));
  // known values exactly as given; the plain fill misses the block by most of its 20 units
  anomaly.ensemble.data.forEach((v, i) => { if (mask[i % (H * W)]) assert.equal(v, truth.data[i]!); });
  const plain = laplaceFillFrames(given, mask, { tol: 1e-9 });
  assert.ok(Math.abs(plain.ensemble.data[4 * W + 4]! - truth.data[4 * W + 4]!) > 10);
  assert.throws(() => laplaceFillFrames(given, mask, { background: new Float32Array(5) }), /background has 5 values, expected one per value of the clips \(144\)/);
  assert.throws(() => laplaceFillFrames(given, mask, { background: new Float32Array(144).fill(NaN) }), /background is not finite at value 0/);
});

test('laplaceFillFrames and laplaceFill errors', () => {
  const H = 6, W = 7;
  const clips = series([2, 2, H, W], (n, t, y, x) => x! - y! + 10 * n! + t!);
  const mask = new Uint8Array(H * W).fill(1);
  for (let y = 2; y <= 3; y++) for (let x = 2; x <= 4; x++) mask[y * W + x] = 0;
  const noisy = { data: clips.data.map((v, i) => (mask[i % (H * W)] ? v : -99)), shape: clips.shape };
  const r = laplaceFillFrames(noisy, mask, { tol: 1e-9 });
  assert.deepEqual(r.ensemble.shape, [1, 2, 2, H, W]);
  assert.ok(r.converged);
  r.ensemble.data.forEach((v, i) => close(v, clips.data[i]!, 1e-4, `${i}`));
  // per-value mask; without a mask the finite values are known
  const nan = { data: clips.data.map((v, i) => (mask[i % (H * W)] ? v : NaN)), shape: clips.shape };
  laplaceFillFrames(nan, null, { tol: 1e-9 }).ensemble.data.forEach((v, i) => close(v, clips.data[i]!, 1e-4, `nan ${i}`));
  const per = new Uint8Array(clips.data.length);
  per.forEach((_, i) => { per[i] = mask[i % (H * W)]!; });
  laplaceFillFrames(noisy, per, { tol: 1e-9 }).ensemble.data.forEach((v, i) => close(v, clips.data[i]!, 1e-4, `per ${i}`));
  assert.throws(() => laplaceFill({ data: new Float32Array(H * W), shape: [H, W] }, new Uint8Array(H * W)), /laplaceFill: no cell is known/);
  assert.throws(() => laplaceFillFrames({ data: new Float32Array(2 * H * W).fill(NaN).fill(1, 0, H * W), shape: [2, H, W] }), /frame 1\): no cell is known/);
  assert.throws(() => laplaceFill({ data: new Float32Array(H * W), shape: [H, W] }, new Uint8Array(3)), /knownMask has 3 values, the field has H\*W = 42 cells/);
  assert.throws(() => laplaceFill({ data: new Float32Array(H * W), shape: [H * W] }, null), /shape must be \[H, W\]/);
  assert.throws(() => laplaceFillFrames(noisy, new Uint8Array(5)), /knownMask has 5 values, expected 168 \(per value\) or 42/);
});

test('seasonalClimatology: recovers a mean plus two annual harmonics per cell exactly, off the training steps too; NaN skipped; a cell seen in too few months gets its mean', () => {
  // 3 cells, 6-hourly-like positions over 3 years of 12 months (120 steps a year, 10 a month); training: the first 2 years
  const T = 360, HW = 3;
  const positions = Float64Array.from({ length: T }, (_, t) => (t % 120) / 10);
  const phi = (p: number) => (2 * Math.PI * p) / 12;
  const truth = [
    (p: number) => 287.5 + 3 * Math.cos(phi(p)) - 2 * Math.sin(2 * phi(p)),
    (p: number) => 0.4 + 0.25 * Math.sin(phi(p)) + 0.1 * Math.cos(2 * phi(p)),
    (p: number) => -3 + Math.cos(phi(p)),
  ];
  const data = new Float32Array(T * HW);
  for (let t = 0; t < T; t++) for (let j = 0; j < HW; j++) data[t * HW + j] = truth[j]!(positions[t]!);
  data[5 * HW] = NaN; // a missing value is skipped, not a zero
  // cell 2 has values only in months 0-5 of the training years: fewer than SEASONAL_MIN_MONTHS (9), so its mean alone
  for (let t = 0; t < T; t++) if (positions[t]! >= 6) data[t * HW + 2] = NaN;
  const trainIdx = Array.from({ length: 240 }, (_, t) => t);
  const c = seasonalClimatology({ data, shape: [T, 1, HW] }, trainIdx, positions);
  let cell2 = 0, n2 = 0;
  for (const t of trainIdx) { const v = data[t * HW + 2]!; if (Number.isFinite(v)) { cell2 += v; n2++; } }
  for (const t of [0, 17, 119, 250, 359]) {
    const m = c(t);
    assert.ok(Math.abs(m[0]! - truth[0]!(positions[t]!)) < 1e-4, `cell 0 at step ${t}: ${m[0]} against ${truth[0]!(positions[t]!)}`);
    assert.ok(Math.abs(m[1]! - truth[1]!(positions[t]!)) < 1e-6, `cell 1 at step ${t}`);
    assert.ok(Math.abs(m[2]! - cell2 / n2) < 1e-5, `cell 2 at step ${t}: its mean`);
  }
  // smooth where monthly means step: the cycle moves by less than 0.1 between the last step of a month and the next
  const jump = Math.abs(c(10)[0]! - c(9)[0]!);
  assert.ok(jump < 0.2, `step across a month boundary ${jump}`);
});
