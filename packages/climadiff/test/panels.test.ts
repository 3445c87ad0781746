// Panel grids: sizes implied by the scale and the wrapping, coastlines inside panels only on geographic
// grids, the shared colour bar, values at the ends of the common range on the end levels, a robust default
// range, missing cells, north-up orientation, one image per frame, and clear errors for malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { encodeGIF, encodePNG, INK, LEVELS, MISSING, MISSING_HATCH } from '../src/viz/render.js';
import { renderPanels, type PanelAnimation, type PanelOptions, type PanelRow } from '../src/viz/panels.js';

const H = 32, W = 64, F = 3;
const LAT = Float64Array.from({ length: H }, (_, i) => -87.2 + (174.4 * i) / (H - 1));
const LON = Float64Array.from({ length: W }, (_, j) => j * 5.625);

/** count clips [count, F, H, W] of a smooth field (varying by clip and frame). */
function clips(count: number, f = F, h = H, w = W): Float32Array {
  const out = new Float32Array(count * f * h * w);
  for (let k = 0; k < count; k++) for (let t = 0; t < f; t++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    out[((k * f + t) * h + i) * w + j] = 280 + 20 * Math.cos((Math.PI * (i - h / 2)) / h) + 5 * Math.sin((2 * Math.PI * (j + 3 * t + 7 * k)) / w);
  }
  return out;
}

const pixel = (a: PanelAnimation, x: number, y: number, f = 0): number => a.frames[f]![y * a.width + x]!;

/** How many pixels inside any panel have the colour. */
function countInPanels(a: PanelAnimation, colour: number, f = 0): number {
  let n = 0;
  for (const p of a.panels) for (let y = p.y; y < p.y + p.height; y++) for (let x = p.x; x < p.x + p.width; x++) if (pixel(a, x, y, f) === colour) n++;
  return n;
}

const twoRows = (extra: Partial<PanelOptions> = {}): PanelOptions => ({
  rows: [{ label: 'held-out data', data: clips(4), count: 4 }, { label: 'samples', data: clips(4), count: 4 }],
  height: H, width: W, frames: F, title: 'tas', units: 'K', labels: ['frame 1/3', 'frame 2/3', 'frame 3/3'], ...extra,
});

test('renderPanels: panel sizes and positions follow the scale, the gap and the wrapping', () => {
  const a = renderPanels(twoRows());
  assert.equal(a.map.scale, 4); // default for 64 longitudes: >= 256 pixels per panel
  assert.equal(a.panels.length, 8);
  for (const p of a.panels) assert.deepEqual([p.width, p.height], [W * 4, H * 4]);
  assert.equal(a.panels[1]!.x - a.panels[0]!.x, W * 4 + 6);
  assert.equal(a.panels[4]!.x, a.panels[0]!.x);
  assert.ok(a.panels[4]!.y >= a.panels[0]!.y + H * 4 + 6, 'the second row lies below the first');
  assert.ok(a.width >= 4 * W * 4 + 3 * 6 + a.colourBar.width, `width ${a.width}`);
  assert.ok(a.width > a.colourBar.x + a.colourBar.width && a.height >= a.panels[7]!.y + H * 4);
  for (const f of a.frames) assert.equal(f.length, a.width * a.height);

  const b = renderPanels({ rows: [{ label: 'ensemble', data: clips(6, 1, 8, 16), count: 6 }], height: 8, width: 16, frames: 1, scale: 3, gap: 2, maxColumns: 4 });
  assert.equal(b.map.scale, 3);
  assert.deepEqual(b.panels.map((p) => [p.x - b.panels[0]!.x, p.y - b.panels[0]!.y]), [[0, 0], [50, 0], [100, 0], [150, 0], [0, 26], [50, 26]]);
  assert.equal(renderPanels({ rows: [{ label: '', data: clips(1, 1, 8, 16), count: 1 }], height: 8, width: 16, frames: 1 }).map.scale, 8); // at most 8
  assert.equal(renderPanels({ rows: [{ label: '', data: clips(1, 1, 2, 360), count: 1 }], height: 2, width: 360, frames: 1 }).map.scale, 1);
});

