#!/usr/bin/env node
// The seed's preprocessing pipeline (UKCP18 hourly precipitation: a box over England and Wales, 4 x 4 coarsening,
// every fifth season held out) reproduced on the built-in Earth simulator written as ten yearly NetCDF files, driven
// by one dataset config (docs/data.md):
//   1. simulate ten years (6-hourly) once, and write them as ten yearly files;
//   2. write OUT/dataset.json: the yearly files (a glob), the variable, the box, the coarsening, the season split;
//   3. check that the ten files and the single concatenated file give bit-identical training batches;
//   4. climadiff train --dataset OUT/dataset.json, then climadiff sample --report from the run.
// Every step is skipped when its output exists (training resumes), so the script can be stopped and run again.
//
//   node scripts/seed-pipeline.mjs OUT [--lat 64] [--lon 128] [--box -10,80,-30,60] [--coarsen 2] [--var pr]
//                                     [--minutes 10] [--samples 8] [--threads 2]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const out = args[0];
if (!out || out.startsWith('--')) {
  process.stderr.write('usage: node scripts/seed-pipeline.mjs OUT [--lat N] [--lon N] [--box LAT0,LAT1,LON0,LON1] [--coarsen K] [--var V] [--minutes M] [--samples N] [--threads T]\n');
  process.exit(2);
}
const known = ['lat', 'lon', 'box', 'coarsen', 'var', 'minutes', 'samples', 'threads'];
const opt = { lat: '64', lon: '128', box: '-10,80,-30,60', coarsen: '2', var: 'pr', minutes: '10', samples: '8', threads: '2' };
for (let i = 1; i < args.length; i += 2) {
  const k = args[i].replace(/^--/, '');
  if (!known.includes(k) || args[i + 1] === undefined) { process.stderr.write(`seed-pipeline: unknown or incomplete option ${args[i]}\n`); process.exit(2); }
  opt[k] = args[i + 1];
}

const boot = spawnSync('bash', [join(root, 'scripts', 'bootstrap')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (boot.status !== 0) process.exit(boot.status ?? 1);
const dist = join(root, 'packages', 'climadiff', 'dist', 'src');
const cliPath = join(dist, 'cli', 'main.js');
const cli = (...a) => {
  process.stderr.write(`$ climadiff ${a.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cliPath, ...a], { stdio: 'inherit' });
  if (r.status !== 0) { process.stderr.write(`seed-pipeline: climadiff ${a[0]} failed (status ${r.status})\n`); process.exit(r.status ?? 1); }
};
const lib = async (p) => import(join(dist, p));

mkdirSync(out, { recursive: true });
const YEARS = 10, STEPS_PER_YEAR = 1460; // 6-hourly in the simulator's noleap calendar
const single = join(out, 'earth.nc');
// 1. ten years, simulated once; then one file per year
if (!existsSync(single)) {
  cli('data', 'simulate', '--model', 'earth', '--frames', String(YEARS * STEPS_PER_YEAR), '--lat', opt.lat, '--lon', opt.lon, '--seed', '1', '--out', single);
}
const yearDir = join(out, 'years');
if (!existsSync(join(yearDir, `earth_y${String(YEARS - 1).padStart(2, '0')}.nc`))) {
  const { openDataset } = await lib('data/readers/index.js');
  const { writeDataset } = await lib('data/writers/dataset.js');
  const { sliceTime } = await lib('data/writers/common.js');
  mkdirSync(yearDir, { recursive: true });
  const ds = await openDataset(single, { normalise: false });
  for (let y = 0; y < YEARS; y++) {
    const f = join(yearDir, `earth_y${String(y).padStart(2, '0')}.nc`);
    if (existsSync(f)) continue;
    await writeDataset(sliceTime(ds, 'time', y * STEPS_PER_YEAR, (y + 1) * STEPS_PER_YEAR), f);
    process.stderr.write(`wrote ${f}\n`);
  }
}

// 2. the dataset config: everything the run trains on, in one file
const [lat0, lat1, lon0, lon1] = opt.box.split(',').map(Number);
const config = {
  data: 'years/earth_y*.nc', variables: [opt.var], frames: 8,
  select: { lat: [lat0, lat1], lon: [lon0, lon1], coarsen: Number(opt.coarsen) },
  split: 'seasons:5',
};
const configPath = join(out, 'dataset.json');
writeFileSync(configPath, `${JSON.stringify(config, null, 1)}\n`);

// 3. the ten files and the single file: the same selection, split, statistics and batches, bit for bit
const identicalPath = join(out, 'identical.json');
if (!existsSync(identicalPath)) {
  const { openSelectedSource } = await lib('data/select-source.js');
  const { splitDatasets } = await lib('data/dataset.js');
  const { parseSplitSpec } = await lib('data/split.js');
  const split = parseSplitSpec(config.split);
  const open = (spec) => openSelectedSource(spec, config.variables, config.select);
  const [a, b] = [await open(single), await open(join(yearDir, 'earth_y*.nc'))];
  const options = { ...split, frames: config.frames, normalisation: 'climatology', channels: { [opt.var]: { transform: opt.var === 'pr' ? 'sqrt' : 'none' } }, dateFeatures: 'year+day' };
  const [sa, sb] = [await splitDatasets(a, options), await splitDatasets(b, options)];
  const same = (x, y) => x.length === y.length && Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
  let batches = 0, identical = JSON.stringify(sa.stats) === JSON.stringify(sb.stats) && same(sa.train.starts, sb.train.starts) && same(sa.test.starts, sb.test.starts);
  const ia = sa.train.batches({ batchSize: 8, shuffle: true, seed: 0 }), ib = sb.train.batches({ batchSize: 8, shuffle: true, seed: 0 });
  for (; batches < 16 && identical; batches++) {
    const [p, q] = [(await ia.next()).value, (await ib.next()).value];
    if (!p || !q) break;
    identical = same(p.x.toFloat32Array(), q.x.toFloat32Array()) && same(p.mask.toFloat32Array(), q.mask.toFloat32Array()) && same(p.date.toFloat32Array(), q.date.toFloat32Array());
    for (const t of [p.x, p.mask, p.date, q.x, q.mask, q.date]) t.dispose();
  }
  a.close?.(); b.close?.();
  const result = {
    identical, batchesCompared: batches, grid: [sa.train.clipShape[2], sa.train.clipShape[3]], timeSteps: a.timeSteps,
    clips: { train: sa.train.starts.length, validation: sa.validation.starts.length, test: sa.test.starts.length },
  };
  writeFileSync(identicalPath, `${JSON.stringify(result, null, 1)}\n`);
  process.stderr.write(`ten files vs one: ${identical ? 'bit-identical' : 'DIFFERENT'} (${batches} batches, grid ${result.grid.join('x')}, clips ${JSON.stringify(result.clips)})\n`);
  if (!identical) process.exit(1);
}

// 4. train from the config (resumed when interrupted), then sample with the report
const run = join(out, 'run');
if (!existsSync(join(run, 'samples.nc'))) {
  const resume = existsSync(join(run, 'latest')) ? ['--resume'] : [];
  if (!existsSync(join(run, 'done'))) {
    cli('train', '--dataset', configPath, '--out', run, '--minutes', opt.minutes, '--threads', opt.threads, ...resume);
    writeFileSync(join(run, 'done'), '');
  }
  cli('sample', '--checkpoint', run, '--n', opt.samples, '--out', join(run, 'samples.nc'), '--report', join(out, 'report'), '--threads', opt.threads);
}
process.stderr.write(`done: ${join(out, 'report', 'report.md')}\n`);
