// The conditional tasks (tasks/conditional.ts, tasks/downscale.ts) on a small simulated Earth and an untrained model:
// what is known comes back exactly, what is generated has the right shape, dates and truth, rollout reaches any lead,
// resumed cases equal uninterrupted ones, and every bad input gets one clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import { simulateEarth } from '../src/data/simulator/earth.js';
import { memorySource } from '../src/data/clip-source.js';
import { forecast, interpolate, infill, infillCells, downscale, chooseStarts, blockMeanOperator, blockRowWeights, residualScales } from '../src/tasks/index.js';
import { blockMean } from '../src/eval/regrid.js';
import { tinyModel } from './tasks-fixture.js';
import { defaultPrecision } from '../src/models/index.js';

torch.setNumThreads(1);
const H = 8, W = 16, F = 4, C = 2, HW = H * W;
const ds = simulateEarth({ frames: 80, seed: 3, nlat: H, nlon: W, spinupDays: 2, everyHours: 6 });
const source = memorySource(ds, ['tas', 'pr']);
const lat = Array.from(ds.coords.get('lat')!.values), lon = Array.from(ds.coords.get('lon')!.values);
const time = ds.coords.get('time')!;
const m = tinyModel({ frames: F, height: H, width: W, lat, lon, time: { units: time.units!, calendar: 'noleap', frameStep: 6, trainStarts: [0, 24] } });
// the fixture's climatology is not this grid's, which does not matter for plumbing; pr must be in the model's units
const common = { steps: 3, seed: 1 };

test('forecast: k known frames, leads by rollout, truth and dates of the leads, resumption, bad starts', async () => {
  const M = 3, L = 5; // one window gives F - k = 2 frames, so 3 windows
  const e = await forecast(m, source, { ...common, members: M, starts: [10, 30], known: 2, leads: L, batch: M });
  assert.deepEqual(e.shape, [M, 2, C, L, H, W]);
  assert.equal(e.settings['windows'], 3);
  assert.equal(e.settings['precision'], defaultPrecision(), "no precision asked: the machine's default, resolved and recorded");
  assert.deepEqual(e.nfe, { forward: 2 * 3 * 3, backward: 2 * 3 * 3 }, 'two batches x three windows x three steps, each guided');
  // truth: the file's frames 10..14 and 30..34
  const block = await source.read(10, 15);
  for (let c = 0; c < C; c++) for (let f = 0; f < L; f++) assert.equal(e.truth![(c * L + f) * HW + 7], block.data[(c * 5 + f) * HW + 7]);
  // dates: lead 1 is the file's frame 10
  assert.equal(e.times[0], time.values[10]);
  assert.equal(e.times[L], time.values[30]);
  assert.ok(e.data.every(Number.isFinite));
  // members differ from each other
  assert.notDeepEqual(e.data.subarray(0, C * L * HW), e.data.subarray(2 * C * L * HW, 3 * C * L * HW));
  // per-member seeds: the same members whatever the batch size (all cases in one batch here)
  const together = await forecast(m, source, { ...common, members: M, starts: [10, 30], known: 2, leads: L, batch: 2 * M });
  const worst = together.data.reduce((d, v, i) => Math.max(d, Math.abs(v - e.data[i]!)), 0);
  assert.ok(worst < 1e-3, `members depend on the batch: ${worst}`);
  // a resumed run (case 0 done) gives the same second case
  const first = new Map<number, Float32Array>();
  await forecast(m, source, { ...common, members: M, starts: [10, 30], known: 2, leads: L, batch: M, onCase: (k, d) => { if (k === 0) first.set(0, d); } });
  const resumed = await forecast(m, source, { ...common, members: M, starts: [10, 30], known: 2, leads: L, batch: M, done: first });
  assert.deepEqual(resumed.data, e.data);
  assert.deepEqual(resumed.nfe, { forward: 9, backward: 9 }, 'only the second case was generated');
  await assert.rejects(forecast(m, source, { ...common, members: 2, starts: [1], known: 2 }), /needs its 2 known frames inside the file/);
  await assert.rejects(forecast(m, source, { ...common, members: 2, starts: [10], known: 4 }), /known frames must be an integer in 1\.\.3/);
});

