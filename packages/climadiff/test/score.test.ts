// `climadiff score` and the scorecard: forecast, interpolation and infill ensembles written by hand (Ensemble objects
// through ensembleDataset + writeNetCDF) scored against a small truth file (3 noleap years of 6-hourly tas on 8x16
// with a seasonal cycle and AR(1) noise, plus a land fraction), with baselines; error paths and the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writeNetCDF } from '../src/data/writers/index.js';
import { sliceTime } from '../src/data/writers/common.js';
import { DataError, type ClimateDataset, type Coordinate } from '../src/data/types.js';
import { ensembleDataset } from '../src/run/ensemble-file.js';
import { scoreFiles } from '../src/run/score.js';
import { precipitationThresholds, type Scorecard } from '../src/eval/scorecard.js';
import type { Ensemble } from '../src/tasks/ensemble.js';
import { main } from '../src/cli/main.js';
import { mulberry32 } from '../src/eval/random.js';

const H = 8, W = 16, HW = H * W, YEARS = 3, PER_DAY = 4, T = YEARS * 365 * PER_DAY;
const LAT = Array.from({ length: H }, (_, i) => -78.75 + 22.5 * i);
const LON = Array.from({ length: W }, (_, j) => -168.75 + 22.5 * j);
const UNITS = 'hours since 2000-01-01 00:00:00';
let dir = '';
let truth: Float32Array;
let rain: Float32Array;
const truthPath = () => join(dir, 'truth.nc');


