import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapCI, brierScore, cellWeights, crpsOfMembers, crpsSkillScore, energyScore, ensembleCrps, ensembleMeanRmse, ensembleSpread,
  fractionsSkillScore, intersectRegions, LATITUDE_BANDS, landOceanRegion, latitudeBandRegion, latitudeWeights,
  neighbourhoodFractions, rankHistogram, rankHistogramStats, ratioOfSumsStatistic, scoreEnsemble, skillScoreStatistic,
  spreadSkillRatio, spreadSkillStatistic,
  type ClipArray, type EnsembleArray,
} from '../src/eval/index.js';
import { gauss, clips, rng } from './random-fixture.js';

function ens(shape: [number, number, number, number, number], f: (m: number, n: number, t: number, y: number, x: number) => number): EnsembleArray {
  const [M, N, F, H, W] = shape;
  const data = new Float32Array(M * N * F * H * W);
  let i = 0;
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let t = 0; t < F; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[i++] = f(m, n, t, y, x);
  return { data, shape };
}
/** Members and truth i.i.d. N(0, 1) (members multiplied by `scale`). */
function iid(seed: number, shape: [number, number, number, number, number], scale = 1): { fc: EnsembleArray; truth: ClipArray } {
  const g = gauss(rng(seed)), [, N, F, H, W] = shape;
  const fc = ens(shape, () => scale * g());
  const truth = clips([N, F, H, W], () => g());
  return { fc, truth };
}
/** O(M^2) reference: (1/M) sum |x_i - y| - c sum_{i,j} |x_i - x_j|. */
function crpsDouble(x: number[], y: number, fair: boolean): number {
  const M = x.length;
  let a = 0, d = 0;
  for (const xi of x) { a += Math.abs(xi - y); for (const xj of x) d += Math.abs(xi - xj); }
  return a / M - d / (fair ? 2 * M * (M - 1) : 2 * M * M);
}
const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
const sd = (v: ArrayLike<number>) => { const m = mean(v); return Math.sqrt(Array.from(v).reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)); };

// ---------------------------------------------------------------------------------------------------
// CRPS

test('CRPS: hand-computed fair and standard values for members [1, 3, 4], truth 2', () => {
  // (1/M) sum |x_i - y| = (|1-2| + |3-2| + |4-2|) / 3 = (1 + 1 + 2) / 3 = 4/3
  // sum_{i,j} |x_i - x_j| = 2 (|1-3| + |1-4| + |3-4|) = 2 (2 + 3 + 1) = 12
  //   (sorted form: 2 sum_k (2k - M - 1) x_(k) = 2 ((-2)*1 + 0*3 + 2*4) = 2 * 6 = 12)
  // fair:     4/3 - 12 / (2 * 3 * 2) = 4/3 - 1 = 1/3
  // standard: 4/3 - 12 / (2 * 3^2) = 4/3 - 2/3 = 2/3
  close(crpsOfMembers([1, 3, 4], 2), 1 / 3, 1e-12, 'fair');
  close(crpsOfMembers([4, 1, 3], 2, 'standard'), 2 / 3, 1e-12, 'standard');
  // the same through the array API: shape [M=3, N=1, F=1, H=1, W=1]
  const fc: EnsembleArray = { data: Float32Array.from([1, 3, 4]), shape: [3, 1, 1, 1, 1] };
  const truth: ClipArray = { data: Float32Array.from([2]), shape: [1, 1, 1, 1] };
  close(ensembleCrps(fc, truth).perLead[0]!, 1 / 3, 1e-12);
  close(ensembleCrps(fc, truth, { kind: 'standard' }).perLead[0]!, 2 / 3, 1e-12);
  // energy score of one cell is the CRPS
  close(energyScore(fc, truth).perLead[0]!, 1 / 3, 1e-12);
  close(energyScore(fc, truth, { kind: 'standard' }).perLead[0]!, 2 / 3, 1e-12);
});

test('CRPS: the sorted O(M log M) form equals the O(M^2) double sum on random data', () => {
  const r = rng(7), g = gauss(r);
  for (let trial = 0; trial < 300; trial++) {
    const M = 2 + Math.floor(r() * 30), off = 300 * r();
    const x = Array.from({ length: M }, () => off + 5 * g()), y = off + 5 * g();
    close(crpsOfMembers(x, y, 'fair'), crpsDouble(x, y, true), 1e-9, `fair M=${M}`);
    close(crpsOfMembers(x, y, 'standard'), crpsDouble(x, y, false), 1e-9, `standard M=${M}`);
  }
  // with ties and an ensemble array of several cases
  const { fc } = iid(3, [5, 4, 2, 1, 3]);
  for (let i = 0; i < fc.data.length; i += 3) fc.data[i] = 0.5; // ties
  const truth = clips([4, 2, 1, 3], (n, t, _y, x) => (n + t + x) % 3 === 0 ? 0.5 : n - x);
  const c = ensembleCrps(fc, truth);
  const S = 4 * 2 * 3;
  for (let t = 0; t < 8; t++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += crpsDouble(Array.from({ length: 5 }, (_, m) => fc.data[m * S + t * 3 + j]!), truth.data[t * 3 + j]!, true);
    close(c.perCase[t]!, s / 3, 1e-9, `case/lead ${t}`);
  }
});

