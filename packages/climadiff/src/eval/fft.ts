// A small complex FFT in plain TypeScript (float64): iterative radix-2 for powers of two, Bluestein's
// chirp-z algorithm (through a power-of-two convolution) for any other length. Unnormalised forward
// transform X[k] = sum_n x[n] exp(-2 pi i k n / N), so Parseval reads sum |X|^2 = N sum |x|^2.

interface Radix2Plan { n: number; cos: Float64Array; sin: Float64Array; rev: Uint32Array }
interface BluesteinPlan { n: number; m: number; wr: Float64Array; wi: Float64Array; br: Float64Array; bi: Float64Array }

const radix2Plans = new Map<number, Radix2Plan>();
const bluesteinPlans = new Map<number, BluesteinPlan>();

function isPow2(n: number): boolean { return n > 0 && (n & (n - 1)) === 0; }

function radix2Plan(n: number): Radix2Plan {
  let p = radix2Plans.get(n);
  if (p) return p;
  const cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) { cos[k] = Math.cos((2 * Math.PI * k) / n); sin[k] = -Math.sin((2 * Math.PI * k) / n); }
  const rev = new Uint32Array(n);
  const bits = Math.round(Math.log2(n));
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  p = { n, cos, sin, rev };
  radix2Plans.set(n, p);
  return p;
}

function radix2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n <= 1) return;
  const { cos, sin, rev } = radix2Plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      let t = re[i]!; re[i] = re[j]!; re[j] = t;
      t = im[i]!; im[i] = im[j]!; im[j] = t;
    }
  }
  const sgn = inverse ? -1 : 1;
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2, step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!, wi = sgn * sin[k * step]!;
        const a = start + k, b = a + half;
        const xr = re[b]! * wr - im[b]! * wi, xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr; im[b] = im[a]! - xi;
        re[a] = re[a]! + xr; im[a] = im[a]! + xi;
      }
    }
  }
}

function bluesteinPlan(n: number): BluesteinPlan {
  let p = bluesteinPlans.get(n);
  if (p) return p;
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  // chirp w[k] = exp(-i pi k^2 / n); k^2 mod 2n keeps the angle accurate for large k
  const wr = new Float64Array(n), wi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const a = (Math.PI * ((k * k) % (2 * n))) / n;
    wr[k] = Math.cos(a); wi[k] = -Math.sin(a);
  }
  const br = new Float64Array(m), bi = new Float64Array(m);
  br[0] = wr[0]!; bi[0] = -wi[0]!;
  for (let k = 1; k < n; k++) { br[k] = br[m - k] = wr[k]!; bi[k] = bi[m - k] = -wi[k]!; }
  radix2(br, bi, false);
  p = { n, m, wr, wi, br, bi };
  bluesteinPlans.set(n, p);
  return p;
}

function bluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  const { m, wr, wi, br, bi } = bluesteinPlan(n);
  const s = inverse ? -1 : 1; // inverse: conjugate chirps
  const ar = new Float64Array(m), ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    const cr = wr[k]!, ci = s * wi[k]!;
    ar[k] = re[k]! * cr - im[k]! * ci; ai[k] = re[k]! * ci + im[k]! * cr;
  }
  radix2(ar, ai, false);
  for (let k = 0; k < m; k++) {
    const b_r = br[k]!, b_i = s * bi[k]!;
    const xr = ar[k]! * b_r - ai[k]! * b_i, xi = ar[k]! * b_i + ai[k]! * b_r;
    ar[k] = xr; ai[k] = xi;
  }
  radix2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const xr = ar[k]! / m, xi = ai[k]! / m;
    const cr = wr[k]!, ci = s * wi[k]!;
    re[k] = xr * cr - xi * ci; im[k] = xr * ci + xi * cr;
  }
}

const dftTables = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** Direct DFT with a cached n x n twiddle table: faster than Bluestein for short odd lengths (e.g. 10 frames). */
function direct(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  let t = dftTables.get(n);
  if (!t) {
    t = { cos: new Float64Array(n), sin: new Float64Array(n) };
    for (let k = 0; k < n; k++) { t.cos[k] = Math.cos((2 * Math.PI * k) / n); t.sin[k] = -Math.sin((2 * Math.PI * k) / n); }
    dftTables.set(n, t);
  }
  const xr = Float64Array.from(re), xi = Float64Array.from(im);
  const sgn = inverse ? -1 : 1;
  for (let k = 0; k < n; k++) {
    let sr = 0, si = 0;
    for (let j = 0, idx = 0; j < n; j++, idx = (idx + k) % n) {
      const c = t.cos[idx]!, s = sgn * t.sin[idx]!;
      sr += xr[j]! * c - xi[j]! * s; si += xr[j]! * s + xi[j]! * c;
    }
    re[k] = sr; im[k] = si;
  }
}

/** In-place complex FFT of any length (unnormalised; `inverse` uses exp(+2 pi i k n / N), no 1/N). */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  if (re.length !== im.length) throw new Error(`fft: re has ${re.length} values, im has ${im.length}`);
  if (re.length <= 1) return;
  if (isPow2(re.length)) radix2(re, im, inverse);
  else if (re.length <= 32) direct(re, im, inverse);
  else bluestein(re, im, inverse);
}

/** Unnormalised 2-D FFT of a real H x W field (row-major); returns the full complex spectrum. */
export function fft2Real(field: ArrayLike<number>, H: number, W: number): { re: Float64Array; im: Float64Array } {
  if (field.length !== H * W) throw new Error(`fft2Real: field has ${field.length} values, expected ${H}x${W}`);
  const re = Float64Array.from(field), im = new Float64Array(H * W);
  const rr = new Float64Array(W), ri = new Float64Array(W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) { rr[x] = re[y * W + x]!; ri[x] = 0; }
    fft(rr, ri);
    for (let x = 0; x < W; x++) { re[y * W + x] = rr[x]!; im[y * W + x] = ri[x]!; }
  }
  const cr = new Float64Array(H), ci = new Float64Array(H);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) { cr[y] = re[y * W + x]!; ci[y] = im[y * W + x]!; }
    fft(cr, ci);
    for (let y = 0; y < H; y++) { re[y * W + x] = cr[y]!; im[y * W + x] = ci[y]!; }
  }
  return { re, im };
}
