// NetCDF writers: classic and 64-bit offset round-trips read by netcdfjs and by netCDF-C's ncdump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { writeNetCDF, NC_FILL_FLOAT } from '../src/data/writers/netcdf.js';
import { NT, sample, tmpdir, readWithNetcdfjs, assertSameData } from './writers-fixture.js';

for (const format of ['classic', '64bit-offset'] as const) {
  test(`NetCDF ${format}: netcdfjs reads back identical values, masks and CF metadata`, async () => {
    const dir = await tmpdir();
    const file = path.join(dir, 'out.nc');
    const ds = sample();
    await writeNetCDF(ds, file, { format, history: 'climadiff data simulate --seed 1' });
    const { ds: got, reader } = readWithNetcdfjs(file);
    assert.equal(reader.version, format === 'classic' ? 'classic format' : '64-bit offset format');
    assert.equal(reader.recordDimension.name, 'time');
    assert.equal(reader.recordDimension.length, NT);
    assertSameData(got, ds);
    const tas = got.variables.get('tas')!;
    assert.equal(tas.attrs._FillValue, NC_FILL_FLOAT);
    assert.equal(tas.attrs.missing_value, NC_FILL_FLOAT);
    assert.equal(tas.attrs.scale_factor, undefined, 'packing attributes are not copied onto decoded data');
    assert.equal(got.variables.get('lsm')!.attrs.missing_value, undefined);
    assert.equal(got.coords.get('lat')!.attrs.standard_name, 'latitude');
    assert.equal(got.coords.get('time')!.attrs.long_name, 'time');
    assert.equal(got.attrs.Conventions, 'CF-1.8');
    assert.equal(got.attrs.title, 'writer test');
    assert.equal(got.attrs.realization, 3);
    const history = String(got.attrs.history).split('\n');
    assert.match(history[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: climadiff data simulate --seed 1$/);
    assert.equal(history[1], '2020-01-01T00:00:00Z: older step');
    await fsp.rm(dir, { recursive: true });
  });
}

test('NetCDF with a fixed (not unlimited) time dimension reads back identically', async () => {
  const dir = await tmpdir();
  const file = path.join(dir, 'fixed.nc');
  const ds = sample();
  await writeNetCDF(ds, file, { unlimitedTime: false });
  const { ds: got, reader } = readWithNetcdfjs(file);
  assert.equal(reader.recordDimension.name, undefined);
  assertSameData(got, ds);
  await fsp.rm(dir, { recursive: true });
});

const NCDUMP = '/usr/bin/ncdump';
test('ncdump (netCDF-C) reads our header and data', async (t) => {
  if (!existsSync(NCDUMP)) {
    if (process.env.CI === 'true') assert.fail(`${NCDUMP} is missing (install Debian netcdf-bin)`);
    t.skip(`${NCDUMP} missing: install Debian netcdf-bin to run this test`);
    return;
  }
  const dir = await tmpdir();
  for (const format of ['classic', '64bit-offset'] as const) {
    const file = path.join(dir, `${format}.nc`);
    await writeNetCDF(sample(), file, { format, history: 'climadiff test' });
    const h = spawnSync(NCDUMP, ['-h', file], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    const out = h.stdout;
    assert.match(out, /time = UNLIMITED ; \/\/ \(5 currently\)/);
    assert.match(out, /lat = 3 ;/);
    assert.match(out, /lon = 4 ;/);
    assert.match(out, /double time\(time\) ;/);
    assert.match(out, /float tas\(time, lat, lon\) ;/);
    assert.match(out, /float lsm\(lat, lon\) ;/);
    assert.match(out, /tas:units = "K" ;/);
    assert.match(out, /tas:_FillValue = 9\.96921e\+36f ;/);
    assert.match(out, /tas:standard_name = "air_temperature" ;/);
    assert.match(out, /time:calendar = "noleap" ;/);
    assert.match(out, /time:units = "days since 2000-01-01 00:00:00" ;/);
    assert.match(out, /lat:axis = "Y" ;/);
    assert.match(out, /:Conventions = "CF-1\.8" ;/);
    assert.match(out, /:history = "\d{4}-\d\d-\d\dT[\d:]+Z: climadiff test\\n/);
    assert.match(out, /:realization = 3 ;/);
    const k = spawnSync(NCDUMP, ['-k', file], { encoding: 'utf8' });
    assert.equal(k.stdout.trim(), format === 'classic' ? 'classic' : '64-bit offset');
    // Full dump: netCDF-C parses all data; masked entries print as '_'.
    const full = spawnSync(NCDUMP, ['-v', 'tas,time', file], { encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);
    const tasText = full.stdout.slice(full.stdout.indexOf(' tas ='));
    assert.equal((tasText.match(/_/g) ?? []).length, 4, 'four masked entries shown as _');
    assert.match(full.stdout, /time = 15, 45, 75, 105, 135 ;/);
    // netCDF-C itself, writing the same dataset from its CDL (full precision), makes the same bytes.
    const cdl = path.join(dir, `${format}.cdl`);
    const dump = spawnSync(NCDUMP, ['-p', '9,17', file], { encoding: 'utf8' });
    await fsp.writeFile(cdl, dump.stdout);
    const ref = path.join(dir, `${format}-ncgen.nc`);
    const gen = spawnSync('/usr/bin/ncgen', ['-k', format === 'classic' ? 'classic' : '64-bit offset', '-o', ref, cdl], { encoding: 'utf8' });
    if (gen.error === undefined) {
      assert.equal(gen.status, 0, gen.stderr);
      assert.ok((await fsp.readFile(ref)).equals(await fsp.readFile(file)), 'byte-identical to ncgen output');
    }
  }
  await fsp.rm(dir, { recursive: true });
});