test('CRPS: a perfect forecast scores 0; a constant ensemble c scores |c - y|', () => {
  const truth = clips([3, 2, 2, 2], (n, t, y, x) => n - t + 0.25 * y * x);
  const perfect = ens([4, 3, 2, 2, 2], (_m, n, t, y, x) => n - t + 0.25 * y * x);
  for (const kind of ['fair', 'standard'] as const) {
    ensembleCrps(perfect, truth, { kind }).perLead.forEach((v) => close(v, 0, 1e-12, kind));
    energyScore(perfect, truth, { kind }).perLead.forEach((v) => close(v, 0, 1e-6, `energy ${kind}`));
  }
  const c = 1.75, constant = ens([6, 3, 2, 2, 2], () => c);
  const mae = mean(Array.from(truth.data, (y) => Math.abs(c - y)));
  close(mean(ensembleCrps(constant, truth, { kind: 'standard' }).perLead), mae, 1e-6, 'standard');
  close(mean(ensembleCrps(constant, truth, { kind: 'fair' }).perLead), mae, 1e-6, 'fair (no spread)');
  // M = 1: the standard CRPS is the absolute error
  const det = ens([1, 3, 2, 2, 2], (_m, n, t, y, x) => n - t + 0.25 * y * x + (x === 0 ? 0.5 : -2));
  ensembleCrps(det, truth, { kind: 'standard' }).perCase.forEach((v) => close(v, 1.25, 1e-6, 'MAE'));
});

test('CRPS: the fair form is unbiased (M = 2 matches the CRPS of N(0,1), 1/sqrt(pi)); the standard form is not', () => {
  const N = 40000, { fc, truth } = iid(11, [2, N, 1, 1, 1]);
  const fair = ensembleCrps(fc, truth), std = ensembleCrps(fc, truth, { kind: 'standard' });
  // E CRPS(N(0,1), y ~ N(0,1)) = E|X - Y| - E|X - X'| / 2 with X, X', Y i.i.d. N(0,1); X - Y ~ N(0, 2), so
  // E|X - Y| = sqrt(2) sqrt(2/pi) = 2/sqrt(pi), and the CRPS is 2/sqrt(pi) - 1/sqrt(pi) = 1/sqrt(pi) ~ 0.5642
  const target = 1 / Math.sqrt(Math.PI);
  const se = sd(fair.perCase) / Math.sqrt(N);
  assert.ok(Math.abs(fair.perLead[0]! - target) < 4 * se, `fair ${fair.perLead[0]} vs ${target} (se ${se})`);
  // M = 2: fair = (|x1-y| + |x2-y|)/2 - |x1-x2|/2, standard = ... - |x1-x2|/4, so standard - fair = |x1-x2|/4,
  // of expectation (2/sqrt(pi)) / 4 ~ 0.28
  assert.ok(std.perLead[0]! - target > 0.2, `standard ${std.perLead[0]} should be clearly above ${target}`);
  close(std.perLead[0]! - fair.perLead[0]!, 0.5 / Math.sqrt(Math.PI), 0.01, 'bias of the standard form');
  // M = 10 fair: still unbiased
  const b = iid(12, [10, 8000, 1, 1, 1]), f10 = ensembleCrps(b.fc, b.truth);
  assert.ok(Math.abs(f10.perLead[0]! - target) < 4 * sd(f10.perCase) / Math.sqrt(8000), `fair M=10 ${f10.perLead[0]}`);
});

test('CRPS skill score: 1 - CRPS / CRPS_ref; paired bootstrap statistic', () => {
  assert.deepEqual(crpsSkillScore([0.5, 1, 0], [1, 1, 0]), [0.5, 0, NaN]);
  const { fc, truth } = iid(5, [4, 30, 2, 2, 2]);
  const ref = ens([1, 30, 2, 2, 2], () => 0);
  const a = ensembleCrps(fc, truth), r = ensembleCrps(ref, truth, { kind: 'standard' });
  const ss = crpsSkillScore(a.perLead, r.perLead);
  const b = bootstrapCI(a.perCase, a.shape, skillScoreStatistic(a, r), { samples: 200, seed: 1 });
  b.estimate.forEach((v, f) => close(v, ss[f]!, 1e-12));
  const s = scoreEnsemble(fc, truth, { reference: ref });
  s.crpsSkill!.forEach((v, f) => close(v, ss[f]!, 1e-12));
});

// ---------------------------------------------------------------------------------------------------
// RMSE, spread, spread/skill, rank histogram

