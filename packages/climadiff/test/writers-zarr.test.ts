// Zarr writers: v2 and v3 round-trips read by zarrita, gzip chunks, and a static map through NetCDF and Zarr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import type { Attrs, ClimateDataset } from '../src/data/types.js';
import { DataError } from '../src/data/types.js';
import { writeNetCDF } from '../src/data/writers/netcdf.js';
import { writeZarr } from '../src/data/writers/zarr.js';
import { openDataset } from '../src/data/readers/open.js';
import { NY, NX, sample, tmpdir, readWithZarrita, assertSameData } from './writers-fixture.js';

for (const version of [2, 3] as const) {
  test(`Zarr v${version}: zarrita reads back identical values, masks, CF metadata and time chunks`, async () => {
    const dir = await tmpdir();
    const store = path.join(dir, 'out.zarr');
    const ds = sample();
    await writeZarr(ds, store, { version, chunkTime: 2, history: 'climadiff data convert a.nc out.zarr' });
    const got = await readWithZarrita(store, version);
    assertSameData(got, ds);
    assert.equal(got.attrs.Conventions, 'CF-1.8');
    assert.match(String(got.attrs.history), /: climadiff data convert a\.nc out\.zarr\n2020-01-01T00:00:00Z: older step$/);
    const tasArr = await (version === 2 ? zarr.open.v2 : zarr.open.v3)(zarr.root(new FileSystemStore(store)).resolve('tas'), { kind: 'array' });
    assert.deepEqual(tasArr.chunks, [2, NY, NX]);
    assert.ok(Number.isNaN(tasArr.fillValue as number), 'NaN is the fill value');
    if (version === 2) {
      const zattrs = JSON.parse(await fsp.readFile(path.join(store, 'tas', '.zattrs'), 'utf8')) as Attrs;
      assert.deepEqual(zattrs._ARRAY_DIMENSIONS, ['time', 'lat', 'lon']);
      assert.equal(zattrs.units, 'K');
      const chunkFiles = (await fsp.readdir(path.join(store, 'tas'))).filter((f) => !f.startsWith('.')).sort();
      assert.deepEqual(chunkFiles, ['0.0.0', '1.0.0', '2.0.0']);
      const zmeta = JSON.parse(await fsp.readFile(path.join(store, '.zmetadata'), 'utf8')) as { metadata: Record<string, unknown> };
      assert.ok('tas/.zarray' in zmeta.metadata && 'time/.zattrs' in zmeta.metadata);
    } else {
      const meta = JSON.parse(await fsp.readFile(path.join(store, 'tas', 'zarr.json'), 'utf8')) as { dimension_names: string[]; attributes: Attrs };
      assert.deepEqual(meta.dimension_names, ['time', 'lat', 'lon']);
      assert.equal(meta.attributes.standard_name, 'air_temperature');
      assert.deepEqual((await fsp.readdir(path.join(store, 'tas', 'c'))).sort(), ['0', '1', '2']);
    }
    await fsp.rm(dir, { recursive: true });
  });
}

test('a dataset without a time dimension (a static map) round-trips through NetCDF and Zarr', async () => {
  const dir = await tmpdir();
  const full = sample();
  const ds: ClimateDataset = {
    coords: new Map([['lat', full.coords.get('lat')!], ['lon', full.coords.get('lon')!]]),
    variables: new Map([['lsm', full.variables.get('lsm')!]]),
    attrs: {},
  };
  ds.variables.get('lsm')!.data[2] = NaN;
  ds.variables.get('lsm')!.mask = Uint8Array.from({ length: NY * NX }, (_, i) => (i === 2 ? 1 : 0));
  await writeNetCDF(ds, path.join(dir, 's.nc'), { format: 'classic' });
  await writeZarr(ds, path.join(dir, 's.zarr'), { version: 3 });
  for (const name of ['s.nc', 's.zarr']) {
    const got = await openDataset(path.join(dir, name), { normalise: false });
    assertSameData(got, ds);
    assert.equal(got.variables.get('lsm')!.mask![2], 1, `${name}: masked entry`);
  }
  await fsp.rm(dir, { recursive: true });
});

test('Zarr gzip compression: chunks are standard gzip of the uncompressed chunk bytes, and read back', async () => {
  const dir = await tmpdir();
  const ds = sample();
  for (const version of [2, 3] as const) {
    const plain = path.join(dir, `plain${version}.zarr`), gz = path.join(dir, `gz${version}.zarr`);
    await writeZarr(ds, plain, { version, chunkTime: 2 });
    await writeZarr(ds, gz, { version, chunkTime: 2, compression: 'gzip' });
    const key = version === 2 ? ['tas', '1.0.0'] : ['tas', 'c', '1', '0', '0'];
    const packed = await fsp.readFile(path.join(gz, ...key));
    assert.deepEqual([packed[0], packed[1]], [0x1f, 0x8b], 'gzip magic');
    // Decompressed by the system's gzip (independent of our codec), the bytes equal the plain chunk.
    const unz = spawnSync('gzip', ['-dc'], { input: packed });
    if (unz.error === undefined) assert.ok(unz.stdout.equals(await fsp.readFile(path.join(plain, ...key))));
    assertSameData(await openDataset(gz, { normalise: false }), ds);
  }
  await assert.rejects(writeZarr(ds, path.join(dir, 'x.zarr'), { compression: 'lz4' as never }), (e: unknown) => e instanceof DataError && e.kind === 'bad-option');
  await fsp.rm(dir, { recursive: true });
});
