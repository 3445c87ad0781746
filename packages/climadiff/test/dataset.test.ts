// Training clips: time-block split without leakage, deterministic shuffling, clip shapes and frame stride,
// mask handling, exact inverse of both normalisations, statistics through JSON, static fields, months.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memorySource } from '../src/data/clip-source.js';
import { ClipDataset, splitDatasets } from '../src/data/dataset.js';
import { denormalise, fitNormStats, normalise, normStatsToJSON, parseNormStats, sourceMonths } from '../src/data/normalise.js';
import { splitByTimeBlocks, SPLIT_NAMES } from '../src/data/split.js';
import { findOrography, staticFields } from '../src/data/statics.js';
import { monthIndices, monthPosition, decodeTimeParts, formatTimeParts } from '../src/data/time-parts.js';
import { writeNetCDF } from '../src/data/writers/netcdf.js';
import { compareNormalisations } from '../src/run/normalisation-check.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, type ClimateDataset, type Coordinate } from '../src/data/types.js';

const coord = (name: string, values: number[], extra: Partial<Coordinate> = {}): Coordinate =>
  ({ name, values: Float64Array.from(values), attrs: {}, ...extra });

/** T monthly fields on an H x W grid: 'tas' (seasonal cycle + trend, land cells at column 0 missing) and 'pr'. */
function makeDataset(T: number, H = 4, W = 5): ClimateDataset {
  const n = T * H * W;
  const tas = new Float32Array(n), pr = new Float32Array(n);
  const mask = new Uint8Array(n);
  for (let t = 0; t < T; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const k = (t * H + y) * W + x;
    tas[k] = 280 + 10 * Math.sin((2 * Math.PI * t) / 12 + y) + 0.01 * t + 0.3 * Math.cos(7 * k);
    pr[k] = Math.max(0, Math.sin(13 * k)) * 5;
    if (x === 0) { mask[k] = 1; tas[k] = NaN; }
  }
  const dims = ['time', 'lat', 'lon'];
  return {
    variables: new Map([
      ['tas', { name: 'tas', dims, shape: [T, H, W], data: tas, mask, units: 'K', attrs: {} }],
      ['pr', { name: 'pr', dims, shape: [T, H, W], data: pr, mask: null, units: 'mm/day', attrs: {} }],
    ]),
    coords: new Map([
      // 30-day steps in a 360_day calendar: one step per month
      ['time', coord('time', Array.from({ length: T }, (_, t) => 15 + 30 * t), { axis: 'T', units: 'days since 2000-01-01', calendar: '360_day' })],
      ['lat', coord('lat', Array.from({ length: H }, (_, i) => -60 + (120 * i) / (H - 1)), { axis: 'Y', units: 'degrees_north' })],
      ['lon', coord('lon', Array.from({ length: W }, (_, i) => (360 * i) / W), { axis: 'X', units: 'degrees_east' })],
    ]),
    attrs: {},
  };
}

test('split by time blocks: no frame index in two splits, gaps of a clip span, every clip inside its split', () => {
  for (const blocks of [1, 3]) {
    for (const frameStride of [1, 2]) {
      const s = splitByTimeBlocks({ timeSteps: 400, clipFrames: 4, frameStride, blocks, clipStep: 1 });
      const owner = new Map<number, string>();
      for (const name of SPLIT_NAMES) {
        assert.ok(s[name].starts.length > 0, `${name} has clips`);
        for (const st of s[name].starts) {
          for (let f = 0; f < 4; f++) {
            const t = st + f * frameStride;
            assert.ok(t < 400);
            const prev = owner.get(t);
            assert.ok(prev === undefined || prev === name, `frame ${t} is in ${prev} and ${name}`);
            owner.set(t, name);
          }
          // the clip lies inside one of the split's ranges
          assert.ok(s[name].ranges.some(([a, b]) => st >= a && st + s.span <= b));
        }
      }
      // frames of different splits are at least `gap` apart
      const byFrame = [...owner.entries()].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < byFrame.length; i++) {
        if (byFrame[i]![1] !== byFrame[i - 1]![1]) assert.ok(byFrame[i]![0] - byFrame[i - 1]![0] > s.gap, 'gap between splits');
      }
      assert.equal(s.span, 3 * frameStride + 1);
    }
  }
  assert.throws(() => splitByTimeBlocks({ timeSteps: 10, clipFrames: 8 }), (e: unknown) => e instanceof DataError && e.kind === 'too-short');
  assert.throws(() => splitByTimeBlocks({ timeSteps: 100, clipFrames: 0 }), DataError);
});