test('RMSE of the ensemble mean and spread: hand-computed case; sqrt taken after the mean over cases', () => {
  // one cell, two cases: members [0, 2] (mean 1, variance 2) truth 0 -> se 1; members [1, 5] (mean 3, variance 8) truth 0 -> se 9
  const fc = ens([2, 2, 1, 1, 1], (m, n) => (n === 0 ? [0, 2][m]! : [1, 5][m]!));
  const truth = clips([2, 1, 1, 1], () => 0);
  const r = ensembleMeanRmse(fc, truth), s = ensembleSpread(fc, truth);
  close(r.perLead[0]!, Math.sqrt((1 + 9) / 2), 1e-12, 'rmse = sqrt(mean se), not mean of per-case rmse (2)');
  assert.deepEqual(Array.from(r.perCase), [1, 3]);
  close(s.perLead[0]!, Math.sqrt((2 + 8) / 2), 1e-12, 'spread (ddof = 1)');
  const ssr = spreadSkillRatio(fc, truth);
  close(ssr.ratio[0]!, Math.sqrt(3 / 2) * Math.sqrt(5) / Math.sqrt(5), 1e-12);
});

test('calibrated ensemble: flat rank histogram, spread/skill ~ 1; under-dispersive: U shape, spread/skill << 1', () => {
  const M = 9, shape: [number, number, number, number, number] = [M, 2500, 2, 2, 2];
  const cal = iid(21, shape);
  const h = rankHistogram(cal.fc, cal.truth);
  assert.equal(h.pooled.counts.length, M + 1);
  assert.equal(h.pooled.n, 2500 * 2 * 4);
  assert.equal(h.perLead.length, 2);
  // chi^2 with M = 9 degrees of freedom: mean 9, sd ~4.2
  assert.ok(h.pooled.chiSquare < 30, `chi2 ${h.pooled.chiSquare}`);
  assert.ok(h.pooled.delta > 0.2 && h.pooled.delta < 3.3, `delta ${h.pooled.delta}`);
  close(h.pooled.delta, h.pooled.chiSquare / M, 1e-9);
  h.pooled.frequencies.forEach((q) => close(q, 1 / (M + 1), 0.015, 'flat'));
  const ssr = spreadSkillRatio(cal.fc, cal.truth);
  ssr.ratio.forEach((v) => close(v, 1, 0.04, 'spread/skill'));

  const under = iid(21, shape, 0.5);
  const hu = rankHistogram(under.fc, under.truth), fq = hu.pooled.frequencies;
  assert.ok(fq[0]! > 2 / (M + 1) && fq[M]! > 2 / (M + 1), `outer bins ${fq[0]}, ${fq[M]}`); // flat: 1/(M+1) each
  assert.ok(fq[Math.floor(M / 2)]! < 0.6 / (M + 1), `middle bin ${fq[Math.floor(M / 2)]}`);
  assert.ok(hu.pooled.delta > 50, `delta ${hu.pooled.delta}`);
  spreadSkillRatio(under.fc, under.truth).ratio.forEach((v) => assert.ok(v < 0.6 && v > 0.45, `under-dispersive ssr ${v}`));
});

test('rank histogram: ties split evenly, hand-computed counts and statistics', () => {
  // M = 3, one case, 1 lead, 3 cells: members (1, 2, 3) truth 2.5 -> rank 2; members (0, 0, 0) truth 0 -> ties: bins 0..3 get 1/4;
  // members (1, 2, 2) truth 2 -> 1 below, 2 equal: bins 1, 2, 3 get 1/3
  const mem = [[1, 0, 1], [2, 0, 2], [3, 0, 2]];
  const fc = ens([3, 1, 1, 1, 3], (m, _n, _t, _y, x) => mem[m]![x]!);
  const truth: ClipArray = { data: Float32Array.from([2.5, 0, 2]), shape: [1, 1, 1, 3] };
  const h = rankHistogram(fc, truth);
  const want = [0.25, 0.25 + 1 / 3, 1 + 0.25 + 1 / 3, 0.25 + 1 / 3];
  h.pooled.counts.forEach((c, k) => close(c, want[k]!, 1e-12, `bin ${k}`));
  // stats: n = 3, expected 3/4 per bin
  const st = rankHistogramStats([0, 0, 3, 0]);
  close(st.chiSquare, ((0.75 ** 2) * 3 + 2.25 ** 2) / 0.75, 1e-12); // = 9
  close(st.delta, 9 / 3, 1e-12);
  assert.deepEqual(st.frequencies, [0, 0, 1, 0]);
});

// ---------------------------------------------------------------------------------------------------
// Weights and regions

