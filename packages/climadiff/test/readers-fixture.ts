// Shared by the readers tests: the NCAR sample files (Debian libncarg-data, fetched once), a temporary folder per
// test file, ncdump's values as a reference, and small assertion helpers.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, type ClimateDataset, type Variable } from '../src/data/types.js';
import { ensureNcarSamples, ncarSamplePath } from '../src/data/ncar-samples.js';

export const sample = ncarSamplePath;

/** Fetches the NCAR samples and makes a temporary folder before the file's tests; removes it after. */
export function useSamplesAndTmp(): { readonly dir: string } {
  const state = { dir: '' };
  before(() => {
    ensureNcarSamples((m) => process.stderr.write(`${m}\n`));
    state.dir = mkdtempSync(join(tmpdir(), 'climadiff-readers-'));
  });
  after(() => { if (state.dir) rmSync(state.dir, { recursive: true, force: true }); });
  return state;
}

/** All numbers of one variable's data section as printed by ncdump (Debian netcdf-bin). */
export function ncdumpValues(file: string, name: string): number[] {
  const out = execFileSync('ncdump', ['-p', '9,17', '-v', name, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const start = out.indexOf(`\n ${name} =`);
  assert.ok(start >= 0, `ncdump printed no data for ${name}`);
  const body = out.slice(start + name.length + 4, out.indexOf(';', start));
  return body.split(',').map((s) => s.trim()).map((s) => (s === '_' ? NaN : Number(s)));
}

export async function expectDataError(p: Promise<unknown> | (() => unknown), kind: string, re: RegExp): Promise<DataError> {
  let err: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
  assert.ok(err instanceof DataError, `expected a DataError(${kind}), got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  assert.match(err.message, re);
  return err;
}

export function v(ds: ClimateDataset, name: string): Variable {
  const x = ds.variables.get(name);
  assert.ok(x, `no variable ${name}`);
  return x;
}

export function coordValues(ds: ClimateDataset, name: string): number[] {
  const c = ds.coords.get(name);
  assert.ok(c, `no coordinate ${name}`);
  return Array.from(c.values);
}