test('interpolate and infill: known values come back exactly, the rest generated; masks that hide nothing are refused', async () => {
  const M = 2;
  const e = await interpolate(m, source, { ...common, members: M, starts: [5, 40], every: 2 });
  assert.deepEqual(e.shape, [M, 2, C, F, H, W]);
  assert.deepEqual(e.settings['knownFrames'], [0, 2]);
  const per = C * F * HW;
  let err = 0, moved = 0;
  for (let i = 0; i < M; i++) for (let k = 0; k < 2; k++) for (let j = 0; j < per; j++) {
    const v = e.data[(i * 2 + k) * per + j]!, t = e.truth![k * per + j]!;
    if (e.known![k * per + j]) err = Math.max(err, Math.abs(v - t) / (j < F * HW ? 1 : 0.1 + t));
    else moved = Math.max(moved, Math.abs(v - t));
  }
  assert.ok(err < 1e-3, `known frames come back (max relative error ${err})`);
  assert.ok(moved > 0.01, 'unknown frames are generated, not copied');
  // infill: a box over part of the grid hidden in every frame
  const box = await infill(m, source, { ...common, members: M, starts: [12], mask: { kind: 'box', lat: [-30, 30], lon: [90, 200] } });
  const cells = infillCells(m, { kind: 'box', lat: [-30, 30], lon: [90, 200] })!;
  for (let j = 0; j < HW; j++) {
    const inBox = lat[Math.floor(j / W)]! >= -30 && lat[Math.floor(j / W)]! <= 30 && lon[j % W]! >= 90 && lon[j % W]! <= 200;
    assert.equal(cells[j], inBox ? 0 : 1);
  }
  assert.ok(box.known!.some((k) => k === 0) && box.known!.some((k) => k === 1));
  // a box across the date line
  const wrap = infillCells(m, { kind: 'box', lat: [-90, 90], lon: [340, 20] })!;
  for (let j = 0; j < W; j++) assert.equal(wrap[j], lon[j]! >= 340 || lon[j]! <= 20 ? 0 : 1);
  // stations: exactly round(p * H * W) cells kept, the same for a seed
  const st = infillCells(m, { kind: 'stations', fraction: 0.1, seed: 4 })!;
  assert.equal(st.reduce((a, b) => a + b, 0), Math.round(0.1 * HW));
  assert.deepEqual(infillCells(m, { kind: 'stations', fraction: 0.1, seed: 4 }), st);
  assert.notDeepEqual(infillCells(m, { kind: 'stations', fraction: 0.1, seed: 5 }), st);
  const stations = await infill(m, source, { ...common, members: M, starts: [12], mask: { kind: 'stations', fraction: 0.25, seed: 1 }, errorVariance: [0.25, 0], guidance: { method: 'reconstruction', weight: 2 } });
  assert.ok(stations.data.every(Number.isFinite));
  await assert.rejects(infill(m, source, { ...common, members: M, starts: [12], mask: { kind: 'box', lat: [80, 85], lon: [0, 1] } }), /holds no grid cell: the mask hides nothing/);
  await assert.rejects(infill(m, source, { ...common, members: M, starts: [12], mask: { kind: 'missing' } }), /the mask hides nothing in case 0/);
  await assert.rejects(infill(m, source, { ...common, members: M, starts: [12], mask: { kind: 'stations', fraction: 1.5 } }), /fraction must be in \(0, 1\)/);
  await assert.rejects(interpolate(m, source, { ...common, members: M, starts: [78] }), /does not fit/);
  await assert.rejects(interpolate(m, memorySource(ds, ['tas', 'prw']), { ...common, members: M, starts: [0] }), /gives the variables tas, prw, but the model was trained on tas, pr/);
});

