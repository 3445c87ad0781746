// Splits by date (whole years, every n-th season as the seed held out), without validation, and around missing time
// steps (data/split.ts): hand-worked label runs and gaps, the season arithmetic (December with the next January),
// the specs the CLI takes, and a simulated dataset split by seasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calendarLabels, parseSplitSpec, splitByLabels, splitByTimeBlocks } from '../src/data/split.js';
import { splitDatasets } from '../src/data/dataset.js';
import { memorySource } from '../src/data/clip-source.js';
import type { ClimateDataset } from '../src/data/types.js';
import { decodeTimeParts } from '../src/data/time-parts.js';

test('breaks: no clip spans a frame that does not follow its predecessor; without breaks nothing changes', () => {
  const plain = splitByTimeBlocks({ timeSteps: 100, clipFrames: 4 });
  const cut = splitByTimeBlocks({ timeSteps: 100, clipFrames: 4, breaks: [30, 50] });
  assert.deepEqual(splitByTimeBlocks({ timeSteps: 100, clipFrames: 4, breaks: [] }), plain);
  const spans = (c: number) => [30, 50].some((b) => c < b && b < c + 4);
  assert.ok(plain.train.starts.some((c) => spans(c)));
  assert.ok(!Array.from(cut.train.starts).some((c) => spans(c)));
  // every other clip is kept: starts 27, 28, 29 are lost before the break at 30 (27 + 4 = 31 > 30), 30 is allowed
  assert.deepEqual(Array.from(cut.train.starts).filter((c) => c >= 25 && c <= 31), [25, 26, 30, 31]);
});

