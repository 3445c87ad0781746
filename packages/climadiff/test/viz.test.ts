// Pictures: colormap lightness (monotone viridis, symmetric diverging map), PNG and GIF files that decode
// back to the rendered frames, missing cells in the missing colours, north-up orientation, coastlines in
// both longitude conventions, the bitmap font, and the preview path from a dataset to a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { coolwarm, srgbToLab, viridis, resample } from '../src/viz/colormaps.js';
import { VIRIDIS } from '../src/viz/viridis-data.js';
import { coastlineSegments, fractionalIndex } from '../src/viz/coastlines.js';
import { glyph, textWidth } from '../src/viz/font.js';
import { encodeGIF, encodePNG, INK, LEVELS, MISSING, MISSING_HATCH, niceTicks, renderFrames, toRGBA, type FieldSequence } from '../src/viz/render.js';
import { fieldSequence, writePreview } from '../src/viz/preview.js';
import type { ClimateDataset } from '../src/data/types.js';

const lightness = (c: ArrayLike<number>, i: number, unit = 255): number => srgbToLab(c[3 * i]! / unit, c[3 * i + 1]! / unit, c[3 * i + 2]! / unit)[0];

test('viridis: 256 entries, CIELAB L* strictly increasing in the published table, non-decreasing after rounding', () => {
  assert.equal(VIRIDIS.length, 768);
  for (let i = 1; i < 256; i++) assert.ok(lightness(VIRIDIS, i, 1) > lightness(VIRIDIS, i - 1, 1), `entry ${i}`);
  const pal = resample(viridis, LEVELS);
  for (let i = 1; i < LEVELS; i++) assert.ok(lightness(pal, i) >= lightness(pal, i - 1) - 0.1, `level ${i}`);
  assert.ok(lightness(VIRIDIS, 0, 1) < 20 && lightness(VIRIDIS, 255, 1) > 90);
  assert.deepEqual([...viridis.colors.subarray(128 * 3, 128 * 3 + 3)], [33, 145, 140]); // viridis(0.5) = #21918c
});

test('coolwarm: lightness symmetric about the centre, lightest and neutral at the centre, blue low and red high', () => {
  const c = coolwarm.colors;
  for (let i = 0; i < 256; i++) assert.ok(Math.abs(lightness(c, i) - lightness(c, 255 - i)) < 1, `entry ${i}`);
  for (let i = 1; i < 128; i++) assert.ok(lightness(c, i) > lightness(c, i - 1) - 0.2, `rising to the centre at ${i}`);
  const [, , b0] = srgbToLab(c[0]! / 255, c[1]! / 255, c[2]! / 255);
  const [, a1] = srgbToLab(c[765]! / 255, c[766]! / 255, c[767]! / 255);
  assert.ok(b0 < -40 && a1 > 40, 'blue end and red end');
  const pal = resample(coolwarm, LEVELS);
  const mid = (LEVELS - 1) / 2;
  const [Lm, am, bm] = srgbToLab(pal[mid * 3]! / 255, pal[mid * 3 + 1]! / 255, pal[mid * 3 + 2]! / 255);
  assert.ok(Lm > 85 && Math.hypot(am, bm) < 2, `centre ${Lm} ${am} ${bm}`);
  assert.deepEqual([...c.subarray(0, 3)], [59, 76, 192]); // Moreland's published cool end
});

function sequence(T: number, H: number, W: number, latAscending = true): FieldSequence {
  const frames: Float32Array[] = [], masks: Uint8Array[] = [];
  for (let t = 0; t < T; t++) {
    const f = new Float32Array(H * W), m = new Uint8Array(H * W);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f[y * W + x] = Math.sin(x / 3 + t) + y / H;
    m[0] = 1; // the first stored cell (south-west when lat ascends) is missing
    f[1] = NaN; // NaN counts as missing too
    frames.push(f); masks.push(m);
  }
  const lat = Array.from({ length: H }, (_, i) => (latAscending ? -80 + (160 * i) / (H - 1) : 80 - (160 * i) / (H - 1)));
  return { height: H, width: W, frames, masks, lat, lon: Array.from({ length: W }, (_, i) => (360 * i) / W),
    labels: Array.from({ length: T }, (_, t) => `2000-0${t + 1}-01`), title: 'tas', units: 'K' };
}