test('latitude weights: error at the equator vs near the pole weighs as cos(lat)', () => {
  const lat = [0, 30, 60, 80];
  const a = latitudeWeights(lat, 4);
  close(mean(a), 1, 1e-12);
  lat.forEach((l, y) => close(a[y]! / a[0]!, Math.cos((l * Math.PI) / 180), 1e-12));
  assert.deepEqual(Array.from(latitudeWeights(null, 3)), [1, 1, 1]);
  const truth = clips([1, 1, 4, 3], () => 0);
  const at = (row: number) => ens([1, 1, 1, 4, 3], (_m, _n, _t, y) => (y === row ? 2 : 0));
  const sumCos = lat.reduce((s, l) => s + Math.cos((l * Math.PI) / 180), 0);
  const mseEq = ensembleMeanRmse(at(0), truth, { lat }).perLead[0]! ** 2, msePole = ensembleMeanRmse(at(3), truth, { lat }).perLead[0]! ** 2;
  close(mseEq, (4 * 1) / sumCos, 1e-9, 'equator'); // weighted mean of e^2 = 4 over one of four rows
  close(msePole / mseEq, Math.cos((80 * Math.PI) / 180), 1e-9, 'pole / equator');
  const cEq = ensembleCrps(at(0), truth, { lat, kind: 'standard' }).perLead[0]!, cPole = ensembleCrps(at(3), truth, { lat, kind: 'standard' }).perLead[0]!;
  close(cPole / cEq, Math.cos((80 * Math.PI) / 180), 1e-9, 'CRPS pole / equator');
  // uniform weights: the same
  close(ensembleMeanRmse(at(3), truth).perLead[0]!, ensembleMeanRmse(at(0), truth).perLead[0]!, 1e-12);
});