test('renderPanels: one image per frame, the frame label changes between frames', () => {
  const a = renderPanels(twoRows());
  assert.equal(a.frames.length, F);
  const strip = (f: number): number[] => Array.from(a.frames[f]!.subarray(0, a.panels[0]!.y * a.width - 1));
  assert.notDeepEqual(strip(0), strip(1));
  const gif = encodeGIF(a);
  assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
  const png = PNG.sync.read(encodePNG(a, 2));
  assert.deepEqual([png.width, png.height], [a.width, a.height]);
});

test('renderPanels: coastlines (ink) inside every panel on a geographic grid, none without lat/lon or when turned off', () => {
  const withCoast = renderPanels(twoRows({ lat: LAT, lon: LON }));
  assert.ok(withCoast.map.northUp);
  for (const p of withCoast.panels) {
    let ink = 0;
    for (let y = p.y; y < p.y + p.height; y++) for (let x = p.x; x < p.x + p.width; x++) if (pixel(withCoast, x, y) === INK) ink++;
    assert.ok(ink > 300, `panel ${p.row}/${p.index}: ${ink} coastline pixels`);
  }
  assert.equal(countInPanels(renderPanels(twoRows()), INK), 0);
  assert.equal(countInPanels(renderPanels(twoRows({ lat: LAT, lon: LON, coastlines: false })), INK), 0);
  // not geographic (e.g. a projected grid in km): no coastlines
  assert.equal(countInPanels(renderPanels(twoRows({ lat: LAT.map((v) => v * 100), lon: LON })), INK), 0);
});

test('renderPanels: the colour bar runs from vmax (top) to vmin (bottom) with tick labels', () => {
  const a = renderPanels(twoRows({ vmin: 260, vmax: 310 }));
  const { x, y, width, height } = a.colourBar;
  assert.ok(height >= 64 && x > a.panels[3]!.x + a.panels[3]!.width);
  assert.equal(pixel(a, x + width / 2, y), LEVELS - 1);
  assert.equal(pixel(a, x + width / 2, y + height - 1), 0);
  for (let j = 1; j < height; j++) assert.ok(pixel(a, x, y + j) <= pixel(a, x, y + j - 1));
  let ink = 0; // tick labels right of the bar
  for (let yy = y; yy < y + height; yy++) for (let xx = x + width + 3; xx < a.width; xx++) if (pixel(a, xx, yy) === INK) ink++;
  assert.ok(ink > 40, `${ink} tick label pixels`);
});

test('renderPanels: vmin, vmax and the middle map to the first, last and middle palette levels', () => {
  const data = new Float32Array(3 * H * W).fill(0.5);
  data.fill(-1, 0, H * W); data.fill(1, H * W, 2 * H * W);
  data[2 * H * W] = 7; data[2 * H * W + 1] = -7; // clipped to the end levels
  const a = renderPanels({ rows: [{ label: 'levels', data, count: 3 }], height: H, width: W, frames: 1, vmin: -1, vmax: 1 });
  const at = (k: number, px = 10, py = 10): number => pixel(a, a.panels[k]!.x + px, a.panels[k]!.y + py);
  assert.equal(at(0), 0);
  assert.equal(at(1), LEVELS - 1);
  assert.equal(at(2), Math.round(0.75 * (LEVELS - 1)));
  assert.equal(at(2, 0, 0), LEVELS - 1); // the first cell (7), drawn at the top left (no latitudes: as stored)
  assert.equal(at(2, 4, 0), 0); // the second cell (-7)
  assert.deepEqual([a.vmin, a.vmax], [-1, 1]);
});

