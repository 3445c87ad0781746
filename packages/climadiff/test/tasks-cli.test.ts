// `climadiff forecast | interpolate | infill | downscale` end to end on a tiny trained model: files with a member
// dimension that read back, GIFs, resumption of a killed run, and every bad input with one clear line and nothing written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnsembleFile } from '../src/run/ensemble-file.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
let dir = '';
const env = { ...process.env, OMP_NUM_THREADS: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'climadiff-tasks-'));
  const s = cli('data', 'simulate', '--model', 'earth', '--frames', '160', '--seed', '2', '--spinup', '2', '--lat', '16', '--lon', '32', '--out', 'earth.nc', '--no-progress');
  assert.equal(s.status, 0, s.stderr);
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify({ steps: 2, batchSize: 1, logEvery: 1, validateEvery: 0, checkpointEvery: 2, lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0 }));
  const t = cli('train', '--data', 'earth.nc', '--vars', 'tas,pr', '--out', 'run', '--frames', '4', '--config', cfg, '--channels', '8', '--threads', '1');
  assert.equal(t.status, 0, t.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = ['--checkpoint', 'run', '--data', 'earth.nc', '--members', '2', '--steps', '2', '--threads', '1'];

test('forecast: an ensemble file with member, init_time and lead_time that reads back, a GIF, throughput on stdout', async () => {
  const r = cli('forecast', ...base, '--starts', 'every:3d:all', '--max-cases', '2', '--known', '2', '--leads', '3', '--out', 'f.nc');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /forecast: 2 case\(s\) x 2 member\(s\) x 3 frame\(s\)/);
  assert.match(r.stdout, /member-frames\/s; \d+ network evaluations \(\d+ with a backward pass for guidance\)/);
  assert.match(r.stderr, /forecast .*\d+\/\d+ steps/, 'progress lines');
  assert.equal(readFileSync(join(dir, 'f.gif')).subarray(0, 6).toString('latin1'), 'GIF89a');
  assert.ok(!existsSync(join(dir, 'f.nc.partial')), 'the partial folder is removed when the run completes');
  const e = await readEnsembleFile(join(dir, 'f.nc'));
  assert.equal(e.task, 'forecast');
  assert.deepEqual(e.variables, ['tas', 'pr']);
  assert.deepEqual(e.shape, [2, 2, 3, 16, 32]);
  assert.deepEqual(e.units, ['K', 'mm h-1']);
  assert.equal(e.timeUnits.calendar, 'noleap');
  // valid times: 6 h apart within a case; the second case 3 days later
  assert.equal(e.times[1]! - e.times[0]!, 6);
  assert.equal(e.times[3]! - e.times[0]!, 72);
  assert.ok(e.data.every((d) => d.every(Number.isFinite)));
  assert.equal(e.settings['known'], 2);
  // RUN/latest is the run's latest checkpoint; RUN/best needs a validated one (this run validated none)
  const latest = cli('forecast', ...base.map((x) => (x === 'run' ? join('run', 'latest') : x)), '--starts', 'every:3d:all', '--max-cases', '1', '--known', '2', '--leads', '1', '--out', 'latest.nc', '--no-gif');
  assert.equal(latest.status, 0, latest.stderr);
  const best = cli('forecast', ...base.map((x) => (x === 'run' ? join('run', 'best') : x)), '--starts', 'every:3d:all', '--max-cases', '1', '--out', 'best.nc');
  assert.equal(best.status, 1);
  assert.match(best.stderr, /^climadiff: run has no 'best' checkpoint \(none was validated/);
});

test('a killed run continues where it stopped and gives the same ensemble as an uninterrupted one', async () => {
  const args = ['forecast', ...base, '--steps', '60', '--batch', '2', '--starts', 'every:2d:all', '--max-cases', '3', '--known', '2', '--no-gif'];
  const whole = cli(...args, '--out', 'whole.nc');
  assert.equal(whole.status, 0, whole.stderr);
  const child = spawn(process.execPath, [CLI, ...args, '--out', 'cut.nc'], { cwd: dir, env, stdio: 'ignore' });
  const partial = join(dir, 'cut.nc.partial');
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(partial) && readdirSync(partial).some((f) => /^case-\d+\.f32$/.test(f))) { clearInterval(poll); child.kill('SIGKILL'); resolve(); }
    }, 20);
    child.on('exit', () => { clearInterval(poll); reject(new Error('the run finished before it could be killed: raise --steps')); });
  });
  await new Promise((r) => child.on('close', r));
  assert.ok(!existsSync(join(dir, 'cut.nc')), 'no output from the killed run');
  const again = cli(...args, '--out', 'cut.nc');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /resuming: [12] of 3 case\(s\) already done/);
  const a = await readEnsembleFile(join(dir, 'whole.nc')), b = await readEnsembleFile(join(dir, 'cut.nc'));
  assert.deepEqual(b.data, a.data);
  // SIGTERM: the cases in progress finish, the finished ones are kept, exit 75; the same command continues
  const term = spawn(process.execPath, [CLI, ...args, '--out', 'term.nc'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let termErr = '';
  term.stderr!.on('data', (d: Buffer) => { termErr += d.toString(); });
  const termPartial = join(dir, 'term.nc.partial');
  const poll = setInterval(() => {
    if (existsSync(termPartial) && readdirSync(termPartial).some((f) => /^case-\d+\.f32$/.test(f))) { clearInterval(poll); term.kill('SIGTERM'); }
  }, 20);
  const termCode = await new Promise<number | null>((r) => term.on('close', (code) => { clearInterval(poll); r(code); }));
  assert.equal(termCode, 75, termErr);
  assert.match(termErr, /SIGTERM: finishing the cases in progress/);
  assert.match(termErr, /forecast stopped \(SIGTERM\) after [12] of 3 case\(s\), kept in term\.nc\.partial: run the same command to continue/);
  assert.ok(!existsSync(join(dir, 'term.nc')));
  const resumed = cli(...args, '--out', 'term.nc');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual((await readEnsembleFile(join(dir, 'term.nc'))).data, a.data);
  // other settings on the same partial folder are refused
  const c2 = spawn(process.execPath, [CLI, ...args, '--out', 'cut2.nc'], { cwd: dir, env, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 50));
  c2.kill('SIGKILL');
  await new Promise((r) => c2.on('close', r));
  if (existsSync(join(dir, 'cut2.nc.partial', 'settings.json'))) {
    const other = cli(...args.map((x) => (x === '60' ? '61' : x)), '--out', 'cut2.nc');
    assert.equal(other.status, 1);
    assert.match(other.stderr, /holds an interrupted run with other settings/);
  }
});