/** A normal draw from a seeded uniform generator (Box-Muller). */
function gauss(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

function truthDataset(): ClimateDataset {
  const rand = gauss(mulberry32(7));
  const data = new Float32Array(T * HW), a = new Float64Array(HW);
  for (let t = 0; t < T; t++) {
    const season = Math.cos((2 * Math.PI * (t / PER_DAY - 15)) / 365);
    for (let j = 0; j < HW; j++) {
      const lat = LAT[Math.floor(j / W)]!;
      a[j] = 0.9 * a[j]! + Math.sqrt(1 - 0.81) * 2 * rand();
      data[t * HW + j] = 288 - 30 * Math.sin((lat * Math.PI) / 180) ** 2 - 12 * Math.sign(lat) * season + a[j]!;
    }
  }
  truth = data;
  // rain: zero in most cells, a smooth positive field elsewhere
  const pr = Float32Array.from(data, (v, i) => Math.max(0, 0.8 * Math.sin(i * 0.37) + (v - 280) / 20));
  rain = pr;
  const coords = new Map<string, Coordinate>([
    ['time', { name: 'time', values: Float64Array.from({ length: T }, (_, t) => t * 6), axis: 'T', units: UNITS, calendar: 'noleap', attrs: { standard_name: 'time' } }],
    ['lat', { name: 'lat', values: Float64Array.from(LAT), axis: 'Y', units: 'degrees_north', attrs: { standard_name: 'latitude' } }],
    ['lon', { name: 'lon', values: Float64Array.from(LON), axis: 'X', units: 'degrees_east', attrs: { standard_name: 'longitude' } }],
  ]);
  return {
    coords,
    variables: new Map([
      ['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data, mask: null, units: 'K', attrs: { standard_name: 'air_temperature' } }],
      ['pr', { name: 'pr', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data: pr, mask: null, units: 'mm h-1', attrs: { standard_name: 'precipitation_flux' } }],
      ['sftlf', { name: 'sftlf', dims: ['lat', 'lon'], shape: [H, W], data: Float32Array.from({ length: HW }, (_, j) => (LON[j % W]! > 0 ? 100 : 0)), mask: null, units: '%',
        attrs: { standard_name: 'land_area_fraction' } }],
    ]),
    attrs: { title: 'score test truth' },
  };
}

/** An ensemble of tas for cases starting at the given truth steps; member m of case n at frame f is value(m, n, f, j). */
function ensemble(task: string, starts: number[], F: number, M: number, value: (m: number, n: number, f: number, j: number) => number,
  settings: Record<string, unknown>, known: ((n: number, f: number, j: number) => boolean) | null = null, variable = 'tas', units = 'K'): Ensemble {
  const N = starts.length;
  const data = new Float32Array(M * N * F * HW);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let j = 0; j < HW; j++) data[((m * N + n) * F + f) * HW + j] = value(m, n, f, j);
  const kn = known ? Uint8Array.from({ length: N * F * HW }, (_, i) => (known(Math.floor(i / (F * HW)), Math.floor(i / HW) % F, i % HW) ? 1 : 0)) : null;
  return {
    task, variables: [variable], units: [units], data, shape: [M, N, 1, F, H, W], truth: null, known: kn, starts,
    times: Float64Array.from({ length: N * F }, (_, i) => (starts[Math.floor(i / F)]! + (i % F)) * 6), timeUnits: { units: UNITS, calendar: 'noleap' }, frameStep: 6,
    lat: LAT, lon: LON, nfe: { forward: 0, backward: 0 }, seconds: 0, clamped: [], settings,
  };
}

const tv = (t: number, j: number) => truth[t * HW + j]!;
const write = async (e: Ensemble, name: string): Promise<string> => { const p = join(dir, name); await writeNetCDF(ensembleDataset(e, 'score test'), p); return p; };
const json = (out: string): Scorecard => JSON.parse(readFileSync(join(out, 'scorecard.json'), 'utf8')) as Scorecard;
// cases in January 2002 (day 740 onwards), 4 leads of 6 h after k = 2 known frames
const STARTS = [740 * PER_DAY, 750 * PER_DAY + 1, 760 * PER_DAY + 2];
const F = 4;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'climadiff-score-'));
  await writeNetCDF(truthDataset(), truthPath());
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('forecasts with persistence, climatology and damped-persistence baselines: exact scores, tables, regions, pictures', async () => {
  const noise = gauss(mulberry32(11));
  const model = await write(ensemble('forecast', STARTS, F, 5, (_m, n, f, j) => tv(STARTS[n]! + f, j) + 0.7 * noise(), { known: 2, leads: F }), 'model.nc');
  const perfect = await write(ensemble('forecast', STARTS, F, 5, (_m, n, f, j) => tv(STARTS[n]! + f, j), { known: 2, leads: F }), 'perfect.nc');
  const out = join(dir, 'card');
  const card = await scoreFiles({
    forecasts: [{ label: 'climadiff', path: model }, { label: 'perfect', path: perfect }], truth: truthPath(), out,
    train: ['2000', '2001'], regions: ['tropics', 'land'], bootstrap: 200, members: 8,
  });
  assert.deepEqual(card.arms.map((a) => a.label), ['climadiff', 'perfect', 'persistence', 'climatology', 'damped-persistence']);
  const saved = json(out);
  const global = saved.variables[0]!.regions.find((r) => r.region === 'global')!;
  const arm = (label: string) => global.arms.find((a) => a.arm === label)!.scores;
  // a perfect ensemble: CRPS and RMSE exactly 0 (spread/skill 0/0 is undefined: null in the JSON)
  assert.deepEqual(arm('perfect').crpsFair, [0, 0, 0, 0]);
  assert.deepEqual(arm('perfect').rmse, [0, 0, 0, 0]);
  assert.deepEqual(arm('perfect').spreadSkill, [null, null, null, null]);
  // persistence: lead 1 RMSE by hand (cos-latitude weights, all cases pooled)
  let se = 0, ws = 0;
  for (const s of STARTS) for (let j = 0; j < HW; j++) { const w = Math.cos((LAT[Math.floor(j / W)]! * Math.PI) / 180); se += w * (tv(s - 1, j) - tv(s, j)) ** 2; ws += w; }
  assert.ok(Math.abs(arm('persistence').rmse[0]! - Math.sqrt(se / ws)) < 1e-5 * Math.sqrt(se / ws), `${arm('persistence').rmse[0]} vs ${Math.sqrt(se / ws)}`);
  assert.equal(arm('persistence').members, 1);
  // climatology: one member per training year; damped persistence: the members asked for
  assert.deepEqual(saved.training!.years, [2000, 2001]);
  assert.equal(arm('climatology').members, saved.training!.years.length);
  assert.equal(arm('damped-persistence').members, 8);
  assert.equal(saved.reference, 'climatology');
  assert.deepEqual(arm('climatology').crpsSkill, [0, 0, 0, 0]);
  assert.ok(arm('climadiff').crpsSkill!.every((v) => v! > 0), 'a close ensemble beats climatology');
  const ci = arm('climadiff').ci!;
  assert.equal(ci.samples, 200);
  arm('climadiff').crpsFair!.forEach((v, f) => assert.ok(ci.crpsFair!.lower[f]! <= v! && v! <= ci.crpsFair!.upper[f]!));
  assert.deepEqual(saved.variables[0]!.regions.map((r) => r.region), ['global', 'tropics', 'land']);
  assert.deepEqual(saved.leads.values, [6, 12, 18, 24]);
  // Markdown: a row per lead in the tables, the conventions
  const md = readFileSync(join(out, 'scorecard.md'), 'utf8');
  for (const l of ['+6 h', '+12 h', '+18 h', '+24 h']) assert.ok(md.split('\n').filter((line) => line.startsWith(`| ${l} |`)).length >= 4, `rows for ${l}`);
  assert.match(md, /\| lead time \(hours\) \| climadiff \| perfect \| persistence \| climatology \| damped-persistence \|/);
  assert.match(md, /sqrt\(\(M\+1\)\/M\)/);
  assert.match(md, /ddof = 1/);
  assert.match(md, /cos\(latitude\)/);
  assert.match(md, /95% percentile intervals from 200 bootstrap resamples of the cases/);
  assert.match(md, /### tas: land \(land cells/);
  // pictures: non-trivial PNGs (many colours), SVGs
  for (const f of ['crps', 'rmse', 'spread-skill', 'rank-histograms', 'example-maps']) {
    const png = PNG.sync.read(readFileSync(join(out, 'tas', `${f}.png`)));
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
    assert.ok(png.width > 200 && png.height > 100 && colours.size > 5, `${f}.png: ${png.width}x${png.height}, ${colours.size} colours`);
    if (f !== 'example-maps') assert.match(readFileSync(join(out, 'tas', `${f}.svg`), 'utf8'), /^<svg/);
  }
  assert.ok(card.files.includes('tas/example-maps.png') && card.files.includes('scorecard.json'));
  // another arm as the skill-score reference (two samplers compared on identical cases): against itself CRPSS = 0,
  // a perfect arm 1, a noisier one below 0 with its paired interval; an unknown reference is refused
  const noisy = await write(ensemble('forecast', STARTS, F, 5, (_m, n, f, j) => tv(STARTS[n]! + f, j) + 1.4 * noise(), { known: 2, leads: F }), 'noisy.nc');
  const vs = await scoreFiles({
    forecasts: [{ label: 'climadiff', path: model }, { label: 'perfect', path: perfect }, { label: 'noisy', path: noisy }], truth: truthPath(),
    out: join(dir, 'card-ref'), baselines: [], bootstrap: 200, reference: 'climadiff',
  });
  const g = vs.variables[0]!.regions[0]!.arms;
  const sk = (label: string) => g.find((a) => a.arm === label)!.scores;
  assert.equal(vs.reference, 'climadiff');
  assert.deepEqual(sk('climadiff').crpsSkill, [0, 0, 0, 0]);
  assert.deepEqual(sk('perfect').crpsSkill, [1, 1, 1, 1]);
  sk('noisy').crpsSkill!.forEach((v, f) => {
    const ratio = sk('noisy').crpsFair![f]! / sk('climadiff').crpsFair![f]!;
    assert.ok(Math.abs(v! - (1 - ratio)) < 1e-9, `CRPSS = 1 - CRPS / CRPS_ref: ${v} vs ${1 - ratio}`);
    assert.ok(sk('noisy').ci!.crpsSkill!.upper[f]! < 0, 'the noisier arm is worse, with a paired interval below 0');
    // RMSE / RMSE_ref, paired: exactly 1 against itself, 0 for the perfect arm, above 1 for the noisy one
    assert.ok(Math.abs(sk('noisy').rmseRatio![f]! - sk('noisy').rmse[f]! / sk('climadiff').rmse[f]!) < 1e-9);
    assert.equal(sk('climadiff').rmseRatio![f], 1);
    assert.equal(sk('perfect').rmseRatio![f], 0);
    assert.ok(sk('noisy').ci!.rmseRatio!.lower[f]! > 1 && sk('noisy').ci!.rmseRatio!.lower[f]! <= sk('noisy').rmseRatio![f]!);
  });
  assert.match(readFileSync(join(dir, 'card-ref', 'scorecard.md'), 'utf8'), /Ensemble-mean RMSE \/ RMSE of 'climadiff'/);
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: model }], truth: truthPath(), out: join(dir, 'card-bad'), baselines: [], bootstrap: 0, reference: 'ancestral' }),
    (e: Error) => e instanceof DataError && /the reference 'ancestral' is neither a forecast label \(climadiff\) nor a baseline/.test(e.message));
  assert.ok(!existsSync(join(dir, 'card-bad')), 'nothing written for a bad reference');
  // an existing output folder is refused, and left as it was
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: model }], truth: truthPath(), out, bootstrap: 0 }),
    (e: Error) => e instanceof DataError && /refusing to overwrite the existing folder/.test(e.message));
  assert.ok(existsSync(join(out, 'scorecard.md')));
});

