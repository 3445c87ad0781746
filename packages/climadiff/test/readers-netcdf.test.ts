// Readers on real NCAR NetCDF files (classic and NetCDF-4/HDF5), on packed files written by netCDF's own ncgen,
// and on broken files.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../src/data/types.js';
import { detectFormat, openDataset, toChannels, decodeTimeCoordinate, missingFraction } from '../src/data/readers/index.js';
import { ensureNcarSamples, ncarSamplesDir } from '../src/data/ncar-samples.js';
import { useSamplesAndTmp, sample, ncdumpValues, expectDataError, v, coordValues } from './readers-fixture.js';

const tmp = useSamplesAndTmp();
describe('ncar samples', () => {
  test('fetch is idempotent and files are where ncarSamplesDir says', () => {
    const r = ensureNcarSamples();
    assert.equal(r.downloaded, false);
    assert.match(r.message, /already present/);
    assert.ok(r.files.every((f) => f.startsWith(ncarSamplesDir())));
    assert.equal(detectFormat(sample('fice.nc')), 'netcdf3-classic');
    assert.equal(detectFormat(sample('nc4uvt.nc')), 'netcdf4-hdf5');
  });

  test('without apt-get the fetch fails with a clear error', () => {
    const oldPath = process.env.PATH;
    const oldCache = process.env.CLIMADIFF_CACHE;
    process.env.CLIMADIFF_CACHE = join(tmp.dir, 'empty-cache');
    process.env.PATH = join(tmp.dir, 'no-bin');
    try {
      assert.throws(() => ensureNcarSamples(), (e: unknown) => e instanceof DataError && e.kind === 'apt-unavailable' && /apt-get/.test(e.message));
    } finally {
      process.env.PATH = oldPath;
      if (oldCache === undefined) delete process.env.CLIMADIFF_CACHE; else process.env.CLIMADIFF_CACHE = oldCache;
    }
  });
});

