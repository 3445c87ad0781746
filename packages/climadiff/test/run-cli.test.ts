// The main job's commands end to end on a small simulated dataset, and their error paths: a missing
// checkpoint, a config that does not validate, data whose shape does not match the model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import { openDataset } from '../src/data/index.js';
import { defaultPrecision } from '../src/models/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
let dir = '';
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'climadiff-run-'));
  const r = cli('data', 'simulate', '--model', 'earth', '--frames', '120', '--seed', '3', '--spinup', '2', '--out', 'earth.nc', '--no-progress');
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('train, info and sample: checkpoint, metrics, statics, previews, samples in physical units on the training grid', async () => {
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify({ steps: 2, batchSize: 1, logEvery: 1, validateEvery: 0, checkpointEvery: 1, lrSchedule: { kind: 'constant', warmupSteps: 0 },
    previewSamples: 1, previewSteps: 2 }));
  const t = cli('train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'run', '--frames', '4', '--config', cfg, '--preview-every', '2', '--statics', '--threads', '1');
  assert.equal(t.status, 0, t.stderr);
  // static conditioning: the land-sea mask comes from the file's land fraction (sftlf, %), then sin/cos latitude
  const runData = JSON.parse(readFileSync(join(dir, 'run', 'run-data.json'), 'utf8')) as { statics: string[] };
  assert.deepEqual(runData.statics, ['land_sea_mask', 'sin_lat', 'cos_lat']);
  const statics = torch.load(join(dir, 'run', 'statics.safetensors')).statics!;
  const sftlf = (await openDataset(join(dir, 'earth.nc'), { variables: ['sftlf'], normalise: false })).variables.get('sftlf')!.data;
  assert.deepEqual(Array.from(statics.select(0, 0).flatten().toFloat32Array()), Array.from(sftlf, (v) => (v > 50 ? 1 : 0)));
  assert.ok(sftlf.some((v) => v > 50) && sftlf.some((v) => v < 50));
  assert.ok(existsSync(join(dir, 'run', 'latest')) && existsSync(join(dir, 'run', 'metrics.jsonl')));
  const preview = readFileSync(join(dir, 'run', 'previews', 'step-000002.gif'));
  assert.equal(preview.subarray(0, 6).toString('latin1'), 'GIF89a');
  assert.ok(!existsSync(join(dir, 'run', 'previews', 'step-000001.gif')), 'previews only every --preview-every steps');
  const info = cli('info', 'run');
  assert.equal(info.status, 0, info.stderr);
  const summary = JSON.parse(info.stdout) as { step: number; model: { parameters: number }; data: { variables: string[] } };
  assert.equal(summary.step, 2);
  assert.deepEqual(summary.data.variables, ['tas']);
  assert.equal((summary.model as unknown as { config: { condChannels: number } }).config.condChannels, 3);
  assert.ok(summary.model.parameters > 100_000);
  const s = cli('sample', '--checkpoint', 'run', '--n', '2', '--steps', '3', '--frames', '6', '--out', 'samples.nc');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /sample \(ancestral\) 3\/3 steps \| \d+\.\d\d steps\/s/, 'progress as plain lines when stderr is not a terminal');
  assert.match(t.stderr, /train step 2\/2 \| loss/);
  // an existing output is never overwritten: one clear line, a non-zero exit, the file unchanged
  const before = readFileSync(join(dir, 'samples.nc'));
  const again = cli('sample', '--checkpoint', 'run', '--n', '1', '--steps', '2', '--out', 'samples.nc');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^climadiff: refusing to overwrite existing 'samples.nc'/);
  assert.ok(readFileSync(join(dir, 'samples.nc')).equals(before));
  return openDataset(join(dir, 'samples.nc'), { normalise: false }).then((ds) => {
    const v = ds.variables.get('tas')!;
    assert.deepEqual(v.shape, [2, 6, 32, 64], 'frames may exceed the training length');
    assert.equal(v.units, 'K');
    assert.ok(v.data.every(Number.isFinite));
    assert.equal(ds.attrs['climadiff_precision'], defaultPrecision(), 'the file says which precision the network ran in');
  });
});