test('clips: shape (C, F, H, W), frame stride, masked values are 0 with mask 1, unknown variable is a clear error', async () => {
  const ds = makeDataset(30);
  const src = memorySource(ds, ['tas', 'pr']);
  const stats = await fitNormStats(src, { kind: 'per-variable' });
  const d = new ClipDataset(src, { frames: 3, frameStride: 4, clipStep: 2, stats });
  assert.equal(d.span, 9);
  assert.deepEqual([...d.starts.subarray(0, 3)], [0, 2, 4]);
  assert.equal(d.length, Math.floor((30 - 9) / 2) + 1);
  const c = await d.clip(2);
  assert.deepEqual(c.shape, [2, 3, 4, 5]);
  assert.deepEqual([...c.frameIndices], [4, 8, 12]);
  assert.equal(c.data.length, 2 * 3 * 4 * 5);
  // values: frame f of channel pr equals the normalised source value at time 4 + 4 f
  const pr = ds.variables.get('pr')!.data;
  const st = stats.channels[1]!.kind === 'per-variable' ? stats.channels[1]! : assert.fail();
  for (let f = 0; f < 3; f++) for (let i = 0; i < 20; i++) {
    const want = Math.fround((pr[(4 + 4 * f) * 20 + i]! - st.mean) / st.std);
    assert.equal(c.data[(1 * 3 + f) * 20 + i], want);
  }
  for (let k = 0; k < c.data.length; k++) {
    assert.ok(Number.isFinite(c.data[k]!));
    const x = k % 5;
    const channel = Math.floor(k / 60);
    assert.equal(c.mask[k], channel === 0 && x === 0 ? 1 : 0);
    if (c.mask[k]) assert.equal(c.data[k], 0);
  }
  // statistics ignore missing cells: the normalised valid tas values have mean ~0 over all frames
  const all = new ClipDataset(src, { frames: 1, stats });
  let s = 0, n = 0;
  for (let i = 0; i < all.length; i++) {
    const cl = await all.clip(i);
    for (let k = 0; k < 20; k++) if (!cl.mask[k]) { s += cl.data[k]!; n++; }
  }
  assert.ok(Math.abs(s / n) < 1e-4, `mean ${s / n}`);
  assert.throws(() => memorySource(ds, ['tos']), (e: unknown) => e instanceof DataError && e.kind === 'unknown-variable' && /tas, pr/.test(e.message));
  await assert.rejects(d.clip(d.length), DataError);
});

test('batches: tensors [B, C, F, H, W], shuffling deterministic per seed and epoch, every clip once', async () => {
  const src = memorySource(makeDataset(40), ['tas', 'pr']);
  const stats = await fitNormStats(src, { kind: 'per-variable' });
  const statics = await staticFields(src);
  const d = new ClipDataset(src, { frames: 2, stats, statics });
  const a = d.order(true, 7, 0), b = d.order(true, 7, 0), c = d.order(true, 8, 0), e = d.order(true, 7, 1);
  assert.deepEqual([...a], [...b]);
  assert.notDeepEqual([...a], [...c]);
  assert.notDeepEqual([...a], [...e]);
  assert.deepEqual([...a].sort((x, y) => x - y), [...d.order(false)]);
  const seen: number[] = [];
  let count = 0;
  for await (const batch of d.batches({ batchSize: 8, seed: 7 })) {
    const B = batch.indices.length;
    assert.deepEqual(batch.x.shape, [B, 2, 2, 4, 5]);
    assert.deepEqual(batch.mask.shape, [B, 2, 2, 4, 5]);
    assert.deepEqual(batch.statics!.shape, [B, statics.names.length, 2, 4, 5]);
    const clip0 = await d.clip(batch.indices[0]!);
    assert.deepEqual([...batch.x.toFloat32Array().subarray(0, clip0.data.length)], [...clip0.data]);
    assert.equal(batch.mask.toFloat32Array()[0], 1); // tas at lon index 0 is missing
    seen.push(...batch.indices);
    count++;
  }
  assert.deepEqual(seen, [...a]);
  assert.equal(count, Math.ceil(d.length / 8));
  let dropped = 0;
  for await (const _ of d.batches({ batchSize: 8, dropLast: true })) dropped++;
  assert.equal(dropped, Math.floor(d.length / 8));
});