describe('NetCDF classic on real files', () => {
  test('hgt.nc: values equal ncdump, _FillValue declared, coordinates by units', async () => {
    const ds = await openDataset(sample('hgt.nc'), { normalise: false });
    const h = v(ds, 'HGT');
    assert.deepEqual(h.dims, ['time', 'lat', 'lon']);
    assert.deepEqual(h.shape, [21, 73, 144]);
    assert.equal(h.units, 'gpm');
    assert.equal(h.attrs._FillValue, undefined, 'encoding attributes are consumed');
    const ref = ncdumpValues(sample('hgt.nc'), 'HGT');
    assert.equal(ref.length, h.data.length);
    for (const i of [0, 1, 500, 10_000, 77_777, 150_000, ref.length - 1]) {
      assert.ok(Math.abs(h.data[i]! - ref[i]!) < 1e-3, `HGT[${i}] ${h.data[i]} vs ncdump ${ref[i]}`);
    }
    assert.equal(h.mask, null);
    let lo = Infinity; let hi = -Infinity;
    for (const x of h.data) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    assert.ok(lo > 4500 && hi < 6200, `500 hPa heights in a physical range, got ${lo}..${hi}`);
    assert.equal(ds.coords.get('lat')!.axis, 'Y');
    assert.equal(ds.coords.get('lon')!.axis, 'X');
    assert.equal(ds.coords.get('time')!.axis, 'T');
  });

  test('hgt.nc: "months since 1958-1-1" decodes to month starts', async () => {
    const ds = await openDataset(sample('hgt.nc'));
    const times = decodeTimeCoordinate(ds.coords.get('time')!)!;
    assert.deepEqual(times.slice(0, 4).map((t) => t.iso), ['1958-01-01T00:00:00', '1958-02-01T00:00:00', '1959-02-01T00:00:00', '1960-02-01T00:00:00']);
    assert.equal(times[20]!.iso, '1977-02-01T00:00:00');
    assert.equal(ds.coords.get('time')!.calendar, 'standard');
  });

  test('tas_rectilinear_grid_2D.nc: CF-1.4 axes, proleptic_gregorian mid-month times, bounds not data', async () => {
    const ds = await openDataset(sample('tas_rectilinear_grid_2D.nc'));
    assert.deepEqual([...ds.variables.keys()], ['tas'], 'lon_bnds/lat_bnds/time_bnds are bounds, not data');
    const t = v(ds, 'tas');
    assert.equal(t.units, 'K');
    assert.deepEqual(t.shape, [12, 96, 192]);
    const time = ds.coords.get('time')!;
    assert.equal(time.calendar, 'proleptic_gregorian');
    const iso = decodeTimeCoordinate(time)!.map((x) => x.iso);
    assert.equal(iso[0], '2005-01-16T12:00:00');
    assert.equal(iso[1], '2005-02-15T00:00:00');
    assert.equal(iso[11], '2005-12-16T12:00:00');
    let lo = Infinity; let hi = -Infinity;
    for (const x of t.data) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    assert.ok(lo > 180 && hi < 335, `surface air temperature in K, got ${lo}..${hi}`);
  });

  test('fice.nc: missing_value declared, COARDS time_origin decoded in a noleap calendar', async () => {
    const ds = await openDataset(sample('fice.nc'), { calendar: 'noleap' });
    const f = v(ds, 'fice');
    assert.deepEqual(f.shape, [120, 49, 100]);
    for (const x of f.data) assert.ok(Number.isNaN(x) || (x >= 0 && x <= 1), `ice fraction ${x}`);
    const iso = decodeTimeCoordinate(ds.coords.get('time')!)!.map((x) => x.iso.slice(0, 10));
    assert.deepEqual(iso.slice(0, 13), [
      '0000-01-01', '0000-02-01', '0000-03-01', '0000-04-01', '0000-05-01', '0000-06-01', '0000-07-01',
      '0000-08-01', '0000-09-01', '0000-10-01', '0000-11-01', '0000-12-01', '0001-01-01']);
    assert.equal(iso[119], '0009-12-01');
    // hlat/hlon are found by units degrees_north/east although their names are not lat/lon.
    assert.equal(ds.coords.get('hlat')!.axis, 'Y');
    assert.equal(ds.coords.get('hlon')!.axis, 'X');
  });

  test('sstdata_netcdf.nc: lat(latitude) coordinate found, valid_range respected, SST physical', async () => {
    const ds = await openDataset(sample('sstdata_netcdf.nc'));
    const s = v(ds, 'sst');
    assert.deepEqual(s.dims, ['time', 'lat', 'lon'], 'dimensions renamed after their coordinate variables');
    assert.deepEqual(s.shape, [12, 91, 180], 'cyclic column at 360 dropped by longitude normalisation');
    for (let i = 0; i < s.data.length; i += 7) assert.ok(s.data[i]! >= -1.8 - 1e-6 && s.data[i]! <= 35, `sst ${s.data[i]}`);
    assert.equal(s.units, 'deg_C');
    // Its time axis ('Month', 1..12) is not a date: select by index instead.
    const jja = await openDataset(sample('sstdata_netcdf.nc'), { timeIndex: [5, 8] });
    assert.deepEqual(coordValues(jja, 'time'), [6, 7, 8]);
    assert.deepEqual(Array.from(v(jja, 'sst').data.slice(0, 50)), Array.from(s.data.slice(5 * 91 * 180, 5 * 91 * 180 + 50)));
    await expectDataError(openDataset(sample('sstdata_netcdf.nc'), { time: ['2000', '2001'] }), 'bad-selection', /time units 'Month' are not 'UNIT since DATE'/);
    await expectDataError(openDataset(sample('sstdata_netcdf.nc'), { timeIndex: [10, 13] }), 'bad-selection', /not within the 12 time steps/);
  });

  test('sstanom.robinsonproj.nc: land is missing → mask, never numbers', async () => {
    const ds = await openDataset(sample('sstanom.robinsonproj.nc'));
    const s = v(ds, 'SST');
    assert.ok(s.mask);
    const frac = missingFraction(s);
    assert.ok(frac > 0.3 && frac < 0.5, `land + sea-ice fraction ${frac}`);
    for (let i = 0; i < s.data.length; i++) {
      if (s.mask[i]) assert.ok(Number.isNaN(s.data[i]!));
      else assert.ok(Math.abs(s.data[i]!) < 50, `anomaly ${s.data[i]} (1e20 fill must never appear)`);
    }
    const ref = ncdumpValues(sample('sstanom.robinsonproj.nc'), 'SST');
    const refMissing = ref.filter((x) => Number.isNaN(x)).length / ref.length;
    assert.ok(Math.abs(refMissing - frac) < 1e-12, `ncdump shows ${refMissing} missing`);
  });

  test('meccatemp.cdf: int coordinates, -180..180 with a cyclic duplicate', async () => {
    const raw = await openDataset(sample('meccatemp.cdf'), { normalise: false });
    assert.equal(coordValues(raw, 'lon').length, 49);
    const ds = await openDataset(sample('meccatemp.cdf'));
    const lon = coordValues(ds, 'lon');
    assert.equal(lon.length, 48);
    assert.equal(lon[0], -180);
    assert.ok(lon.every((x, i) => i === 0 || x > lon[i - 1]!));
    const t = v(ds, 't');
    assert.deepEqual(t.shape, [31, 40, 48]);
    // The first column is the original -180 column (the +180 duplicate was dropped).
    const r = v(raw, 't');
    assert.equal(t.data[0], r.data[0]);
    assert.equal(t.data[47], r.data[47]);
  });
});

