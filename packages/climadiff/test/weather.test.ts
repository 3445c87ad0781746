import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptance, anomalyVarianceMap, DEFAULT_CRITERIA, dryFraction, meanSquaredChange, varianceMapR2, weatherDiagnostics, weatherMarkdown,
  type ClipArray, type WeatherDiagnostics,
} from '../src/eval/index.js';
import { rng, gauss, clips } from './random-fixture.js';

/** AR(1) along frames, stationary from the first frame: x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t, times sigma(cell), plus offset(cell). */
function ar1(seed: number, shape: [number, number, number, number], rho: number, sigma: (j: number) => number, offset: (j: number) => number = () => 0): ClipArray {
  const [N, F, H, W] = shape, HW = H * W, g = gauss(rng(seed));
  const data = new Float32Array(N * F * HW), s = Math.sqrt(1 - rho * rho);
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    let x = g();
    for (let t = 0; t < F; t++) {
      if (t > 0) x = rho * x + s * g();
      data[(n * F + t) * HW + j] = offset(j) + sigma(j) * x;
    }
  }
  return { data, shape };
}
const scaled = (c: ClipArray, a: number): ClipArray => ({ ...c, data: c.data.map((v) => v * a) });
const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const row = (rows: ReturnType<typeof acceptance>, key: string) => {
  const r = rows.find((x) => x.key === key);
  assert.ok(r, `no row ${key} in ${rows.map((x) => x.key).join(', ')}`);
  return r;
};

test('meanSquaredChange: values f*c give k^2 c^2 (mean over cells), offsets per clip do not matter', () => {
  const cs = [1, 2, 3, 4];
  const c = clips([3, 6, 2, 2], (n, t, y, x) => 100 * n + t * cs[y * 2 + x]!);
  const m = meanSquaredChange(c, 5);
  assert.equal(m.length, 5);
  m.forEach((v, i) => close(v, (i + 1) ** 2 * 7.5, 1e-9, `k=${i + 1}`)); // mean c^2 = (1+4+9+16)/4
  const d = meanSquaredChange(clips([2, 4, 1, 1], (_n, t) => 0.5 * t), 3);
  assert.deepEqual(d, [0.25, 1, 2.25]);
});

test('meanSquaredChange: masked and non-finite values never count', () => {
  // constant c = 2: every valid pair has (2k)^2 whatever is missing
  const c = clips([2, 5, 2, 2], (_n, t) => 2 * t);
  const mask = new Uint8Array(c.data.length);
  for (const i of [1, 6, 13, 22, 35]) { mask[i] = 1; c.data[i] = 1e6; }
  c.data[30] = NaN;
  const m = meanSquaredChange({ ...c, mask }, 4);
  m.forEach((v, i) => close(v, 4 * (i + 1) ** 2, 1e-9, `k=${i + 1}`));
  // a static (per-cell) mask drops cell 0 entirely: mean c^2 over cells 1..3 = (4+9+16)/3
  const cs = [1, 2, 3, 4];
  const s = clips([2, 4, 2, 2], (_n, t, y, x) => (y === 0 && x === 0 ? 1e5 * t : t * cs[y * 2 + x]!));
  const m2 = meanSquaredChange({ ...s, mask: Uint8Array.from([1, 0, 0, 0]) }, 3);
  m2.forEach((v, i) => close(v, ((i + 1) ** 2 * 29) / 3, 1e-9, `k=${i + 1}`));
});

