// Selection on streaming sources (data/select-source.ts, level values in data/file-source.ts): a box across the
// 0-meridian seam in column order, area-weighted coarsening computed by hand, dates, seasons and every n-th step with
// the breaks they make, the static-field plane selected alike, a level by its value, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memorySource } from '../src/data/clip-source.js';
import { selectSource } from '../src/data/select-source.js';
import { openClipSource } from '../src/data/file-source.js';
import { writeDataset } from '../src/data/writers/dataset.js';
import type { ClimateDataset } from '../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'climadiff-select-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// 2 years of monthly steps (noleap), 4 latitudes x 12 longitudes (0, 30, ..., 330); value = 1000 t + 100 y + x
const T = 24, H = 4, W = 12;
const LAT = [-45, -15, 15, 45], LON = Array.from({ length: W }, (_, i) => i * 30);
const value = (t: number, y: number, x: number) => 1000 * t + 100 * y + x;
const data = Float32Array.from({ length: T * H * W }, (_, i) => value(Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W));
const mask = new Uint8Array(T * H * W);
mask[(5 * H + 1) * W + 2] = 1; // one missing cell: t = 5, y = 1, x = 2
data[(5 * H + 1) * W + 2] = NaN;
const ds: ClimateDataset = {
  variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data, mask, units: 'K', attrs: {} }]]),
  coords: new Map([
    ['time', { name: 'time', axis: 'T' as const, units: 'days since 2001-01-01', calendar: 'noleap', attrs: {},
      values: Float64Array.from({ length: T }, (_, t) => 365 * Math.floor(t / 12) + [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][t % 12]!) }],
    ['lat', { name: 'lat', axis: 'Y' as const, units: 'degrees_north', values: Float64Array.from(LAT), attrs: {} }],
    ['lon', { name: 'lon', axis: 'X' as const, units: 'degrees_east', values: Float64Array.from(LON), attrs: {} }],
  ]),
  attrs: {},
};
const src = memorySource(ds, ['tas']);

test('a box across the seam: columns in order east from lon0, increasing longitudes; reads match by hand', async () => {
  const s = selectSource(src, { lat: [-20, 50], lon: [300, 30] });
  assert.deepEqual([s.height, s.width, s.timeSteps], [3, 4, T]);
  assert.deepEqual(Array.from(s.lat!.values), [-15, 15, 45]);
  assert.deepEqual(Array.from(s.lon!.values), [300, 330, 360, 390]);
  const b = await s.read(3, 5);
  // frame t = 4 (second of the block), row 0 (lat -15 = y 1), column 2 (lon 0 = x 0)
  assert.equal(b.data[(1 * 3 + 0) * 4 + 2], value(4, 1, 0));
  assert.equal(b.data[(0 * 3 + 2) * 4 + 1], value(3, 3, 11));
  // the whole circle from -180: columns start at 180
  const circle = selectSource(src, { lon: [-180, 180] });
  assert.deepEqual(Array.from(circle.lon!.values), [-180, -150, -120, -90, -60, -30, 0, 30, 60, 90, 120, 150]);
  // a central crop of 2 x 8 cells
  const crop = selectSource(src, { crop: [2, 8] });
  assert.deepEqual([Array.from(crop.lat!.values), Array.from(crop.lon!.values)], [[-15, 15], [60, 90, 120, 150, 180, 210, 240, 270]]);
  assert.throws(() => selectSource(src, { crop: [5, 8] }), /cannot crop a 4 x 12 grid to 5 x 8/);
  // the same box given in the -180..180 convention
  const s2 = selectSource(src, { lat: [-20, 50], lon: [-60, 30] });
  assert.deepEqual((await s2.read(3, 5)).data, b.data);
});

