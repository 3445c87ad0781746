import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import {
  clipsFromArray, fft, fft2Real, lagAutocorrelation, logLogSlope, meanNormalisedBias, qqUpper, radialPowerSpectrum, temporalSpectrum,
  upperQuantileLevels, upperQuantiles, valueHistogram, writeReport,
} from '../src/eval/index.js';
import { rng, gauss, clips } from './random-fixture.js';


test('fft matches a direct DFT for power-of-two and other lengths', () => {
  const r = rng(1);
  for (const n of [1, 2, 8, 12, 37, 64, 100]) {
    const xr = Float64Array.from({ length: n }, r), xi = Float64Array.from({ length: n }, r);
    const re = Float64Array.from(xr), im = Float64Array.from(xi);
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let sr = 0, si = 0;
      for (let j = 0; j < n; j++) {
        const a = (-2 * Math.PI * k * j) / n;
        sr += xr[j]! * Math.cos(a) - xi[j]! * Math.sin(a);
        si += xr[j]! * Math.sin(a) + xi[j]! * Math.cos(a);
      }
      assert.ok(Math.abs(re[k]! - sr) < 1e-9 * n && Math.abs(im[k]! - si) < 1e-9 * n, `n=${n} k=${k}: ${re[k]},${im[k]} vs ${sr},${si}`);
    }
    // inverse (unnormalised) brings the input back times n
    fft(re, im, true);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(re[j]! / n - xr[j]!) < 1e-9 && Math.abs(im[j]! / n - xi[j]!) < 1e-9);
  }
  // 2-D: a single mode lands in one coefficient
  const H = 6, W = 10;
  const f = Float64Array.from({ length: H * W }, (_, i) => Math.cos(2 * Math.PI * ((2 * Math.floor(i / W)) / H + (3 * (i % W)) / W)));
  const { re, im } = fft2Real(f, H, W);
  assert.ok(Math.abs(re[2 * W + 3]! - (H * W) / 2) < 1e-9 && Math.abs(im[2 * W + 3]!) < 1e-9);
  assert.ok(Math.abs(re[0]!) < 1e-9);
});

test('valueHistogram: identical series give identical densities that integrate to one', () => {
  const r = rng(2), g = gauss(r);
  const a = clips([3, 4, 8, 8], () => g());
  const h = valueHistogram(a, { data: Float32Array.from(a.data), shape: a.shape }, { bins: 30 });
  assert.equal(h.edges.length, 31);
  assert.deepEqual(h.sampleDensity, h.referenceDensity);
  const integral = h.sampleDensity.reduce((s, d, i) => s + d * (h.edges[i + 1]! - h.edges[i]!), 0);
  assert.ok(Math.abs(integral - 1) < 1e-9, `integral ${integral}`);
  // a shifted copy does not give the same densities
  const b = valueHistogram(a, { data: a.data.map((v) => v + 1), shape: a.shape }, { bins: 30 });
  assert.notDeepEqual(b.sampleDensity, b.referenceDensity);
  // log bins: non-positive values are counted below the floor, masked values are excluded
  const mask = new Uint8Array(a.data.length);
  mask[0] = 1;
  const data = Float32Array.from(a.data); data[0] = 1e9;
  const l = valueHistogram({ data, shape: a.shape, mask }, a, { bins: 20, log: true, floor: 1e-3 });
  assert.ok(l.edges[20]! < 1e3, 'masked value ignored');
  assert.ok(Math.abs(l.referenceBelow - a.data.filter((v) => v <= 1e-3).length / a.data.length) < 1e-12);
});

test('upperQuantiles of an exponential sample match -log(1 - q) within sampling error', () => {
  const qs = upperQuantileLevels(20);
  assert.equal(qs.length, 20);
  assert.ok(Math.abs(qs[0]! - 0.9) < 1e-12 && Math.abs(qs[19]! - 0.9999) < 1e-12);
  const ratios = qs.slice(1).map((q, i) => (1 - qs[i]!) / (1 - q));
  for (const x of ratios) assert.ok(Math.abs(x - ratios[0]!) < 1e-9, 'log-spaced in 1 - q');
  const r = rng(3), n = 200_000;
  const x = Float64Array.from({ length: n }, () => -Math.log(1 - r()));
  const got = upperQuantiles(x, qs);
  qs.forEach((q, i) => {
    const se = Math.sqrt(q / ((1 - q) * n)); // sd of the sample quantile: sqrt(q(1-q)/n) / density
    assert.ok(Math.abs(got[i]! + Math.log(1 - q)) < 4 * se, `q=${q}: ${got[i]} vs ${-Math.log(1 - q)} (se ${se})`);
  });
  const qq = qqUpper(x, x.map((v) => 2 * v), [0.9, 0.99]);
  assert.ok(Math.abs(qq.reference[1]! / qq.sample[1]! - 2) < 1e-9);
});

