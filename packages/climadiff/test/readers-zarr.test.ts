// Zarr v2/v3 stores written by hand, and `climadiff data info`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { DataError } from '../src/data/types.js';
import { describeFile, detectFormat, openDataset, decodeTimeCoordinate } from '../src/data/readers/index.js';
import { register as registerInfo } from '../src/cli/info.js';
import { useSamplesAndTmp, sample, expectDataError, v, coordValues } from './readers-fixture.js';

const tmp = useSamplesAndTmp();
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
    const dir = join(tmp.dir, 'v2.zarr');
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
    const dir = join(tmp.dir, 'v3.zarr');
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
    const d = join(tmp.dir, 'plain-dir');
    mkdirSync(d, { recursive: true });
    await expectDataError(openDataset(d), 'unknown-format', /not a Zarr store/);
    const b = join(tmp.dir, 'broken.zarr');
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
    // only the command's text: the test runner's own (binary) reports pass through
    process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof s !== 'string') return (write as (...a: unknown[]) => boolean)(s, ...rest);
      chunks.push(s);
      return true;
    }) as typeof process.stdout.write;
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
    await assert.rejects(runInfo([join(tmp.dir, 'absent.nc')]), (e: unknown) => e instanceof DataError && e.kind === 'missing-file');
    const p = join(tmp.dir, 'copy.nc');
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