describe('NetCDF-4 / HDF5 (h5wasm)', () => {
  test('nc4uvt.nc: three variables on pressure levels, values equal ncdump', async () => {
    const ds = await openDataset(sample('nc4uvt.nc'), { normalise: false });
    assert.deepEqual([...ds.variables.keys()], ['T', 'U', 'V']);
    const T = v(ds, 'T');
    assert.deepEqual(T.dims, ['time', 'lev', 'lat', 'lon']);
    assert.deepEqual(T.shape, [1, 14, 64, 128]);
    assert.equal(ds.coords.get('lev')!.axis, 'Z', 'hPa units make lev a vertical axis');
    assert.deepEqual(coordValues(ds, 'lev').slice(0, 4), [1000, 850, 700, 500]);
    const ref = ncdumpValues(sample('nc4uvt.nc'), 'T');
    for (const i of [0, 1, 999, 50_000, 114_687]) assert.ok(Math.abs(T.data[i]! - ref[i]!) < 1e-3, `T[${i}] ${T.data[i]} vs ${ref[i]}`);
  });

  test('nc4uvt.nc: level selection reads one level; group grp1 readable', async () => {
    const ds = await openDataset(sample('nc4uvt.nc'), { variables: ['U'], level: 500, normalise: false });
    const U = v(ds, 'U');
    assert.deepEqual(U.shape, [1, 1, 64, 128]);
    const all = await openDataset(sample('nc4uvt.nc'), { variables: ['U'], normalise: false });
    const off = 3 * 64 * 128;
    assert.deepEqual(Array.from(U.data.slice(0, 20)), Array.from(v(all, 'U').data.slice(off, off + 20)));
    const g = await openDataset(sample('nc4uvt.nc'), { group: 'grp1', variables: ['V'] });
    assert.deepEqual(v(g, 'V').shape, [1, 14, 64, 128]);
    await expectDataError(openDataset(sample('nc4uvt.nc'), { level: 123 }), 'empty-selection', /no level 123; the levels are: 1000, 850/);
  });
});