test('anomalyVarianceMap, varianceMapR2 and dryFraction: hand-computed cases', () => {
  // cell 0: clip 0 = 1,2,3,4, clip 1 = 5,5,5,5 -> mean 3.75, variance 17.5 / 8; cell 1 constant -> 0
  const c = clips([2, 4, 1, 2], (n, t, _y, x) => (x === 1 ? 7 : n === 0 ? t + 1 : 5));
  const v = anomalyVarianceMap(c);
  close(v[0]!, 17.5 / 8, 1e-12); assert.equal(v[1], 0);
  // mask the 4 (and the whole of clip 1) in cell 0: values 1,2,3 -> variance 2/3
  const mask = new Uint8Array(16);
  for (let t = 3; t < 8; t++) mask[t * 2] = 1;
  close(anomalyVarianceMap({ ...c, mask })[0]!, 2 / 3, 1e-12);
  // a cell with no present value is NaN
  assert.ok(Number.isNaN(anomalyVarianceMap({ ...c, mask: Uint8Array.from([0, 1]) })[1]!));

  close(varianceMapR2([1, 2, 4], [1, 2, 3]), 0.5, 1e-12); // SS_res 1, SS_tot 2
  close(varianceMapR2([1, 2, 4, NaN], [1, 2, 3, 7]), 0.5, 1e-12);
  close(varianceMapR2([2, 2, 2], [1, 2, 3]), 0, 1e-12); // predicting the mean
  assert.equal(varianceMapR2([1, 2, 3], [1, 2, 3]), 1);
  assert.equal(varianceMapR2([1, 1], [2, 2]), -Infinity);
  assert.throws(() => varianceMapR2([1, 2], [1, 2, 3]), /2 cells.*3/);

  const p: ClipArray = { data: Float32Array.from([0, 0.05, 0.1, 1, NaN, 0, 0.01, 3]), shape: [1, 2, 2, 2], mask: Uint8Array.from([0, 0, 0, 0, 0, 1, 1, 0]) };
  close(dryFraction(p, 0.1), 2 / 5, 1e-12); // present: 0, 0.05, 0.1, 1, 3 ; 0.1 is not below 0.1
  assert.throws(() => dryFraction(p, NaN), /threshold/);
});

test('AR(1) clips: lag autocorrelation near rho^k, msc near 2 var (1 - rho^k); another realisation passes, another rho fails', () => {
  const shape: [number, number, number, number] = [500, 8, 2, 2];
  const sig = (j: number) => j + 1, rho = 0.7, M = 500 * 4, F = 8;
  const a = ar1(1, shape, rho, sig, (j) => 280 + 3 * j), b = ar1(2, shape, rho, sig, (j) => 280 + 3 * j);
  const d = weatherDiagnostics(a, b);
  assert.deepEqual(d.acf.lag, [1, 2, 3, 4, 5, 6, 7]);
  let acfTol = 0;
  for (const [i, k] of d.acf.lag.entries()) {
    // Bartlett's variance of r_k for AR(1), over n = M (F - k) pairs, plus room for the bias of the estimated mean
    const r2k = rho ** (2 * k), n = M * (F - k);
    const sd = Math.sqrt(((1 + rho * rho) * (1 - r2k)) / (1 - rho * rho) - 2 * k * r2k) / Math.sqrt(n);
    const tol = 5 * sd + 10 / (500 * F);
    close(d.acf.sample[i]!, rho ** k, tol, `sample acf lag ${k}`);
    close(d.acf.reference[i]!, rho ** k, tol, `reference acf lag ${k}`);
    acfTol = Math.max(acfTol, Math.SQRT2 * tol); // for the difference of two independent estimates
  }
  // msc(k) = mean_j sigma_j^2 * 2 (1 - rho^k), mean sigma^2 = 7.5; relative sd of a mean of n squared normals pooled over
  // the cells: sqrt(2 mean(sigma^4) / mean(sigma^2)^2 / n), n = M (F - k) pairs (6 sd: overlapping pairs are correlated)
  d.msc.sample.forEach((v, i) => close(v / (7.5 * 2 * (1 - rho ** (i + 1))), 1, 6 * Math.sqrt((2 * 88.5) / 56.25 / (M * (F - i - 1))), `msc k=${i + 1}`));
  // 2000 pairs at lag 7 give the acf a standard error ~0.04: the default 0.02 needs far more clips, so the
  // tolerance here follows the sample size
  const rows = acceptance(d, { ...DEFAULT_CRITERIA, acfTol });
  for (const key of ['msc', 'temporal', 'spatial', 'acf', 'varianceR2']) assert.ok(row(rows, key).pass, `${key}: ${JSON.stringify(row(rows, key))}`);
  assert.equal(d.temporal.frequency.length, 4); // 1/8 .. 4/8, frequency 0 skipped
  close(d.temporal.frequency[0]!, 1 / 8, 1e-15);
  assert.deepEqual(d.spatial.wavenumber, [1]);

  const c = ar1(3, shape, 0.4, sig, (j) => 280 + 3 * j);
  const rc = acceptance(weatherDiagnostics(c, b), { ...DEFAULT_CRITERIA, acfTol });
  assert.equal(row(rc, 'acf').pass, false);
  assert.equal(row(rc, 'msc').pass, false); // 2 (1 - 0.4) / 2 (1 - 0.7) = 2 at k = 1
  const m = /^worst ratio ([\d.]+) at k=1$/.exec(row(rc, 'msc').measured);
  assert.ok(m, row(rc, 'msc').measured);
  close(Number(m[1]), 2, 0.1, 'worst msc ratio');
});

