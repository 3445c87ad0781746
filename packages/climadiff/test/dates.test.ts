// Date conditioning (src/data/dates.ts, time-parts.ts) and per-channel normalisation (normalise.ts v2): hand-computed
// positions in the year in every CF calendar, encode/decode round trips, date parsing errors, features of a batch,
// the sqrt transform's exact inverse with clamping counts, the learned transform's scale-only statistics, version 1
// statistics still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import { yearFraction, encodeTimeParts, decodeTimeParts, parseDate } from '../src/data/time-parts.js';
import { autoDateFeatures, dateFeatures, timeFeatures } from '../src/data/dates.js';
import { denormalise, fitNormStats, normalise, parseNormStats, isPrecipitationLike, type ClampCounts } from '../src/data/normalise.js';
import { memorySource, ClipDataset, DataError, type ClimateDataset, type Coordinate } from '../src/data/index.js';

const P = (year: number, month: number, day: number, hour = 0) => ({ year, month, day, hour, minute: 0, second: 0 });

test('yearFraction: day of year and time of day over the year length of each calendar', () => {
  assert.equal(yearFraction(P(2001, 1, 1), 'noleap'), 0);
  // 2 July in a 365-day year: 181 days of January..June, +1 day, +12 h
  assert.equal(yearFraction(P(2001, 7, 2, 12), 'noleap'), 182.5 / 365);
  assert.equal(yearFraction(P(2000, 12, 31, 18), 'standard'), 365.75 / 366, 'leap year of the standard calendar');
  assert.equal(yearFraction(P(2001, 12, 31, 18), 'gregorian'), 364.75 / 365);
  assert.equal(yearFraction(P(2001, 3, 1), '360_day'), 60 / 360);
  assert.equal(yearFraction(P(2001, 3, 1), 'all_leap'), 60 / 366);
});

test('encodeTimeParts inverts decodeTimeParts in every calendar; parseDate checks the calendar', () => {
  for (const calendar of ['noleap', 'standard', '360_day', 'all_leap']) {
    const coord = { units: 'hours since 1999-12-01 06:00:00', calendar, attrs: {} };
    for (const p of [P(2000, 2, 28, 18), P(2000, 12, 30), P(2003, 7, 15, 6), P(1999, 12, 1, 6)]) {
      const v = encodeTimeParts(p, coord);
      assert.deepEqual(decodeTimeParts({ ...coord, values: Float64Array.of(v) })[0], p, `${calendar} ${JSON.stringify(p)}`);
    }
  }
  assert.equal(encodeTimeParts(P(2000, 1, 2, 6), { units: 'days since 2000-01-01', calendar: 'noleap', attrs: {} }), 1.25);
  assert.deepEqual(parseDate('2001-07-02 12:30', 'noleap'), { year: 2001, month: 7, day: 2, hour: 12, minute: 30, second: 0 });
  assert.throws(() => parseDate('2001-02-29', 'noleap'), (e: unknown) => e instanceof DataError && /not a valid date in the noleap/.test((e as Error).message));
  assert.deepEqual(parseDate('2000-02-29', 'standard').day, 29);
  assert.deepEqual(parseDate('2001-02-30', '360_day').day, 30);
  assert.throws(() => parseDate('July 2001'), /YYYY-MM-DD/);
  assert.throws(() => encodeTimeParts(P(2000, 1, 1), { units: 'months since 2000-01-01', attrs: {} }), /cannot be encoded/);
});

test('date features: sin/cos of the year and day positions; the default kind follows the time step; a batch carries its first frame\'s features', async () => {
  const f = dateFeatures(P(2001, 7, 2, 12), 'year+day', 'noleap');
  const phi = 2 * Math.PI * 182.5 / 365;
  const want = [Math.sin(phi), Math.cos(phi), Math.sin(Math.PI), Math.cos(Math.PI)];
  f.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `feature ${i}: ${v} vs ${want[i]}`));
  assert.deepEqual(dateFeatures(P(2001, 1, 1), 'year', 'noleap'), [0, 1]);
  // continuous across the new year: 31 Dec 18:00 is close to 1 Jan 00:00
  const a = dateFeatures(P(2001, 12, 31, 18), 'year', 'noleap'), b = dateFeatures(P(2002, 1, 1), 'year', 'noleap');
  assert.ok(Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!) < 2 * Math.PI * 0.25 / 365 + 1e-12);
  const time = (step: number, n = 40): Coordinate => ({ name: 'time', values: Float64Array.from({ length: n }, (_, i) => i * step), units: 'hours since 2000-01-01', calendar: 'noleap', axis: 'T', attrs: {} });
  assert.equal(autoDateFeatures(time(6)), 'year+day');
  assert.equal(autoDateFeatures(time(24)), 'year');
  assert.equal(autoDateFeatures(undefined), 'none');
  assert.equal(autoDateFeatures({ ...time(6), units: 'furlongs' }), 'none');
  // a dataset's batches: date [B, 4] = features of each clip's first frame
  const T = 40, H = 2, W = 3;
  const ds: ClimateDataset = {
    variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: Float32Array.from({ length: T * H * W }, (_, i) => 280 + (i % 7)), mask: null, units: 'K', attrs: {} }]]),
    coords: new Map([['time', time(6, T)]]), attrs: {},
  };
  const src = memorySource(ds, ['tas']);
  const stats = await fitNormStats(src, { kind: 'per-variable' });
  const d = new ClipDataset(src, { frames: 4, stats, dateFeatures: 'year+day', starts: Int32Array.of(0, 5, 13) });
  const table = timeFeatures(time(6, T), 'year+day');
  for await (const batch of d.batches({ batchSize: 3, shuffle: false })) {
    assert.deepEqual(batch.date!.shape, [3, 4]);
    const got = batch.date!.toFloat32Array();
    for (let b = 0; b < 3; b++) assert.deepEqual(Array.from(got.subarray(b * 4, b * 4 + 4)), Array.from(table.subarray(batch.starts[b]! * 4, batch.starts[b]! * 4 + 4)));
  }
  torch.scope(() => undefined);
  const noTime = memorySource({ ...ds, coords: new Map() }, ['tas']);
  assert.throws(() => new ClipDataset(noTime, { frames: 4, stats, dateFeatures: 'year' }), /need a time coordinate/);
});