test('default training period, interpolation and infill baselines, masked scoring', async () => {
  // interpolation: frames 0, 2, 4 of 5 known; the members are the truth plus noise
  const noise = gauss(mulberry32(5));
  const knownFrames = [0, 2, 4];
  const interp = await write(ensemble('interpolate', STARTS, 5, 3, (_m, n, f, j) => tv(STARTS[n]! + f, j) + (knownFrames.includes(f) ? 0 : noise()), { knownFrames },
    (_n, f) => knownFrames.includes(f)), 'interp.nc');
  const out = join(dir, 'interp-card');
  const card = await scoreFiles({ forecasts: [{ label: 'climadiff', path: interp }], truth: truthPath(), out, bootstrap: 0 });
  assert.deepEqual(card.arms.map((a) => a.label), ['climadiff', 'linear', 'cubic']);
  const g = card.variables[0]!.regions[0]!;
  const lin = g.arms.find((a) => a.arm === 'linear')!.scores;
  // known frames are not scored; frame 2 (index 1) of the linear baseline is the mean of frames 1 and 3
  assert.ok(Number.isNaN(lin.rmse[0]!) && Number.isNaN(lin.rmse[2]!) && Number.isNaN(lin.rmse[4]!));
  let se = 0, ws = 0;
  for (const s of STARTS) for (let j = 0; j < HW; j++) { const w = Math.cos((LAT[Math.floor(j / W)]! * Math.PI) / 180); se += w * ((tv(s, j) + tv(s + 2, j)) / 2 - tv(s + 1, j)) ** 2; ws += w; }
  assert.ok(Math.abs(lin.rmse[1]! - Math.sqrt(se / ws)) < 1e-4);
  assert.equal(card.training, null, 'no baseline of an interpolation needs training years');
  const md = readFileSync(join(out, 'scorecard.md'), 'utf8');
  for (let f = 1; f <= 5; f++) assert.match(md, new RegExp(`\\| frame ${f}${knownFrames.includes(f - 1) ? ' \\(known, not scored\\)' : ''} \\|`));
  assert.match(md, /the generated values only/);
  // infill: western cells known in every frame; the Laplace fill, the Laplace fill of the anomalies and the climatology
  // (the training years 2000 and 2001, before the cases) are the baselines
  const infill = await write(ensemble('infill', STARTS, 2, 3, (_m, n, f, j) => tv(STARTS[n]! + f, j) + noise(), { mask: { kind: 'box' } }, (_n, _f, j) => LON[j % W]! < 0), 'infill.nc');
  const card2 = await scoreFiles({ forecasts: [{ label: 'climadiff', path: infill }], truth: truthPath(), out: join(dir, 'infill-card'), bootstrap: 0 });
  assert.deepEqual(card2.arms.map((a) => a.label), ['climadiff', 'laplace', 'laplace-anomaly', 'climatology']);
  assert.equal(card2.arms.find((a) => a.label === 'climatology')!.members, 2);
  for (const arm of card2.variables[0]!.regions[0]!.arms.slice(1)) assert.ok(arm.scores.rmse.every((v) => Number.isFinite(v) && v > 0), arm.arm);
  // a forecast with the default training period: every step before the first case minus one case span
  const model = await write(ensemble('forecast', STARTS, F, 4, (_m, n, f, j) => tv(STARTS[n]! + f, j) + noise(), { known: 2 }), 'model2.nc');
  const emptyOut = join(dir, 'empty');
  mkdirSync(emptyOut); // an empty folder may be written into
  const card3 = await scoreFiles({ forecasts: [{ label: 'climadiff', path: model }], truth: truthPath(), out: emptyOut, bootstrap: 0, baselines: ['climatology'] });
  assert.match(card3.training!.rule, /before the first verified frame \(2002-01-11\) minus a gap of one case span \(4 steps\)/);
  assert.equal(card3.training!.steps, STARTS[0]! - 4);
  assert.deepEqual(card3.arms.find((a) => a.label === 'climatology')!.members, 2, 'years 2000 and 2001 (2002 is the cases\' own year)');
  assert.ok(existsSync(join(emptyOut, 'scorecard.md')));
  // a baseline that cannot be built is skipped with a note, not an error
  const one = join(dir, 'one-year');
  const card4 = await scoreFiles({ forecasts: [{ label: 'climadiff', path: model }], truth: truthPath(), out: one, bootstrap: 0, baselines: ['climatology', 'persistence'], train: ['2001', '2001'] });
  assert.deepEqual(card4.arms.map((a) => a.label), ['climadiff', 'persistence']);
  assert.match(readFileSync(join(one, 'scorecard.md'), 'utf8'), /Baseline 'climatology' skipped: it needs at least 2 training years, the training period has 1 \(2001\)/);
});