test('batches with shard: the parts of every rank are the whole batch in order; a batch smaller than the parts is skipped by all', async () => {
  const src = memorySource(makeDataset(40), ['tas', 'pr']);
  const stats = await fitNormStats(src, { kind: 'per-variable' });
  const d = new ClipDataset(src, { frames: 2, stats });
  const count = 3;
  // a batch size that leaves a last batch of fewer clips than parts
  const bs = Array.from({ length: 16 }, (_, i) => i + 5).find((b) => d.length % b > 0 && d.length % b < count)!;
  const whole: { indices: number[]; x: number[] }[] = [];
  for await (const b of d.batches({ batchSize: bs, seed: 3 })) whole.push({ indices: [...b.indices], x: [...b.x.toFloat32Array()] });
  const parts = await Promise.all(Array.from({ length: count }, async (_, rank) => {
    const out: { indices: number[]; x: number[]; part: { offset: number; total: number } }[] = [];
    for await (const b of d.batches({ batchSize: bs, seed: 3, shard: { rank, count } })) out.push({ indices: [...b.indices], x: [...b.x.toFloat32Array()], part: b.part! });
    return out;
  }));
  const kept = whole.filter((w) => w.indices.length >= count);
  assert.ok(kept.length < whole.length, 'the data end in a batch smaller than the parts (the case to skip)');
  for (const p of parts) assert.equal(p.length, kept.length, 'every rank sees the same number of batches');
  kept.forEach((w, k) => {
    assert.deepEqual(parts.flatMap((p) => p[k]!.indices), w.indices);
    assert.deepEqual(parts.flatMap((p) => p[k]!.x), w.x);
    let offset = 0;
    for (const p of parts) {
      assert.deepEqual(p[k]!.part, { offset, total: w.indices.length });
      offset += p[k]!.indices.length;
    }
  });
  await assert.rejects(async () => { for await (const _ of d.batches({ batchSize: 4, shard: { rank: 3, count: 3 } })) break; }, /shard rank 3 of 3 is not a part/);
});

test('normalisation inverts exactly (float32 round-off) for per-variable and climatology, stats survive JSON', async () => {
  const ds = makeDataset(36);
  const src = memorySource(ds, ['tas', 'pr']);
  const block = await src.read(0, 36);
  const shape = { channels: 2, frames: 36, height: 4, width: 5 };
  const months = sourceMonths(src);
  // month positions: day 15 of each 30-day month, its floor the month index
  assert.deepEqual([...months.subarray(0, 13)].map(Math.floor), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]);
  assert.ok(months.every((p) => Math.abs(p - Math.floor(p) - 15 / 30) < 1e-12));
  for (const kind of ['per-variable', 'climatology', 'seasonal'] as const) {
    const stats = await fitNormStats(src, { kind, blockFrames: 5 });
    const statsBack = parseNormStats(normStatsToJSON(stats));
    assert.deepEqual(statsBack, JSON.parse(JSON.stringify(stats)));
    const y = normalise(stats, block.data, block.mask, shape, months);
    const y2 = normalise(statsBack, block.data, block.mask, shape, months);
    assert.deepEqual([...y2], [...y]);
    const back = denormalise(statsBack, y, block.mask, shape, months);
    let maxRel = 0;
    for (let k = 0; k < y.length; k++) {
      if (block.mask[k]) { assert.equal(y[k], 0); assert.ok(Number.isNaN(back[k]!)); continue; }
      const x = block.data[k]!;
      const err = Math.abs(back[k]! - x);
      const bound = 2 ** -22 * (Math.abs(x) + 400);
      assert.ok(err <= bound, `${kind}: ${back[k]} vs ${x}`);
      maxRel = Math.max(maxRel, err);
    }
    // normalised valid values have unit variance
    let s = 0, s2 = 0, n = 0;
    for (let k = 0; k < 36 * 20; k++) if (!block.mask[k]) { s += y[k]!; s2 += y[k]! ** 2; n++; }
    assert.ok(Math.abs(s / n) < 1e-3 && Math.abs(s2 / n - 1) < 1e-3, `${kind} mean ${s / n} var ${s2 / n}`);
  }
  // climatology removes the seasonal cycle: anomalies are much smaller than the per-variable spread
  const clim = await fitNormStats(src, { kind: 'climatology' });
  const pv = await fitNormStats(src, { kind: 'per-variable' });
  assert.ok(clim.channels[0]!.std < 0.2 * pv.channels[0]!.std, `${clim.channels[0]!.std} vs ${pv.channels[0]!.std}`);
  assert.throws(() => parseNormStats('{"kind":"per-variable","version":1,"channels":[{"name":"x","mean":0,"std":-1}]}'), DataError);
  assert.throws(() => parseNormStats('not json'), DataError);
});

