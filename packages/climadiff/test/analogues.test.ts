// Pure functions over embeddings (src/eval/analogues.ts) against hand-computed values: nearest neighbours (order, ties,
// exclusions), active units, KL per example, seasons, weighted RMSE and pattern correlation; the scatter chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestNeighbours, activeUnits, klPerExample, seasonOf, weightedMean, weightedRmse, patternCorrelation } from '../src/eval/analogues.js';
import { scatterChartPNG, MONTH_COLOURS } from '../src/eval/chart-png.js';

test('nearestNeighbours: Euclidean order by hand, ties to the lower index, exclusions, fewer allowed than k', () => {
  const bank = [0, 0, 1, 0, 0, 2, 3, 3, 1, 0]; // rows (0,0) (1,0) (0,2) (3,3) (1,0)
  const q = [0.9, 0.1, 0, 1.6];
  const r = nearestNeighbours(q, bank, 2, 3);
  // query 0: (1,0) at sqrt(0.02) twice (rows 1 and 4: lower index first), then (0,0) at sqrt(0.82)
  assert.deepEqual(Array.from(r.index.subarray(0, 3)), [1, 4, 0]);
  assert.ok(Math.abs(r.distance[0]! - Math.sqrt(0.02)) < 1e-12 && Math.abs(r.distance[2]! - Math.sqrt(0.82)) < 1e-12);
  // query 1: (0,2) at 0.4, (0,0) at 1.6, then (1,0) rows at sqrt(1 + 2.56)
  assert.deepEqual(Array.from(r.index.subarray(3, 6)), [2, 0, 1]);
  assert.ok(Math.abs(r.distance[4]! - 1.6) < 1e-12 && Math.abs(r.distance[5]! - Math.sqrt(3.56)) < 1e-12);
  // excluding rows 1 and 4 for query 0 leaves (0,0) first; excluding all but one leaves -1 / NaN
  const ex = nearestNeighbours(q, bank, 2, 2, (qi, b) => qi === 0 && (b === 1 || b === 4));
  assert.deepEqual(Array.from(ex.index.subarray(0, 2)), [0, 2]);
  const few = nearestNeighbours(q.slice(0, 2), bank, 2, 2, (_q, b) => b !== 3);
  assert.deepEqual(Array.from(few.index), [3, -1]);
  assert.ok(Number.isNaN(few.distance[1]!));
  assert.throws(() => nearestNeighbours([1, 2, 3], bank, 2, 1), /multiples of dim/);
  assert.throws(() => nearestNeighbours(q, bank, 2, 0), /k must be/);
  assert.throws(() => nearestNeighbours([NaN, 0], bank, 2, 1), /non-finite/);
});

test('activeUnits: variance of the posterior means per unit (ddof 1) against 0.01; KL per example by hand', () => {
  // unit 0 varies (values 0, 1, 2: variance 1), unit 1 barely (0, 0.09, 0.18: 0.0081), unit 2 is constant
  const mean = [0, 0, 5, 1, 0.09, 5, 2, 0.18, 5];
  const au = activeUnits(mean, 3);
  assert.ok(Math.abs(au.variance[0]! - 1) < 1e-12 && Math.abs(au.variance[1]! - 0.0081) < 1e-12 && au.variance[2] === 0);
  assert.deepEqual(au.active, [0]);
  assert.deepEqual(activeUnits(mean, 3, 0.005).active, [0, 1]);
  assert.throws(() => activeUnits([1, 2], 2), /at least 2 examples/);
  const kl = klPerExample([1, 0, 0, -2], [0, Math.log(2), 0, Math.log(0.5)], 2);
  assert.ok(Math.abs(kl[0]! - 0.5 * (1 + 1 - Math.log(2))) < 1e-12);
  assert.ok(Math.abs(kl[1]! - 0.5 * (3.5 + Math.log(2))) < 1e-12);
  assert.throws(() => klPerExample([1, 2], [0], 1), /n x 1/);
});

test('seasons, weighted mean, RMSE and pattern correlation by hand', () => {
  assert.deepEqual([12, 1, 2, 3, 5, 6, 8, 9, 11].map(seasonOf), [0, 0, 0, 1, 1, 2, 2, 3, 3]);
  assert.throws(() => seasonOf(0), /1\.\.12/);
  const w = [1, 1, 2, 0];
  assert.equal(weightedMean([1, 2, 3, 100], w), (1 + 2 + 6) / 4);
  assert.ok(Number.isNaN(weightedMean([1, 2], [0, 0])));
  // differences 1, -1, 2 (the last cell has no weight): sqrt((1 + 1 + 2 * 4) / 4)
  assert.ok(Math.abs(weightedRmse([1, 1, 4, 9], [0, 2, 2, 0], w) - Math.sqrt(10 / 4)) < 1e-12);
  // b = 2a + 1: correlation 1; b = -a: -1; a constant: NaN
  assert.ok(Math.abs(patternCorrelation([1, 2, 4, 7], [3, 5, 9, 15], w) - 1) < 1e-12);
  assert.ok(Math.abs(patternCorrelation([1, 2, 4, 7], [-1, -2, -4, -7], w) + 1) < 1e-12);
  assert.ok(Number.isNaN(patternCorrelation([1, 1, 1, 1], [1, 2, 3, 4], w)));
  // by hand with weights (1, 1, 2): a = (0, 1, 2) mean 1.25, b = (1, 0, 1) mean 0.75
  const ma = 1.25, mb = 0.75, a = [0, 1, 2], b = [1, 0, 1], ww = [1, 1, 2];
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < 3; i++) { sab += ww[i]! * (a[i]! - ma) * (b[i]! - mb); saa += ww[i]! * (a[i]! - ma) ** 2; sbb += ww[i]! * (b[i]! - mb) ** 2; }
  assert.ok(Math.abs(patternCorrelation(a, b, ww) - sab / Math.sqrt(saa * sbb)) < 1e-12);
  assert.ok(Math.abs(sab / Math.sqrt(saa * sbb) - 0.0) > 0.1, 'the hand case is not trivially 0');
});

test('scatter chart: a PNG with a point in the category colour; mismatched inputs are refused', () => {
  const png = scatterChartPNG({ title: 't', xTitle: 'x', yTitle: 'y', x: [0, 1, 2], y: [0, 1, 4], category: [0, 6, 11], categories: ['a', 'b', 'c'], colours: MONTH_COLOURS, width: 200, height: 150 });
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.equal(MONTH_COLOURS.length, 12);
  assert.equal(new Set(MONTH_COLOURS.map((c) => c.join(','))).size, 12, 'twelve distinct month colours');
  assert.throws(() => scatterChartPNG({ title: 't', xTitle: 'x', yTitle: 'y', x: [0], y: [0, 1], category: [0], categories: ['a'] }), /differ in length/);
});