describe('CF decoding on files written by netCDF itself (ncgen)', () => {
  const cdl = `netcdf packed {
dimensions: t = UNLIMITED ; p = 2 ; yc = 3 ; xc = 4 ;
variables:
  double t(t) ; t:units = "hours since 2000-01-30 00:00:00" ; t:calendar = "360_day" ;
  float p(p) ; p:units = "hPa" ; p:positive = "down" ;
  float yc(yc) ; yc:standard_name = "latitude" ;
  float xc(xc) ; xc:axis = "X" ; xc:units = "degrees_east" ;
  short temp(t, p, yc, xc) ; temp:scale_factor = 0.01f ; temp:add_offset = 273.15f ;
    temp:_FillValue = -32767s ; temp:missing_value = -32766s ; temp:units = "K" ;
  float empty(t, yc, xc) ; empty:_FillValue = -1.f ;
  float profile(p) ;
data:
  t = 0, 24 ; p = 850, 500 ; yc = 10, 0, -10 ; xc = 170, 190, 350, 10 ;
  temp = ${Array.from({ length: 48 }, (_, i) => (i === 5 ? -32767 : i === 17 ? -32766 : 100 * i - 2000)).join(', ')} ;
  empty = ${new Array(24).fill('_').join(', ')} ;
  profile = 1, 2 ;
}`;
  const raw = (i: number) => 100 * i - 2000;
  const unpack = (r: number) => Math.fround(r * Math.fround(0.01) + Math.fround(273.15));
  const files: Record<string, string> = {};
  before(() => {
    writeFileSync(join(tmp.dir, 'p.cdl'), cdl);
    for (const [kind, name] of [['nc3', 'classic.nc'], ['nc6', 'offset64.nc'], ['nc4', 'netcdf4.nc']] as const) {
      execFileSync('ncgen', ['-k', kind, '-o', join(tmp.dir, name), join(tmp.dir, 'p.cdl')]);
      files[kind] = join(tmp.dir, name);
    }
  });

  for (const kind of ['nc3', 'nc6', 'nc4'] as const) {
    test(`${kind}: packed shorts unpacked, _FillValue and missing_value masked, axes by attributes`, async () => {
      const expected = { nc3: 'netcdf3-classic', nc6: 'netcdf3-64bit-offset', nc4: 'netcdf4-hdf5' }[kind];
      assert.equal(detectFormat(files[kind]!), expected);
      const ds = await openDataset(files[kind]!, { variables: ['temp'], normalise: false });
      const t = v(ds, 'temp');
      assert.equal(t.units, 'K');
      assert.ok(t.mask);
      for (let i = 0; i < 48; i++) {
        if (i === 5 || i === 17) { assert.equal(t.mask[i], 1); assert.ok(Number.isNaN(t.data[i]!)); continue; }
        assert.equal(t.mask[i], 0);
        assert.equal(t.data[i], unpack(raw(i)), `temp[${i}]`);
      }
      assert.deepEqual([...ds.coords.values()].map((c) => [c.name, c.axis]), [['t', 'T'], ['p', 'Z'], ['yc', 'Y'], ['xc', 'X']]);
      const times = decodeTimeCoordinate(ds.coords.get('t')!)!.map((x) => x.iso);
      assert.deepEqual(times, ['2000-01-30T00:00:00', '2000-02-01T00:00:00'], '360_day: January has 30 days');
    });
  }

  test('normalisation reorders data, mask and coordinates together', async () => {
    const ds = await openDataset(files.nc3!, { variables: ['temp'] });
    assert.deepEqual(coordValues(ds, 'yc'), [-10, 0, 10]);
    assert.deepEqual(coordValues(ds, 'xc'), [-170, -10, 10, 170]);
    const t = v(ds, 'temp');
    // New (y, x) comes from old (2 - y, [1, 2, 3, 0][x]).
    for (let o = 0; o < 4; o++) for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) {
      const src = o * 12 + (2 - y) * 4 + [1, 2, 3, 0][x]!;
      const dst = o * 12 + y * 4 + x;
      if (src === 5 || src === 17) assert.equal(t.mask![dst], 1);
      else assert.equal(t.data[dst], unpack(raw(src)));
    }
    const ds360 = await openDataset(files.nc3!, { variables: ['temp'], lonConvention: '0..360' });
    assert.deepEqual(coordValues(ds360, 'xc'), [10, 170, 190, 350]);
  });

  test('unknown variable lists the variables; all-missing and wrong dimensions are typed errors', async () => {
    await expectDataError(openDataset(files.nc4!, { variables: ['tmp.dir'] }), 'unknown-variable', /unknown variable 'tmp.dir'.*temp.*empty.*profile/);
    await expectDataError(openDataset(files.nc3!, { variables: ['empty'] }), 'all-missing', /'empty' is entirely missing/);
    await expectDataError(openDataset(files.nc3!, { variables: ['profile'], requireAxes: ['T', 'Y', 'X'] }), 'wrong-dimensions', /'profile' has dimensions \(p\).*missing time, latitude, longitude/);
    const ds = await openDataset(files.nc3!, { variables: ['temp', 'empty'], allowAllMissing: true });
    await expectDataError(() => toChannels(ds), 'wrong-dimensions', /differ in dimensions/);
  });
});