test('downscaling baselines, precipitation: Brier and FSS rows in the variable\'s units', async () => {
  const noise = gauss(mulberry32(9));
  const rv = (t: number, j: number) => rain[t * HW + j]!;
  const ds = await write(ensemble('downscale', STARTS, 3, 4, (_m, n, f, j) => Math.max(0, rv(STARTS[n]! + f, j) + 0.3 * noise()), { factor: 2 }, null, 'pr', 'mm h-1'), 'down.nc');
  const out = join(dir, 'down-card');
  const card = await scoreFiles({ forecasts: [{ label: 'climadiff', path: ds }], truth: truthPath(), out, bootstrap: 20 });
  assert.deepEqual(card.arms.map((a) => a.label), ['climadiff', 'nearest', 'bilinear', 'bicubic']);
  const v = card.variables[0]!;
  assert.equal(v.variable, 'pr');
  assert.deepEqual(v.thresholds, [0.1, 1]);
  assert.deepEqual(v.fss, [{ threshold: 0.1, window: 5 }, { threshold: 1, window: 5 }]);
  const s = v.regions[0]!.arms[0]!.scores;
  assert.equal(s.brier.length, 2);
  assert.ok(s.brier.every((b) => b.perLead.every((x) => x >= 0 && x <= 1)) && s.fss.every((f) => f.perLead.every((x) => x <= 1)));
  // nearest upsampling of the cos-latitude weighted 2x2 block means: each fine value is its block's mean
  const near = v.regions[0]!.arms.find((a) => a.arm === 'nearest')!.scores;
  const cosLat = (y: number) => Math.cos((LAT[y]! * Math.PI) / 180);
  let se = 0, ws = 0;
  for (const st of STARTS) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const y0 = y - (y % 2), x0 = x - (x % 2);
    let m = 0, mw = 0;
    for (const yy of [y0, y0 + 1]) for (const xx of [x0, x0 + 1]) { m += cosLat(yy) * rv(st, yy * W + xx); mw += cosLat(yy); }
    se += cosLat(y) * (m / mw - rv(st, y * W + x)) ** 2; ws += cosLat(y);
  }
  assert.ok(Math.abs(near.rmse[0]! - Math.sqrt(se / ws)) < 1e-5, `${near.rmse[0]} vs ${Math.sqrt(se / ws)}`);
  assert.equal(near.members, 1);
  const md = readFileSync(join(out, 'scorecard.md'), 'utf8');
  assert.match(md, /Brier score, pr > 0\.1 \(mm h-1\)/);
  assert.match(md, /Fractions skill score, pr > 1 \(mm h-1\), 5x5 cells/);
  assert.match(md, /\| frame 3 \| /);
  assert.ok(existsSync(join(out, 'pr', 'example-maps.png')));
});