test('error paths: missing checkpoint, invalid config, unknown variable, shape mismatch on resume, missing statics', () => {
  const missing = cli('sample', '--checkpoint', 'nowhere', '--out', 'x.nc');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nowhere: not a training run/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ steps: -3, optimizer: { lr: 'fast' } }));
  const cfg = cli('train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'r2', '--config', bad);
  assert.equal(cfg.status, 1);
  assert.match(cfg.stderr, /steps/);
  assert.match(cfg.stderr, /optimizer\.lr/);
  const unknown = cli('train', '--data', 'earth.nc', '--vars', 'nope', '--out', 'r3', '--steps', '1');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown variable 'nope'.*tas/);
  const mismatch = cli('train', '--data', 'earth.nc', '--vars', 'tas,pr', '--out', 'run', '--frames', '4', '--steps', '3', '--resume');
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /takes 1 channel\(s\) but 2 variable\(s\)/);
  const threads = cli('sample', '--checkpoint', 'run', '--threads', '0', '--out', 'y.nc');
  assert.equal(threads.status, 1);
  assert.match(threads.stderr, /--threads <n>' argument '0' is invalid/);
  const sampler = cli('sample', '--checkpoint', 'run', '--sampler', 'magic', '--out', 'y.nc');
  assert.equal(sampler.status, 1);
  assert.match(sampler.stderr, /--sampler must be one of/);
  // the fast samplers and their settings: a grid and churn that apply work, one that does not is refused before sampling
  const fast = cli('sample', '--checkpoint', 'run', '--n', '1', '--steps', '3', '--sampler', 'edm', '--grid', 'logsnr', '--churn', '1', '--churn-range', '0.1,10', '--out', 'fast.nc');
  assert.equal(fast.status, 0, fast.stderr);
  assert.match(fast.stdout, /5 network evaluations \(edm, 3 steps\) in \d+\.\d s/);
  const churnless = cli('sample', '--checkpoint', 'run', '--sampler', 'dpm++2m', '--churn', '1', '--out', 'y.nc');
  assert.equal(churnless.status, 1);
  assert.match(churnless.stderr, /churn settings apply to the edm sampler only/);
  const rho = cli('sample', '--checkpoint', 'run', '--sampler', 'ddim', '--rho', '3', '--out', 'y.nc');
  assert.equal(rho.status, 1);
  assert.match(rho.stderr, /rho applies to the karras grid only/);
  const range = cli('sample', '--checkpoint', 'run', '--sampler', 'dpm++3m', '--logsnr-range', '5,1', '--out', 'y.nc');
  assert.equal(range.status, 1);
  assert.match(range.stderr, /--logsnr-range <min,max>' argument '5,1' is invalid/);
  assert.ok(!existsSync(join(dir, 'y.nc')));
  // --statics on a grid without geography (QG turbulence on a periodic box in km): no latitude is invented
  const qg = cli('data', 'simulate', '--model', 'qg', '--frames', '24', '--seed', '1', '--spinup', '1', '--size', '32', '--out', 'qg.nc', '--no-progress');
  assert.equal(qg.status, 0, qg.stderr);
  const nogeo = cli('train', '--data', 'qg.nc', '--vars', 'psi1', '--out', 'r4', '--frames', '2', '--steps', '1', '--statics');
  assert.equal(nogeo.status, 1);
  assert.match(nogeo.stderr, /qg\.nc: no static fields found/);
  assert.ok(!existsSync(join(dir, 'r4')));
  // a run conditioned on static fields whose statics file went missing: a clear error, nothing written
  renameSync(join(dir, 'run', 'statics.safetensors'), join(dir, 'statics.bak'));
  try {
    const lost = cli('sample', '--checkpoint', 'run', '--steps', '2', '--out', 'z.nc');
    assert.equal(lost.status, 1);
    assert.match(lost.stderr, /conditioned on land_sea_mask, sin_lat, cos_lat but statics\.safetensors is missing/);
    assert.ok(!existsSync(join(dir, 'z.nc')));
  } finally {
    renameSync(join(dir, 'statics.bak'), join(dir, 'run', 'statics.safetensors'));
  }
});