test('PNG: decodes to the rendered image; missing cells get the missing colours; north is up; label and colour bar drawn', () => {
  const seq = sequence(1, 10, 20);
  const anim = renderFrames(seq, { scale: 3, coastlines: false });
  const png = PNG.sync.read(encodePNG(anim));
  assert.equal(png.width, anim.width);
  assert.equal(png.height, anim.height);
  assert.ok(anim.width >= 60 + 8 && anim.height >= 30);
  assert.deepEqual([...png.data], [...toRGBA(anim)]);
  const px = (x: number, y: number): number[] => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
  const { x: mx, y: my, scale } = anim.map;
  const missingColours = [MISSING, MISSING_HATCH].map((i) => [...anim.palette.subarray(i * 3, i * 3 + 3)]);
  const cmap = new Set(Array.from({ length: LEVELS }, (_, i) => [...anim.palette.subarray(i * 3, i * 3 + 3)].join(',')));
  for (const c of missingColours) assert.ok(!cmap.has(c.join(',')), 'missing colours are not colormap colours');
  // stored row 0 is the southernmost: drawn at the bottom. Cells (0,0) and (0,1) are missing.
  for (const col of [0, 1]) {
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
      const p = px(mx + col * scale + dx, my + 9 * scale + dy);
      assert.ok(missingColours.some((c) => c.join() === p.join()), `missing cell pixel ${p}`);
    }
  }
  // a valid cell has the colormap colour of its value
  const v = seq.frames[0]![9 * 20 + 5]!; // northernmost row, drawn at the top
  const level = Math.round(((v - anim.vmin) / (anim.vmax - anim.vmin)) * (LEVELS - 1));
  const want = [...anim.palette.subarray(Math.max(0, Math.min(LEVELS - 1, level)) * 3, Math.max(0, Math.min(LEVELS - 1, level)) * 3 + 3)];
  assert.deepEqual(px(mx + 5 * scale + 1, my + 1), want);
  // the label line above the map has ink (text), and so does the colour-bar column
  const ink = [...anim.palette.subarray(INK * 3, INK * 3 + 3)].join();
  let textInk = 0;
  for (let y = 0; y < my; y++) for (let x = 0; x < mx + 40; x++) if (px(x, y).join() === ink) textInk++;
  assert.ok(textInk > 20, 'label drawn');
  // south-first and north-first storage of the same field give the same picture
  const flipped = { ...seq, lat: Array.from(seq.lat!).reverse(), frames: seq.frames.map((f) => { const g = new Float32Array(f.length); for (let y = 0; y < 10; y++) g.set(f.subarray(y * 20, y * 20 + 20), (9 - y) * 20); return g; }),
    masks: seq.masks!.map((m) => { const g = new Uint8Array(m!.length); for (let y = 0; y < 10; y++) g.set(m!.subarray(y * 20, y * 20 + 20), (9 - y) * 20); return g; }) };
  const f2 = flipped.frames[0]!; f2[9 * 20 + 1] = NaN; seq.frames[0]![1] = NaN;
  const anim2 = renderFrames(flipped, { scale: 3, coastlines: false });
  assert.equal(anim2.map.northUp, false);
  assert.deepEqual([...anim2.frames[0]!], [...anim.frames[0]!]);
});