test('meanNormalisedBias: zero for identical data, the imposed relative bias for a scaled copy', () => {
  const r = rng(4);
  const ref = clips([5, 6, 8, 12], (_n, _t, y, x) => 1 + y + x * 0.5 + r());
  const same = meanNormalisedBias({ data: Float32Array.from(ref.data), shape: ref.shape }, ref);
  assert.equal(same.definedCells, 96);
  for (const v of same.map) assert.equal(v, 0);
  assert.equal(same.r2, 1);
  assert.equal(same.meanAbs, 0);
  const scaled = meanNormalisedBias({ data: ref.data.map((v) => v * 1.1), shape: ref.shape }, ref);
  for (const v of scaled.map) assert.ok(Math.abs(v - 0.1) < 1e-5, `bias ${v}`);
  assert.ok(Math.abs(scaled.meanAbs - 0.1) < 1e-5);
  assert.ok(scaled.r2 < 1 && scaled.corr2 > 0.9999);
  // a masked cell with a wild value does not change its bias; a static mask leaves the cell undefined
  const data = Float32Array.from(ref.data), mask = new Uint8Array(data.length);
  data[0] = 1e6; mask[0] = 1;
  const m = meanNormalisedBias({ data, shape: ref.shape, mask }, ref);
  assert.ok(Math.abs(m.map[0]!) < 0.2);
  const stat = new Uint8Array(96); stat[5] = 1;
  assert.ok(Number.isNaN(meanNormalisedBias({ ...ref, mask: stat }, ref).map[5]!));
});

test('radialPowerSpectrum: a plane wave peaks at its wavenumber; Parseval holds', () => {
  const H = 32, W = 64;
  // x wave with 5 cycles across W: bin 5 (L = 64); y wave with 4 cycles across H: 4/32 cycles per cell = bin 8
  const wx = radialPowerSpectrum({ data: clips([1, 2, H, W], (_n, _t, _y, x) => Math.cos((2 * Math.PI * 5 * x) / W)).data, shape: [2, H, W] });
  assert.equal(wx.binSum.indexOf(Math.max(...wx.binSum)), 5);
  assert.ok(Math.abs(wx.binSum[5]! - 0.5) < 1e-6, `power ${wx.binSum[5]}`);
  assert.equal(wx.nyquistBin, 32);
  const wy = radialPowerSpectrum(clips([1, 1, H, W], (_n, _t, y) => 3 * Math.sin((2 * Math.PI * 4 * y) / H)));
  assert.equal(wy.binSum.indexOf(Math.max(...wy.binSum)), 8);
  assert.ok(Math.abs(wy.binSum[8]! - 4.5) < 1e-5);
  // Parseval on random non-square, non-power-of-two fields: sum of all bins = mean square
  const r = rng(5), g = gauss(r);
  const c = clips([2, 3, 24, 40], () => 2 + g());
  const s = radialPowerSpectrum(c);
  let ms = 0;
  for (const v of c.data) ms += v * v;
  ms /= c.data.length;
  const total = s.binSum.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - ms) < 1e-6 * ms, `${total} vs ${ms}`);
  assert.equal(s.modes.reduce((a, b) => a + b, 0), 24 * 40);
  assert.equal(s.frames, 6);
});