test('weather: tas and pr with climatology anomalies and the learned transform, samples for dates, exported model, report', async () => {
  const cfg = join(dir, 'tiny2.json');
  writeFileSync(cfg, JSON.stringify({ steps: 2, batchSize: 1, logEvery: 1, validateEvery: 2, validation: { maxBatches: 1, elboSteps: 2 }, checkpointEvery: 2,
    lrSchedule: { kind: 'constant', warmupSteps: 0 } }));
  const t = cli('train', '--data', 'earth.nc', '--vars', 'tas,pr', '--out', 'wrun', '--frames', '4', '--config', cfg, '--statics', '--threads', '1', '--channels', '8',
    '--transform', 'pr=learned');
  assert.equal(t.status, 0, t.stderr);
  const runData = JSON.parse(readFileSync(join(dir, 'wrun', 'run-data.json'), 'utf8')) as { dateFeatures: string; time: { units: string; calendar: string; frameStep: number } };
  assert.equal(runData.dateFeatures, 'year+day', '6-hourly frames: time of year and of day');
  assert.deepEqual([runData.time.units, runData.time.calendar, runData.time.frameStep], ['hours since 2000-01-01 00:00:00', 'noleap', 6]);
  const ck = JSON.parse(readFileSync(join(dir, 'wrun', readFileSync(join(dir, 'wrun', 'latest'), 'utf8').trim(), 'checkpoint.json'), 'utf8')) as
    { modelConfig: { dateFeatures: number; learnedTransforms: { channel: number }[]; channels: number }; normStats: { channels: { kind: string; transform: string; min: number | null }[] } };
  assert.equal(ck.modelConfig.dateFeatures, 4);
  assert.equal(ck.modelConfig.channels, 8);
  assert.deepEqual(ck.modelConfig.learnedTransforms.map((x) => x.channel), [1]);
  assert.deepEqual(ck.normStats.channels.map((c) => [c.kind, c.transform, c.min]), [['seasonal', 'none', null], ['per-variable', 'learned', 0]]);
  // samples generated for given dates: valid_time holds them (noleap hours since 2000-01-01), 6 h apart
  const s = cli('sample', '--checkpoint', 'wrun', '--n', '3', '--steps', '3', '--out', 'w.nc', '--dates', '2000-01-10, 2000-01-20 06:00', '--report', 'rep');
  assert.equal(s.status, 0, s.stderr);
  const ds = await openDataset(join(dir, 'w.nc'), { normalise: false });
  const vt = ds.variables.get('valid_time')!;
  assert.deepEqual(vt.shape, [3, 4]);
  assert.deepEqual(Array.from(vt.data), [216, 222, 228, 234, 462, 468, 474, 480, 216, 222, 228, 234]);
  assert.equal(vt.attrs['calendar'], 'noleap');
  const pr = ds.variables.get('pr')!;
  assert.equal(pr.units, 'mm h-1');
  assert.ok(pr.data.every((v) => v >= 0 && Number.isFinite(v)), 'no negative rain');
  assert.ok(ds.variables.get('tas')!.data.every((v) => v > 150 && v < 350), 'temperature back in kelvin around the climatology');
  // the report: per variable, acceptance rows on anomalies, pictures
  const report = readFileSync(join(dir, 'rep', 'report.md'), 'utf8');
  assert.match(report, /## tas \(K\)/);
  assert.match(report, /## pr \(mm h-1\)/);
  assert.match(report, /mean squared change \(anomalies\)/);
  assert.match(report, /dry fraction/);
  for (const f of ['weather.json', 'tas/report.md', 'pr/histogram.svg', 'tas_samples_vs_data.gif']) assert.ok(existsSync(join(dir, 'rep', f)), f);
  assert.match(s.stdout, /tas: \d+\/\d+ acceptance checks pass/);
  // refusals before any sampling: an existing report folder, an impossible date, an unknown built-in model
  const again = cli('sample', '--checkpoint', 'wrun', '--n', '1', '--steps', '2', '--out', 'w2.nc', '--report', 'rep');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /existing report folder 'rep'/);
  assert.ok(!existsSync(join(dir, 'w2.nc')));
  const badDate = cli('sample', '--checkpoint', 'wrun', '--n', '1', '--steps', '2', '--out', 'w3.nc', '--dates', '2001-02-29');
  assert.equal(badDate.status, 1);
  assert.match(badDate.stderr, /'2001-02-29' is not a valid date in the noleap calendar/);
  const nope = cli('sample', '--checkpoint', 'builtin:nope', '--out', 'w4.nc');
  assert.equal(nope.status, 1);
  assert.match(nope.stderr, /no built-in model 'nope' \(built-in: /);
  // an exported model samples exactly what its run folder samples
  const { exportModel } = await import('../src/run/model-store.js');
  const { sampleRun } = await import('../src/run/pipeline.js');
  exportModel(join(dir, 'wrun'), join(dir, 'exported'), 'tiny');
  const a = sampleRun({ runDir: join(dir, 'wrun'), n: 1, steps: 2, seed: 4, dates: ['2000-01-05'] });
  const b = sampleRun({ runDir: join(dir, 'exported'), n: 1, steps: 2, seed: 4, dates: ['2000-01-05'] });
  assert.deepEqual(Array.from(b.data), Array.from(a.data));
  // a model without date conditioning refuses --dates
  const nd = cli('train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'nodates', '--frames', '4', '--config', cfg, '--dates', 'none', '--normalisation', 'per-variable', '--channels', '8');
  assert.equal(nd.status, 0, nd.stderr);
  const ndS = cli('sample', '--checkpoint', 'nodates', '--n', '1', '--steps', '2', '--out', 'w5.nc', '--dates', '2000-01-05');
  assert.equal(ndS.status, 1);
  assert.match(ndS.stderr, /not conditioned on the date/);
  // the default transform of precipitation is sqrt (docs/recipe.md)
  const sq = cli('train', '--data', 'earth.nc', '--vars', 'pr', '--out', 'sqrun', '--frames', '4', '--config', cfg, '--channels', '8', '--dates', 'none');
  assert.equal(sq.status, 0, sq.stderr);
  const sqck = JSON.parse(readFileSync(join(dir, 'sqrun', readFileSync(join(dir, 'sqrun', 'latest'), 'utf8').trim(), 'checkpoint.json'), 'utf8')) as
    { modelConfig: { learnedTransforms: unknown[] }; normStats: { channels: { transform: string; kind: string }[] } };
  assert.deepEqual(sqck.normStats.channels.map((c) => [c.kind, c.transform]), [['seasonal', 'sqrt']]);
  assert.deepEqual(sqck.modelConfig.learnedTransforms, []);
  const badT = cli('train', '--data', 'earth.nc', '--vars', 'tas', '--out', 'r9', '--steps', '1', '--transform', 'tas=cube');
  assert.equal(badT.status, 1);
  assert.match(badT.stderr, /VAR=none\|sqrt\|learned/);
});