test('regions: latitude bands, land/ocean, and a region scores like the sub-grid', () => {
  const lat = [-60, -20, 0, 20, 60];
  const trop = latitudeBandRegion(lat, 2, LATITUDE_BANDS.tropics!);
  assert.deepEqual(Array.from(trop), [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(latitudeBandRegion(lat, 1, LATITUDE_BANDS.extratropics!)), [1, 1, 0, 1, 1]);
  const land = landOceanRegion([0, 0.2, 0.7, 1, NaN], 'land'), ocean = landOceanRegion([0, 0.2, 0.7, 1, NaN], 'ocean');
  assert.deepEqual(Array.from(land), [0, 0, 1, 1, 0]);
  assert.deepEqual(Array.from(ocean), [1, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(intersectRegions([1, 1, 0, 0.5], [1, 0, 1, 1])), [1, 0, 0, 0.5]);
  const w = cellWeights(5, 2, { lat, region: trop });
  assert.equal(w[0], 0); assert.ok(w[4]! > 0);
  // a region of rows 1..3 scores like the forecast cut to rows 1..3 (same latitudes)
  const { fc, truth } = iid(31, [4, 6, 2, 5, 2]);
  const full = ensembleCrps(fc, truth, { lat, region: trop });
  const sub = ens([4, 6, 2, 3, 2], (m, n, t, y, x) => fc.data[(((m * 6 + n) * 2 + t) * 5 + y + 1) * 2 + x]!);
  const subT = clips([6, 2, 3, 2], (n, t, y, x) => truth.data[((n * 2 + t) * 5 + y + 1) * 2 + x]!);
  const cut = ensembleCrps(sub, subT, { lat: lat.slice(1, 4) });
  full.perLead.forEach((v, f) => close(v, cut.perLead[f]!, 1e-12, `lead ${f}`));
});

test('missing truth (mask or non-finite) is excluded everywhere', () => {
  const { fc, truth } = iid(41, [5, 4, 2, 2, 3]);
  const mask = new Uint8Array(truth.data.length);
  mask[0] = 1; mask[7] = 1; truth.data[0] = 1e9; truth.data[7] = 1e9; // masked values
  truth.data[13] = NaN;
  const bad = { ...truth, mask };
  // reference: a hand loop over the present values (uniform weights: the pooled score is their plain mean)
  const S = truth.data.length;
  let s = 0, c = 0;
  for (let i = 0; i < S; i++) {
    if (i === 0 || i === 7 || i === 13) continue;
    s += crpsDouble(Array.from({ length: 5 }, (_, m) => fc.data[m * S + i]!), truth.data[i]!, true); c++;
  }
  const r = ensembleCrps(fc, bad);
  close(r.sum.reduce((a, b) => a + b, 0) / r.weight.reduce((a, b) => a + b, 0), s / c, 1e-9);
  assert.equal(r.weight.reduce((a, b) => a + b, 0), c);
  // HW = 6: value 0 is (case 0, lead 0), 7 is (case 0, lead 1), 13 is (case 1, lead 0); each of those keeps 5 cells
  assert.deepEqual(Array.from(r.weight), [5, 5, 5, 6, 6, 6, 6, 6]);
  const h = rankHistogram(fc, bad);
  assert.equal(h.pooled.n, S - 3);
  // a static (per-cell) mask removes cell 0 of every field
  const r2 = ensembleCrps(fc, { ...truth, data: truth.data.map((v) => (Number.isNaN(v) ? 0 : v)), mask: Uint8Array.from([1, 0, 0, 0, 0, 0]) });
  assert.equal(r2.weight[0], 5);
  // a forecast NaN where the truth is present is an error; where it is missing, it is ignored
  const f2 = { ...fc, data: fc.data.slice() };
  f2.data[S + 7] = NaN;
  assert.doesNotThrow(() => ensembleCrps(f2, bad));
  f2.data[S + 8] = NaN;
  assert.throws(() => ensembleCrps(f2, bad), /ensembleCrps: forecast member 1 is NaN at case 0, lead 1, cell \(0, 2\)/);
});

// ---------------------------------------------------------------------------------------------------
// Energy score

test('energy score: one cell equals the fair CRPS; fields match a direct computation with the weighted norm', () => {
  const { fc, truth } = iid(51, [5, 10, 3, 1, 1]);
  const e = energyScore(fc, truth), c = ensembleCrps(fc, truth);
  e.perCase.forEach((v, t) => close(v, c.perCase[t]!, 1e-9, `case ${t}`));
  e.perLead.forEach((v, f) => close(v, c.perLead[f]!, 1e-9, `lead ${f}`));
  // a 2 x 3 field with latitude weights
  const lat = [10, 50], a = latitudeWeights(lat, 2);
  const b = iid(52, [4, 3, 2, 2, 3]), HW = 6, S = 3 * 2 * HW, M = 4;
  const es = energyScore(b.fc, b.truth, { lat });
  const norm = (d: (j: number) => number) => { let s = 0; for (let j = 0; j < HW; j++) s += a[Math.floor(j / 3)]! * d(j) ** 2; return Math.sqrt(s); };
  for (let t = 0; t < 6; t++) {
    const x = (m: number, j: number) => b.fc.data[m * S + t * HW + j]!, y = (j: number) => b.truth.data[t * HW + j]!;
    let d1 = 0, d2 = 0;
    for (let i = 0; i < M; i++) { d1 += norm((j) => x(i, j) - y(j)); for (let k = 0; k < M; k++) if (k !== i) d2 += norm((j) => x(i, j) - x(k, j)); }
    close(es.perCase[t]!, d1 / M - d2 / (2 * M * (M - 1)), 1e-9, `field ${t}`);
  }
});

// ---------------------------------------------------------------------------------------------------
// Precipitation

test('Brier score: hand-computed (strict exceedance, fraction of members)', () => {
  // cell 0: members [0, 2, 3, 0.5], truth 2; cell 1: members [2, 2, 2, 0], truth 0
  const mem = [[0, 2], [2, 2], [3, 2], [0.5, 0]];
  const fc = ens([4, 1, 1, 1, 2], (m, _n, _t, _y, x) => mem[m]![x]!);
  const truth: ClipArray = { data: Float32Array.from([2, 0]), shape: [1, 1, 1, 2] };
  const [b1, b2] = brierScore(fc, truth, [1, 2.5]);
  // t = 1:   cell 0: p = 2/4, o = 1 -> 0.25; cell 1: p = 3/4, o = 0 -> 0.5625; mean 0.40625
  close(b1!.perLead[0]!, 0.40625, 1e-12);
  assert.equal(b1!.threshold, 1);
  // t = 2.5: cell 0: p = 1/4, o = 0 (2 is not > 2.5) -> 0.0625; cell 1: p = 0, o = 0 -> 0; mean 0.03125
  close(b2!.perLead[0]!, 0.03125, 1e-12);
  // t = 2: cell 0: p = 1/4 (only 3 > 2), o = 0 (2 is not > 2) -> 0.0625; cell 1: p = 0, o = 0 -> 0
  close(brierScore(fc, truth, [2])[0]!.perLead[0]!, 0.03125, 1e-12);
});

test('neighbourhood fractions: summed-area tables equal a brute-force window mean (truncated and periodic)', () => {
  const r = rng(61), H = 7, W = 9;
  const v = Float64Array.from({ length: H * W }, () => r());
  const valid = Uint8Array.from({ length: H * W }, () => (r() < 0.8 ? 1 : 0));
  for (const n of [1, 3, 5, 9, 11]) for (const periodic of [false, true]) {
    const got = neighbourhoodFractions(v, valid, H, W, n, periodic), k = (n - 1) / 2;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let s = 0, c = 0;
      const seen = new Set<number>();
      for (let dy = -k; dy <= k; dy++) for (let dx = -k; dx <= k; dx++) {
        const yy = y + dy;
        let xx = x + dx;
        if (yy < 0 || yy >= H) continue;
        if (periodic) xx = ((xx % W) + W) % W; else if (xx < 0 || xx >= W) continue;
        const j = yy * W + xx;
        if (seen.has(j)) continue; // a window wider than the globe covers each column once
        seen.add(j);
        if (valid[j]) { s += v[j]!; c++; }
      }
      const want = c > 0 ? s / c : NaN;
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got[y * W + x]!));
      else close(got[y * W + x]!, want, 1e-12, `n=${n} periodic=${periodic} (${y}, ${x})`);
    }
  }
});