test('coarsening: cos(latitude)-weighted block means without the missing cell; coordinates are block means', async () => {
  const s = selectSource(src, { coarsen: 2 });
  assert.deepEqual([s.height, s.width], [2, 6]);
  assert.deepEqual(Array.from(s.lat!.values), [-30, 30]);
  assert.deepEqual(Array.from(s.lon!.values).slice(0, 2), [15, 75]);
  const f = await s.read(5, 6);
  // block (0, 1): rows y = 0, 1 (lat -45, -15), columns x = 2, 3; (y 1, x 2) is missing at t = 5
  const w = [Math.cos((45 * Math.PI) / 180), Math.cos((15 * Math.PI) / 180)];
  const expect = (w[0]! * (value(5, 0, 2) + value(5, 0, 3)) + w[1]! * value(5, 1, 3)) / (2 * w[0]! + w[1]!);
  assert.ok(Math.abs(f.data[1]! - expect) < 1e-2, `${f.data[1]} vs ${expect}`);
  // the static plane goes through the same selection
  const plane = Float32Array.from({ length: H * W }, (_, i) => (i % W < 6 ? 1 : 0));
  assert.deepEqual(Array.from(s.selectPlane(plane)), [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
});

test('dates, seasons and every n-th step: the steps kept and the breaks between them', async () => {
  const winter = selectSource(src, { months: [12, 1, 2] });
  // Jan, Feb, Dec of 2001 and Jan, Feb, Dec of 2002: Feb -> Dec jumps, Dec -> Jan does not
  assert.equal(winter.timeSteps, 6);
  assert.deepEqual(winter.breaks, [2, 5]);
  assert.deepEqual(Array.from(winter.time!.values), [0, 31, 334, 365, 396, 699]);
  const r = await winter.read(1, 4); // Feb 2001, Dec 2001, Jan 2002: read as two runs
  assert.deepEqual([r.data[0], r.data[H * W], r.data[2 * H * W]], [value(1, 0, 0), value(11, 0, 0), value(12, 0, 0)]);
  const range = selectSource(src, { time: ['2001-03', '2002-02'], every: 2 });
  assert.deepEqual(Array.from(range.time!.values), [59, 120, 181, 243, 304, 365]);
  assert.equal(range.breaks, undefined, 'regularly every second step: no break');
  assert.throws(() => selectSource(src, { time: ['2010', null] }), /no time step between 2010 and -/);
  assert.throws(() => selectSource(src, { lat: [60, 80] }), /no latitude in \[60, 80\]/);
  assert.throws(() => selectSource(src, { coarsen: 5 }), /coarsening by 5 leaves nothing of a 4 x 12 grid/);
});

test('a level by its coordinate value', async () => {
  const L = [1000, 850, 500];
  const n = 3 * L.length * H * W;
  const lv: ClimateDataset = {
    variables: new Map([['ta', { name: 'ta', dims: ['time', 'plev', 'lat', 'lon'], shape: [3, L.length, H, W], units: 'K', attrs: {}, mask: null,
      data: Float32Array.from({ length: n }, (_, i) => Math.floor(i / (H * W)) % L.length) }]]),
    coords: new Map([
      ['time', { name: 'time', axis: 'T' as const, units: 'days since 2001-01-01', calendar: 'noleap', values: Float64Array.of(0, 1, 2), attrs: {} }],
      ['plev', { name: 'plev', axis: 'Z' as const, units: 'hPa', values: Float64Array.from(L), attrs: { positive: 'down' } }],
      ['lat', ds.coords.get('lat')!], ['lon', ds.coords.get('lon')!],
    ]),
    attrs: {},
  };
  const file = join(dir, 'levels.nc');
  await writeDataset(lv, file);
  const s = await openClipSource(file, ['ta'], { levelValue: 500 });
  assert.ok((await s.read(0, 3)).data.every((v) => v === 2));
  s.close();
  await assert.rejects(openClipSource(file, ['ta'], { levelValue: 700 }), /has no level 700 along 'plev'; the levels are 1000, 850, 500/);
  await assert.rejects(openClipSource(file, ['ta']), /has 3 levels along 'plev' \(1000, 850, 500\); choose one with --level VALUE/);
});