test('interpolate (Zarr), infill (box, stations; NetCDF-3) and downscale (NetCDF-4), with the known mask and block-mean mismatch', async () => {
  const i = cli('interpolate', ...base, '--starts', 'every:5d:all', '--max-cases', '1', '--out', 'i.zarr', '--no-gif');
  assert.equal(i.status, 0, i.stderr);
  const ie = await readEnsembleFile(join(dir, 'i.zarr'));
  assert.equal(ie.task, 'interpolate');
  assert.deepEqual(ie.shape, [2, 1, 4, 16, 32]);
  // frames 0 and 2 known everywhere, 1 and 3 generated
  const HW = 16 * 32;
  assert.deepEqual([0, 1, 2, 3].map((f) => ie.known![f * HW]), [1, 0, 1, 0]);
  const box = cli('infill', ...base, '--starts', 'every:5d:all', '--max-cases', '1', '--box', '-20,20,100,200', '--out', 'box.nc');
  assert.equal(box.status, 0, box.stderr);
  const be = await readEnsembleFile(join(dir, 'box.nc'));
  assert.ok(be.known!.some((k) => k === 0) && be.known!.some((k) => k === 1));
  const st = cli('infill', ...base, '--starts', 'every:5d:all', '--max-cases', '1', '--stations', '0.1', '--guidance', 'reconstruction', '--obs-error', 'tas=0.5', '--out', 'st.nc', '--no-gif');
  assert.equal(st.status, 0, st.stderr);
  const d = cli('downscale', ...base, '--starts', 'every:5d:all', '--max-cases', '1', '--factor', '4', '--out', 'd.nc4', '--no-gif');
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /tas: block-mean mismatch [\d.e+-]+ RMS \([\d.]+% of the input's spatial std\)/);
  const de = await readEnsembleFile(join(dir, 'd.nc4'));
  assert.equal(de.task, 'downscale');
  assert.equal(de.settings['factor'], 4);
});

test("Debian's xarray opens every task output: members, dates decoded in the file's calendar, units", (t) => {
  const check = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, xarray as xr
out = {}
for path, kind in [('f.nc', 'nc'), ('i.zarr', 'zarr'), ('d.nc4', 'nc'), ('box.nc', 'nc')]:
    ds = xr.open_zarr(path) if kind == 'zarr' else xr.open_dataset(path)
    out[path] = {'dims': dict(ds['tas'].sizes), 'units': ds['tas'].attrs.get('units'), 'pr_units': ds['pr'].attrs.get('units'),
                 'member': ds['member'].attrs.get('standard_name'), 'first': str(ds['valid_time'].values.flat[0]),
                 'known': 'known' in ds, 'finite': bool(ds['tas'].notnull().all())}
print(json.dumps(out))
`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (check.error || (check.status !== 0 && /No module named/.test(check.stderr))) { t.skip(`/usr/bin/python3 lacks xarray/netCDF4/zarr (scripts/bootstrap installs them as root): ${check.stderr.trim().split('\n').pop()}`); return; }
  assert.equal(check.status, 0, check.stderr);
  const r = JSON.parse(check.stdout) as Record<string, { dims: Record<string, number>; units: string; pr_units: string; member: string; first: string; known: boolean; finite: boolean }>;
  assert.deepEqual(r['f.nc']!.dims, { member: 2, init_time: 2, lead_time: 3, lat: 16, lon: 32 });
  assert.deepEqual(r['i.zarr']!.dims, { member: 2, case: 1, time: 4, lat: 16, lon: 32 });
  assert.deepEqual(r['d.nc4']!.dims, { member: 2, case: 1, time: 4, lat: 16, lon: 32 });
  for (const v of Object.values(r)) {
    assert.equal(v.units, 'K'); assert.equal(v.pr_units, 'mm h-1'); assert.equal(v.member, 'realization'); assert.ok(v.finite);
    assert.match(v.first, /^2000-01-\d\d \d\d:00:00$/, 'valid_time decoded by cftime in the noleap calendar');
  }
  assert.equal(r['box.nc']!.known, true);
  assert.equal(r['f.nc']!.known, false);
});

test('bad input: one clear line, a non-zero exit, nothing written', () => {
  const fail = (args: string[], pattern: RegExp, out: string) => {
    const r = cli(...args, '--out', out);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('climadiff:')).length, 1);
    assert.ok(!existsSync(join(dir, out)) && !existsSync(join(dir, out.replace(/\.(nc|zarr)$/, '.gif'))), `${out} was written`);
  };
  fail(['infill', ...base, '--max-cases', '1', '--starts', 'every:5d:all', '--box', '80,85,0,1'], /the mask hides nothing/, 'x1.nc');
  fail(['infill', ...base, '--max-cases', '1', '--starts', 'every:5d:all'], /exactly one of --box, --stations, --missing/, 'x2.nc');
  fail(['downscale', ...base, '--max-cases', '1', '--starts', 'every:5d:all', '--factor', '3'], /does not divide the model's 16x32 grid/, 'x3.nc');
  fail(['forecast', ...base, '--starts', '1990-01-01'], /start date 1990-01-01 is outside/, 'x4.nc');
  fail(['forecast', ...base, '--starts', 'every:5d:all', '--known', '4'], /known frames must be an integer in 1\.\.3/, 'x5.nc');
  fail(['forecast', ...base, '--starts', 'every:5d:all'], /--out must end in \.nc/, 'x6.txt');
  fail(['forecast', '--checkpoint', 'nowhere', '--data', 'earth.nc'], /nowhere: not a training run/, 'x7.nc');
  // data without the model's variables (a QG file)
  const q = cli('data', 'simulate', '--model', 'qg', '--frames', '8', '--size', '16', '--spinup', '1', '--out', 'qg.nc', '--no-progress');
  assert.equal(q.status, 0, q.stderr);
  fail(['forecast', '--checkpoint', 'run', '--data', 'qg.nc', '--members', '2', '--steps', '2'], /unknown variable 'tas'/, 'x8.nc');
  // an existing output is refused before any work, unchanged
  writeFileSync(join(dir, 'keep.nc'), 'precious');
  const r = cli('forecast', ...base, '--starts', 'every:5d:all', '--out', 'keep.nc');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing to overwrite existing 'keep.nc'/);
  assert.equal(readFileSync(join(dir, 'keep.nc'), 'utf8'), 'precious');
});