test('seasonal normalisation: the harmonic fit recovers a known seasonal cycle per cell, its residual std, masks; exact inverse', async () => {
  // 4 noleap years of daily values: per cell a0 + a1 cos phi + b1 sin phi + a2 cos 2phi + b2 sin 2phi + noise, phi = 2 pi p / 12
  const T = 4 * 365, H = 2, W = 3, HW = H * W;
  const coef = Array.from({ length: HW }, (_, i) => [280 + i, 10 - i, 3 + 0.5 * i, -2 + i, 0.7 * i]);
  const times = Array.from({ length: T }, (_, t) => t + 0.5);
  const time = coord('time', times, { axis: 'T', units: 'days since 2001-01-01', calendar: 'noleap' });
  const positions = sourceMonths(memorySource({ variables: new Map([['x', { name: 'x', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: new Float32Array(T * HW), mask: null, attrs: {} }]]),
    coords: new Map([['time', time], ['lat', coord('lat', [-30, 30])], ['lon', coord('lon', [0, 120, 240])]]), attrs: {} }, ['x']));
  const data = new Float32Array(T * HW), mask = new Uint8Array(T * HW);
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  for (let t = 0; t < T; t++) {
    const phi = (2 * Math.PI * positions[t]!) / 12;
    for (let i = 0; i < HW; i++) {
      const [a0, a1, b1, a2, b2] = coef[i]!;
      data[t * HW + i] = a0! + a1! * Math.cos(phi) + b1! * Math.sin(phi) + a2! * Math.cos(2 * phi) + b2! * Math.sin(2 * phi) + 0.5 * Math.sqrt(12) * rnd();
      // cell 5 is missing outside March (one month sampled: its mean alone)
      if (i === 5 && Math.floor(positions[t]!) !== 2) { mask[t * HW + i] = 1; data[t * HW + i] = NaN; }
    }
  }
  const ds: ClimateDataset = { variables: new Map([['x', { name: 'x', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data, mask, units: 'K', attrs: {} }]]),
    coords: new Map([['time', time], ['lat', coord('lat', [-30, 30], { axis: 'Y', units: 'degrees_north' })], ['lon', coord('lon', [0, 120, 240], { axis: 'X', units: 'degrees_east' })]]), attrs: {} };
  const src = memorySource(ds, ['x']);
  const stats = await fitNormStats(src, { kind: 'seasonal', blockFrames: 100 });
  const ch = stats.channels[0]!;
  assert.equal(ch.kind, 'seasonal');
  assert.equal(ch.seasonal!.length, 5 * HW);
  for (let i = 0; i < 5; i++) for (let r = 0; r < 5; r++) {
    assert.ok(Math.abs(ch.seasonal![r * HW + i]! - coef[i]![r]!) < 0.06, `cell ${i} term ${r}: ${ch.seasonal![r * HW + i]} vs ${coef[i]![r]}`);
  }
  // the one-month cell: its March mean, no harmonics
  assert.deepEqual([1, 2, 3, 4].map((r) => ch.seasonal![r * HW + 5]), [0, 0, 0, 0]);
  // residual std: the noise (0.5) over the fitted cells, and the March cell's spread about its mean
  let n5 = 0, s5 = 0, ss5 = 0;
  for (let t = 0; t < T; t++) if (!mask[t * HW + 5]) { n5++; s5 += data[t * HW + 5]!; ss5 += data[t * HW + 5]! ** 2; }
  const pooled = Math.sqrt((5 * T * 0.25 + (ss5 - (s5 * s5) / n5)) / (5 * T + n5));
  assert.ok(Math.abs(ch.std - pooled) < 0.02, `std ${ch.std} vs ${pooled}`);
  // a monthly climatology keeps the within-month part of the cycle: larger anomalies
  const monthly = await fitNormStats(src, { kind: 'climatology' });
  assert.ok(monthly.channels[0]!.std > 1.2 * ch.std, `monthly ${monthly.channels[0]!.std} vs seasonal ${ch.std}`);
  const back = parseNormStats(normStatsToJSON(stats));
  assert.deepEqual(back, JSON.parse(JSON.stringify(stats)));
  const block = await src.read(0, T);
  const shape = { channels: 1, frames: T, height: H, width: W };
  const y = normalise(back, block.data, block.mask, shape, positions);
  const x = denormalise(back, y, block.mask, shape, positions);
  for (let k = 0; k < y.length; k++) {
    if (block.mask[k]) continue;
    assert.ok(Math.abs(x[k]! - block.data[k]!) <= 2 ** -22 * (Math.abs(block.data[k]!) + 400), `${x[k]} vs ${block.data[k]}`);
  }
  assert.throws(() => normalise(back, block.data, block.mask, shape, null), (e: unknown) => e instanceof DataError && /month index \(or position\)/.test(e.message));
  const broken = JSON.parse(normStatsToJSON(stats)) as { channels: { seasonal: number[] }[] };
  broken.channels[0]!.seasonal.pop();
  assert.throws(() => parseNormStats(broken), (e: unknown) => e instanceof DataError && /seasonal cycle of 'x' has 29 coefficients, expected 5 x 2 x 3/.test(e.message));
});