test('errors: a valid time missing from the truth leaves nothing behind; mismatched files; unknown variables', async () => {
  const late = await write(ensemble('forecast', [T - 3], F, 2, () => 280, { known: 2 }), 'late.nc');
  const out = join(dir, 'late-card');
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: late }], truth: truthPath(), out, bootstrap: 0 }),
    (e: Error) => e instanceof DataError && /^the truth file has no step for 2003-01-01 \(frame 4 of case 1 of /.test(e.message));
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary folder left');
  const shifted = ensemble('forecast', STARTS, F, 2, () => 280, { known: 2 });
  shifted.times = shifted.times.map((t) => t + 3);
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: await write(shifted, 'shifted.nc') }], truth: truthPath(), out, bootstrap: 0 }),
    (e: Error) => e instanceof DataError && /^the truth file has no step for 2002-01-11 03:00 \(frame 1 of case 1 of .*shifted\.nc\); .*truth\.nc covers 2000-01-01 to 2002-12-31 18:00$/.test(e.message));
  const a = await write(ensemble('forecast', STARTS, F, 2, () => 280, { known: 2 }), 'a.nc');
  const b = await write(ensemble('forecast', STARTS.map((s) => s + 1), F, 2, () => 280, { known: 2 }), 'b.nc');
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: a }, { label: 'other', path: b }], truth: truthPath(), out, bootstrap: 0 }),
    (e: Error) => e instanceof DataError && e.message.startsWith(`${b}: frame 1 of case 1 is valid at`));
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: a }], truth: truthPath(), out, variables: ['pr'] }),
    (e: Error) => e instanceof DataError && /has no variable 'pr'/.test(e.message));
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: a }], truth: truthPath(), out, baselines: ['linear'] }),
    (e: Error) => e instanceof DataError && /'linear' does not apply to forecast ensembles/.test(e.message));
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path: a }], truth: truthPath(), out, regions: ['mars'] }),
    (e: Error) => e instanceof DataError && /unknown region 'mars'/.test(e.message));
  assert.ok(!existsSync(out));
  assert.deepEqual(precipitationThresholds('mm h-1'), [0.1, 1]);
  assert.deepEqual(precipitationThresholds('mm d-1'), [2.4, 24]);
  assert.equal(precipitationThresholds('K'), null);
});