test('splitByLabels by hand: runs, gaps after a change of split, optional splits', () => {
  const T = 't', V = 'v', X = 'x';
  const text = 'tttttvvvvvtttttxxxxxx';
  const labels = [...text].map((c) => (c === T ? 'train' : c === V ? 'validation' : c === X ? 'test' : null) as 'train' | 'validation' | 'test' | null);
  const s = splitByLabels({ labels, clipFrames: 2, gap: 2 });
  // train 0-4; validation 5-9 less 2 frames after train: 7-9; train 10-14 less 2: 12-14; test 15-20 less 2: 17-20
  assert.deepEqual(s.train.ranges, [[0, 5], [12, 15]]);
  assert.deepEqual(s.validation.ranges, [[7, 10]]);
  assert.deepEqual(s.test.ranges, [[17, 21]]);
  assert.deepEqual(Array.from(s.train.starts), [0, 1, 2, 3, 12, 13]);
  assert.deepEqual(Array.from(s.test.starts), [17, 18, 19]);
  // no validation labels: an error unless validation is optional
  const noVal = labels.map((l) => (l === 'validation' ? null : l));
  assert.throws(() => splitByLabels({ labels: noVal, clipFrames: 2 }), /the validation split gets no clip of 2 frames \(0 frame\(s\) labelled validation/);
  assert.equal(splitByLabels({ labels: noVal, clipFrames: 2, optional: ['validation'] }).validation.starts.length, 0);
  // a break inside a run
  const b = splitByLabels({ labels, clipFrames: 2, gap: 2, breaks: [2] });
  assert.deepEqual(Array.from(b.train.starts), [0, 2, 3, 12, 13]);
});

test('calendar labels: years held out; seasons with December counted in the next winter', () => {
  const dates = [2000, 2001, 2002].flatMap((year) => Array.from({ length: 12 }, (_, m) => ({ year, month: m + 1 })));
  const y = calendarLabels(dates, { kind: 'years', validation: [2001], test: [2002] });
  assert.deepEqual([y[0], y[12], y[24]], ['train', 'validation', 'test']);
  assert.equal(calendarLabels(dates, { kind: 'years', validation: [2001], test: [2002] }, { validation: false })[12], null);
  assert.throws(() => calendarLabels(dates, { kind: 'years', validation: [2001], test: [2001] }), /2001 cannot be both validation and test/);
  assert.throws(() => calendarLabels(dates, { kind: 'years', validation: [], test: [1999] }), /held-out year 1999 is not in the data \(2000-2002\)/);
  // seasons from Jan 2000 (DJF 2000 = season 0): JF 2000 -> 0, MAM -> 1, JJA -> 2 (validation), SON -> 3,
  // D 2000 + JF 2001 -> 4 (test), MAM 2001 -> 5 = 0 mod 5 (train), ...
  const s = calendarLabels(dates, { kind: 'seasons', every: 5 });
  const byMonth = (yr: number, m: number) => s[(yr - 2000) * 12 + m - 1];
  assert.deepEqual([byMonth(2000, 1), byMonth(2000, 4), byMonth(2000, 7), byMonth(2000, 10)], ['train', 'train', 'validation', 'train']);
  assert.deepEqual([byMonth(2000, 12), byMonth(2001, 1), byMonth(2001, 2), byMonth(2001, 3)], ['test', 'test', 'test', 'train']);
  assert.equal(s.filter((l) => l === 'test').length, 6, 'two test seasons of three months in three years');
  assert.throws(() => calendarLabels(dates, { kind: 'seasons', every: 2 }), /every must be an integer >= 3/);
});

test('split specs: blocks, years, seasons; bad ones named', () => {
  assert.deepEqual(parseSplitSpec('blocks'), {});
  assert.deepEqual(parseSplitSpec('blocks:4'), { blocks: 4 });
  assert.deepEqual(parseSplitSpec('years:2008:2009,2010'), { calendar: { kind: 'years', validation: [2008], test: [2009, 2010] } });
  assert.deepEqual(parseSplitSpec('years::2009'), { calendar: { kind: 'years', validation: [], test: [2009] } });
  assert.deepEqual(parseSplitSpec('seasons:5'), { calendar: { kind: 'seasons', every: 5 } });
  assert.throws(() => parseSplitSpec('random'), /unknown split 'random' \(valid: blocks, blocks:N, years:VALIDATION:TEST/);
  assert.throws(() => parseSplitSpec('blocks:0'), /blocks:N needs an integer N >= 1/);
  assert.throws(() => parseSplitSpec('years:2008:'), /at least one test year/);
  assert.throws(() => parseSplitSpec('years:x:2009'), /validation years must be integers/);
});

test('a year of daily data split by seasons (every 5th test), and without validation', async () => {
  // 365 daily steps of the noleap calendar on a 4 x 8 grid (values do not matter to the split)
  const T = 365, H = 4, W = 8;
  const ds: ClimateDataset = {
    variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: Float32Array.from({ length: T * H * W }, (_, i) => 280 + Math.sin(i)), mask: null, units: 'K', attrs: {} }]]),
    coords: new Map([
      ['time', { name: 'time', axis: 'T' as const, units: 'days since 2001-01-01', calendar: 'noleap', values: Float64Array.from({ length: T }, (_, i) => i), attrs: {} }],
      ['lat', { name: 'lat', axis: 'Y' as const, units: 'degrees_north', values: Float64Array.of(-60, -20, 20, 60), attrs: {} }],
      ['lon', { name: 'lon', axis: 'X' as const, units: 'degrees_east', values: Float64Array.from({ length: W }, (_, i) => i * 45), attrs: {} }],
    ]),
    attrs: {},
  };
  const source = memorySource(ds, ['tas']);
  const dates = decodeTimeParts(source.time!);
  const r = await splitDatasets(source, { frames: 4, calendar: { kind: 'seasons', every: 5 } });
  const labels = calendarLabels(dates, { kind: 'seasons', every: 5 });
  for (const [name, part] of [['train', r.train], ['validation', r.validation], ['test', r.test]] as const) {
    assert.ok(part.starts.length > 0, name);
    for (const c of part.starts) for (let f = 0; f < 4; f++) assert.equal(labels[c + f], name, `${name} clip at ${c}`);
  }
  const none = await splitDatasets(source, { frames: 4, calendar: { kind: 'seasons', every: 5 }, validation: false });
  assert.equal(none.validation.starts.length, 0);
  assert.ok(none.train.starts.length > r.train.starts.length, 'the validation season is not used for training either');
  const blocks = await splitDatasets(source, { frames: 4, validation: false });
  assert.equal(blocks.validation.starts.length, 0);
  assert.deepEqual(blocks.split.validation.ranges, []);
});
