// `climadiff train --representation d`, `climadiff embed` (with analogues) and `climadiff sample --like` end to end on a
// tiny model: files that read back (here and with Debian's xarray), analogues that never overlap their window, and
// bad input with one clear line and nothing written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../src/data/index.js';
import { defaultPrecision } from '../src/models/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
let dir = '';
const env = { ...process.env, OMP_NUM_THREADS: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'climadiff-rep-'));
  const s = cli('data', 'simulate', '--model', 'earth', '--frames', '200', '--seed', '3', '--spinup', '2', '--lat', '16', '--lon', '32', '--out', 'earth.nc', '--no-progress');
  assert.equal(s.status, 0, s.stderr);
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ steps: 3, batchSize: 2, logEvery: 1, validateEvery: 3, validation: { maxBatches: 1, elboSteps: 2 }, checkpointEvery: 3,
    lrSchedule: { kind: 'constant', warmupSteps: 0 }, previewEvery: 0, loss: 'weighted:elbo' }));
  const t = cli('train', '--data', 'earth.nc', '--vars', 'tas,pr', '--out', 'rep', '--frames', '4', '--config', 'tiny.json', '--channels', '8', '--threads', '1',
    '--statics', '--normalisation', 'per-variable', '--representation', '3', '--kl-weight', '0.5');
  assert.equal(t.status, 0, t.stderr);
  // its unconditional twin: same data and normalisation, no w
  const p = cli('train', '--data', 'earth.nc', '--vars', 'tas,pr', '--out', 'plain', '--frames', '4', '--config', 'tiny.json', '--channels', '8', '--threads', '1',
    '--normalisation', 'per-variable');
  assert.equal(p.status, 0, p.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('train --representation records the encoder and beta; embed writes q(w|x) per window, a PCA picture and analogues', async () => {
  const ck = JSON.parse(readFileSync(join(dir, 'rep', readFileSync(join(dir, 'rep', 'latest'), 'utf8').trim(), 'checkpoint.json'), 'utf8')) as
    { modelConfig: { representation: { dim: number; encoder: string; channels: number; levels: number } }; trainConfig: { klWeight: number } };
  assert.deepEqual(ck.modelConfig.representation, { dim: 3, encoder: 'clip', channels: 8, levels: 3 });
  assert.equal(ck.trainConfig.klWeight, 0.5);
  const e = cli('embed', '--checkpoint', 'rep', '--data', 'earth.nc', '--out', 'emb.nc', '--nearest', '2', '--threads', '1');
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /emb\.nc, emb\.png: 50 windows, w in 3 dimensions/);
  assert.match(e.stderr, /active unit/);
  assert.ok(statSync(join(dir, 'emb.png')).size > 2000);
  const ds = await openDataset(join(dir, 'emb.nc'), { normalise: false });
  const mean = ds.variables.get('w_mean')!, time = ds.coords.get('time')!, bank = ds.coords.get('bank')!;
  assert.deepEqual(mean.shape, [50, 3]);
  assert.ok(mean.data.every(Number.isFinite));
  // non-overlapping windows of 4 frames 6 h apart from the file's first frame: one a day
  const first = (await openDataset(join(dir, 'earth.nc'), { normalise: false })).coords.get('time')!.values[0]!;
  assert.deepEqual(Array.from(time.values.subarray(0, 3)), [first, first + 24, first + 48]);
  assert.equal(time.units, 'hours since 2000-01-01 00:00:00');
  const idx = ds.variables.get('analogue')!, dist = ds.variables.get('analogue_distance')!;
  assert.deepEqual(idx.shape, [50, 2]);
  for (let q = 0; q < 50; q++) {
    for (let j = 0; j < 2; j++) {
      const b = idx.data[q * 2 + j]!;
      assert.ok(Number.isInteger(b) && b >= 0 && b < bank.values.length, `analogue ${b}`);
      // never the window itself or one overlapping it (4 frames = 24 h)
      assert.ok(Math.abs(bank.values[b]! - time.values[q]!) >= 24, `window ${time.values[q]} has the overlapping analogue ${bank.values[b]}`);
    }
    assert.ok(dist.data[q * 2]! <= dist.data[q * 2 + 1]!, 'nearest first');
  }
  // a split and a stride: every 2 days of the test split
  // one window: no picture to draw, said so
  const one = cli('embed', '--checkpoint', 'rep', '--out', 'one.nc', '--starts', '2000-01-20', '--threads', '1');
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stderr, /no PCA picture/);
  assert.ok(!existsSync(join(dir, 'one.png')));
  const t = cli('embed', '--checkpoint', 'rep', '--out', 'test.zarr', '--starts', 'every:2d:test', '--no-picture', '--threads', '1');
  assert.equal(t.status, 0, t.stderr);
  assert.ok(!existsSync(join(dir, 'test.png')));
  const tz = await openDataset(join(dir, 'test.zarr'), { normalise: false });
  const tt = tz.coords.get('time')!.values;
  assert.ok(tt.length >= 2 && tt[1]! - tt[0]! === 48);
});