test('renderPanels: the default range is common to all panels and robust to a single outlier', () => {
  const rows: PanelRow[] = [{ label: 'a', data: clips(2), count: 2 }, { label: 'b', data: clips(2).map((v) => v + 10), count: 2 }];
  rows[1]!.data[5] = 1e6;
  const a = renderPanels({ rows, height: H, width: W, frames: F });
  assert.ok(a.vmax < 330 && a.vmin > 250, `range ${a.vmin}..${a.vmax}`);
  const levels = new Set<number>();
  for (let y = 0; y < a.map.height; y += 3) for (let x = 0; x < a.map.width; x += 3) levels.add(pixel(a, a.map.x + x, a.map.y + y));
  assert.ok(levels.size > 50, `${levels.size} colour levels in the first panel`);
  const div = renderPanels({ rows: [{ label: '', data: clips(1).map((v) => v - 290), count: 1 }], height: H, width: W, frames: F, colormap: 'coolwarm' });
  assert.ok(Math.abs(div.vmin + div.vmax) < 1e-6, 'diverging range symmetric about 0');
});

test('renderPanels: NaN cells are drawn as missing, north-up flips a south-first grid', () => {
  const data = clips(1, 1);
  for (let j = 0; j < W; j++) data[j] = Number.NaN; // the first (southernmost) latitude row
  const a = renderPanels({ rows: [{ label: '', data, count: 1 }], height: H, width: W, frames: 1, lat: LAT, lon: LON, coastlines: false });
  const p = a.panels[0]!, s = a.map.scale;
  for (let x = 0; x < p.width; x++) {
    assert.ok([MISSING, MISSING_HATCH].includes(pixel(a, p.x + x, p.y + p.height - 1)), 'the bottom pixel row is missing');
    assert.ok(pixel(a, p.x + x, p.y) < LEVELS, 'the top pixel row holds values');
  }
  assert.ok(pixel(a, p.x, p.y + p.height - s - 1) < LEVELS, 'the cell row above holds values');
  assert.ok(countInPanels(a, MISSING_HATCH) > 0);
});

test('renderPanels: malformed input fails with a clear message', () => {
  const ok = (): PanelOptions => twoRows();
  assert.throws(() => renderPanels({ ...ok(), rows: [{ label: 'samples', data: clips(3), count: 4 }] }),
    /renderPanels: row 0 \('samples'\) has 18432 values, expected count x F x H x W = 4 x 3 x 32 x 64 = 24576/);
  assert.throws(() => renderPanels({ ...ok(), rows: [] }), /no rows/);
  assert.throws(() => renderPanels({ ...ok(), rows: [{ label: 'x', data: new Float32Array(0), count: 0 }] }), /count must be a positive integer/);
  assert.throws(() => renderPanels({ ...ok(), lat: LAT.subarray(1) }), /lat has 31 values, expected H = 32/);
  assert.throws(() => renderPanels({ ...ok(), labels: ['one'] }), /1 frame labels for 3 frames/);
  assert.throws(() => renderPanels({ ...ok(), scale: 1.5 }), /scale must be a positive integer/);
  assert.throws(() => renderPanels({ ...ok(), vmin: 2, vmax: 1 }), /vmax \(1\) must exceed vmin \(2\)/);
  assert.throws(() => renderPanels({ ...ok(), frames: 0 }), /frames must be a positive integer/);
});

test('renderPanels: a row of several channels draws the chosen one', () => {
  const two = new Float32Array(2 * 2 * 1 * 4 * 4); // [count 2, C 2, F 1, 4, 4]
  for (let k = 0; k < 2; k++) two.fill(1, (k * 2 + 1) * 16, (k * 2 + 2) * 16); // channel 1 = 1, channel 0 = 0
  const a = renderPanels({ rows: [{ label: '', data: two, count: 2, channels: 2, channel: 1 }], height: 4, width: 4, frames: 1, vmin: 0, vmax: 1 });
  assert.equal(pixel(a, a.panels[1]!.x, a.panels[1]!.y), LEVELS - 1);
  assert.throws(() => renderPanels({ rows: [{ label: 'c', data: two, count: 2, channels: 2, channel: 2 }], height: 4, width: 4, frames: 1 }), /channel 2 is not one of 2 channels/);
});