/** Minimal GIF reader for the test: logical screen size, global palette and LZW-decoded frame indices. */
function readGIF(buf: Uint8Array): { width: number; height: number; palette: Uint8Array; frames: Uint8Array[]; delays: number[] } {
  assert.equal(Buffer.from(buf.subarray(0, 6)).toString('latin1'), 'GIF89a');
  const width = buf[6]! | (buf[7]! << 8), height = buf[8]! | (buf[9]! << 8);
  const flags = buf[10]!;
  let p = 13;
  let palette = new Uint8Array(0);
  if (flags & 0x80) { const n = 2 ** ((flags & 7) + 1); palette = buf.slice(p, p + 3 * n); p += 3 * n; }
  const frames: Uint8Array[] = [], delays: number[] = [];
  const subBlocks = (): Uint8Array => { const parts: number[] = []; while (buf[p]! !== 0) { const n = buf[p]!; parts.push(...buf.subarray(p + 1, p + 1 + n)); p += n + 1; } p++; return Uint8Array.from(parts); };
  for (;;) {
    const b = buf[p++]!;
    if (b === 0x3b) break;
    if (b === 0x21) { const label = buf[p++]!; if (label === 0xf9) delays.push(buf[p + 2]! | (buf[p + 3]! << 8)); subBlocks(); continue; }
    assert.equal(b, 0x2c, `unexpected block 0x${b.toString(16)}`);
    const w = buf[p + 4]! | (buf[p + 5]! << 8), h = buf[p + 6]! | (buf[p + 7]! << 8), f = buf[p + 8]!;
    p += 9;
    assert.equal(f & 0x80, 0, 'no local palette: frames share the global one');
    const minCode = buf[p++]!;
    const data = subBlocks();
    const out = new Uint8Array(w * h);
    const clear = 1 << minCode, eoi = clear + 1;
    let dict: number[][] = [], size = minCode + 1, prev: number[] | null = null, o = 0, bit = 0;
    const reset = (): void => { dict = Array.from({ length: clear + 2 }, (_, i) => [i]); size = minCode + 1; prev = null; };
    reset();
    while (bit + size <= data.length * 8) {
      let code = 0;
      for (let i = 0; i < size; i++, bit++) code |= ((data[bit >> 3]! >> (bit & 7)) & 1) << i;
      if (code === clear) { reset(); continue; }
      if (code === eoi) break;
      let entry: number[];
      if (code < dict.length) entry = dict[code]!;
      else { assert.ok(prev); entry = [...prev!, prev![0]!]; }
      for (const v of entry) out[o++] = v;
      if (prev) dict.push([...prev, entry[0]!]);
      prev = entry;
      if (dict.length === 1 << size && size < 12) size++;
    }
    assert.equal(o, w * h, 'frame fully decoded');
    frames.push(out);
  }
  return { width, height, palette, frames, delays };
}

test('GIF: header, logical screen size, one shared palette, frames decode to the rendered images and differ', () => {
  const seq = sequence(3, 12, 24);
  const anim = renderFrames(seq, { colormap: 'coolwarm', scale: 2 });
  const gif = readGIF(encodeGIF(anim, { delayMs: 200 }));
  assert.equal(gif.width, anim.width);
  assert.equal(gif.height, anim.height);
  assert.equal(gif.frames.length, 3);
  assert.deepEqual(gif.delays, [20, 20, 20]);
  assert.deepEqual([...gif.palette.subarray(0, 768)], [...anim.palette]);
  gif.frames.forEach((f, i) => assert.deepEqual([...f], [...anim.frames[i]!]));
  const differ = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);
  assert.ok(differ(gif.frames[0]!, gif.frames[1]!) > 100);
  assert.ok(differ(gif.frames[1]!, gif.frames[2]!) > 100);
  // diverging range is centred on 0
  assert.ok(Math.abs(anim.vmin + anim.vmax) < 1e-9);
});

test('coastlines: present on a global grid, same outline for 0..360 and -180..180 longitudes, Antarctica at the bottom', () => {
  const H = 90, W = 180;
  const lat = Array.from({ length: H }, (_, i) => -89 + 2 * i);
  const lon360 = Array.from({ length: W }, (_, i) => 1 + 2 * i);
  const lon180 = lon360.map((l) => l - 180);
  const raster = (lon: number[]): Set<string> => {
    const s = coastlineSegments(lat, lon, 1, true);
    const set = new Set<string>();
    for (let k = 0; k < s.length; k += 4) set.add(`${Math.floor(s[k]!)},${Math.floor(s[k + 1]!)}`);
    return set;
  };
  const a = raster(lon360), b = raster(lon180);
  assert.ok(a.size > 500, `${a.size} coastline points`);
  let same = 0;
  for (const key of b) { const [x, y] = key.split(',').map(Number); if (a.has(`${(x! + 90) % W},${y}`)) same++; }
  assert.ok(same / b.size > 0.95, `shifted overlap ${same / b.size}`);
  const rows = [...a].map((k) => Number(k.split(',')[1]));
  assert.ok(rows.some((r) => r > H - 1 - 15), 'Antarctic coast near the bottom (south)');
  assert.ok(!rows.some((r) => r < 1), 'nothing at the North Pole row');
  // mid-Pacific (0N, 150W) has no coast within 5 degrees
  const cx = (210 - 1) / 2, cy = H - 1 - (0 + 89) / 2;
  assert.ok(![...a].some((k) => { const [x, y] = k.split(',').map(Number); return Math.abs(x! - cx) < 2.5 && Math.abs(y! - cy) < 2.5; }));
  assert.ok(Math.abs(fractionalIndex([10, 8, 6], 7) - 1.5) < 1e-12);
  assert.ok(Math.abs(fractionalIndex([0, 1, 3], 2) - 1.5) < 1e-12);
});

