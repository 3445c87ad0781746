// PCA of wide data (many features, few examples) through the Gram matrix: the baseline features of the representation
// probes (eval/probes.ts) and the 2-D projection of embeddings.
import { normalSampler } from './random.js';
import { checkRows, checkNumberOption, type FeatureRows } from './probes.js';

// ---------------------------------------------------------------------------------------------------
// PCA through the Gram matrix

export interface PcaOptions {
  /** Convergence of the subspace iteration: stop when every leading Ritz pair has |G u - lambda u| <=
   *  tolerance * lambda_1 (default 1e-9). */
  tolerance?: number;
  /** Maximum subspace iterations (default 1000). */
  maxIterations?: number;
  /** Seed of the starting subspace (default 0). */
  seed?: number;
}

export interface PcaResult {
  /** [n_train][d] principal component scores of the training rows. */
  train: number[][];
  /** [n_test][d] scores of the test rows (centred with the training mean, projected on the training components). */
  test: number[][];
  /** [d] fraction of the total training variance along each component (descending). */
  explained: number[];
  /** [d] unit principal axes (p values each); the largest-magnitude entry of each is positive. */
  components: Float64Array[];
  /** Training mean (p values). */
  mean: Float64Array;
  /** Whether the eigen-solver met its tolerance. */
  converged: boolean;
}

/** Feature block width of the Gram and projection passes (bounded working set whatever p is). */
const PCA_BLOCK = 256;

/**
 * C[i, j] += sum_t A[i, t] B[j, t] for A (ra x w), B (rb x w) and C (ra x rb), all row-major: the product A B^T,
 * in 4 x 4 register blocks. lowerOnly (A = B, ra = rb): only j <= i is guaranteed (used for a symmetric result).
 */
function addABt(A: Float64Array, ra: number, B: Float64Array, rb: number, w: number, C: Float64Array, lowerOnly: boolean): void {
  const i4 = ra - (ra % 4), j4 = rb - (rb % 4);
  for (let i0 = 0; i0 < i4; i0 += 4) {
    const a0 = i0 * w, a1 = a0 + w, a2 = a1 + w, a3 = a2 + w;
    const jEnd = lowerOnly ? i0 + 4 : j4;
    for (let j0 = 0; j0 < jEnd; j0 += 4) {
      const b0 = j0 * w, b1 = b0 + w, b2 = b1 + w, b3 = b2 + w;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < w; t++) {
        const x0 = A[a0 + t]!, x1 = A[a1 + t]!, x2 = A[a2 + t]!, x3 = A[a3 + t]!;
        const y0 = B[b0 + t]!, y1 = B[b1 + t]!, y2 = B[b2 + t]!, y3 = B[b3 + t]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      let o = i0 * rb + j0;
      C[o] = C[o]! + s00; C[o + 1] = C[o + 1]! + s01; C[o + 2] = C[o + 2]! + s02; C[o + 3] = C[o + 3]! + s03; o += rb;
      C[o] = C[o]! + s10; C[o + 1] = C[o + 1]! + s11; C[o + 2] = C[o + 2]! + s12; C[o + 3] = C[o + 3]! + s13; o += rb;
      C[o] = C[o]! + s20; C[o + 1] = C[o + 1]! + s21; C[o + 2] = C[o + 2]! + s22; C[o + 3] = C[o + 3]! + s23; o += rb;
      C[o] = C[o]! + s30; C[o + 1] = C[o + 1]! + s31; C[o + 2] = C[o + 2]! + s32; C[o + 3] = C[o + 3]! + s33;
    }
    if (!lowerOnly) for (let i = i0; i < i0 + 4; i++) for (let j = j4; j < rb; j++) C[i * rb + j] = C[i * rb + j]! + dotRows(A, i * w, B, j * w, w);
  }
  for (let i = i4; i < ra; i++) {
    const jEnd = lowerOnly ? i + 1 : rb;
    for (let j = 0; j < jEnd; j++) C[i * rb + j] = C[i * rb + j]! + dotRows(A, i * w, B, j * w, w);
  }
}

function dotRows(A: Float64Array, a: number, B: Float64Array, b: number, w: number): number {
  let s = 0;
  for (let t = 0; t < w; t++) s += A[a + t]! * B[b + t]!;
  return s;
}