test('identical samples and reference: ratios exactly 1, differences 0, R^2 1, every acceptance row passes', () => {
  const t = ar1(5, [60, 6, 4, 4], 0.8, (j) => 1 + (j % 5), (j) => 250 + j);
  const copy: ClipArray = { data: Float32Array.from(t.data), shape: t.shape };
  const d = weatherDiagnostics(t, copy, { scale: 1.7, dryThreshold: 253 });
  for (const s of [d.msc, d.temporal, d.spatial]) assert.ok(s.ratio.length > 0 && s.ratio.every((r) => r === 1), JSON.stringify(s.ratio));
  assert.deepEqual(d.spatial.wavenumber, [1, 2]);
  assert.ok(d.acf.difference.every((x) => x === 0));
  assert.ok(d.qq.difference.every((x) => x === 0) && d.qq.scaled!.every((x) => x === 0) && d.qq.relative.every((x) => x === 0));
  assert.deepEqual(d.qq.levels, [0.9, 0.99, 0.999]);
  assert.equal(d.varianceMap.r2, 1);
  assert.equal(d.dry!.differencePoints, 0);
  const rows = acceptance(d, DEFAULT_CRITERIA);
  assert.deepEqual(rows.map((r) => r.key), ['msc', 'temporal', 'spatial', 'acf', 'qqScaled', 'varianceR2', 'dry']);
  for (const r of rows) assert.ok(r.pass, JSON.stringify(r));

  // a precipitation-like field (no scale): relative QQ instead, dry fraction
  const g = gauss(rng(9));
  const p = clips([40, 5, 4, 4], () => Math.max(0, g()) ** 2);
  const dp = weatherDiagnostics(p, { data: Float32Array.from(p.data), shape: p.shape }, { dryThreshold: 0.1 });
  const rp = acceptance(dp);
  assert.deepEqual(rp.map((r) => r.key), ['msc', 'temporal', 'spatial', 'acf', 'qqRelative', 'varianceR2', 'dry']);
  for (const r of rp) assert.ok(r.pass, JSON.stringify(r));
  assert.ok(dp.dry!.sample > 0.5 && dp.dry!.sample < 0.7); // P(max(0, z)^2 < 0.1) = 0.5 + P(0 < z < 0.316) ~ 0.624
});

test('a climatology (the reference per-cell mean repeated) fails the msc, temporal, acf and variance-map rows', () => {
  const shape: [number, number, number, number] = [80, 6, 4, 4];
  const ref = ar1(11, shape, 0.6, (j) => 1 + (j % 4), (j) => 270 + 2 * j);
  const HW = 16, mean = new Float64Array(HW);
  for (let i = 0; i < ref.data.length; i++) mean[i % HW]! += ref.data[i]! / (ref.data.length / HW);
  const clim: ClipArray = { data: Float32Array.from({ length: ref.data.length }, (_, i) => mean[i % HW]!), shape };
  const d = weatherDiagnostics(clim, ref, { scale: 2 });
  assert.ok(d.msc.sample.every((v) => v === 0));
  const rows = acceptance(d);
  for (const key of ['msc', 'temporal', 'acf', 'varianceR2']) assert.equal(row(rows, key).pass, false, key);
  assert.match(row(rows, 'msc').measured, /worst ratio 0 at k=1/);
  assert.ok(d.varianceMap.r2 < 0);
});

