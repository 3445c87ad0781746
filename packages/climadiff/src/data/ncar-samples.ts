// Real climate sample files from Debian's `libncarg-data` (NCAR Command Language data): obtained with
// `apt-get download` (no root needed), and only the files climadiff uses are extracted into a cache.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DataError } from './types.js';

const PACKAGE = 'libncarg-data';
const DATA_ROOT = './usr/share/ncarg/data';

/** The sample files (paths inside the package's data directory) and what each shows. */
export const NCAR_SAMPLE_FILES = {
  'fice.nc': { member: 'cdf/fice.nc', about: 'sea-ice concentration, 120 monthly fields, 49x100; missing_value, COARDS time_origin' },
  'tas_rectilinear_grid_2D.nc': { member: 'nug/tas_rectilinear_grid_2D.nc', about: 'CMIP5 near-surface air temperature, 12 months of 2005, 96x192; CF-1.4, proleptic_gregorian, bounds' },
  'sstdata_netcdf.nc': { member: 'cdf/sstdata_netcdf.nc', about: 'SST climatology, 12 months, 91x181; valid_range, lat(latitude) naming' },
  'hgt.nc': { member: 'cdf/hgt.nc', about: '500 hPa geopotential height, 21 months, 73x144; _FillValue, months since 1958' },
  'meccatemp.cdf': { member: 'cdf/meccatemp.cdf', about: 'MECCA model temperature, 31 steps, 40x49; longitudes -180..180 with a cyclic column' },
  'nc4uvt.nc': { member: 'cdf/nc4uvt.nc', about: 'NetCDF-4/HDF5: T, U, V on 14 pressure levels, 64x128, plus group grp1' },
  'sstanom.robinsonproj.nc': { member: 'cdf/sstanom.robinsonproj.nc', about: 'PMIP2 SST anomaly 395x320 with land missing (_FillValue and missing_value 1e20)' },
} as const;

export type NcarSample = keyof typeof NCAR_SAMPLE_FILES;

/** The cache directory: $CLIMADIFF_CACHE/ncar-samples, or ~/.cache/climadiff/ncar-samples. */
export function ncarSamplesDir(): string {
  const base = process.env.CLIMADIFF_CACHE ?? join(homedir(), '.cache', 'climadiff');
  return join(base, 'ncar-samples');
}

export function ncarSamplePath(name: NcarSample): string {
  return join(ncarSamplesDir(), name);
}

function missingSamples(dir: string): NcarSample[] {
  return (Object.keys(NCAR_SAMPLE_FILES) as NcarSample[]).filter((f) => {
    const p = join(dir, f);
    return !existsSync(p) || statSync(p).size === 0;
  });
}

function run(cmd: string, args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) return { ok: false, out: (r.error as Error).message };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export interface EnsureResult { dir: string; downloaded: boolean; files: string[]; message: string }

/**
 * Make sure the NCAR sample files are in the cache; idempotent (a second call finds them and does nothing).
 * Downloads the .deb with `apt-get download libncarg-data` into a temporary directory, extracts only the
 * files used (`dpkg-deb --fsys-tarfile | tar -x`), and moves them into the cache.
 */
export function ensureNcarSamples(log: (msg: string) => void = () => {}): EnsureResult {
  const dir = ncarSamplesDir();
  const files = Object.keys(NCAR_SAMPLE_FILES).map((f) => join(dir, f));
  const missing = missingSamples(dir);
  if (missing.length === 0) {
    return { dir, downloaded: false, files, message: `NCAR samples already present in ${dir}; nothing to do` };
  }
  for (const tool of ['apt-get', 'dpkg-deb', 'tar']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error) {
      throw new DataError('apt-unavailable', `'${tool}' is not available (${(r.error as Error).message}); 'data fetch ncar-samples' needs a Debian/Ubuntu system with apt-get and dpkg-deb. Alternatively copy the files ${Object.values(NCAR_SAMPLE_FILES).map((f) => f.member).join(', ')} from the libncarg-data package into ${dir}`);
    }
  }
  const tmp = mkdtempSync(join(tmpdir(), 'climadiff-ncarg-'));
  try {
    log(`downloading ${PACKAGE} with apt-get download ...`);
    const dl = run('apt-get', ['download', PACKAGE], tmp);
    const debs = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (!dl.ok || debs.length === 0) {
      throw new DataError('download-failed', `'apt-get download ${PACKAGE}' failed: ${dl.out.trim().split('\n').slice(-3).join(' | ')}; check the apt sources (try 'apt-get update')`);
    }
    const deb = join(tmp, debs[0]!);
    const members = missing.map((f) => `${DATA_ROOT}/${NCAR_SAMPLE_FILES[f].member}`);
    log(`extracting ${members.length} file(s) from ${basename(deb)} ...`);
    const r = spawnSync('sh', ['-c', 'deb="$1"; dir="$2"; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@"', 'sh', deb, tmp, ...members], { encoding: 'utf8' });
    if (r.status !== 0) throw new DataError('extract-failed', `extracting from ${basename(deb)} failed: ${(r.stderr ?? '').trim()}`);
    mkdirSync(dir, { recursive: true });
    for (const f of missing) {
      const from = join(tmp, DATA_ROOT, NCAR_SAMPLE_FILES[f].member);
      if (!existsSync(from)) throw new DataError('extract-failed', `${basename(deb)} has no ${NCAR_SAMPLE_FILES[f].member}`);
      const to = join(dir, f);
      const part = `${to}.part`;
      copyFileSync(from, part);
      renameSync(part, to); // atomic: a crash never leaves a half file under the final name
    }
    return { dir, downloaded: true, files, message: `extracted ${missing.length} NCAR sample file(s) into ${dir}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