test('radialPowerSpectrum: white noise is flat within tolerance', () => {
  const r = rng(6), g = gauss(r);
  const H = 32, W = 32;
  const s = radialPowerSpectrum(clips([40, 1, H, W], () => g()));
  const expected = 1 / (H * W); // variance spread evenly over H*W modes
  for (let k = 1; k <= s.nyquistBin; k++) assert.ok(Math.abs(s.power[k]! / expected - 1) < 0.25, `k=${k}: ${s.power[k]! / expected}`);
  const slope = logLogSlope(s.cyclesPerCell.slice(1, 17), s.power.slice(1, 17));
  assert.ok(Math.abs(slope) < 0.1, `slope ${slope}`);
  // a red field (running sum in x) is not flat: negative slope
  const red = clips([10, 1, H, W], () => 0);
  for (let i = 0; i < red.data.length; i++) red.data[i] = (i % W === 0 ? 0 : red.data[i - 1]!) + g();
  const sr = radialPowerSpectrum(red);
  assert.ok(logLogSlope(sr.cyclesPerCell.slice(1, 17), sr.power.slice(1, 17)) < -1);
});

test('temporalSpectrum: Parseval, a peak at the imposed frequency, flat for white noise', () => {
  const F = 16;
  const sine = temporalSpectrum(clips([3, F, 4, 5], (_n, t, y, x) => 7 + Math.cos((2 * Math.PI * 3 * t) / F + y + x)));
  assert.equal(sine.frequency.length, 9);
  assert.equal(sine.power.indexOf(Math.max(...sine.power)), 3);
  assert.ok(Math.abs(sine.power[3]! - 0.5) < 1e-6 && Math.abs(sine.power[0]!) < 1e-9);
  const r = rng(7), g = gauss(r);
  const noise = clips([50, F, 8, 8], () => g());
  const s = temporalSpectrum(noise);
  // one-sided power sums to the mean variance of the demeaned series
  let v = 0;
  const HW = 64;
  for (let n = 0; n < 50; n++) for (let j = 0; j < HW; j++) {
    let m = 0, q = 0;
    for (let t = 0; t < F; t++) m += noise.data[(n * F + t) * HW + j]!;
    m /= F;
    for (let t = 0; t < F; t++) q += (noise.data[(n * F + t) * HW + j]! - m) ** 2;
    v += q / F;
  }
  v /= 50 * HW;
  assert.ok(Math.abs(s.power.reduce((a, b) => a + b, 0) - v) < 1e-6 * v);
  for (let k = 1; k < 8; k++) assert.ok(Math.abs(s.power[k]! / (2 / F) - 1) < 0.15, `k=${k}: ${s.power[k]}`);
  assert.ok(Math.abs(s.power[8]! / (1 / F) - 1) < 0.15);
  // long odd series go through the FFT path: same peak and normalisation
  const long = temporalSpectrum(clips([2, 45, 2, 3], (_n, t) => 2 * Math.sin((2 * Math.PI * 7 * t) / 45)));
  assert.equal(long.frequency.length, 23);
  assert.equal(long.power.indexOf(Math.max(...long.power)), 7);
  assert.ok(Math.abs(long.power[7]! - 2) < 1e-6);
});

test('clipsFromArray cuts a [T, H, W] variable into clips', () => {
  const data = Float32Array.from({ length: 23 * 2 * 3 }, (_, i) => i);
  const c = clipsFromArray({ data, shape: [23, 2, 3], mask: null }, 5);
  assert.deepEqual(c.shape, [4, 5, 2, 3]);
  assert.equal(c.data.length, 120);
  assert.equal(c.data[119], 119);
  assert.throws(() => clipsFromArray({ data, shape: [23, 2, 3] }, 30), /23 time steps/);
  assert.deepEqual(clipsFromArray({ data, shape: [1, 23, 2, 3] }).shape, [1, 23, 2, 3]);
});

test('lagAutocorrelation of an AR(1) process matches phi^lag', () => {
  const r = rng(8), g = gauss(r);
  const phi = 0.7, N = 200, F = 16, H = 8, W = 8, HW = H * W;
  const c = clips([N, F, H, W], () => 0);
  for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) {
    let x = g() / Math.sqrt(1 - phi * phi); // stationary start
    for (let t = 0; t < F; t++) { c.data[(n * F + t) * HW + j] = 3 + x; x = phi * x + g(); }
  }
  const a = lagAutocorrelation(c, 6);
  assert.deepEqual(a.lag, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(a.acf[0], 1);
  for (let l = 1; l <= 6; l++) assert.ok(Math.abs(a.acf[l]! - phi ** l) < 0.03, `lag ${l}: ${a.acf[l]} vs ${phi ** l}`);
  // independent frames: autocorrelation near 0
  const w = lagAutocorrelation(clips([N, F, 4, 4], () => g()), 3);
  for (let l = 1; l <= 3; l++) assert.ok(Math.abs(w.acf[l]!) < 0.03);
  assert.equal(lagAutocorrelation(c, 40).lag.length, F);
});