test('FSS: identical fields 1, disjoint events 0 at window 1, larger windows score higher, hand-computed edges', () => {
  const g = gauss(rng(71));
  const truth = clips([3, 2, 6, 8], () => Math.max(0, g()));
  const same = { data: truth.data.slice(), shape: [1, 3, 2, 6, 8] as [number, number, number, number, number] };
  fractionsSkillScore(same, truth, { threshold: 0.5, window: 3 }).perLead.forEach((v) => close(v, 1, 1e-12));
  // single-cell events at (2, 3) in the truth and (2, 4) in the forecast
  const tr = clips([1, 1, 5, 8], (_n, _t, y, x) => (y === 2 && x === 3 ? 5 : 0));
  const fc = ens([1, 1, 1, 5, 8], (_m, _n, _t, y, x) => (y === 2 && x === 4 ? 5 : 0));
  const f1 = fractionsSkillScore(fc, tr, { threshold: 1, window: 1 }).perLead[0]!;
  const f3 = fractionsSkillScore(fc, tr, { threshold: 1, window: 3 }).perLead[0]!;
  const f5 = fractionsSkillScore(fc, tr, { threshold: 1, window: 5 }).perLead[0]!;
  assert.equal(f1, 0);
  assert.ok(f3 > 0 && f5 > f3, `FSS should grow with the window: ${f1}, ${f3}, ${f5}`);
  // away from the edges, periodic and truncated agree
  close(fractionsSkillScore(fc, tr, { threshold: 1, window: 3, periodic: true }).perLead[0]!, f3, 1e-12);
  // H = 1, W = 4, truth event at x = 1, forecast event at x = 2, window 3.
  // truncated: P_o = [1/2, 1/3, 1/3, 0], P_f = [0, 1/3, 1/3, 1/2];
  //   num = 1/4 + 0 + 0 + 1/4 = 1/2, den = 2 (1/9 + 1/9 + 1/4) = 17/18, FSS = 1 - 9/17 = 8/17
  // periodic: P_o = [1/3, 1/3, 1/3, 0], P_f = [0, 1/3, 1/3, 1/3];
  //   num = 1/9 + 1/9 = 2/9, den = 3/9 + 3/9 = 2/3, FSS = 1 - 1/3 = 2/3
  const tr4 = clips([1, 1, 1, 4], (_n, _t, _y, x) => (x === 1 ? 1 : 0));
  const fc4 = ens([1, 1, 1, 1, 4], (_m, _n, _t, _y, x) => (x === 2 ? 1 : 0));
  close(fractionsSkillScore(fc4, tr4, { threshold: 0.5, window: 3 }).perLead[0]!, 8 / 17, 1e-12, 'truncated');
  close(fractionsSkillScore(fc4, tr4, { threshold: 0.5, window: 3, periodic: true }).perLead[0]!, 2 / 3, 1e-12, 'periodic');
  // events across the date line: x = 0 in the truth, x = W - 1 in the forecast: only the periodic windows overlap
  const trE = clips([1, 1, 3, 8], (_n, _t, y, x) => (y === 1 && x === 0 ? 1 : 0));
  const fcE = ens([1, 1, 1, 3, 8], (_m, _n, _t, y, x) => (y === 1 && x === 7 ? 1 : 0));
  assert.equal(fractionsSkillScore(fcE, trE, { threshold: 0.5, window: 3 }).perLead[0], 0);
  assert.ok(fractionsSkillScore(fcE, trE, { threshold: 0.5, window: 3, periodic: true }).perLead[0]! > 0.3);
  // the forecast field is the ensemble-mean probability: members [event, no event] give p = 1/2 at the event cell
  const half = ens([2, 1, 1, 1, 4], (m, _n, _t, _y, x) => (m === 0 && x === 1 ? 1 : 0));
  // window 1: P_f = [0, 1/2, 0, 0], P_o = [0, 1, 0, 0]: FSS = 1 - (1/4) / (1/4 + 1) = 0.8
  close(fractionsSkillScore(half, tr4, { threshold: 0.5, window: 1 }).perLead[0]!, 0.8, 1e-12);
  // no events at all: undefined
  assert.ok(Number.isNaN(fractionsSkillScore(fc4, tr4, { threshold: 10, window: 3 }).perLead[0]!));
});

// ---------------------------------------------------------------------------------------------------
// Bootstrap

