// Readers, CF decoding and selection on real NCAR files (Debian libncarg-data, fetched by ensureNcarSamples),
// on packed files written by netCDF's own ncgen, and on Zarr v2/v3 stores written by hand.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { DataError, type ClimateDataset, type Variable } from '../src/data/types.js';
import {
  decodeTime, decodeValues, describeFile, detectFormat, openDataset, selectDataset, toChannels, axisOf,
  decodeTimeCoordinate, missingFraction,
} from '../src/data/readers/index.js';
import { ensureNcarSamples, ncarSamplePath, ncarSamplesDir } from '../src/data/ncar-samples.js';
import { register as registerInfo } from '../src/cli/info.js';

let tmp = '';
const sample = ncarSamplePath;

before(() => {
  ensureNcarSamples((m) => process.stderr.write(`${m}\n`));
  tmp = mkdtempSync(join(tmpdir(), 'climadiff-readers-'));
});
after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

/** All numbers of one variable's data section as printed by ncdump (Debian netcdf-bin). */
function ncdumpValues(file: string, name: string): number[] {
  const out = execFileSync('ncdump', ['-p', '9,17', '-v', name, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const start = out.indexOf(`\n ${name} =`);
  assert.ok(start >= 0, `ncdump printed no data for ${name}`);
  const body = out.slice(start + name.length + 4, out.indexOf(';', start));
  return body.split(',').map((s) => s.trim()).map((s) => (s === '_' ? NaN : Number(s)));
}

async function expectDataError(p: Promise<unknown> | (() => unknown), kind: string, re: RegExp): Promise<DataError> {
  let err: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
  assert.ok(err instanceof DataError, `expected a DataError(${kind}), got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  assert.match(err.message, re);
  return err;
}

function v(ds: ClimateDataset, name: string): Variable {
  const x = ds.variables.get(name);
  assert.ok(x, `no variable ${name}`);
  return x;
}

function coordValues(ds: ClimateDataset, name: string): number[] {
  const c = ds.coords.get(name);
  assert.ok(c, `no coordinate ${name}`);
  return Array.from(c.values);
}

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
    process.env.CLIMADIFF_CACHE = join(tmp, 'empty-cache');
    process.env.PATH = join(tmp, 'no-bin');
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
    writeFileSync(join(tmp, 'p.cdl'), cdl);
    for (const [kind, name] of [['nc3', 'classic.nc'], ['nc6', 'offset64.nc'], ['nc4', 'netcdf4.nc']] as const) {
      execFileSync('ncgen', ['-k', kind, '-o', join(tmp, name), join(tmp, 'p.cdl')]);
      files[kind] = join(tmp, name);
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
    await expectDataError(openDataset(files.nc4!, { variables: ['tmp'] }), 'unknown-variable', /unknown variable 'tmp'.*temp.*empty.*profile/);
    await expectDataError(openDataset(files.nc3!, { variables: ['empty'] }), 'all-missing', /'empty' is entirely missing/);
    await expectDataError(openDataset(files.nc3!, { variables: ['profile'], requireAxes: ['T', 'Y', 'X'] }), 'wrong-dimensions', /'profile' has dimensions \(p\).*missing time, latitude, longitude/);
    const ds = await openDataset(files.nc3!, { variables: ['temp', 'empty'], allowAllMissing: true });
    await expectDataError(() => toChannels(ds), 'wrong-dimensions', /differ in dimensions/);
  });
});

describe('bad input files', () => {
  test('missing file', async () => {
    await expectDataError(openDataset(join(tmp, 'nope.nc')), 'missing-file', /nope\.nc: no such file/);
  });
  test('truncated NetCDF classic', async () => {
    const p = join(tmp, 'hgt-truncated.nc');
    writeFileSync(p, readFileSync(sample('hgt.nc')).subarray(0, 300_000));
    await expectDataError(openDataset(p), 'truncated-file', /hgt-truncated\.nc: .*truncated/);
  });
  test('truncated NetCDF-4', async () => {
    const p = join(tmp, 'nc4-truncated.nc');
    writeFileSync(p, readFileSync(sample('nc4uvt.nc')).subarray(0, 1_000_000));
    await expectDataError(openDataset(p), 'truncated-file', /nc4-truncated\.nc: .*HDF5.*truncated/);
  });
  test('header cut short', async () => {
    const p = join(tmp, 'tiny.nc');
    writeFileSync(p, readFileSync(sample('fice.nc')).subarray(0, 100));
    await expectDataError(openDataset(p), 'truncated-file', /tiny\.nc: cannot parse the NetCDF header/);
  });
  test('garbage bytes, and garbage after a NetCDF magic number', async () => {
    const g = join(tmp, 'garbage.nc');
    writeFileSync(g, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256)));
    await expectDataError(openDataset(g), 'unknown-format', /garbage\.nc: not a recognised climate data file.*supported: NetCDF/);
    const c = join(tmp, 'cdf-garbage.nc');
    writeFileSync(c, Buffer.concat([Buffer.from('CDF\x01'), Buffer.alloc(64, 0x41)]));
    await expectDataError(openDataset(c), 'corrupt-file', /cdf-garbage\.nc: cannot parse the NetCDF header/);
    const e = join(tmp, 'empty.nc');
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

describe('Zarr stores written by hand', () => {
  const f32 = (xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);
  const f64 = (xs: number[]) => Buffer.from(Float64Array.from(xs).buffer);
  const i16 = (xs: number[]) => Buffer.from(Int16Array.from(xs).buffer);
  const temp = Array.from({ length: 24 }, (_, i) => 250 + i);
  temp[7] = -999;
  temp[20] = NaN;

  function v2(dir: string) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
    writeFileSync(join(dir, '.zattrs'), JSON.stringify({ title: 'hand-made v2' }));
    const arr = (name: string, shape: number[], chunks: number[], dtype: string, dims: string[], attrs: object, chunkFiles: Record<string, Buffer>) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, '.zarray'), JSON.stringify({ zarr_format: 2, shape, chunks, dtype, compressor: null, fill_value: null, order: 'C', filters: null }));
      writeFileSync(join(dir, name, '.zattrs'), JSON.stringify({ _ARRAY_DIMENSIONS: dims, ...attrs }));
      for (const [k, b] of Object.entries(chunkFiles)) writeFileSync(join(dir, name, k), b);
    };
    arr('time', [2], [2], '<f8', ['time'], { units: 'days since 2001-01-01', calendar: 'noleap' }, { 0: f64([0, 59]) });
    arr('lat', [3], [3], '<f8', ['lat'], { units: 'degrees_north' }, { 0: f64([40, 50, 60]) });
    arr('lon', [4], [4], '<f8', ['lon'], { units: 'degrees_east' }, { 0: f64([0, 90, 180, 270]) });
    arr('temp', [2, 3, 4], [1, 3, 4], '<f4', ['time', 'lat', 'lon'], { units: 'K', _FillValue: -999 },
      { '0.0.0': f32(temp.slice(0, 12)), '1.0.0': f32(temp.slice(12)) });
  }

  function v3(dir: string) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'zarr.json'), JSON.stringify({ zarr_format: 3, node_type: 'group', attributes: { title: 'hand-made v3' } }));
    const arr = (name: string, shape: number[], chunks: number[], dtype: string, dims: string[], attrs: object, chunkFiles: Record<string, Buffer>) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'zarr.json'), JSON.stringify({
        zarr_format: 3, node_type: 'array', shape, data_type: dtype,
        chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
        chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
        codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
        fill_value: 0, dimension_names: dims, attributes: attrs,
      }));
      for (const [k, b] of Object.entries(chunkFiles)) {
        const p = join(dir, name, 'c', ...k.split('/'));
        mkdirSync(join(p, '..'), { recursive: true });
        writeFileSync(p, b);
      }
    };
    arr('time', [2], [2], 'float64', ['time'], { units: 'hours since 2020-03-01 00:00', calendar: 'standard' }, { 0: f64([0, 36]) });
    arr('y', [3], [3], 'float64', ['y'], { standard_name: 'latitude' }, { 0: f64([60, 50, 40]) });
    arr('x', [4], [4], 'float64', ['x'], { axis: 'X', units: 'degrees_east' }, { 0: f64([-90, 0, 90, 180]) });
    // Packed int16 with scale/offset and a fill value, as xarray writes it.
    arr('precip', [2, 3, 4], [1, 3, 4], 'int16', ['time', 'y', 'x'], { units: 'mm/h', scale_factor: 0.1, add_offset: 0, _FillValue: -1 },
      { '0/0/0': i16([0, 1, 2, 3, 4, 5, -1, 7, 8, 9, 10, 11]), '1/0/0': i16([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]) });
  }

  test('v2: coordinates from _ARRAY_DIMENSIONS, _FillValue and NaN masked, noleap time', async () => {
    const dir = join(tmp, 'v2.zarr');
    v2(dir);
    assert.equal(detectFormat(dir), 'zarr-v2');
    const ds = await openDataset(dir, { normalise: false });
    assert.equal(ds.attrs.title, 'hand-made v2');
    const t = v(ds, 'temp');
    assert.deepEqual(t.dims, ['time', 'lat', 'lon']);
    assert.equal(t.units, 'K');
    for (let i = 0; i < 24; i++) {
      if (i === 7 || i === 20) { assert.equal(t.mask![i], 1); assert.ok(Number.isNaN(t.data[i]!)); } else assert.equal(t.data[i], 250 + i);
    }
    assert.deepEqual(decodeTimeCoordinate(ds.coords.get('time')!)!.map((x) => x.iso.slice(0, 10)), ['2001-01-01', '2001-03-01']);
    const norm = await openDataset(dir, { lon: [-100, 100] });
    assert.deepEqual(coordValues(norm, 'lon'), [-90, 0, 90]);
    assert.equal(v(norm, 'temp').data[0], 253, 'lon -90 is the original 270 column');
  });

  test('v3: dimension_names, packed int16 decoded, attribute-only axes', async () => {
    const dir = join(tmp, 'v3.zarr');
    v3(dir);
    assert.equal(detectFormat(dir), 'zarr-v3');
    const ds = await openDataset(dir);
    const p = v(ds, 'precip');
    assert.deepEqual(p.dims, ['time', 'y', 'x']);
    // y reversed to ascending (40, 50, 60); x [-90, 0, 90, 180] → [-180, -90, 0, 90]: x order [3, 0, 1, 2].
    assert.deepEqual(coordValues(ds, 'y'), [40, 50, 60]);
    assert.deepEqual(coordValues(ds, 'x'), [-180, -90, 0, 90]);
    const rawIdx = (t: number, y: number, x: number) => t * 12 + (2 - y) * 4 + [3, 0, 1, 2][x]!;
    for (let t = 0; t < 2; t++) for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) {
      const r = rawIdx(t, y, x);
      const got = p.data[t * 12 + y * 4 + x]!;
      if (r === 6) assert.ok(Number.isNaN(got) && p.mask![t * 12 + y * 4 + x] === 1);
      else assert.ok(Math.abs(got - r * 0.1) < 1e-6, `precip ${got} vs ${r * 0.1}`);
    }
    assert.deepEqual(decodeTimeCoordinate(ds.coords.get('time')!)!.map((x) => x.iso), ['2020-03-01T00:00:00', '2020-03-02T12:00:00']);
  });

  test('a directory that is not a Zarr store, and a broken .zarray', async () => {
    const d = join(tmp, 'plain-dir');
    mkdirSync(d, { recursive: true });
    await expectDataError(openDataset(d), 'unknown-format', /not a Zarr store/);
    const b = join(tmp, 'broken.zarr');
    mkdirSync(join(b, 'x'), { recursive: true });
    writeFileSync(join(b, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
    writeFileSync(join(b, 'x', '.zarray'), '{"zarr_format": 2, "shape": [');
    await expectDataError(openDataset(b), 'corrupt-file', /broken\.zarr: cannot open Zarr array 'x' \(Failed to decode JSON\)/);
  });
});

describe('data info', () => {
  async function runInfo(args: string[]): Promise<string> {
    const program = new Command('climadiff').exitOverride();
    registerInfo(program.command('data').exitOverride());
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => { chunks.push(String(s)); return true; }) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'climadiff', 'data', 'info', ...args]);
    } finally {
      process.stdout.write = write;
    }
    return chunks.join('');
  }

  test('prints variables, coordinates, time range and missing fraction', async () => {
    const out = await runInfo([sample('tas_rectilinear_grid_2D.nc')]);
    assert.match(out, /netcdf3-classic/);
    assert.match(out, /tas\s+\(time, lat, lon\)\s+12x96x192\s+float32\s+K\s+0\.0%\s+Near-Surface Air Temperature/);
    assert.match(out, /time range: 2005-01-16T12:00:00 to 2005-12-16T12:00:00 \(12 steps, calendar proleptic_gregorian\)/);
    assert.doesNotMatch(out, /lon_bnds\s+\(/);
    const sst = await runInfo([sample('sstanom.robinsonproj.nc')]);
    assert.match(sst, /SST\s+\(lat, lon\)\s+395x320\s+float32\s+K\s+41\.3%/);
    const nc4 = await runInfo([sample('nc4uvt.nc'), '--json']);
    const j = JSON.parse(nc4) as { format: string; variables: Array<{ name: string }> };
    assert.equal(j.format, 'netcdf4-hdf5');
    assert.deepEqual(j.variables.map((x) => x.name), ['T', 'U', 'V']);
  });

  test('bad input rejects with a DataError (the CLI exits non-zero with its message)', async () => {
    await assert.rejects(runInfo([join(tmp, 'absent.nc')]), (e: unknown) => e instanceof DataError && e.kind === 'missing-file');
    const p = join(tmp, 'copy.nc');
    copyFileSync(sample('fice.nc'), p);
    writeFileSync(p, readFileSync(p).subarray(0, 4000));
    await assert.rejects(runInfo([p]), (e: unknown) => e instanceof DataError && e.kind === 'truncated-file');
  });

  test('missing fraction counted slab by slab equals the whole-array count', async () => {
    const whole = await describeFile(sample('sstanom.robinsonproj.nc'));
    const slabs = await describeFile(sample('sstanom.robinsonproj.nc'), { slabValues: 1000 });
    assert.equal(slabs.variables[0]!.missingFraction, whole.variables[0]!.missingFraction);
    assert.ok(whole.variables[0]!.missingFraction > 0.4);
  });

  test('describeFile reports an undecodable time honestly', async () => {
    const s = await describeFile(sample('sstdata_netcdf.nc'));
    assert.deepEqual(s.time, { units: 'Month', note: 'not decodable as a date (units are not "UNIT since DATE")' });
  });
});