/** Runs the CLI in this process, capturing what it writes. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  // only text is captured: the test runner reports to its parent through stdout in binary chunks, which pass through
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s === 'string') { stdout += s; return true; }
    return (ow as (c: Uint8Array, ...r: unknown[]) => boolean)(s, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s === 'string') { stderr += s; return true; }
    return (ew as (c: Uint8Array, ...r: unknown[]) => boolean)(s, ...rest);
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'climadiff', 'score', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow; process.stderr.write = ew;
  }
}

test('a truth of yearly files, read with the selection the forecast file records (a box), as for training', async () => {
  const years = join(dir, 'years');
  mkdirSync(years, { recursive: true });
  const full = truthDataset();
  for (let y = 0; y < YEARS; y++) {
    const part = sliceTime(full, 'time', y * 365 * PER_DAY, (y + 1) * 365 * PER_DAY);
    part.variables.delete('sftlf');
    await writeNetCDF(part, join(years, `truth_${2000 + y}.nc`));
  }
  // a perfect forecast on the box 60S-60N, 60W-60E (6 x 6 cells), the box recorded as the model's selection
  const rows = LAT.flatMap((v, i) => (Math.abs(v) <= 60 ? [i] : [])), cols = LON.flatMap((v, j) => (Math.abs(v) <= 60 ? [j] : []));
  const h = rows.length, w = cols.length, N = STARTS.length, M = 3;
  const data = new Float32Array(M * N * F * h * w);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    data[(((m * N + n) * F + f) * h + r) * w + c] = tv(STARTS[n]! + f, rows[r]! * W + cols[c]!);
  }
  const boxed: Ensemble = {
    ...ensemble('forecast', STARTS, F, M, () => 0, { known: 2, leads: F }), data, shape: [M, N, 1, F, h, w],
    lat: rows.map((i) => LAT[i]!), lon: cols.map((j) => LON[j]!),
  };
  const select = { lat: [-60, 60], lon: [-60, 60] };
  const path = join(dir, 'boxed.nc');
  await writeNetCDF(ensembleDataset(boxed, 'score test', { climadiff_selection: JSON.stringify(select) }), path);
  const card = await scoreFiles({ forecasts: [{ label: 'climadiff', path }], truth: join(years, 'truth_*.nc'), out: join(dir, 'card-years'), baselines: ['persistence'], bootstrap: 0 });
  const g = card.variables[0]!.regions[0]!;
  assert.deepEqual(g.arms.find((a) => a.arm === 'climadiff')!.scores.rmse, [0, 0, 0, 0], 'the recorded box of the yearly files is the forecast grid');
  assert.ok(g.arms.find((a) => a.arm === 'persistence')!.scores.rmse!.every((v) => v! > 0));
  // without the selection the truth is on another grid; land regions need one truth file as it is
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path }], truth: join(years, 'truth_*.nc'), out: join(dir, 'card-x'), select: null, bootstrap: 0 }), /grid mismatch/);
  await assert.rejects(scoreFiles({ forecasts: [{ label: 'climadiff', path }], truth: join(years, 'truth_*.nc'), out: join(dir, 'card-y'), regions: ['land'], bootstrap: 0 }),
    /land and ocean regions read a land fraction from one truth file as it is/);
  assert.ok(!existsSync(join(dir, 'card-x')) && !existsSync(join(dir, 'card-y')));
});

test('CLI: a summary and the paths on success, one line and a non-zero exit on bad input', async () => {
  const noise = gauss(mulberry32(3));
  const model = await write(ensemble('forecast', STARTS, F, 3, (_m, n, f, j) => tv(STARTS[n]! + f, j) + noise(), { known: 2 }), 'cli-model.nc');
  const ok = await cli('--forecast', `mine=${model}`, '--truth', truthPath(), '--out', join(dir, 'cli-card'), '--baselines', 'persistence', '--bootstrap', '50');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /tas \(K\), global, mean over 4 leads:/);
  assert.match(ok.stdout, /\n {2}mine +3 +[\d.]+ +[\d.]+ +[\d.]+\n/);
  assert.match(ok.stdout, /\n {2}persistence +1 +[\d.]+\* /);
  assert.match(ok.stdout, /wrote .*cli-card\/: .*tas\/crps\.png/);
  const cases: [string[], RegExp][] = [
    [['--forecast', join(dir, 'nope.nc'), '--truth', truthPath(), '--out', join(dir, 'x')], /nope\.nc: no such file or directory/],
    [['--forecast', model, '--truth', truthPath(), '--out', join(dir, 'cli-card')], /refusing to overwrite the existing folder/],
    [['--forecast', model, '--truth', truthPath(), '--out', join(dir, 'x'), '--train', '2000-01-01'], /--train <from,to>' argument '2000-01-01' is invalid/],
    [['--forecast', model, '--truth', truthPath(), '--out', join(dir, 'x'), '--baselines', 'magic'], /expected auto, none or a list/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re);
    // our errors are one line; commander's own (an invalid option value) are followed by the usage
    const lines = r.stderr.trim().split('\n').filter((l) => /^(climadiff|error):/.test(l));
    assert.equal(lines.length, 1, r.stderr);
  }
  assert.ok(!existsSync(join(dir, 'x')));
});