test('bootstrap: deterministic for a seed, contains the mean, zero width for equal cases, serves RMSE and spread/skill', () => {
  const r = rng(81), N = 60, F = 3;
  const per = Float64Array.from({ length: N * F }, () => r() + 1);
  const a = bootstrapCI(per, [N, F], 'mean', { samples: 500, level: 0.95, seed: 3 });
  const b = bootstrapCI(per, [N, F], 'mean', { samples: 500, level: 0.95, seed: 3 });
  const c = bootstrapCI(per, [N, F], 'mean', { samples: 500, level: 0.95, seed: 4 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.lower, c.lower);
  for (let f = 0; f < F; f++) {
    const col = Array.from({ length: N }, (_, n) => per[n * F + f]!), m = mean(col);
    close(a.estimate[f]!, m, 1e-12);
    assert.ok(a.lower[f]! < m && m < a.upper[f]!, `lead ${f}: ${a.lower[f]} < ${m} < ${a.upper[f]}`);
    // width ~ 2 * 1.96 * sd / sqrt(N) (normal approximation of the mean), within the bootstrap's noise
    const w = (2 * 1.96 * sd(col)) / Math.sqrt(N);
    close(a.upper[f]! - a.lower[f]!, w, 0.15 * w, `width lead ${f}`);
  }
  const eq = bootstrapCI(new Float64Array(N * F).fill(2.5), [N, F], 'mean', { samples: 100 });
  assert.deepEqual(eq.lower, [2.5, 2.5, 2.5]); assert.deepEqual(eq.upper, [2.5, 2.5, 2.5]);
  // a narrower level gives a narrower interval
  const n50 = bootstrapCI(per, [N, F], 'mean', { samples: 500, level: 0.5, seed: 3 });
  assert.ok(n50.upper[0]! - n50.lower[0]! < a.upper[0]! - a.lower[0]!);
  // ratio-of-sums statistics reproduce RMSE (sqrt of pooled MSE) and spread/skill at the original cases
  const { fc, truth } = iid(82, [5, 40, 2, 2, 2]);
  const rm = ensembleMeanRmse(fc, truth), sp = ensembleSpread(fc, truth), ssr = spreadSkillRatio(fc, truth);
  const br = bootstrapCI(rm.perCase, rm.shape, ratioOfSumsStatistic(rm, Math.sqrt), { samples: 300, seed: 1 });
  br.estimate.forEach((v, f) => close(v, rm.perLead[f]!, 1e-12));
  br.estimate.forEach((v, f) => assert.ok(br.lower[f]! <= v && v <= br.upper[f]!));
  const bs = bootstrapCI(rm.perCase, rm.shape, spreadSkillStatistic(sp, rm, 5), { samples: 300, seed: 1 });
  bs.estimate.forEach((v, f) => close(v, ssr.ratio[f]!, 1e-12));
  bs.estimate.forEach((v, f) => assert.ok(bs.lower[f]! < v && v < bs.upper[f]!));
});

// ---------------------------------------------------------------------------------------------------
// scoreEnsemble

test('scoreEnsemble: all scores per lead, consistent with the single functions, JSON round trip, bootstrap', () => {
  const g = gauss(rng(91)), lat = [-30, 0, 30, 60];
  const fc = ens([6, 20, 3, 4, 6], () => Math.max(0, 1 + g()));
  const truth = clips([20, 3, 4, 6], () => Math.max(0, 1 + g()));
  const region = latitudeBandRegion(lat, 6, [[-30, 30]]);
  const o = { lat, region, thresholds: [0.5, 2], fss: [{ threshold: 1, window: 3 }, { threshold: 2, window: 5, periodic: true }], bootstrap: { samples: 200, level: 0.9, seed: 5 } };
  const s = scoreEnsemble(fc, truth, o);
  assert.equal(s.members, 6); assert.equal(s.cases, 20); assert.equal(s.leads, 3);
  assert.equal(s.deterministic, false); assert.equal(s.note, null); assert.equal(s.crpsKind, 'fair');
  assert.deepEqual(s.crpsFair, ensembleCrps(fc, truth, o).perLead);
  assert.deepEqual(s.crps, ensembleCrps(fc, truth, { ...o, kind: 'standard' }).perLead);
  assert.deepEqual(s.rmse, ensembleMeanRmse(fc, truth, o).perLead);
  assert.deepEqual(s.spread, ensembleSpread(fc, truth, o).perLead);
  assert.deepEqual(s.spreadSkill, spreadSkillRatio(fc, truth, o).ratio);
  assert.deepEqual(s.energy, energyScore(fc, truth, o).perLead);
  assert.deepEqual(s.rankHistogram, rankHistogram(fc, truth, o));
  assert.deepEqual(s.brier.map((b) => b.perLead), brierScore(fc, truth, [0.5, 2], o).map((b) => b.perLead));
  assert.deepEqual(s.fss[0]!.perLead, fractionsSkillScore(fc, truth, { ...o, ...o.fss[0]! }).perLead);
  assert.equal(s.fss[1]!.periodic, true);
  assert.equal(s.crpsSkill, null);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  const ci = s.ci!;
  assert.equal(ci.level, 0.9); assert.equal(ci.samples, 200);
  const inside = (iv: { lower: number[]; upper: number[] }, v: number[], what: string) =>
    v.forEach((x, f) => assert.ok(iv.lower[f]! <= x && x <= iv.upper[f]!, `${what} lead ${f}: ${iv.lower[f]} <= ${x} <= ${iv.upper[f]}`));
  inside(ci.crpsFair!, s.crpsFair!, 'crpsFair'); inside(ci.rmse, s.rmse, 'rmse'); inside(ci.spreadSkill!, s.spreadSkill!, 'ssr');
  inside(ci.energy, s.energy, 'energy'); inside(ci.brier[0]!, s.brier[0]!.perLead, 'brier'); inside(ci.fss[0]!, s.fss[0]!.perLead, 'fss');
  // deterministic and reproducible
  assert.deepEqual(scoreEnsemble(fc, truth, o), s);
});

test('scoreEnsemble: a deterministic forecast (M = 1) gets RMSE, CRPS = MAE, and says why the fair CRPS is absent', () => {
  const truth = clips([4, 2, 2, 3], (n, t, y, x) => n + t - y + x);
  const det = ens([1, 4, 2, 2, 3], (_m, n, t, y, x) => n + t - y + x + (x === 1 ? 2 : -1));
  const s = scoreEnsemble(det, truth, { thresholds: [1] });
  assert.equal(s.deterministic, true); assert.equal(s.crpsKind, 'standard');
  assert.equal(s.crpsFair, null); assert.equal(s.spread, null); assert.equal(s.spreadSkill, null);
  assert.match(s.note!, /fair CRPS.*undefined.*mean absolute error/);
  s.crps.forEach((v) => close(v, 4 / 3, 1e-9, 'MAE')); // |e| = 1, 2, 1 over the three columns
  s.rmse.forEach((v) => close(v, Math.sqrt(2), 1e-9, 'RMSE')); // e^2 = 1, 4, 1
  s.energy.forEach((v) => close(v, Math.sqrt(2 * 6), 1e-6, 'energy = weighted norm')); // sqrt(sum_j e_j^2) over 6 cells
  assert.equal(s.rankHistogram.pooled.counts.length, 2);
  // a climatology-like reference ensemble: skill of the forecast against it
  const ref = ens([3, 4, 2, 2, 3], (m) => m);
  const sk = scoreEnsemble(det, truth, { reference: ref });
  sk.crpsSkill!.forEach((v, f) => close(v, 1 - s.crps[f]! / ensembleCrps(ref, truth).perLead[f]!, 1e-12));
});

// ---------------------------------------------------------------------------------------------------
// Bad input

test('bad input: clear errors', () => {
  const { fc, truth } = iid(99, [3, 2, 2, 2, 2]);
  assert.throws(() => ensembleCrps(fc, clips([2, 2, 2, 3], () => 0)), /ensembleCrps: forecast shape \[M, N, F, H, W\] = \[3, 2, 2, 2, 2\] does not match truth shape \[N, F, H, W\] = \[2, 2, 2, 3\]/);
  assert.throws(() => ensembleCrps({ data: new Float32Array(5), shape: [3, 2, 2, 2, 2] }, truth), /ensembleCrps: forecast data has 5 values/);
  assert.throws(() => ensembleCrps({ data: new Float32Array(8), shape: [2, 2, 2] as never }, truth), /forecast shape must be \[M, N, F, H, W\]/);
  const one = ens([1, 2, 2, 2, 2], () => 0);
  assert.throws(() => ensembleCrps(one, truth), /ensembleCrps: the fair CRPS needs at least 2 members \(forecast has M = 1\)/);
  assert.throws(() => crpsOfMembers([1], 0), /crpsOfMembers: the fair CRPS needs at least 2 members/);
  assert.throws(() => ensembleSpread(one, truth), /ensembleSpread: .*at least 2 members/);
  assert.throws(() => energyScore(one, truth), /energyScore: the fair energy score needs at least 2 members/);
  assert.throws(() => ensembleCrps(fc, truth, { region: new Float32Array(4) }), /ensembleCrps: the region is empty/);
  assert.throws(() => ensembleCrps(fc, truth, { region: new Float32Array(3) }), /ensembleCrps: region has 3 values, expected H\*W = 4/);
  assert.throws(() => ensembleCrps(fc, truth, { lat: [0, 10, 20] }), /latitudeWeights: got 3 latitudes for H = 2 rows/);
  assert.throws(() => latitudeWeights([0, 95], 2), /latitudeWeights: latitude 1 is 95/);
  assert.throws(() => fractionsSkillScore(fc, truth, { threshold: 0, window: 2 }), /fractionsSkillScore: window must be an odd positive integer/);
  assert.throws(() => brierScore(fc, truth, []), /brierScore: give at least one threshold/);
  assert.throws(() => bootstrapCI(new Float64Array(5), [2, 2]), /bootstrapCI: perCase has 5 values, shape \[2, 2\] needs 4/);
  assert.throws(() => bootstrapCI(new Float64Array(4), [2, 2], 'mean', { level: 1.5 }), /bootstrapCI: level must be in \(0, 1\)/);
  assert.throws(() => scoreEnsemble(fc, truth, { reference: ens([2, 2, 2, 2, 3], () => 0) }), /scoreEnsemble \(reference\): forecast shape/);
});
