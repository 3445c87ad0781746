// Selection (dates, boxes, levels), mask-aware coarsening, longitude conventions, time decoding and CF helpers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClimateDataset } from '../src/data/types.js';
import { decodeTime, decodeValues, openDataset, selectDataset, toChannels, axisOf, decodeTimeCoordinate, parseDateBound, timeKey } from '../src/data/readers/index.js';
import { useSamplesAndTmp, sample, expectDataError, v, coordValues } from './readers-fixture.js';

useSamplesAndTmp();

describe('selection and coarsening', () => {
  test('time range by dates, lat/lon box', async () => {
    const ds = await openDataset(sample('hgt.nc'), { time: ['1959', '1960-02'], lat: [30, 60], lon: [-20, 40] });
    const times = decodeTimeCoordinate(ds.coords.get('time')!)!.map((t) => t.iso.slice(0, 7));
    assert.deepEqual(times, ['1959-02', '1960-02']);
    assert.deepEqual(coordValues(ds, 'lat'), Array.from({ length: 13 }, (_, i) => 30 + 2.5 * i));
    const lon = coordValues(ds, 'lon');
    assert.equal(lon[0], -20);
    assert.equal(lon[lon.length - 1], 40);
    const full = await openDataset(sample('hgt.nc'), { normalise: false });
    // hgt at (1959-02, lat 30, lon -20) = original (time 2, lat index 48, lon index 136 (340°)).
    const h = v(ds, 'HGT');
    assert.equal(h.data[0], v(full, 'HGT').data[(2 * 73 + 48) * 144 + 136]);
  });

  test('block mean equals a hand computation (tas, 2x3 blocks)', async () => {
    const fine = await openDataset(sample('tas_rectilinear_grid_2D.nc'), { time: ['2005-07', '2005-07'] });
    const coarse = await openDataset(sample('tas_rectilinear_grid_2D.nc'), { time: ['2005-07', '2005-07'], coarsen: [2, 3] });
    const f = v(fine, 'tas'); const c = v(coarse, 'tas');
    assert.deepEqual(c.shape, [1, 48, 64]);
    for (const [by, bx] of [[0, 0], [10, 20], [47, 63]] as const) {
      let s = 0;
      for (let y = 2 * by; y < 2 * by + 2; y++) for (let x = 3 * bx; x < 3 * bx + 3; x++) s += f.data[y * 192 + x]!;
      assert.ok(Math.abs(c.data[by * 64 + bx]! - s / 6) < 1e-3, `block (${by}, ${bx})`);
    }
    const lat = coordValues(fine, 'lat');
    assert.ok(Math.abs(coordValues(coarse, 'lat')[0]! - (lat[0]! + lat[1]!) / 2) < 1e-9);
  });

  test('mask-aware block mean: mean of observed cells, missing only when none observed', () => {
    const mask = Uint8Array.from([0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    const data = Float32Array.from([1, NaN, 3, 4, NaN, NaN, 7, 8, NaN, NaN, 11, 12, NaN, NaN, 15, 16]);
    const ds: ClimateDataset = {
      variables: new Map([['x', { name: 'x', dims: ['lat', 'lon'], shape: [4, 4], data, mask, attrs: {} }]]),
      coords: new Map([
        ['lat', { name: 'lat', axis: 'Y' as const, values: Float64Array.from([0, 1, 2, 3]), attrs: {} }],
        ['lon', { name: 'lon', axis: 'X' as const, values: Float64Array.from([0, 1, 2, 3]), attrs: {} }],
      ]),
      attrs: {},
    };
    const out = v(selectDataset(ds, { coarsen: 2 }), 'x');
    assert.deepEqual(out.shape, [2, 2]);
    // Blocks: [1, _, _, _] → 1; [3, 4, 7, 8] → 5.5; all missing → missing; [11, 12, 15, 16] → 13.5.
    assert.equal(out.data[0], 1);
    assert.equal(out.data[1], 5.5);
    assert.ok(Number.isNaN(out.data[2]!));
    assert.equal(out.data[3], 13.5);
    assert.deepEqual(Array.from(out.mask!), [0, 0, 1, 0]);
  });

  test('mask-aware coarsening on real land-masked SST', async () => {
    const fine = v(await openDataset(sample('sstanom.robinsonproj.nc')), 'SST');
    const coarse = v(await openDataset(sample('sstanom.robinsonproj.nc'), { coarsen: 5 }), 'SST');
    assert.deepEqual(coarse.shape, [79, 64]);
    let mixed = 0;
    for (let by = 0; by < 79; by++) for (let bx = 0; bx < 64; bx++) {
      let s = 0; let n = 0;
      for (let y = 5 * by; y < 5 * by + 5; y++) for (let x = 5 * bx; x < 5 * bx + 5; x++) {
        if (!fine.mask![y * 320 + x]) { s += fine.data[y * 320 + x]!; n++; }
      }
      const j = by * 64 + bx;
      if (n === 0) assert.equal(coarse.mask![j], 1);
      else {
        assert.equal(coarse.mask![j], 0);
        assert.ok(Math.abs(coarse.data[j]! - s / n) < 1e-4);
        if (n < 25) mixed++;
      }
    }
    assert.ok(mixed > 50, `coastal blocks mix land and sea (${mixed})`);
  });

  test('longitude normalised on hgt: [-180, 180) and [0, 360) agree', async () => {
    const a = await openDataset(sample('hgt.nc'), { time: ['1958-01', '1958-01'] });
    const b = await openDataset(sample('hgt.nc'), { time: ['1958-01', '1958-01'], lonConvention: '0..360' });
    const la = coordValues(a, 'lon'); const lb = coordValues(b, 'lon');
    assert.equal(la[0], -180); assert.equal(la[143], 177.5);
    assert.equal(lb[0], 0); assert.equal(lb[143], 357.5);
    const ha = v(a, 'HGT'); const hb = v(b, 'HGT');
    // lon -180 in a is lon 180 (index 72) in b.
    for (let y = 0; y < 73; y += 9) assert.equal(ha.data[y * 144], hb.data[y * 144 + 72]);
    assert.deepEqual(toChannels(a, ['HGT']).shape, [1, 1, 73, 144]);
  });
});

describe('time decoding', () => {
  test('calendars', () => {
    const iso = (vals: number[], units: string, cal?: string) => decodeTime(vals, units, cal).map((t) => t.iso);
    assert.deepEqual(iso([0, 30, 359, 360], 'days since 2000-01-01', '360_day'),
      ['2000-01-01T00:00:00', '2000-02-01T00:00:00', '2000-12-30T00:00:00', '2001-01-01T00:00:00']);
    assert.deepEqual(iso([59, 365], 'days since 2000-01-01', 'noleap'), ['2000-03-01T00:00:00', '2001-01-01T00:00:00']);
    assert.deepEqual(iso([59, 365], 'days since 2000-01-01', '365_day'), ['2000-03-01T00:00:00', '2001-01-01T00:00:00']);
    assert.deepEqual(iso([59], 'days since 2001-01-01', 'all_leap'), ['2001-02-29T00:00:00']);
    assert.deepEqual(iso([59], 'days since 2000-01-01', 'proleptic_gregorian'), ['2000-02-29T00:00:00']);
    assert.deepEqual(iso([59], 'days since 1900-01-01', 'proleptic_gregorian'), ['1900-03-01T00:00:00']);
    // standard = Julian before 1582-10-15: the day after 1582-10-04 is 1582-10-15; 1500 was a Julian leap year.
    assert.deepEqual(iso([1], 'days since 1582-10-04', 'standard'), ['1582-10-15T00:00:00']);
    assert.deepEqual(iso([59], 'days since 1500-01-01', 'gregorian'), ['1500-02-29T00:00:00']);
    assert.deepEqual(iso([1.5, 90], 'hours since 1970-01-01T00:00:00Z'), ['1970-01-01T01:30:00', '1970-01-04T18:00:00']);
    assert.deepEqual(iso([13], 'months since 1958-1-1 00:00:00'), ['1959-02-01T00:00:00']);
    const t = decodeTime([86400 * 365.25 * 30 + 12345], 'seconds since 1970-01-01 00:00:00', 'standard')[0]!;
    const d = new Date((86400 * 365.25 * 30 + 12345) * 1000);
    assert.deepEqual([t.year, t.month, t.day, t.hour, t.minute, t.second],
      [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]);
  });
  test('bad units and calendars are typed errors', async () => {
    await expectDataError(() => decodeTime([0], 'days', 'standard'), 'bad-time-units', /not of the form 'UNIT since DATE'/);
    await expectDataError(() => decodeTime([0], 'fortnights since 2000-01-01'), 'bad-time-units', /unknown time unit 'fortnights'/);
    await expectDataError(() => decodeTime([0], 'days since 2000-01-01', 'mayan'), 'bad-calendar', /unsupported calendar 'mayan'/);
  });
});

describe('CF helpers', () => {
  test('axis detection by attributes, not names', () => {
    assert.equal(axisOf({ name: 'a', attrs: { standard_name: 'latitude' } }), 'Y');
    assert.equal(axisOf({ name: 'b', attrs: { units: 'degrees_east' } }), 'X');
    assert.equal(axisOf({ name: 'c', attrs: { units: 'hours since 2000-01-01' } }), 'T');
    assert.equal(axisOf({ name: 'd', attrs: { positive: 'down', units: 'm' } }), 'Z');
    assert.equal(axisOf({ name: 'e', attrs: { units: 'Pa' } }), 'Z');
    assert.equal(axisOf({ name: 'f', attrs: { axis: 'Y' } }), 'Y');
    assert.equal(axisOf({ name: 'g', attrs: { units: 'K' } }), undefined);
  });
  test('default netCDF fill values and array missing_value', () => {
    const r = decodeValues(Float64Array.from([1, Math.fround(9.9692099683868690e36), 2, -5, 7]),
      { name: 'x', dtype: 'float32', attrs: { missing_value: [-5, 7] } });
    assert.deepEqual(Array.from(r.mask!), [0, 1, 0, 1, 1]);
    assert.equal(r.missing, 3);
    const s = decodeValues(Float64Array.from([-32767, 0, 10]), { name: 's', dtype: 'int16', attrs: { scale_factor: 0.5, add_offset: 1 } });
    assert.deepEqual(Array.from(s.data), [NaN, 1, 6]);
    const u = decodeValues(Float64Array.from([-1, 1]), { name: 'u', dtype: 'int8', attrs: { _Unsigned: 'true' } });
    assert.deepEqual(Array.from(u.data), [255, 1]);
  });
});

test('date bounds: an end given as a year, month or day includes all of it and nothing after', () => {
  const key = (year: number, month: number, day: number, hour = 0) => timeKey({ year, month, day, hour });
  const end = (t: string) => parseDateBound(t, true);
  assert.ok(end('2001') >= key(2001, 12, 31, 23) && end('2001') < key(2002, 1, 1));
  assert.ok(end('2001-02') >= key(2001, 2, 28, 23) && end('2001-02') < key(2001, 3, 1));
  assert.ok(end('2001-02-03') >= key(2001, 2, 3, 23) && end('2001-02-03') < key(2001, 2, 4));
  assert.equal(parseDateBound('2001', false), key(2001, 1, 1));
});