test('within-factor checks: ratio r passes iff 1/f <= r <= f at every point, and the worst point is reported', () => {
  const ref = ar1(21, [60, 6, 4, 4], 0.5, (j) => 1 + (j % 3));
  const keys = ['msc', 'temporal', 'spatial'];
  const run = (a: number) => { const d = weatherDiagnostics(scaled(ref, Math.sqrt(a)), ref); return { d, rows: acceptance(d) }; };
  for (const [a, ok] of [[1.3, true], [1.5, false], [0.75, true], [0.7, false]] as const) {
    const { d, rows } = run(a);
    for (const s of [d.msc, d.temporal, d.spatial]) s.ratio.forEach((r) => close(r, a, 1e-5));
    for (const key of keys) assert.equal(row(rows, key).pass, ok, `${key} at ratio ${a}`);
    assert.ok(row(rows, 'acf').pass); // scaling keeps the autocorrelation
    assert.match(row(rows, 'msc').measured, new RegExp(`worst ratio ${a}`));
  }
  // the worst point is the one farthest from 1 in log ratio, and NaN fails
  const base = weatherDiagnostics(ref, ref);
  const mod = (ratio: number[]): WeatherDiagnostics => ({ ...base, msc: { ...base.msc, k: ratio.map((_, i) => i + 1), ratio } });
  let r = row(acceptance(mod([1, 1.2, 0.6, 1])), 'msc');
  assert.equal(r.pass, false); assert.match(r.measured, /worst ratio 0\.6 at k=3/);
  r = row(acceptance(mod([1, 1.45, 0.75])), 'msc');
  assert.equal(r.pass, false); assert.match(r.measured, /worst ratio 1\.45 at k=2/);
  r = row(acceptance(mod([1, 1.39, 0.72])), 'msc');
  assert.equal(r.pass, true);
  r = row(acceptance(mod([1, NaN])), 'msc');
  assert.equal(r.pass, false); assert.match(r.measured, /n\/a at k=2/);
  assert.match(r.target, /1\.4/);
});

test('QQ: quantiles by hand, scaled and relative tolerances up to the maximum level', () => {
  // values 0..999 once each: type-7 quantiles 899.1, 989.01, 998.001
  const ref = clips([10, 100, 1, 1], (n, t) => 100 * n + t);
  const d0 = weatherDiagnostics(ref, ref, { scale: 100 });
  d0.qq.reference.forEach((v, i) => close(v, [899.1, 989.01, 998.001][i]!, 1e-9));
  assert.deepEqual(d0.spatial.wavenumber, []); // a single cell has no spatial spectrum
  const shift = (s: number) => row(acceptance(weatherDiagnostics(clips([10, 100, 1, 1], (n, t) => 100 * n + t + s), ref, { scale: 100 })), 'qqScaled');
  assert.equal(shift(5).pass, true); // 0.05 scale units
  assert.equal(shift(-9).pass, true);
  const bad = shift(20);
  assert.equal(bad.pass, false); assert.match(bad.measured, /0\.2 at q=/);
  const dShift = weatherDiagnostics(clips([10, 100, 1, 1], (n, t) => 100 * n + t + 20), ref, { scale: 100 });
  dShift.qq.scaled!.forEach((v) => close(v, 0.2, 1e-9));
  const mult = (a: number) => {
    const d = weatherDiagnostics(clips([10, 100, 1, 1], (n, t) => a * (100 * n + t)), ref);
    d.qq.relative.forEach((v) => close(v, a - 1, 1e-6));
    return row(acceptance(d), 'qqRelative');
  };
  assert.equal(mult(1.1).pass, true);
  assert.equal(mult(0.88).pass, true);
  assert.equal(mult(1.2).pass, false);
  // levels above the maximum level are not checked
  const d = weatherDiagnostics(ref, ref, { scale: 100, qLevels: [0.9, 0.99, 0.9999] });
  d.qq.scaled![2] = 5;
  assert.equal(row(acceptance(d), 'qqScaled').pass, true);
  d.qq.scaled![1] = -0.2;
  const r = row(acceptance(d), 'qqScaled');
  assert.equal(r.pass, false); assert.match(r.measured, /0\.2 at q=0\.99$/);
  // criteria set to null leave their rows out
  assert.deepEqual(acceptance(d, { acfTol: 0.02 }).map((x) => x.key), ['acf']);
  assert.throws(() => acceptance(d, { mscFactor: 0.5 }), /mscFactor.*>= 1/);
});