describe('bad input files', () => {
  test('missing file', async () => {
    await expectDataError(openDataset(join(tmp.dir, 'nope.nc')), 'missing-file', /nope\.nc: no such file/);
  });
  test('truncated NetCDF classic', async () => {
    const p = join(tmp.dir, 'hgt-truncated.nc');
    writeFileSync(p, readFileSync(sample('hgt.nc')).subarray(0, 300_000));
    await expectDataError(openDataset(p), 'truncated-file', /hgt-truncated\.nc: .*truncated/);
  });
  test('truncated NetCDF-4', async () => {
    const p = join(tmp.dir, 'nc4-truncated.nc');
    writeFileSync(p, readFileSync(sample('nc4uvt.nc')).subarray(0, 1_000_000));
    await expectDataError(openDataset(p), 'truncated-file', /nc4-truncated\.nc: .*HDF5.*truncated/);
  });
  test('header cut short', async () => {
    const p = join(tmp.dir, 'tiny.nc');
    writeFileSync(p, readFileSync(sample('fice.nc')).subarray(0, 100));
    await expectDataError(openDataset(p), 'truncated-file', /tiny\.nc: cannot parse the NetCDF header/);
  });
  test('garbage bytes, and garbage after a NetCDF magic number', async () => {
    const g = join(tmp.dir, 'garbage.nc');
    writeFileSync(g, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256)));
    await expectDataError(openDataset(g), 'unknown-format', /garbage\.nc: not a recognised climate data file.*supported: NetCDF/);
    const c = join(tmp.dir, 'cdf-garbage.nc');
    writeFileSync(c, Buffer.concat([Buffer.from('CDF\x01'), Buffer.alloc(64, 0x41)]));
    await expectDataError(openDataset(c), 'corrupt-file', /cdf-garbage\.nc: cannot parse the NetCDF header/);
    const e = join(tmp.dir, 'empty.nc');
    writeFileSync(e, '');
    await expectDataError(openDataset(e), 'corrupt-file', /empty\.nc: the file is empty/);
  });
  test('unknown variable on a real file lists what exists', async () => {
    await expectDataError(openDataset(sample('hgt.nc'), { variables: ['hgt'] }), 'unknown-variable', /unknown variable 'hgt'; the file has: HGT, time, lat, lon/);
  });
  test('selections outside the data', async () => {
    await expectDataError(openDataset(sample('hgt.nc'), { time: ['1990', '1991'] }), 'empty-selection', /no time step.*1958-01-01/);
    await expectDataError(openDataset(sample('sstanom.robinsonproj.nc'), { lat: [-78.5, -75], lon: [0, 30] }), 'all-missing', /'SST' is entirely missing/);
  });
});