/**
 * Top-d principal component scores of wide data (many features p, few examples n) through the n x n Gram matrix
 * (Turk & Pentland 1991). With the training mean m and centred rows Xc = X - 1 m^T (n x p):
 *   G = Xc Xc^T (n x n),   G u_i = lambda_i u_i (lambda_1 >= lambda_2 >= ..., |u_i| = 1),
 *   principal axis v_i = Xc^T u_i / sqrt(lambda_i),   score of a row x: (x - m) . v_i (training rows: G u_i / sqrt(lambda_i)
 *   = sqrt(lambda_i) u_i),
 *   explained_i = lambda_i / trace(G) (the variance of component i over the total variance sum_j Var(x_j)).
 * G is accumulated over blocks of features (exact centring, O(n^2 p)); its leading eigenpairs come from block
 * subspace iteration with Rayleigh-Ritz (Golub & Van Loan 8.2.4) on k = min(n, max(2d, d + 10)) vectors, the small
 * k x k eigenproblem solved by cyclic Jacobi; deterministic (seeded start). When k = n one iteration is exact.
 * Components whose eigenvalue is numerically 0 (lambda_i <= 1e-12 lambda_1: duplicate or collinear rows) get a
 * zero axis and zero scores. Requires 1 <= d <= min(n - 1, p); the test set may be empty.
 */
