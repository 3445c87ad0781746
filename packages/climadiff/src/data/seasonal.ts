// The smooth seasonal cycle of the 'seasonal' normalisation (data/normalise.ts): per grid cell, a mean and
// SEASONAL_HARMONICS annual harmonics of the month position (time-parts.ts monthPosition), fitted by least squares.

/** Annual harmonics K of the seasonal normalisation (docs/recipe.md: 2 fitted best on held-out years, of 2, 3, 4, 6). */
export const SEASONAL_HARMONICS = 2;
export const SEASONAL_TERMS = 1 + 2 * SEASONAL_HARMONICS;
/** Calendar months a cell must have values in for its seasonal cycle to be fitted (else its mean alone). */
export const SEASONAL_MIN_MONTHS = 9;

/** The seasonal basis at a month position p: [1, cos phi, sin phi, cos 2 phi, sin 2 phi, ...], phi = 2 pi p / 12. */
export function seasonalBasis(position: number, out: Float64Array = new Float64Array(SEASONAL_TERMS)): Float64Array {
  const phi = (2 * Math.PI * position) / 12;
  out[0] = 1;
  for (let k = 1; k <= SEASONAL_HARMONICS; k++) { out[2 * k - 1] = Math.cos(k * phi); out[2 * k] = Math.sin(k * phi); }
  return out;
}

/** Adds one value y of cell i, at the basis values `basis`, to the normal equations (lower triangle of X^T X; X^T y). */
export function seasonalAccumulate(xtx: Float64Array, xty: Float64Array, i: number, basis: Float64Array, y: number): void {
  const T = SEASONAL_TERMS, a0 = i * T * T, b0 = i * T;
  for (let r = 0; r < T; r++) {
    xty[b0 + r] = xty[b0 + r]! + basis[r]! * y;
    for (let q = 0; q <= r; q++) xtx[a0 + r * T + q] = xtx[a0 + r * T + q]! + basis[r]! * basis[q]!;
  }
}

/**
 * Per cell, the least-squares harmonic coefficients from the normal equations (lower triangles of X^T X, X^T y of
 * x - shift) by Cholesky, and the total residual sum of squares y^T y - a^T X^T y. A cell seen in fewer than
 * SEASONAL_MIN_MONTHS calendar months (a cycle fitted to part of a year extrapolates wildly), or with a singular
 * system, gets its mean alone (a_0; the rest 0): its residuals are its deviations from that mean. Cells without any
 * value get the channel's overall mean.
 */
export function seasonalFit(xtx: Float64Array, xty: Float64Array, n: Float64Array, yty: Float64Array, monthsSeen: Uint16Array, frame: number, shift: number, meanAll: number): { coefficients: number[]; residual: number } {
  const T = SEASONAL_TERMS;
  const coefficients = new Array<number>(T * frame).fill(0);
  let residual = 0;
  const L = new Float64Array(T * T), z = new Float64Array(T), a = new Float64Array(T);
  for (let i = 0; i < frame; i++) {
    const ni = n[i]!;
    if (ni === 0) { coefficients[i] = shift + meanAll; continue; }
    const A = xtx.subarray(i * T * T, (i + 1) * T * T), b = xty.subarray(i * T, (i + 1) * T);
    let seen = 0;
    for (let m = 0; m < 12; m++) if (monthsSeen[i]! & (1 << m)) seen++;
    let ok = ni >= T && seen >= SEASONAL_MIN_MONTHS;
    // Cholesky A = L L^T (lower triangle of A filled), relative pivot test
    for (let r = 0; ok && r < T; r++) {
      for (let q = 0; q <= r; q++) {
        let v = A[r * T + q]!;
        for (let k = 0; k < q; k++) v -= L[r * T + k]! * L[q * T + k]!;
        if (r === q) {
          if (!(v > 1e-10 * A[r * T + r]!)) { ok = false; break; }
          L[r * T + r] = Math.sqrt(v);
        } else L[r * T + q] = v / L[q * T + q]!;
      }
    }
    if (ok) {
      for (let r = 0; r < T; r++) { let v = b[r]!; for (let k = 0; k < r; k++) v -= L[r * T + k]! * z[k]!; z[r] = v / L[r * T + r]!; }
      for (let r = T - 1; r >= 0; r--) { let v = z[r]!; for (let k = r + 1; k < T; k++) v -= L[k * T + r]! * a[k]!; a[r] = v / L[r * T + r]!; }
      let fitted = 0;
      for (let r = 0; r < T; r++) fitted += a[r]! * b[r]!;
      residual += Math.max(0, yty[i]! - fitted);
      for (let r = 0; r < T; r++) coefficients[r * frame + i] = a[r]! + (r === 0 ? shift : 0);
    } else {
      const m = b[0]! / ni; // X^T y's first entry is the sum (basis 1)
      residual += Math.max(0, yty[i]! - ni * m * m);
      coefficients[i] = shift + m;
    }
  }
  return { coefficients, residual };
}

/** The seasonal mean of every cell at one month position: sum_r coefficients[r, cell] basis[r]. */
export function seasonalMean(coefficients: ArrayLike<number>, basis: Float64Array, frame: number, out: Float64Array = new Float64Array(frame)): Float64Array {
  out.fill(0);
  for (let r = 0; r < basis.length; r++) {
    const br = basis[r]!, off = r * frame;
    for (let i = 0; i < frame; i++) out[i] = out[i]! + br * coefficients[off + i]!;
  }
  return out;
}