test('dry fraction row: within the number of points', () => {
  // reference 50% below 1; sample 52% and 55%
  const ref = clips([1, 100, 1, 1], (_n, t) => (t < 50 ? 0 : 2));
  const at = (m: number) => row(acceptance(weatherDiagnostics(clips([1, 100, 1, 1], (_n, t) => (t < m ? 0 : 2)), ref, { dryThreshold: 1 }), { dryPoints: 3 }), 'dry');
  assert.equal(at(52).pass, true);
  assert.equal(at(55).pass, false);
  assert.match(at(55).measured, /55% vs 50% \(difference 5 points\)/);
});

test('masked values never count in weatherDiagnostics', () => {
  const ref = ar1(31, [30, 6, 3, 3], 0.6, () => 1);
  const s = ar1(32, [30, 6, 3, 3], 0.6, () => 1);
  const mask = new Uint8Array(s.data.length);
  const r = rng(4);
  for (let i = 0; i < mask.length; i++) if (r() < 0.1) mask[i] = 1;
  const garbage = Float32Array.from(s.data, (v, i) => (mask[i] ? (i % 2 ? 1e9 : NaN) : v));
  const o = { scale: 1, dryThreshold: 0 };
  const clean = weatherDiagnostics({ ...s, mask }, ref, o), dirty = weatherDiagnostics({ data: garbage, shape: s.shape, mask }, ref, o);
  assert.deepStrictEqual(dirty, clean);
  assert.notDeepStrictEqual(clean.msc.sample, weatherDiagnostics(s, ref, o).msc.sample); // the mask did remove values
});

test('bad inputs throw clear errors', () => {
  const a = clips([2, 4, 2, 2], () => 1), b = clips([2, 4, 2, 3], () => 1), c = clips([2, 5, 2, 2], () => 1);
  assert.throws(() => weatherDiagnostics(a, b), /2x2 grid.*2x3.*grids must match/);
  assert.throws(() => weatherDiagnostics(a, c), /4 frames.*5/);
  assert.throws(() => weatherDiagnostics(a, a, { maxK: 4 }), /maxK must be an integer in 1\.\.F-1 = 1\.\.3/);
  assert.throws(() => meanSquaredChange(a, 4), /maxK .*1\.\.3.*F = 4.*got 4/);
  assert.throws(() => meanSquaredChange(a, 0), /maxK/);
  assert.throws(() => weatherDiagnostics(a, a, { scale: 0 }), /scale must be a positive/);
  assert.throws(() => weatherDiagnostics(a, a, { qLevels: [1.5] }), /qLevels/);
  assert.throws(() => weatherDiagnostics(clips([2, 1, 2, 2], () => 1), clips([2, 1, 2, 2], () => 1)), /at least 2 frames/);
  assert.throws(() => meanSquaredChange({ data: new Float32Array(3), shape: [1, 2, 2, 1] }, 1), /3 values/);
});

test('weatherMarkdown: a section with the acceptance table and one table per diagnostic', () => {
  const ref = ar1(41, [20, 5, 4, 4], 0.5, () => 1);
  const d = weatherDiagnostics(scaled(ref, Math.sqrt(1.5)), ref, { scale: 1, dryThreshold: -1 });
  const rows = acceptance(d);
  const md = weatherMarkdown('tas', 'model A', d, rows);
  assert.match(md, /^## Weather diagnostics: tas \(model A\)/);
  assert.match(md, new RegExp(`Acceptance: ${rows.filter((r) => r.pass).length} of ${rows.length} checks pass`));
  assert.equal((md.match(/\| (PASS|FAIL) \|/g) ?? []).length, rows.length);
  for (const r of rows) assert.ok(md.includes(`| ${r.name} | ${r.measured} | ${r.target} |`), r.name);
  for (const h of ['| k (frames) |', '| frequency (cycles/frame) |', '| wavenumber |', '| lag (frames) |', '| q |', 'difference / scale', 'dry fraction']) assert.ok(md.includes(h), h);
  assert.ok(md.includes('| 1 | ') && md.includes('FAIL'));
});