export function pcaFeatures(train: FeatureRows, test: FeatureRows, d: number, options: PcaOptions = {}): PcaResult {
  const who = 'pcaFeatures';
  const p = checkRows(train, who, 'train');
  const pt = checkRows(test, who, 'test', true);
  if (pt !== -1 && pt !== p) throw new Error(`${who}: test rows have ${pt} features, train rows have ${p}`);
  const n = train.length;
  if (n < 2) throw new Error(`${who}: need at least 2 training rows, got ${n}`);
  checkNumberOption(d, who, 'd', (v) => Number.isInteger(v) && v >= 1 && v <= Math.min(n - 1, p), `an integer in [1, min(n - 1, p)] = [1, ${Math.min(n - 1, p)}]`);
  const tol = options.tolerance ?? 1e-9, maxIter = options.maxIterations ?? 1000, seed = options.seed ?? 0;
  checkNumberOption(tol, who, 'tolerance', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  checkNumberOption(maxIter, who, 'maxIterations', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  checkNumberOption(seed, who, 'seed', Number.isFinite, 'a finite number');

  // Training mean.
  const mean = new Float64Array(p);
  for (const r of train) for (let j = 0; j < p; j++) mean[j] = mean[j]! + r[j]!;
  for (let j = 0; j < p; j++) mean[j] = mean[j]! / n;

  // G = Xc Xc^T accumulated over feature blocks; blk holds the centred block (n x w, row-major).
  const G = new Float64Array(n * n), blk = new Float64Array(n * Math.min(PCA_BLOCK, p));
  const centredBlock = (j0: number, w: number) => {
    for (let i = 0; i < n; i++) { const r = train[i]!, o = i * w; for (let t = 0; t < w; t++) blk[o + t] = r[j0 + t]! - mean[j0 + t]!; }
  };
  for (let j0 = 0; j0 < p; j0 += PCA_BLOCK) {
    const w = Math.min(PCA_BLOCK, p - j0);
    centredBlock(j0, w);
    addABt(blk, n, blk, n, w, G, true);
  }
  let trace = 0;
  for (let i = 0; i < n; i++) { trace += G[i * n + i]!; for (let j = 0; j < i; j++) G[j * n + i] = G[i * n + j]!; }
  if (!(trace > 0)) throw new Error(`${who}: the training rows have zero variance (all rows are equal)`);

  const eig = topEigenpairs(G, n, d, tol, maxIter, seed);
  const Ut = eig.vectors; // d x n: u_c = row c

  // Axes v_c = Xc^T u_c / s_c over feature blocks; zero for numerically null eigenvalues.
  const lam1 = Math.max(eig.values[0]!, 0);
  const s = eig.values.map((l) => (l > 1e-12 * lam1 && l > 0 ? Math.sqrt(l) : 0));
  const components = Array.from({ length: d }, () => new Float64Array(p));
  for (let j0 = 0; j0 < p; j0 += PCA_BLOCK) {
    const w = Math.min(PCA_BLOCK, p - j0);
    centredBlock(j0, w);
    for (let c = 0; c < d; c++) {
      if (s[c] === 0) continue;
      const v = components[c]!, inv = 1 / s[c]!;
      for (let i = 0; i < n; i++) {
        const u = Ut[c * n + i]! * inv, o = i * w;
        for (let t = 0; t < w; t++) v[j0 + t] = v[j0 + t]! + u * blk[o + t]!;
      }
    }
  }
  // Sign convention: the largest-magnitude entry of each axis is positive (the first one among ties).
  const sign = new Float64Array(d).fill(1);
  for (let c = 0; c < d; c++) {
    const v = components[c]!;
    let best = 0;
    for (let j = 1; j < p; j++) if (Math.abs(v[j]!) > Math.abs(v[best]!)) best = j;
    if (v[best]! < 0) { sign[c] = -1; for (let j = 0; j < p; j++) v[j] = -v[j]!; }
  }
  // Training scores Xc v_c = G u_c / s_c (= s_c u_c for an exact eigenvector; G u_c keeps them equal to the test-row
  // formula (x - m) . v_c to rounding even where u_c carries the eigen-solver's small residual).
  const trainScores = Array.from({ length: n }, () => new Array<number>(d).fill(0));
  for (let c = 0; c < d; c++) {
    if (s[c] === 0) continue;
    const f = sign[c]! / s[c]!;
    for (let i = 0; i < n; i++) trainScores[i]![c] = dotRows(G, i * n, Ut, c * n, n) * f;
  }
  const testScores = test.map((r) => {
    const out = new Array<number>(d).fill(0);
    for (let c = 0; c < d; c++) {
      const v = components[c]!;
      let acc = 0;
      for (let j = 0; j < p; j++) acc += (r[j]! - mean[j]!) * v[j]!;
      out[c] = acc;
    }
    return out;
  });
  const explained = eig.values.map((l, c) => (s[c]! > 0 ? l / trace : 0));
  return { train: trainScores, test: testScores, explained, components, mean, converged: eig.converged };
}

/**
 * Leading d eigenpairs of a symmetric positive semi-definite n x n matrix G (row-major) by block subspace
 * iteration with Rayleigh-Ritz: with Q (n x k) orthonormal, Z = G Q, T = Q^T Z = V Theta V^T (Jacobi), the Ritz
 * pairs are (theta_i, Q v_i) with residual |Z v_i - theta_i Q v_i|; the next basis is orth(Z V). Stops when the
 * d leading residuals are <= tol * theta_1. Bases are stored transposed (k x n, one vector per row). Returns the
 * eigenvalues descending and the eigenvectors as the rows of a d x n matrix.
 */
function topEigenpairs(G: Float64Array, n: number, d: number, tol: number, maxIter: number, seed: number): { values: number[]; vectors: Float64Array; converged: boolean } {
  const k = Math.min(n, Math.max(2 * d, d + 10));
  const gauss = normalSampler(seed);
  let Qt = new Float64Array(k * n);
  for (let t = 0; t < k * n; t++) Qt[t] = gauss();
  orthonormaliseRows(Qt, k, n, gauss);
  const Zt = new Float64Array(k * n), T = new Float64Array(k * k);
  let values: number[] = [], vectors = new Float64Array(d * n), converged = false;
  for (let it = 0; it < maxIter; it++) {
    Zt.fill(0);
    addABt(Qt, k, G, n, n, Zt, false); // Zt = Q^T G = (G Q)^T (G symmetric)
    T.fill(0);
    addABt(Qt, k, Zt, k, n, T, false); // T = Q^T G Q
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) { const m = 0.5 * (T[a * k + b]! + T[b * k + a]!); T[a * k + b] = m; T[b * k + a] = m; }
    const { values: theta, vectors: V } = jacobiEigen(T, k);
    // Ritz vectors Y = Q V and G Y = Z V, transposed: Yt[c] = sum_a V[a, c] Qt[a].
    const Yt = new Float64Array(k * n), GYt = new Float64Array(k * n);
    for (let c = 0; c < k; c++) {
      const o = c * n;
      for (let a = 0; a < k; a++) {
        const vv = V[a * k + c]!, q = a * n;
        if (vv === 0) continue;
        for (let i = 0; i < n; i++) { Yt[o + i] = Yt[o + i]! + vv * Qt[q + i]!; GYt[o + i] = GYt[o + i]! + vv * Zt[q + i]!; }
      }
    }
    const scale = Math.max(theta[0]!, Number.MIN_VALUE);
    let worst = 0;
    for (let c = 0; c < d; c++) {
      let r2 = 0;
      for (let i = 0; i < n; i++) { const e = GYt[c * n + i]! - theta[c]! * Yt[c * n + i]!; r2 += e * e; }
      worst = Math.max(worst, Math.sqrt(r2) / scale);
    }
    values = theta.slice(0, d);
    vectors = Yt.slice(0, d * n);
    if (worst <= tol || k === n) { converged = true; break; } // k = n: Rayleigh-Ritz on a full basis is exact
    Qt = GYt;
    orthonormaliseRows(Qt, k, n, gauss);
  }
  return { values, vectors, converged };
}

/**
 * Orthonormalises the k rows of a k x n row-major matrix in place (modified Gram-Schmidt, applied twice); a row
 * that is (numerically) in the span of the previous ones is replaced by a fresh random one.
 */
function orthonormaliseRows(Q: Float64Array, k: number, n: number, gauss: () => number): void {
  for (let c = 0; c < k; c++) {
    const o = c * n;
    let norm0 = Math.sqrt(dotRows(Q, o, Q, o, n));
    for (let attempt = 0; ; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let b = 0; b < c; b++) {
          const dp = dotRows(Q, b * n, Q, o, n), ob = b * n;
          for (let i = 0; i < n; i++) Q[o + i] = Q[o + i]! - dp * Q[ob + i]!;
        }
      }
      const norm = Math.sqrt(dotRows(Q, o, Q, o, n));
      if (norm > 1e-10 * norm0 && norm > 0) {
        for (let i = 0; i < n; i++) Q[o + i] = Q[o + i]! / norm;
        break;
      }
      if (attempt > 20) throw new Error('pcaFeatures: could not build an orthonormal basis (internal error)');
      for (let i = 0; i < n; i++) Q[o + i] = gauss();
      norm0 = Math.sqrt(dotRows(Q, o, Q, o, n));
    }
  }
}