test('font, ticks: every glyph distinct, text width, nice tick values', () => {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.:/%()+';
  const seen = new Set<string>();
  for (const ch of chars) { const g = glyph(ch).join(''); assert.ok(!seen.has(g), `glyph ${ch} duplicates another`); seen.add(g); }
  assert.equal(glyph('§').join(''), glyph('?').join(''));
  assert.equal(textWidth('2000-01-01'), 59);
  assert.deepEqual(niceTicks(271.3, 302.9), [280, 290, 300]);
  assert.deepEqual(niceTicks(-2.2, 2.2), [-2, -1, 0, 1, 2]);
});

test('preview: a dataset variable to PNG and animated GIF files, anomalies centred', async () => {
  const T = 6, H = 8, W = 16;
  const data = new Float32Array(T * H * W), mask = new Uint8Array(T * H * W);
  for (let k = 0; k < data.length; k++) data[k] = 280 + 10 * Math.sin(k / 7);
  for (let t = 0; t < T; t++) mask[t * H * W + 3] = 1;
  const ds: ClimateDataset = {
    variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data, mask, units: 'K', attrs: {} }]]),
    coords: new Map([
      ['time', { name: 'time', values: Float64Array.from({ length: T }, (_, t) => 31 * t), axis: 'T' as const, units: 'days since 2001-01-01', calendar: 'standard', attrs: {} }],
      ['lat', { name: 'lat', values: Float64Array.from({ length: H }, (_, i) => -70 + 20 * i), axis: 'Y' as const, attrs: {} }],
      ['lon', { name: 'lon', values: Float64Array.from({ length: W }, (_, i) => -180 + 22.5 * i), axis: 'X' as const, attrs: {} }],
    ]),
    attrs: {},
  };
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-viz-'));
  try {
    const anim = await writePreview(ds, join(dir, 'a.png'), { variable: 'tas', scale: 4 });
    const png = PNG.sync.read(readFileSync(join(dir, 'a.png')));
    assert.deepEqual([png.width, png.height], [anim.width, anim.height]);
    assert.equal(anim.map.width, W * 4);
    const gifAnim = await writePreview(ds, join(dir, 'a.gif'), { variable: 'tas', frames: [1, 5], anomaly: true });
    const gif = readGIF(readFileSync(join(dir, 'a.gif')));
    assert.equal(gif.frames.length, 4);
    // anomalies are smooth across a month boundary: a field warming by 0.1 K a day over 20 days from 2001-01-21 has
    // anomalies that also change by 0.1 K a day (monthly means would jump by about 2 K at 1 February)
    const days = 20, ramp: ClimateDataset = {
      variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [days, H, W], data: Float32Array.from({ length: days * H * W }, (_, k) => 280 + 0.1 * Math.floor(k / (H * W))), mask: null, units: 'K', attrs: {} }]]),
      coords: new Map([['time', { name: 'time', values: Float64Array.from({ length: days }, (_, t) => 20 + t), axis: 'T' as const, units: 'days since 2001-01-01', calendar: 'standard', attrs: {} }], ...[...ds.coords].filter(([k]) => k !== 'time')]),
      attrs: {},
    };
    const seq = await fieldSequence(ramp, { variable: 'tas', anomaly: true });
    for (let t = 1; t < days; t++) assert.ok(Math.abs(seq.frames[t]![0]! - seq.frames[t - 1]![0]! - 0.1) < 1e-4, `day ${t}: ${seq.frames[t]![0]! - seq.frames[t - 1]![0]!}`);
    assert.ok(Math.abs(gifAnim.vmin + gifAnim.vmax) < 1e-6, 'anomaly range centred on 0');
    await assert.rejects(writePreview(ds, join(dir, 'a.jpg'), { variable: 'tas' }), /must end in \.png or \.gif/);
    await assert.rejects(writePreview(ds, join(dir, 'b.gif'), { variable: 'tas', frames: [4, 9] }), /outside/);
    await assert.rejects(writePreview(ds, join(dir, 'b.gif'), { variable: 'pr' }), /unknown variable 'pr'.*tas/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: data preview FILE --var v --out x.png|x.gif through commander, on a NetCDF file; clear errors', async () => {
  const { Command } = await import('commander');
  const { register } = await import('../src/cli/preview.js');
  const { writeNetCDF } = await import('../src/data/writers/netcdf.js');
  const { DataError } = await import('../src/data/types.js');
  const T = 4, H = 6, W = 12;
  const data = Float32Array.from({ length: T * H * W }, (_, k) => 270 + (k % 17));
  const ds: ClimateDataset = {
    variables: new Map([['tas', { name: 'tas', dims: ['time', 'lat', 'lon'], shape: [T, H, W], data, mask: null, units: 'K', attrs: {} }]]),
    coords: new Map([
      ['time', { name: 'time', values: Float64Array.from([0, 31, 59, 90]), axis: 'T' as const, units: 'days since 1990-01-01', calendar: 'standard', attrs: {} }],
      ['lat', { name: 'lat', values: Float64Array.from({ length: H }, (_, i) => -75 + 30 * i), axis: 'Y' as const, units: 'degrees_north', attrs: {} }],
      ['lon', { name: 'lon', values: Float64Array.from({ length: W }, (_, i) => 15 + 30 * i), axis: 'X' as const, units: 'degrees_east', attrs: {} }],
    ]),
    attrs: {},
  };
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-cli-'));
  const program = (): InstanceType<typeof Command> => {
    const p = new Command('climadiff').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(p.command('data').exitOverride());
    return p;
  };
  const write = process.stdout.write.bind(process.stdout);
  const printed: string[] = [];
  process.stdout.write = ((s: string) => { printed.push(String(s)); return true; }) as typeof process.stdout.write;
  try {
    const nc = join(dir, 'in.nc');
    await writeNetCDF(ds, nc);
    await program().parseAsync(['data', 'preview', nc, '--var', 'tas', '--out', join(dir, 'a.gif'), '--frames', '1:4', '--scale', '3'], { from: 'user' });
    const gif = readGIF(readFileSync(join(dir, 'a.gif')));
    assert.equal(gif.frames.length, 3);
    await program().parseAsync(['data', 'preview', nc, '--var', 'tas', '--out', join(dir, 'a.png')], { from: 'user' });
    const png = PNG.sync.read(readFileSync(join(dir, 'a.png')));
    assert.ok(png.width > W && png.height > H);
    assert.ok(printed.some((s) => /a\.gif: \d+x\d+, 3 frame/.test(s)));
    await assert.rejects(program().parseAsync(['data', 'preview', nc, '--var', 'tas', '--out', join(dir, 'a.png')], { from: 'user' }),
      (e: unknown) => e instanceof DataError && e.kind === 'output-exists');
    await assert.rejects(program().parseAsync(['data', 'preview', nc, '--var', 'tas', '--out', join(dir, 'b.png'), '--frames', '3:1'], { from: 'user' }),
      (e: unknown) => (e as { code?: string }).code === 'commander.invalidArgument');
    await assert.rejects(program().parseAsync(['data', 'preview', join(dir, 'missing.nc'), '--var', 'tas', '--out', join(dir, 'c.png')], { from: 'user' }),
      (e: unknown) => e instanceof DataError && e.kind === 'missing-file');
  } finally {
    process.stdout.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});
