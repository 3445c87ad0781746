// Perceptually ordered colormaps and the CIELAB conversions used to build and check them.
//  - viridis (sequential, for values): matplotlib's published 256-entry table (viridis-data.ts); its
//    lightness L* rises monotonically from dark blue-purple to yellow.
//  - coolwarm (diverging, for anomalies, centred on 0): Kenneth Moreland's "cool to warm" map ("Diverging
//    Color Maps for Scientific Visualization", ISVC 2009), built here by his Msh interpolation (a polar
//    form of CIELAB: M = |Lab|, s = acos(L/M), h = atan2(b, a)) from blue Msh(80, 1.08, -1.1) through a
//    neutral white Msh(88, 0, -) to red Msh(80, 1.08, 0.5). Both ends share M and s, so L* = M cos s is
//    the same function of the distance from the centre on both sides: the map is symmetric in lightness,
//    lightest at the centre, and equal-size anomalies of either sign look equally strong. The table is
//    computed once (256 entries) with D65 sRGB; colours outside the sRGB gamut are clipped.
//  - rain (sequential, for non-negative amounts such as precipitation): near-white for none through blue to dark
//    violet, a straight line in CIELAB with L* falling monotonically from 97 to 20, so more is always darker.
import { VIRIDIS } from './viridis-data.js';

export type ColormapName = 'viridis' | 'coolwarm' | 'rain';

export interface Colormap {
  name: string;
  kind: 'sequential' | 'diverging';
  /** n x 3 sRGB bytes, low to high values. */
  colors: Uint8Array;
}

const WHITE = [0.95047, 1, 1.08883]; // D65

const toLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number): number => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t: number): number => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
const fInv = (t: number): number => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));

/** CIELAB (D65) of an sRGB colour with components in [0, 1]. */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const R = toLinear(r), G = toLinear(g), B = toLinear(b);
  const X = 0.4124564 * R + 0.3575761 * G + 0.1804375 * B;
  const Y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const Z = 0.0193339 * R + 0.119192 * G + 0.9503041 * B;
  const fx = f(X / WHITE[0]!), fy = f(Y / WHITE[1]!), fz = f(Z / WHITE[2]!);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** sRGB in [0, 1] (clipped to the gamut) of a CIELAB (D65) colour. */
export function labToSrgb(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const X = WHITE[0]! * fInv(fy + a / 500), Y = WHITE[1]! * fInv(fy), Z = WHITE[2]! * fInv(fy - b / 200);
  const R = 3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z;
  const G = -0.969266 * X + 1.8760108 * Y + 0.041556 * Z;
  const B = 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z;
  const clip = (v: number): number => Math.min(1, Math.max(0, toGamma(Math.min(1, Math.max(0, v)))));
  return [clip(R), clip(G), clip(B)];
}

type Msh = [number, number, number];
const mshToLab = ([M, s, h]: Msh): [number, number, number] => [M * Math.cos(s), M * Math.sin(s) * Math.cos(h), M * Math.sin(s) * Math.sin(h)];

/** Moreland's hue spin: a saturated hue carried towards an unsaturated colour of larger M. */
function adjustHue([M, s, h]: Msh, mUnsat: number): number {
  if (M >= mUnsat) return h;
  const spin = (s * Math.sqrt(mUnsat * mUnsat - M * M)) / (M * Math.sin(s));
  return h > -Math.PI / 3 ? h + spin : h - spin;
}

/** Moreland's diverging interpolation between two saturated colours through white, t in [0, 1]. */
function morelandDiverging(c1: Msh, c2: Msh, t: number): Msh {
  const mMid = Math.max(c1[0], c2[0], 88);
  let a: Msh, b: Msh, u: number;
  if (t < 0.5) { a = c1; b = [mMid, 0, 0]; u = 2 * t; } else { a = [mMid, 0, 0]; b = c2; u = 2 * t - 1; }
  if (a[1] < 0.05 && b[1] >= 0.05) a = [a[0], a[1], adjustHue(b, a[0])];
  else if (b[1] < 0.05 && a[1] >= 0.05) b = [b[0], b[1], adjustHue(a, b[0])];
  return [a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1]), a[2] + u * (b[2] - a[2])];
}

function table(n: number, fn: (t: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const rgb = fn(i / (n - 1));
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(rgb[k]! * 255);
  }
  return out;
}

export const viridis: Colormap = {
  name: 'viridis', kind: 'sequential',
  colors: Uint8Array.from(VIRIDIS, (v) => Math.round(v * 255)),
};

export const coolwarm: Colormap = {
  name: 'coolwarm', kind: 'diverging',
  colors: table(256, (t) => {
    // the centre entry is exactly neutral
    if (Math.abs(t - 0.5) < 1e-12) { const [L] = mshToLab([88, 0, 0]); return labToSrgb(L, 0, 0); }
    return labToSrgb(...mshToLab(morelandDiverging([80, 1.08, -1.1], [80, 1.08, 0.5], t)));
  }),
};

export const rain: Colormap = {
  name: 'rain', kind: 'sequential',
  colors: table(256, (t) => labToSrgb(97 - 77 * t, 2 + 28 * t, -4 - 56 * t)),
};

export const COLORMAPS: Record<ColormapName, Colormap> = { viridis, coolwarm, rain };

/** n colours sampled evenly from a colormap (linear interpolation between table entries). */
export function resample(cm: Colormap, n: number): Uint8Array {
  const m = cm.colors.length / 3;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const pos = n === 1 ? 0 : (i * (m - 1)) / (n - 1);
    const j = Math.min(m - 2, Math.floor(pos)), w = pos - j;
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(cm.colors[j * 3 + k]! * (1 - w) + cm.colors[(j + 1) * 3 + k]! * w);
  }
  return out;
}
