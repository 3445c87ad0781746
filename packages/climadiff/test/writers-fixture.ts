// Shared by the writers tests: a small CF dataset with masked entries and a static field, a temporary folder,
// independent readers (netcdfjs, zarrita) and a data comparison.
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NetCDFReader } from 'netcdfjs';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import type { Attrs, ClimateDataset, Coordinate, Variable } from '../src/data/types.js';

export const NT = 5, NY = 3, NX = 4;

/** A small dataset with a time axis, masked entries (NaN + mask), a static field and CF metadata. */
export function sample(): ClimateDataset {
  const time: Coordinate = {
    name: 'time', values: Float64Array.from({ length: NT }, (_, i) => 15 + 30 * i), axis: 'T',
    units: 'days since 2000-01-01 00:00:00', calendar: 'noleap', attrs: { long_name: 'time' },
  };
  const lat: Coordinate = { name: 'lat', values: Float64Array.from([-30, 0, 30]), axis: 'Y', units: 'degrees_north', attrs: {} };
  const lon: Coordinate = { name: 'lon', values: Float64Array.from([0, 90, 180, 270]), axis: 'X', units: 'degrees_east', attrs: {} };
  const n = NT * NY * NX;
  const data = Float32Array.from({ length: n }, (_, i) => 250 + Math.sin(i) * 20 + i / 7);
  const mask = new Uint8Array(n);
  for (const i of [1, 7, 13, n - 1]) { mask[i] = 1; data[i] = NaN; }
  const tas: Variable = {
    name: 'tas', dims: ['time', 'lat', 'lon'], shape: [NT, NY, NX], data, mask, units: 'K',
    attrs: { long_name: 'near-surface air temperature', standard_name: 'air_temperature', cell_methods: 'time: mean', _FillValue: -999, scale_factor: 0.01 },
  };
  const lsm: Variable = {
    name: 'lsm', dims: ['lat', 'lon'], shape: [NY, NX], data: Float32Array.from({ length: NY * NX }, (_, i) => i % 2),
    mask: null, units: '1', attrs: { long_name: 'land-sea mask' },
  };
  return {
    coords: new Map([['time', time], ['lat', lat], ['lon', lon]]),
    variables: new Map([['tas', tas], ['lsm', lsm]]),
    attrs: { title: 'writer test', institution: 'climadiff', realization: 3, history: '2020-01-01T00:00:00Z: older step' },
  };
}

export async function tmpdir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'climadiff-writers-'));
}

/** Decode a NetCDF file with netcdfjs (an independent reader) into our contract, fill values → mask. */
export function readWithNetcdfjs(file: string): { ds: ClimateDataset; reader: NetCDFReader } {
  const reader = new NetCDFReader(readFileSync(file));
  const attrsOf = (list: { name: string; value: unknown }[]): Attrs =>
    Object.fromEntries(list.map((a) => [a.name, a.value as Attrs[string]]));
  const coords = new Map<string, Coordinate>();
  const variables = new Map<string, Variable>();
  const dims = reader.dimensions;
  for (const v of reader.variables) {
    const flat = (reader.getDataVariable(v.name) as unknown[]).flat(4) as number[];
    const attrs = attrsOf(v.attributes as { name: string; value: unknown }[]);
    const dimNames = v.dimensions.map((d) => dims[d]!.name);
    if (dimNames.length === 1 && dimNames[0] === v.name) {
      coords.set(v.name, { name: v.name, values: Float64Array.from(flat), units: attrs.units as string, calendar: attrs.calendar as string | undefined, axis: attrs.axis as Coordinate['axis'], attrs });
    } else {
      const fill = attrs._FillValue as number;
      const data = Float32Array.from(flat);
      const mask = new Uint8Array(data.length);
      data.forEach((x, i) => { if (x === fill) { mask[i] = 1; data[i] = NaN; } });
      const shape = dimNames.map((d) => (d === reader.recordDimension.name ? reader.recordDimension.length : dims.find((x) => x.name === d)!.size));
      variables.set(v.name, { name: v.name, dims: dimNames, shape, data, mask: mask.includes(1) ? mask : null, units: attrs.units as string, attrs });
    }
  }
  return { ds: { coords, variables, attrs: attrsOf(reader.globalAttributes as { name: string; value: unknown }[]) }, reader };
}

/** Decode a Zarr store with zarrita directly (NaN → mask). */
export async function readWithZarrita(dir: string, version: 2 | 3): Promise<ClimateDataset> {
  const root = zarr.root(new FileSystemStore(dir));
  const open = version === 2 ? zarr.open.v2 : zarr.open.v3;
  const group = await open(root, { kind: 'group' });
  const names = ['time', 'lat', 'lon', 'tas', 'lsm'];
  const coords = new Map<string, Coordinate>();
  const variables = new Map<string, Variable>();
  for (const name of names) {
    const arr = await open(root.resolve(name), { kind: 'array' });
    const got = await zarr.get(arr);
    const attrs = arr.attrs as Attrs;
    const dims = version === 2 ? (attrs._ARRAY_DIMENSIONS as unknown as string[]) : (arr as unknown as { dimensionNames?: string[] }).dimensionNames ?? [];
    if (['time', 'lat', 'lon'].includes(name)) {
      coords.set(name, { name, values: Float64Array.from(got.data as Float64Array), units: attrs.units as string, calendar: attrs.calendar as string | undefined, axis: attrs.axis as Coordinate['axis'], attrs });
    } else {
      const data = Float32Array.from(got.data as Float32Array);
      const mask = data.map((x) => (Number.isNaN(x) ? 1 : 0));
      variables.set(name, { name, dims, shape: got.shape, data, mask: mask.includes(1) ? Uint8Array.from(mask) : null, units: attrs.units as string, attrs });
    }
  }
  return { coords, variables, attrs: group.attrs as Attrs };
}

/** Values, masks, dims, units, calendar and CF attributes as written must equal the original. */
export function assertSameData(got: ClimateDataset, want: ClimateDataset): void {
  for (const [name, c] of want.coords) {
    const g = got.coords.get(name);
    assert.ok(g, `coordinate ${name} present`);
    assert.deepEqual(Array.from(g.values), Array.from(c.values), `${name} values`);
    assert.equal(g.units, c.units, `${name} units`);
    assert.equal(g.calendar, c.calendar, `${name} calendar`);
    assert.equal(g.axis, c.axis, `${name} axis`);
  }
  for (const [name, v] of want.variables) {
    const g = got.variables.get(name);
    assert.ok(g, `variable ${name} present`);
    assert.deepEqual(g.dims, v.dims, `${name} dims`);
    assert.deepEqual(g.shape, v.shape, `${name} shape`);
    assert.equal(g.units, v.units, `${name} units`);
    assert.deepEqual(Array.from(g.mask ?? []), Array.from(v.mask ?? []), `${name} mask`);
    for (let i = 0; i < v.data.length; i++) {
      if (v.mask?.[i] === 1) assert.ok(Number.isNaN(g.data[i]!), `${name}[${i}] masked`);
      else assert.equal(g.data[i], v.data[i], `${name}[${i}]`);
    }
    for (const key of ['long_name', 'standard_name', 'cell_methods']) assert.equal(g.attrs[key], v.attrs[key], `${name}:${key}`);
  }
}