test('sample --like: samples conditioned on a clip\'s w, for its dates, beside it in a GIF', async () => {
  const s = cli('sample', '--checkpoint', 'rep', '--like', 'earth.nc', '--start', '2000-01-20', '--n', '2', '--steps', '3', '--out', 'like.nc', '--threads', '1');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /conditioned on E_q\[w\] of the clip of earth\.nc starting 2000-01-20\n/);
  const ds = await openDataset(join(dir, 'like.nc'), { normalise: false });
  assert.deepEqual(Array.from(ds.variables.get('valid_time')!.data.subarray(0, 4)), [456, 462, 468, 474]);
  assert.ok(ds.variables.get('tas')!.data.every((v) => v > 150 && v < 350));
  const g = cli('sample', '--checkpoint', 'rep', '--like', 'earth.nc', '--start', '2000-01-20', '--n', '2', '--steps', '2', '--out', 'like.gif', '--threads', '1');
  assert.equal(g.status, 0, g.stderr);
  assert.equal(readFileSync(join(dir, 'like.gif')).subarray(0, 6).toString(), 'GIF89a');
});

test('embed-eval: collapse, probes against PCA and a random encoder, ELBO with and without w, samples like clips, analogues', () => {
  const r = cli('embed-eval', '--checkpoint', 'rep', '--baseline', 'plain', '--out', 'eval', '--elbo-steps', '2', '--clips', '2', '--steps', '2', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  const md = readFileSync(join(dir, 'eval', 'report.md'), 'utf8');
  for (const s of ['## Posterior collapse', 'active units', '| w (posterior mean) |', '| PCA of the window (3 components) |', '| randomly initialised encoder |',
    '| unconditional (plain) |', 'difference (with w - without', '## Samples given w(x)', '| tas |', '## Analogue forecasts']) assert.ok(md.includes(s), `report lacks '${s}'`);
  assert.match(md, /n\/a \(one season\)/, 'January only: no season probe');
  const j = JSON.parse(readFileSync(join(dir, 'eval', 'report.json'), 'utf8')) as { dim: number; activeUnits: { variance: number[] }; elbo: { withW: { mean: number }; without: { mean: number }; klBpd: number };
    probes: { anomaly: { score: number; low: number; high: number } }[]; analogues: { variable: string; w: number; randomSameSeason: number }[] };
  assert.equal(j.dim, 3);
  assert.equal(j.activeUnits.variance.length, 3);
  assert.ok(Number.isFinite(j.elbo.withW.mean) && Number.isFinite(j.elbo.without.mean) && j.elbo.klBpd >= 0);
  for (const p of j.probes) assert.ok(p.anomaly.low <= p.anomaly.score && p.anomaly.score <= p.anomaly.high);
  assert.deepEqual(j.analogues.map((a) => a.variable), ['tas', 'pr']);
  for (const a of j.analogues) assert.ok(a.w > 0 && a.randomSameSeason > 0);
  for (const f of ['embeddings.png', 'like-tas.gif', 'like-pr.gif']) assert.ok(statSync(join(dir, 'eval', f)).size > 1000, f);
  // model fingerprints: 64 hex digits, stable, different models differ
  const f1 = cli('info', 'rep', '--fingerprint'), f2 = cli('info', 'rep', '--fingerprint'), f3 = cli('info', 'plain', '--fingerprint');
  assert.match(f1.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(f1.stdout, f2.stdout);
  assert.notEqual(f1.stdout, f3.stdout);
  // with --precision: the precision resolved for this machine after it ('auto' is the machine's default)
  assert.equal(cli('info', 'rep', '--fingerprint', '--precision', 'fp32').stdout, `${f1.stdout.trim()} fp32\n`);
  assert.equal(cli('info', 'rep', '--fingerprint', '--precision', 'auto').stdout, `${f1.stdout.trim()} ${defaultPrecision()}\n`);
  const badPrecision = cli('info', 'rep', '--fingerprint', '--precision', 'fp8');
  assert.equal(badPrecision.status, 1);
  assert.match(badPrecision.stderr, /--precision: unknown precision 'fp8'/);
  assert.match(cli('info', 'rep', '--precision', 'fp32').stderr, /--precision goes with --fingerprint/);
  // refusals: the folder exists; a baseline normalised otherwise; a baseline that is itself a representation model
  const again = cli('embed-eval', '--checkpoint', 'rep', '--out', 'eval');
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /existing report folder 'eval'/);
  const rep2 = cli('embed-eval', '--checkpoint', 'rep', '--baseline', 'rep', '--out', 'eval2');
  assert.notEqual(rep2.status, 0);
  assert.match(rep2.stderr, /is a representation model/);
  assert.ok(!existsSync(join(dir, 'eval2')));
});

test("Debian's xarray opens the embeddings: dims, decoded times, analogue dates by index", (t) => {
  const check = spawnSync('/usr/bin/python3', ['-c', `
import json, xarray as xr
ds = xr.open_dataset('emb.nc')
print(json.dumps({'dims': dict(ds['w_mean'].sizes), 'first': str(ds['time'].values[0]), 'analogue': str(ds['bank'].values[int(ds['analogue'].values[0, 0])]),
                  'kl_units': ds['kl'].attrs.get('units'), 'kl_min': float(ds['kl'].min()), 'kl_dims': list(ds['kl'].dims)}))
`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (check.error || (check.status !== 0 && /No module named/.test(check.stderr))) { t.skip(`/usr/bin/python3 lacks xarray/netCDF4: ${check.stderr.trim().split('\n').pop()}`); return; }
  assert.equal(check.status, 0, check.stderr);
  const r = JSON.parse(check.stdout) as { dims: Record<string, number>; first: string; analogue: string; kl_units: string; kl_min: number; kl_dims: string[] };
  assert.ok(r.kl_min >= 0);
  assert.deepEqual(r.kl_dims, ['time']);
  assert.deepEqual(r.dims, { time: 50, latent: 3 });
  assert.match(r.first, /^2000-01-0\d \d\d:00:00$/);
  assert.match(r.analogue, /^2000-\d\d-\d\d \d\d:00:00$/);
  assert.equal(r.kl_units, 'nats');
});

test('bad input: one clear line, a non-zero exit, nothing written', () => {
  const cases: [string[], RegExp, string | null][] = [
    [['embed', '--checkpoint', 'plain', '--out', 'x.nc'], /has no representation/, 'x.nc'],
    [['embed', '--checkpoint', 'rep', '--out', 'emb.nc'], /refusing to overwrite existing 'emb.nc'/, null],
    [['embed', '--checkpoint', 'rep', '--out', 'x.txt'], /must end in \.nc/, 'x.txt'],
    [['embed', '--checkpoint', 'rep', '--out', 'x.nc', '--nearest', '0'], /nearest/, 'x.nc'],
    [['embed', '--checkpoint', 'rep', '--out', 'x.nc', '--starts', '2001-01-01'], /outside/, 'x.nc'],
    [['embed', '--checkpoint', 'rep', '--out', 'x.nc', '--starts', '1999-06-01'], /outside/, 'x.nc'],
    [['sample', '--checkpoint', 'rep', '--like', 'earth.nc', '--out', 'y.nc'], /--like FILE and --start DATE go together/, 'y.nc'],
    [['sample', '--checkpoint', 'plain', '--like', 'earth.nc', '--start', '2000-01-20', '--out', 'y.nc'], /has no representation/, 'y.nc'],
    [['train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'z', '--encoder', 'frame', '--steps', '1'], /--encoder needs --representation/, 'z'],
    [['train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'z', '--representation', '2', '--encoder', 'video', '--steps', '1'], /clip.*frame/, 'z'],
  ];
  for (const [args, re, absent] of cases) {
    const r = cli(...args, '--threads', '1');
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, re, args.join(' '));
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    if (absent) assert.ok(!existsSync(join(dir, absent)), `${absent} was written`);
  }
});
