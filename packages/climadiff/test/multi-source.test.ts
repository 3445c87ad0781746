// Datasets of many files (data/multi-source.ts): simulator output written as yearly files (one in other time units),
// joined along time in calendar order whatever order they are given in, read across file boundaries exactly as the
// single concatenated file, the same training batches bit for bit; lists, globs and directories; and one clear error
// naming the file for each way files can disagree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { simulateEarth } from '../src/data/simulator/earth.js';
import { writeDataset } from '../src/data/writers/dataset.js';
import { sliceTime } from '../src/data/writers/common.js';
import { openClipSource } from '../src/data/file-source.js';
import { openDataset } from '../src/data/readers/index.js';
import { openDataSource, openMultiFileSource, resolveDataFiles } from '../src/data/multi-source.js';
import { splitDatasets } from '../src/data/dataset.js';
import { openSelectedSource } from '../src/data/select-source.js';
import { DataError, type ClimateDataset, type Variable } from '../src/data/types.js';

torch.setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), 'climadiff-multi-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const H = 8, W = 16;
// 3 x 120 six-hourly steps (30 days each), noleap calendar: three "years" of a small Earth
const ds = simulateEarth({ frames: 360, seed: 5, nlat: H, nlon: W, spinupDays: 1, everyHours: 6 });
const time = ds.coords.get('time')!;
const VARS = ['tas', 'pr'];
const single = join(dir, 'all.nc');
await writeDataset(ds, single);

/** The steps [t0, t1) as their own dataset, optionally with the time axis re-expressed in other units. */
function part(t0: number, t1: number, o: { units?: string; shiftHours?: number } = {}): ClimateDataset {
  const p = sliceTime(ds, 'time', t0, t1);
  if (!o.units) return p;
  const coords = new Map(p.coords);
  const c = coords.get('time')!;
  // the simulator's axis is in hours since its origin; the same instants in hours since a later origin
  coords.set('time', { ...c, units: o.units, attrs: { ...c.attrs, units: o.units }, values: Float64Array.from(c.values, (v) => v - (o.shiftHours ?? 0)) });
  return { ...p, coords };
}

const yearDir = join(dir, 'years');
mkdirSync(yearDir);
const y0 = join(yearDir, 'earth_y0.nc'), y1 = join(yearDir, 'earth_y1.nc4'), y2 = join(yearDir, 'earth_y2.zarr');
const units = time.units!;
const origin = /since (.*)$/.exec(units)![1]!;
await writeDataset(part(0, 120), y0);
// year 1 in hours since a later origin (30 days = 720 h after the simulator's), as NetCDF-4; year 2 as Zarr
const later = units.replace(origin, addDays(origin, 30));
await writeDataset(part(120, 240, { units: later, shiftHours: 720 }), y1);
await writeDataset(part(240, 360), y2);