/**
 * Eigen-decomposition of a symmetric k x k matrix (row-major, not modified) by cyclic Jacobi rotations
 * (Golub & Van Loan 8.5.3): sweeps until the off-diagonal Frobenius norm is <= 1e-15 of the total. Returns the
 * eigenvalues descending and the eigenvectors as the columns of a k x k row-major matrix, in the same order.
 */
function jacobiEigen(M: Float64Array, k: number): { values: number[]; vectors: Float64Array } {
  const A = Float64Array.from(M), V = new Float64Array(k * k);
  for (let i = 0; i < k; i++) V[i * k + i] = 1;
  let total = 0;
  for (let t = 0; t < k * k; t++) total += A[t]! * A[t]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) off += 2 * A[a * k + b]! ** 2;
    if (off <= 1e-30 * total || off === 0) break;
    for (let a = 0; a < k - 1; a++) {
      for (let b = a + 1; b < k; b++) {
        const apq = A[a * k + b]!;
        if (apq === 0) continue;
        const app = A[a * k + a]!, aqq = A[b * k + b]!;
        const tau = (aqq - app) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t), s = t * c;
        for (let r = 0; r < k; r++) { // columns a, b
          const x = A[r * k + a]!, y = A[r * k + b]!;
          A[r * k + a] = c * x - s * y; A[r * k + b] = s * x + c * y;
        }
        for (let r = 0; r < k; r++) { // rows a, b
          const x = A[a * k + r]!, y = A[b * k + r]!;
          A[a * k + r] = c * x - s * y; A[b * k + r] = s * x + c * y;
        }
        for (let r = 0; r < k; r++) {
          const x = V[r * k + a]!, y = V[r * k + b]!;
          V[r * k + a] = c * x - s * y; V[r * k + b] = s * x + c * y;
        }
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((i, j) => A[j * k + j]! - A[i * k + i]! || i - j);
  const vectors = new Float64Array(k * k);
  for (let c = 0; c < k; c++) for (let r = 0; r < k; r++) vectors[r * k + c] = V[r * k + order[c]!]!;
  return { values: order.map((i) => A[i * k + i]!), vectors };
}