test('writeReport writes report.md with SVG charts, a PNG bias map and tables of numbers', async () => {
  const r = rng(9), g = gauss(r);
  // precipitation-like: mostly dry, heavy-tailed, with spatial structure
  const rain = (scale: number) => clips([6, 8, 16, 24], (_n, _t, y, x) => {
    const z = g() + 0.05 * (y - x / 2);
    return z > 0.8 ? scale * Math.exp(1.2 * g()) * (1 + y / 16) : 0;
  });
  const reference = rain(1), samples = { data: reference.data.map((v) => 0.9 * v), shape: reference.shape };
  const mask = new Uint8Array(16 * 24); mask[0] = 1;
  reference.mask = mask;
  const dir = await mkdtemp(join(tmpdir(), 'climadiff-eval-'));
  try {
    const files = await writeReport(dir, {
      variable: 'pr', units: 'mm/h', samples, reference,
      meta: { title: 'Test report', model: 'unit-test', steps: 12 },
      lat: Array.from({ length: 16 }, (_, i) => 50 + i * 0.1), lon: Array.from({ length: 24 }, (_, i) => -3 + i * 0.1),
      extra: '## Notes\n\nextra markdown here',
    });
    const names = files.map((f) => f.slice(dir.length + 1)).sort();
    assert.deepEqual(names, ['autocorrelation.svg', 'bias.png', 'diagnostics.json', 'histogram.svg', 'qq.svg', 'report.md', 'spatial-spectrum.svg', 'temporal-spectrum.svg']);
    for (const f of files.filter((p) => p.endsWith('.svg'))) {
      const svg = await readFile(f, 'utf8');
      assert.ok(svg.startsWith('<svg'), `${f} starts with <svg`);
      assert.ok(svg.trimEnd().endsWith('</svg>'));
      assert.ok(/<path/.test(svg), `${f} has paths`);
      assert.ok(svg.includes('samples') && svg.includes('reference') || f.endsWith('qq.svg'), `${f} has a legend`);
    }
    const png = PNG.sync.read(await readFile(join(dir, 'bias.png')));
    assert.ok(png.width > 24 && png.height > 16);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    for (const pic of ['histogram.svg', 'qq.svg', 'bias.png', 'spatial-spectrum.svg', 'temporal-spectrum.svg', 'autocorrelation.svg']) assert.ok(md.includes(`](${pic})`), `links ${pic}`);
    assert.ok(md.startsWith('# Test report'));
    assert.match(md, /\| 0\.9999 \|/);
    assert.match(md, /log-log slope/);
    assert.match(md, /R\^2/);
    assert.match(md, /\| 1 \| -?\d/); // lag-1 autocorrelation row
    assert.ok(md.includes('extra markdown here') && md.includes('unit-test'));
    const nums = JSON.parse(await readFile(join(dir, 'diagnostics.json'), 'utf8'));
    assert.equal(nums.counts.reference, 6 * 8 * 16 * 24 - 6 * 8);
    assert.ok(Math.abs(nums.bias.mean + 0.1) < 1e-5, 'samples are 10% drier everywhere');
    assert.ok(nums.bias.definedCells < 16 * 24, 'the masked cell has no bias');
    // single-frame clips: no temporal pictures, the rest still written
    const single = await writeReport(join(dir, 'single'), { variable: 't', samples: clips([3, 1, 8, 8], (n, _t, y, x) => n + y * x), reference: clips([4, 1, 8, 8], (n, _t, y, x) => 1 + n + y * x), meta: { title: 'single' } });
    assert.equal(single.length, 6);
    assert.match(await readFile(join(dir, 'single', 'report.md'), 'utf8'), /single frame/);
    // mismatched grids are refused
    await assert.rejects(writeReport(dir, { variable: 'pr', samples: clips([1, 2, 4, 4], () => 1), reference, meta: { title: 'x' } }), /4x4/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