test('normalisation v2: sqrt transform inverts exactly and clamps negative roots; learned keeps the origin; mixed kinds; version 1 still read', async () => {
  const T = 24, H = 2, W = 2;
  const rain = Float32Array.from({ length: T * H * W }, (_, i) => (i % 5 === 0 ? 0 : ((i * 37) % 11) ** 2 / 10));
  const temp = Float32Array.from({ length: T * H * W }, (_, i) => 270 + (i % 9));
  const ds: ClimateDataset = {
    variables: new Map([
      ['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: temp, mask: null, units: 'K', attrs: {} as Record<string, string> }],
      ['pr', { name: 'pr', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: rain, mask: null, units: 'mm h-1', attrs: { standard_name: 'lwe_precipitation_rate' } }],
    ]),
    coords: new Map([['time', { name: 'time', values: Float64Array.from({ length: T }, (_, i) => i * 24 * 20), units: 'hours since 2000-01-01', calendar: 'noleap', axis: 'T', attrs: {} }]]),
    attrs: {},
  };
  const src = memorySource(ds, ['tas', 'pr']);
  const months = Array.from({ length: T }, (_, t) => Math.floor((t * 20) / 30.5) % 12);
  for (const transform of ['sqrt', 'learned'] as const) {
    // sqrt: as asked (per-variable here); learned: always per-variable, even when asked for climatology
    const stats = await fitNormStats(src, { kind: 'climatology', channels: { pr: { transform, kind: transform === 'sqrt' ? 'per-variable' : 'climatology' } } });
    assert.equal(stats.channels[0]!.kind, 'climatology');
    assert.equal(stats.channels[1]!.kind, 'per-variable');
    assert.equal(stats.channels[1]!.min, 0);
    assert.equal(stats.channels[1]!.max, Math.max(...rain));
    const block = await src.read(0, T);
    const shape = { channels: 2, frames: T, height: H, width: W };
    const frameMonths = months;
    const y = normalise(stats, block.data, null, shape, frameMonths);
    const counts: ClampCounts = { below: [], total: [] };
    const back = denormalise(stats, y, null, shape, frameMonths, counts);
    for (let k = 0; k < back.length; k++) assert.ok(Math.abs(back[k]! - block.data[k]!) <= 1e-5 * (1 + Math.abs(block.data[k]!)), `${transform} ${k}: ${back[k]} vs ${block.data[k]}`);
    assert.deepEqual(counts.below, [0, 0]);
    if (transform === 'learned') {
      assert.equal(stats.channels[1]!.mean, 0);
      // u = x / std: zero rain stays exactly zero
      for (let k = T * H * W; k < y.length; k++) if (block.data[k] === 0) assert.equal(y[k], 0);
    } else {
      const m = stats.channels[1]!.mean, s = stats.channels[1]!.std;
      assert.ok(Math.abs(y[T * H * W + 1]! - (Math.sqrt(rain[1]!) - m) / s) < 1e-6);
      // values whose root would be negative come back as 0 mm/h and are counted
      const neg = y.slice();
      neg[T * H * W] = (-1 - m) / s; neg[T * H * W + 1] = (-0.5 - m) / s;
      const c2: ClampCounts = { below: [], total: [] };
      const out = denormalise(stats, neg, null, shape, frameMonths, c2);
      assert.equal(out[T * H * W], 0);
      assert.equal(out[T * H * W + 1], 0);
      assert.deepEqual(c2.below, [0, 2]);
      assert.deepEqual(c2.total, [T * H * W, T * H * W]);
    }
  }
  await assert.rejects(fitNormStats(src, { kind: 'per-variable', channels: { nope: { transform: 'sqrt' } } }), /not a channel/);
  const v1 = parseNormStats('{"kind":"per-variable","version":1,"channels":[{"name":"x","mean":2,"std":3}]}');
  assert.deepEqual(v1.channels[0], { name: 'x', mean: 2, std: 3, kind: 'per-variable', transform: 'none', min: null });
  assert.throws(() => parseNormStats({ version: 2, height: 1, width: 1, channels: [{ name: 'p', kind: 'climatology', transform: 'learned', mean: 0, std: 1, min: 0, climatology: new Array(12).fill(0) }] }),
    /learned transform needs kind per-variable/);
  assert.ok(isPrecipitationLike('pr') && isPrecipitationLike('rain_rate', 'kg m-2 s-1') && isPrecipitationLike('x', undefined, 'precipitation_flux'));
  assert.ok(!isPrecipitationLike('tas', 'K') && !isPrecipitationLike('prw', 'kg m-2'));
});