function addDays(iso: string, days: number): string {
  // the simulator's origin is a plain date (noleap calendar, within one month here)
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$/.exec(iso.trim())!;
  const day = Number(m[3]) + days;
  const lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  let mo = Number(m[2]), d = day;
  while (d > lengths[mo - 1]!) { d -= lengths[mo - 1]!; mo++; }
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}${m[4]}`;
}

test('yearly files in any order join into the single file: time axis, reads across boundaries, batches', async () => {
  const one = await openClipSource(single, VARS);
  const many = await openMultiFileSource([y2, y0, y1], VARS);
  try {
    assert.equal(many.timeSteps, 360);
    assert.deepEqual(many.files.map((f) => [f.path, f.start, f.steps]), [[y0, 0, 120], [y1, 120, 120], [y2, 240, 120]]);
    assert.deepEqual(many.gaps, []);
    assert.equal(many.time!.units, units, 'the joined axis is in the first (calendar-order) file\'s units');
    for (let i = 0; i < 360; i++) assert.ok(Math.abs(many.time!.values[i]! - one.time!.values[i]!) < 1e-9, `time ${i}`);
    for (const [a, b] of [[0, 7], [115, 125], [118, 245], [239, 241], [350, 360]] as const) {
      const x = await one.read(a, b), y = await many.read(a, b);
      assert.deepEqual(y.data, x.data, `frames [${a}, ${b})`);
      assert.deepEqual(y.mask, x.mask);
    }
    // training batches: the same split, statistics and batches, bit for bit
    const opts = { frames: 4, normalisation: 'climatology' as const, dateFeatures: 'year' as const };
    const [s1, s2] = [await splitDatasets(one, opts), await splitDatasets(many, opts)];
    assert.deepEqual(s2.stats, s1.stats);
    assert.deepEqual(Array.from(s2.train.starts), Array.from(s1.train.starts));
    const b1 = s1.train.batches({ batchSize: 6, shuffle: true, seed: 3 }), b2 = s2.train.batches({ batchSize: 6, shuffle: true, seed: 3 });
    for (let k = 0; k < 3; k++) {
      const [p, q] = [(await b1.next()).value!, (await b2.next()).value!];
      assert.deepEqual(Array.from(q.x.toFloat32Array()), Array.from(p.x.toFloat32Array()), `batch ${k}`);
      assert.deepEqual(Array.from(q.date!.toFloat32Array()), Array.from(p.date!.toFloat32Array()));
    }
    // and after the seed's preprocessing (a box across the seam, 2 x 2 area-weighted coarsening, every second step)
    const sel = { lat: [-60, 60] as [number, number], lon: [300, 60] as [number, number], coarsen: 2, every: 2 };
    const [c1, c2] = [await openSelectedSource(single, VARS, sel), await openSelectedSource([y1, y2, y0], VARS, sel)];
    assert.deepEqual([c2.timeSteps, c2.height, c2.width], [c1.timeSteps, c1.height, c1.width]);
    const [t1, t2] = [await splitDatasets(c1, opts), await splitDatasets(c2, opts)];
    assert.deepEqual(t2.stats, t1.stats);
    const e1 = t1.train.batches({ batchSize: 4, shuffle: true, seed: 1 }), e2 = t2.train.batches({ batchSize: 4, shuffle: true, seed: 1 });
    for (let k = 0; k < 3; k++) {
      const [p, q] = [(await e1.next()).value!, (await e2.next()).value!];
      assert.deepEqual(Array.from(q.x.toFloat32Array()), Array.from(p.x.toFloat32Array()), `selected batch ${k}`);
    }
    c1.close!();
    c2.close!();
  } finally {
    one.close();
    many.close();
  }
});

test('read-ahead in a worker thread: the same batches bit for bit, early stops end the worker, errors arrive as exceptions', async () => {
  const sel = { lat: [-60, 60] as [number, number], lon: [300, 60] as [number, number], coarsen: 2 };
  const files = [y0, y1, y2];
  const source = await openSelectedSource(files, VARS, sel);
  const opts = { frames: 4, normalisation: 'climatology' as const, dateFeatures: 'year' as const, reopen: { data: files, variables: VARS, select: sel } };
  const { train } = await splitDatasets(source, opts);
  const all = async (readAhead: number, limit = Infinity): Promise<number[][]> => {
    const out: number[][] = [];
    for await (const b of train.batches({ batchSize: 5, shuffle: true, seed: 2, epoch: 1, readAhead })) {
      out.push([...b.x.toFloat32Array(), ...b.mask.toFloat32Array(), ...b.date!.toFloat32Array(), ...b.starts]);
      b.x.dispose(); b.mask.dispose(); b.date!.dispose();
      if (out.length >= limit) break;
    }
    return out;
  };
  const inPlace = await all(0);
  assert.ok(inPlace.length > 10);
  assert.deepEqual(await all(3), inPlace);
  assert.deepEqual(await all(1, 2), inPlace.slice(0, 2), 'a consumer that stops early');
  // a source that cannot be opened again: the worker's error is the consumer's exception, naming the file
  const { train: lost } = await splitDatasets(source, { ...opts, reopen: { data: [join(dir, 'gone.nc')], variables: VARS, select: sel } });
  await assert.rejects(async () => { for await (const b of lost.batches({ batchSize: 5, readAhead: 2 })) b.x.dispose(); }, /gone\.nc/);
  await assert.rejects(async () => { for await (const b of train.batches({ batchSize: 5, readAhead: -1 })) b.x.dispose(); }, /readAhead must be a non-negative integer/);
  source.close!();
});

test('a list, a glob or a directory: the same files; one file is read as it is', async () => {
  assert.deepEqual(resolveDataFiles(`${y1},${y0}`), [y1, y0]);
  assert.deepEqual(resolveDataFiles(join(yearDir, 'earth_y*')), [y0, y1, y2]);
  assert.deepEqual(resolveDataFiles(yearDir), [y0, y1, y2]);
  assert.deepEqual(resolveDataFiles(y2), [y2], 'a Zarr store is one file, not a directory of files');
  const s = await openDataSource(yearDir, VARS);
  assert.equal(s.timeSteps, 360);
  s.close();
  assert.throws(() => resolveDataFiles(join(dir, 'nothing_*.nc')), /nothing_\*\.nc: no data file matches this pattern/);
  assert.throws(() => resolveDataFiles(join(dir, 'missing.nc')), /missing\.nc: no such file or directory/);
  assert.throws(() => resolveDataFiles(`${y0},${y0}`), /earth_y0\.nc: given twice/);
});

test('files that disagree: one clear error naming the file; gaps are reported', async () => {
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  const withVar = (d: ClimateDataset, name: string, f: (v: Variable) => Variable): ClimateDataset => {
    const variables = new Map(d.variables);
    variables.set(name, f(variables.get(name)!));
    return { ...d, variables };
  };
  // units: tas in degC in one year
  const degC = join(bad, 'degC.nc');
  await writeDataset(withVar(part(120, 240), 'tas', (v) => ({ ...v, units: 'degC', attrs: { ...v.attrs, units: 'degC' }, data: v.data.map((x) => x - 273.15) })), degC);
  await assert.rejects(openMultiFileSource([y0, degC], VARS), (e: Error) => e instanceof DataError && e.message === `${degC}: 'tas' is in 'degC', but in 'K' in ${y0}`);
  // a variable missing in one year
  const noPr = join(bad, 'nopr.nc');
  const p = part(120, 240);
  await writeDataset({ ...p, variables: new Map([...p.variables].filter(([k]) => k !== 'pr')) }, noPr);
  await assert.rejects(openMultiFileSource([y0, noPr], VARS), (e: Error) => e instanceof DataError && e.message.startsWith(`${noPr}: unknown variable 'pr'`));
  // another calendar
  const cal = join(bad, 'cal.nc');
  const q = part(120, 240);
  const tc = q.coords.get('time')!;
  await writeDataset({ ...q, coords: new Map([...q.coords, ['time', { ...tc, calendar: '360_day', attrs: { ...tc.attrs, calendar: '360_day' } }]]) }, cal);
  await assert.rejects(openMultiFileSource([y0, cal], VARS), (e: Error) => e instanceof DataError && e.message === `${cal}: calendar '360_day', but ${y0} uses 'noleap'`);
  // another grid (12 latitudes)
  const coarse = join(bad, 'coarse.nc');
  const small = simulateEarth({ frames: 10, seed: 5, nlat: 12, nlon: W, spinupDays: 1, everyHours: 6 });
  await writeDataset(small, coarse);
  await assert.rejects(openMultiFileSource([y0, coarse], VARS), (e: Error) => e instanceof DataError && e.message === `${coarse}: grid 12x${W}, but ${y0} has ${H}x${W}`);
  // overlapping years: both files named, with the dates
  const overlap = join(bad, 'overlap.nc');
  await writeDataset(part(100, 200), overlap);
  await assert.rejects(openMultiFileSource([y0, overlap], VARS), (e: Error) => e instanceof DataError && e.message.startsWith(`${overlap} starts at `) && e.message.includes(`which ${y0} already covers`));
  // a gap: reported, not an error
  const logs: string[] = [];
  const gapped = await openMultiFileSource([y0, y2], VARS, { log: (m) => logs.push(m) });
  assert.deepEqual(gapped.gaps.map((g) => [g.after, g.before, g.missing]), [[y0, y2, 120]]);
  assert.deepEqual(gapped.breaks, [120], 'no clip spans the missing steps');
  assert.match(logs[0]!, /120 time step\(s\) missing between .*earth_y0\.nc .* and .*earth_y2\.zarr/);
  gapped.close();
});

test('train from a glob of yearly files, then sample and report from the run (its data found again by the glob)', async () => {
  const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  writeFileSync(join(dir, 'one-step.json'), JSON.stringify({ steps: 1, batchSize: 1, logEvery: 1, validateEvery: 0, checkpointEvery: 1, lrSchedule: { kind: 'constant', warmupSteps: 0 } }));
  const t = cli('train', '--data', 'years/earth_y*', '--vars', 'tas,pr', '--out', 'run', '--frames', '4', '--config', 'one-step.json', '--statics', '--threads', '1');
  assert.equal(t.status, 0, t.stderr);
  const runData = JSON.parse(readFileSync(join(dir, 'run', 'run-data.json'), 'utf8')) as { source: string; time: { units: string } };
  assert.equal(runData.source, 'years/earth_y*');
  assert.equal(runData.time.units, units);
  const s = cli('sample', '--checkpoint', 'run', '--n', '1', '--steps', '2', '--out', 's.nc', '--report', 'rep');
  assert.equal(s.status, 0, s.stderr);
  assert.ok(existsSync(join(dir, 'rep', 'report.md')));
  // no validation split, two time blocks: recorded in the run, kept by a resume, a change refused
  const noVal = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run3', '--frames', '4', '--config', 'one-step.json', '--split', 'blocks:2', '--validation', 'none', '--threads', '1');
  assert.equal(noVal.status, 0, noVal.stderr);
  assert.match(noVal.stderr, /warning: no validation split/);
  const rd3 = JSON.parse(readFileSync(join(dir, 'run3', 'run-data.json'), 'utf8')) as { split: string; validation: boolean };
  assert.deepEqual([rd3.split, rd3.validation], ['blocks:2', false]);
  const changed = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run3', '--frames', '4', '--config', 'one-step.json', '--split', 'blocks', '--resume');
  assert.equal(changed.status, 1);
  assert.match(changed.stderr, /run3 was split 'blocks:2' without validation; a resumed run keeps its split/);
  const badSplit = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run4', '--split', 'random');
  assert.equal(badSplit.status, 1);
  assert.match(badSplit.stderr, /unknown split 'random'/);
  assert.ok(!existsSync(join(dir, 'run4')));
  // a selection: a box across the 0 meridian (8 of 16 longitudes: 270 to 90 east), two months, every second step; recorded in the run
  // and applied again when the run's data are reopened (the sample report)
  const boxed = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run5', '--frames', '4', '--config', 'one-step.json', '--statics',
    '--box', '-90,90,270,90', '--months', '1,2', '--every', '2', '--threads', '1');
  assert.equal(boxed.status, 0, boxed.stderr);
  const rd5 = JSON.parse(readFileSync(join(dir, 'run5', 'run-data.json'), 'utf8')) as { selection: unknown; width: number; height: number; lon: number[] };
  assert.deepEqual(rd5.selection, { lat: [-90, 90], lon: [270, 90], months: [1, 2], every: 2 });
  assert.deepEqual([rd5.height, rd5.width], [H, 8]);
  const lon0 = Array.from(ds.coords.get('lon')!.values).find((x) => x >= 270)!;
  assert.deepEqual(rd5.lon, Array.from({ length: 8 }, (_, i) => lon0 + 22.5 * i), 'east from 270 across the seam, increasing');
  const s5 = cli('sample', '--checkpoint', 'run5', '--n', '1', '--steps', '2', '--out', 's5.nc', '--report', 'rep5');
  assert.equal(s5.status, 0, s5.stderr);
  // a grid the U-Net does not divide (6 latitudes within 70 degrees): --fit crop keeps the central 4; --split none
  const fit = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run7', '--frames', '4', '--config', 'one-step.json', '--box', '-70,70,-180,180',
    '--fit', 'crop', '--split', 'none', '--threads', '1');
  assert.equal(fit.status, 0, fit.stderr);
  assert.match(fit.stderr, /--fit crop: the 6x16 grid is cropped to its central 4x16/);
  const rd7 = JSON.parse(readFileSync(join(dir, 'run7', 'run-data.json'), 'utf8')) as { selection: { crop: number[] }; height: number; test: number[]; split: string };
  assert.deepEqual([rd7.selection.crop, rd7.height, rd7.test.length, rd7.split], [[4, 16], 4, 0, 'none']);
  const unfit = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run8', '--box', '-70,70,-180,180', '--config', 'one-step.json', '--fit', 'error');
  assert.equal(unfit.status, 1);
  assert.match(unfit.stderr, /the grid 6x16 must be divisible by 4 for a U-Net with 3 levels \(--fit reflect or zeros pads it inside the network, --fit crop/);
  assert.ok(!existsSync(join(dir, 'run8')));
  // by default the network pads it (reflect in latitude, wrapped in longitude): the run, its samples and report stay on 6 x 16;
  // 12 steps (every 30th) are too few for the default split, so with no split asked for it trains on all of them, and says so
  const padded = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run8', '--box', '-70,70,-180,180', '--config', 'one-step.json', '--every', '30', '--threads', '1');
  assert.equal(padded.status, 0, padded.stderr);
  assert.match(padded.stderr, /note: the \w+ split gets no clip of 8 frames: 12 time steps .* too few: training on all 12 time steps \(--split none\)/);
  assert.equal((JSON.parse(readFileSync(join(dir, 'run8', 'run-data.json'), 'utf8')) as { split: string }).split, 'none');
  assert.match(padded.stderr, /--fit reflect: the 6x16 grid is padded to 8x16 inside the network; data, loss and outputs stay on 6x16/);
  const rd8 = JSON.parse(readFileSync(join(dir, 'run8', 'run-data.json'), 'utf8')) as { height: number; lat: number[] };
  assert.equal(rd8.height, 6);
  const s8 = cli('sample', '--checkpoint', 'run8', '--n', '1', '--steps', '2', '--out', 's8.nc', '--threads', '1');
  assert.equal(s8.status, 0, s8.stderr);
  const back8 = await openDataset(join(dir, 's8.nc'), { normalise: false });
  assert.deepEqual(back8.variables.get('tas')!.shape, [1, 8, 6, 16]);
  assert.deepEqual(Array.from(back8.coords.get('lat')!.values), rd8.lat);
  // one dataset config (paths relative to it) for all of it; the run keeps its own, from which the run is reproduced
  writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ data: 'years/earth_y*', variables: ['tas', 'pr'], transforms: { pr: 'sqrt' }, frames: 4,
    select: { lat: [-70, 70], lon: [-180, 180], months: [1, 2] }, fit: 'crop', split: 'blocks', validation: false }));
  const fromCfg = cli('train', '--dataset', 'dataset.json', '--out', 'run9', '--config', 'one-step.json', '--threads', '1');
  assert.equal(fromCfg.status, 0, fromCfg.stderr);
  const kept = JSON.parse(readFileSync(join(dir, 'run9', 'dataset.json'), 'utf8')) as { data: string[]; select: unknown; validation: boolean };
  assert.deepEqual(kept.data, [y0, y1, y2], 'the files, absolute');
  assert.deepEqual(kept.select, { lat: [-70, 70], lon: [-180, 180], months: [1, 2], crop: [4, 16] });
  assert.equal(kept.validation, false);
  const again = cli('train', '--dataset', join('run9', 'dataset.json'), '--out', 'run10', '--config', 'one-step.json', '--threads', '1');
  assert.equal(again.status, 0, again.stderr);
  const [rd9, rd10] = ['run9', 'run10'].map((r) => JSON.parse(readFileSync(join(dir, r, 'run-data.json'), 'utf8')) as Record<string, unknown>);
  for (const k of ['height', 'width', 'lat', 'lon', 'selection', 'test', 'trainRanges', 'split', 'validation']) assert.deepEqual(rd10![k], rd9![k], k);
  writeFileSync(join(dir, 'bad-dataset.json'), JSON.stringify({ data: 'years', variables: [], split: 'random', colour: 'red' }));
  const badCfg = cli('train', '--dataset', 'bad-dataset.json', '--out', 'run11');
  assert.equal(badCfg.status, 1);
  assert.match(badCfg.stderr, /dataset config bad-dataset\.json is not valid:/);
  assert.match(badCfg.stderr, /variables: /);
  assert.match(badCfg.stderr, /split: not a split/);
  assert.match(badCfg.stderr, /Unrecognized key/);
  const badLevel = cli('train', '--data', 'years', '--vars', 'tas', '--out', 'run6', '--level', '500', '--config', 'one-step.json');
  assert.equal(badLevel.status, 1);
  assert.match(badLevel.stderr, /'tas' has no vertical dimension, so --level 500 does not apply/);
  assert.ok(!existsSync(join(dir, 'run6')));
  const missing = cli('train', '--data', 'years/nothing_*.nc', '--vars', 'tas', '--out', 'run2', '--config', 'one-step.json');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /years\/nothing_\*\.nc: no data file matches this pattern/);
  assert.ok(!existsSync(join(dir, 'run2')));
});