test('downscale: the block-mean operator, guidance towards the coarse input, mismatch reported, coarse files, bad grids', async () => {
  const K = 4;
  const rw = blockRowWeights(lat, H);
  // the torch operator equals the reference block mean (cos-latitude weighted)
  torch.scope(() => {
    const x = torch.randn([2, C, F, H, W]);
    const a = blockMeanOperator(rw, K)(x).toFloat32Array();
    const b = blockMean({ data: x.toFloat32Array(), shape: [2 * C * F, H, W] }, K, { latWeights: rw }).data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
  });
  const M = 2;
  const guided = await downscale(m, source, { steps: 6, seed: 2, members: M, starts: [20], factor: K });
  assert.deepEqual(guided.shape, [M, 1, C, F, H, W]);
  assert.equal((guided.settings['guidance'] as { weight: number }).weight, K * K);
  assert.equal(guided.settings['precision'], defaultPrecision());
  const weak = await downscale(m, source, { steps: 6, seed: 2, members: M, starts: [20], factor: K, guidance: { method: 'reconstruction', weight: 0 } });
  assert.ok(guided.mismatch[0]!.rms < 0.5 * weak.mismatch[0]!.rms, `tas block means: guided ${guided.mismatch[0]!.rms} vs unguided ${weak.mismatch[0]!.rms}`);
  // the same input as a coarse file: no truth, the same result
  const coarseDs = { ...ds, variables: new Map(['tas', 'pr'].map((name) => {
    const v = ds.variables.get(name)!;
    const bm = blockMean({ data: v.data, shape: v.shape }, K, { latWeights: rw });
    return [name, { ...v, shape: bm.shape, data: bm.data }];
  })), coords: new Map([...ds.coords].map(([k, c]) => [k, k === 'lat' || k === 'lon' ? { ...c, values: c.values.filter((_, i) => i % K === 0) } : c])) };
  const fromCoarse = await downscale(m, memorySource(coarseDs, ['tas', 'pr']), { steps: 6, seed: 2, members: M, starts: [20], factor: K });
  assert.equal(fromCoarse.truth, null);
  for (let i = 0; i < fromCoarse.data.length; i++) assert.ok(Math.abs(fromCoarse.data[i]! - guided.data[i]!) < 1e-3 * (1 + Math.abs(guided.data[i]!)));
  await assert.rejects(downscale(m, source, { ...common, members: M, starts: [20], factor: 3 }), /does not divide the model's 8x16 grid/);
  await assert.rejects(downscale(m, memorySource(coarseDs, ['tas', 'pr']), { ...common, members: M, starts: [20], factor: 2 }), /neither the model's 8x16 grid nor 2 times coarser/);
});

test('downscale residual scales: std for untransformed channels, 2 std sqrt(block mean) per block for square-root ones', () => {
  // two cases of [C = 2, 3 blocks]: tas (no transform, std 3) and pr (sqrt, std 0.4); blocks drier than 1% of pr's mean
  // take the scale of that floor
  const y = Float32Array.from([280, 281, 282, 0, 0.5, 1, 279, 283, 284, 1e-6, 2, 0.5]);
  const s = residualScales(m, y, 2);
  const floor = 0.01 * (0 + 0.5 + 1 + 1e-6 + 2 + 0.5) / 6;
  const pr = (v: number) => 2 * 0.4 * Math.sqrt(Math.max(v, floor));
  const want = [3, 3, 3, pr(0), pr(0.5), pr(1), 3, 3, 3, pr(1e-6), pr(2), pr(0.5)];
  want.forEach((v, i) => assert.ok(Math.abs(s[i]! - v) < 1e-6, `scale ${i}: ${s[i]} vs ${v}`));
  // the point of a per-block scale: the linearised block mean J of t^2 (t = sqrt(y_j) in each fine cell) has
  // J J^T / s^2 = 1/K^2 in every block, whether the rain fills the block or sits in one cell
  const K = 2;
  for (const cells of [[1, 1, 1, 1], [4, 0, 0, 0], [9, 0, 0, 1]]) {
    const yb = cells.reduce((a, b) => a + b, 0) / (K * K);
    const jj = cells.reduce((a, v) => a + (2 * 0.4 * Math.sqrt(v) / (K * K)) ** 2, 0);
    const sb = residualScales(m, Float32Array.from([280, yb]), 1)[1]!;
    assert.ok(Math.abs(jj / sb ** 2 - 1 / (K * K)) < 1e-6, `cells ${cells}: ${jj / sb ** 2}`);
  }
});

test('start dates: a list, or every N days of the file; dates outside are refused', () => {
  const every = chooseStarts(source, m.runData, { everyDays: 5, split: 'all' }, 4, 4);
  assert.deepEqual(every, [4, 24, 44, 64]);
  // the simulation's first frame is 2000-01-03 06:00 (two days of spin-up), one frame every 6 h
  assert.deepEqual(chooseStarts(source, m.runData, { dates: ['2000-01-05 06:00', '2000-01-05 07:00'] }, 2, 2), [8, 9]);
  assert.throws(() => chooseStarts(source, m.runData, { dates: ['1990-01-01'] }, 2, 2), /outside what the data allows/);
  assert.throws(() => chooseStarts(source, m.runData, { dates: ['2001-02-30'] }, 2, 2), /not a valid date in the noleap calendar/);
});