test('month positions: floor is the calendar month, the fraction runs through the month in each calendar', () => {
  const p = (year: number, month: number, day: number, hour = 0) => ({ year, month, day, hour, minute: 0, second: 0 });
  assert.equal(monthPosition(p(2001, 1, 1)), 0);
  assert.equal(monthPosition(p(2001, 2, 15, 12), 'noleap'), 1 + 14.5 / 28);
  assert.equal(monthPosition(p(2004, 2, 15, 12), 'standard'), 1 + 14.5 / 29);
  assert.equal(monthPosition(p(2001, 12, 31, 18), '360_day'), 11 + 30.75 / 30);
  assert.equal(Math.floor(monthPosition(p(2001, 12, 31, 18), 'noleap')), 11);
});

test('data normalisations: a smooth seasonal cycle leaves the noise; monthly means leave the within-month cycle and step at boundaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-norms-'));
  try {
    // 10 noleap years, 6-hourly, 2 x 2 cells: 10 K of annual cycle + N(0, 0.5^2)-like noise
    const T = 10 * 365 * 4, HW = 4;
    const data = new Float32Array(T * HW);
    let seed = 3;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
    for (let t = 0; t < T; t++) for (let i = 0; i < HW; i++) data[t * HW + i] = 280 + 10 * Math.cos((2 * Math.PI * t) / (365 * 4) + i) + 0.5 * Math.sqrt(12) * rnd();
    const ds: ClimateDataset = {
      variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, 2, 2], data, mask: null, units: 'K', attrs: {} }]]),
      coords: new Map([
        ['time', coord('time', Array.from({ length: T }, (_, t) => 6 * t), { axis: 'T', units: 'hours since 2001-01-01', calendar: 'noleap' })],
        ['lat', coord('lat', [-10, 10], { axis: 'Y', units: 'degrees_north' })], ['lon', coord('lon', [0, 180], { axis: 'X', units: 'degrees_east' })],
      ]),
      attrs: {},
    };
    await writeNetCDF(ds, join(dir, 'x.nc'));
    const rows = await compareNormalisations(join(dir, 'x.nc'), ['tas']);
    const by = Object.fromEntries(rows.map((r) => [r.kind, r]));
    assert.deepEqual(rows.map((r) => r.kind), ['per-variable', 'climatology', 'seasonal']);
    assert.equal(by['per-variable']!.share, 1);
    // the total variance is the cycle's (50) plus the noise's (0.25); the seasonal fit leaves the noise
    assert.ok(Math.abs(by['per-variable']!.anomalyMeanSquare - 50.25) < 1.5, `${by['per-variable']!.anomalyMeanSquare}`);
    assert.ok(Math.abs(by['seasonal']!.anomalyMeanSquare - 0.25) < 0.02, `${by['seasonal']!.anomalyMeanSquare}`);
    // monthly means leave the cycle within each month: (10 * 2 pi / 12)^2 / 12 / 2 = 1.14 on top of the noise
    assert.ok(by['climatology']!.anomalyMeanSquare > 1.2, `${by['climatology']!.anomalyMeanSquare}`);
    // one-frame change: the noise's 2 x 0.25 for the smooth normalisations; monthly anomalies add their steps
    assert.ok(Math.abs(by['seasonal']!.changeMeanSquare - 0.5) < 0.03 && Math.abs(by['per-variable']!.changeMeanSquare - 0.5) < 0.03);
    assert.ok(by['climatology']!.changeMeanSquare > by['seasonal']!.changeMeanSquare + 0.02, `${by['climatology']!.changeMeanSquare}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('cells never observed in the fitted frames are recorded, and generated fields keep them missing', async () => {
  const src = memorySource(makeDataset(24), ['tas', 'pr']);
  for (const kind of ['per-variable', 'climatology'] as const) {
    const stats = await fitNormStats(src, { kind });
    // tas is missing in column 0 of the 4 x 5 grid, pr nowhere
    assert.deepEqual(stats.channels[0]!.never, [0, 5, 10, 15]);
    assert.equal(stats.channels[1]!.never, undefined);
    // a generated (normalised) field without a mask: those cells come back NaN, every other cell finite
    const shape = { channels: 2, frames: 3, height: 4, width: 5 };
    const y = new Float32Array(2 * 3 * 20).map((_, k) => Math.sin(k));
    const x = denormalise(parseNormStats(normStatsToJSON(stats)), y, null, shape, [0, 1, 2]);
    for (let c = 0; c < 2; c++) for (let f = 0; f < 3; f++) for (let i = 0; i < 20; i++) {
      const v = x[(c * 3 + f) * 20 + i]!;
      assert.equal(Number.isNaN(v), c === 0 && i % 5 === 0, `channel ${c} frame ${f} cell ${i}: ${v}`);
    }
  }
  const bad = { ...(await fitNormStats(src, { kind: 'climatology' })) };
  bad.channels = [{ ...bad.channels[0]!, never: [20] }, bad.channels[1]!];
  assert.throws(() => parseNormStats(normStatsToJSON(bad)), /outside the 4 x 5 grid/);
});

test('splitDatasets fits statistics on training frames only; static fields from missing pattern and latitude', async () => {
  const src = memorySource(makeDataset(120), ['tas']);
  const r = await splitDatasets(src, { frames: 4, blocks: 2, normalisation: 'climatology' });
  const onTrain = await fitNormStats(src, { kind: 'climatology', ranges: r.split.train.ranges });
  const onAll = await fitNormStats(src, { kind: 'climatology' });
  assert.deepEqual(r.stats, onTrain);
  assert.notDeepEqual(r.stats, onAll);
  assert.equal(r.train.length, r.split.train.starts.length);
  assert.ok(r.validation.length > 0 && r.test.length > 0);
  const st = await staticFields(src, { orography: Float32Array.from({ length: 20 }, (_, i) => i * 10) });
  assert.deepEqual(st.names, ['land_sea_mask', 'sin_lat', 'cos_lat', 'orography']);
  for (let i = 0; i < 20; i++) assert.equal(st.data[i], i % 5 === 0 ? 1 : 0);
  assert.ok(Math.abs(st.data[20]! - Math.sin((-60 * Math.PI) / 180)) < 1e-6);
  assert.ok(Math.abs(st.data[40 + 19]! - Math.cos((60 * Math.PI) / 180)) < 1e-6);
  // orography standardised; found in a dataset by standard_name
  let s1 = 0, s2 = 0;
  for (let i = 60; i < 80; i++) { s1 += st.data[i]!; s2 += st.data[i]! ** 2; }
  assert.ok(Math.abs(s1 / 20) < 1e-6 && Math.abs(s2 / 20 - 1) < 1e-5);
  const withOrog = makeDataset(2);
  assert.equal(findOrography(withOrog, 4, 5), null);
  const h = Float32Array.from({ length: 20 }, (_, i) => i);
  withOrog.variables.set('zs', { name: 'zs', dims: ['lat', 'lon'], shape: [4, 5], data: h, mask: null, units: 'm', attrs: { standard_name: 'surface_altitude' } });
  assert.equal(findOrography(withOrog, 4, 5), h);
});

test('time coordinates decode to calendar months in standard, noleap and 360_day calendars', () => {
  const std = decodeTimeParts(coord('time', [0, 31, 59, 60.5], { units: 'days since 2000-01-01', calendar: 'standard' }));
  assert.deepEqual(std.map((p) => p.month), [1, 2, 2, 3]); // 2000 is a leap year: day 59 is 29 February
  assert.equal(formatTimeParts(std[3]!), '2000-03-01 12:00');
  const noleap = monthIndices(coord('time', [59], { units: 'days since 2000-01-01', calendar: 'noleap' }));
  assert.deepEqual([...noleap], [2]);
  const hours = decodeTimeParts(coord('time', [24 * 360], { units: 'hours since 1850-01-01 00:00:00', calendar: '360_day' }));
  assert.deepEqual([hours[0]!.year, hours[0]!.month, hours[0]!.day], [1851, 1, 1]);
  assert.throws(() => monthIndices(coord('time', [0], { units: 'fortnights' })), DataError);
});

test('streaming from a Zarr store: openClipSource reads only the frames asked and matches the in-memory source', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeZarr } = await import('../src/data/writers/zarr.js');
  const { openClipSource } = await import('../src/data/file-source.js');
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-clips-'));
  try {
    const ds = makeDataset(24);
    await writeZarr(ds, join(dir, 'x.zarr'), { chunkTime: 4 });
    const file = await openClipSource(join(dir, 'x.zarr'), ['tas', 'pr']);
    const mem = memorySource(ds, ['tas', 'pr']);
    assert.deepEqual([file.timeSteps, file.height, file.width], [24, 4, 5]);
    assert.deepEqual(file.channels.map((c) => c.units), ['K', 'mm/day']);
    const a = await file.read(5, 13), b = await mem.read(5, 13);
    assert.deepEqual([...a.mask], [...b.mask]);
    assert.deepEqual([...a.data].map((v) => (Number.isNaN(v) ? 'nan' : v)), [...b.data].map((v) => (Number.isNaN(v) ? 'nan' : v)));
    const stats = await fitNormStats(mem, { kind: 'climatology' });
    assert.deepEqual(await fitNormStats(file, { kind: 'climatology', blockFrames: 4 }), stats);
    const c1 = await new ClipDataset(file, { frames: 3, frameStride: 2, stats }).clip(4);
    const c2 = await new ClipDataset(mem, { frames: 3, frameStride: 2, stats }).clip(4);
    assert.deepEqual([...c1.data], [...c2.data]);
    await assert.rejects(openClipSource(join(dir, 'x.zarr'), ['nope']), (e: unknown) => e instanceof DataError && e.kind === 'unknown-variable');
    file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('toPhysical returns batches to physical units (climatology needs the frame indices); stats files round-trip', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeNormStats, readNormStats } = await import('../src/data/normalise.js');
  const ds = makeDataset(30);
  const src = memorySource(ds, ['tas', 'pr']);
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-stats-'));
  try {
    for (const kind of ['per-variable', 'climatology'] as const) {
      const stats = await fitNormStats(src, { kind });
      const file = join(dir, `${kind}.json`);
      writeNormStats(file, stats);
      assert.throws(() => writeNormStats(file, stats), (e: unknown) => e instanceof DataError && e.kind === 'output-exists');
      const back = readNormStats(file);
      assert.deepEqual(back, JSON.parse(JSON.stringify(stats)));
      const d = new ClipDataset(src, { frames: 3, frameStride: 2, stats: back });
      for await (const batch of d.batches({ batchSize: 4, seed: 1 })) {
        const phys = d.toPhysical(batch.x, batch.frameIndices, batch.mask).toFloat32Array();
        const [B, C, F] = [batch.indices.length, 2, 3];
        for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) for (let i = 0; i < 20; i++) {
          const t = batch.frameIndices[b * F + f]!;
          const want = ds.variables.get(c === 0 ? 'tas' : 'pr')!.data[t * 20 + i]!;
          const got = phys[(((b * C + c) * F + f) * 20) + i]!;
          if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
          else assert.ok(Math.abs(got - want) <= 2 ** -22 * (Math.abs(want) + 400), `${kind}: ${got} vs ${want}`);
        }
        if (kind === 'climatology') assert.throws(() => d.toPhysical(batch.x), (e: unknown) => e instanceof DataError && e.kind === 'bad-months');
        break;
      }
    }
    assert.throws(() => readNormStats(join(dir, 'none.json')), (e: unknown) => e instanceof DataError && e.kind === 'missing-file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
