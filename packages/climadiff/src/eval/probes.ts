// Linear-probe evaluation of learned embeddings: how much of a target (a class label or a continuous quantity) a
// linear read-out of frozen features recovers on held-out examples. Standardisation with training statistics,
// closed-form ridge regression, multinomial logistic regression (L-BFGS, deterministic), R^2 and balanced accuracy,
// percentile bootstrap intervals over test examples, and PCA through the Gram matrix for very wide features (many
// features, few examples). Pure mathematics on number arrays / typed arrays (float64 inside); no torch, no I/O.
//
// Layout. A feature matrix is a list of rows, one per example (number[] or a typed array), all of the same length p.
// Every fit uses the training rows only; test rows are transformed with the training statistics.
//
// References.
//  Alain, G. & Bengio, Y. (2017): Understanding intermediate layers using linear classifier probes. ICLR workshop.
//  Brodersen, K. H., Ong, C. S., Stephan, K. E. & Buhmann, J. M. (2010): The balanced accuracy and its posterior
//    distribution. ICPR.
//  Efron, B. & Tibshirani, R. J. (1993): An Introduction to the Bootstrap. Chapman & Hall (percentile intervals).
//  Golub, G. H. & Van Loan, C. F. (2013): Matrix Computations, 4th ed. (Cholesky 4.2; symmetric Jacobi 8.5;
//    subspace iteration with Rayleigh-Ritz 8.2.4).
//  Hoerl, A. E. & Kennard, R. W. (1970): Ridge regression. Technometrics 12.
//  King, G. & Zeng, L. (2001): Logistic regression in rare events data. Political Analysis 9 (class weighting).
//  Nocedal, J. & Wright, S. J. (2006): Numerical Optimization, 2nd ed. (L-BFGS two-loop recursion, Algorithm 7.4).
//  Turk, M. & Pentland, A. (1991): Eigenfaces for recognition. J. Cognitive Neuroscience 3 (PCA via the n x n Gram
//    matrix when features outnumber examples).
import { bootstrapCI as bootstrapOverCases } from './bootstrap.js';

/** A feature matrix: one row per example, every row of the same length (number[], Float32Array, Float64Array...). */
export type FeatureRows = ReadonlyArray<ArrayLike<number>>;

// ---------------------------------------------------------------------------------------------------
// Checks

/** Checks a non-empty rectangular matrix of finite values with at least one column; returns its column count. */
export function checkRows(X: FeatureRows, who: string, name: string, allowEmpty = false): number {
  if (!Array.isArray(X)) throw new Error(`${who}: ${name} must be an array of rows`);
  if (X.length === 0) {
    if (allowEmpty) return -1;
    throw new Error(`${who}: ${name} is empty (no rows)`);
  }
  const first = X[0];
  const p = first == null ? NaN : first.length;
  if (!Number.isInteger(p) || p < 1) throw new Error(`${who}: ${name} row 0 must be a non-empty array of numbers`);
  for (let i = 0; i < X.length; i++) {
    const r = X[i];
    if (r == null || typeof r.length !== 'number') throw new Error(`${who}: ${name} row ${i} is not an array of numbers`);
    if (r.length !== p) throw new Error(`${who}: ${name} row ${i} has ${r.length} features, row 0 has ${p}`);
    for (let j = 0; j < p; j++) {
      const v = r[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${who}: ${name}[${i}][${j}] is ${String(v)}, expected a finite number`);
    }
  }
  return p;
}

function checkVector(y: ArrayLike<number>, who: string, name: string): void {
  if (y == null || typeof y.length !== 'number') throw new Error(`${who}: ${name} must be an array of numbers`);
  if (y.length === 0) throw new Error(`${who}: ${name} is empty`);
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${who}: ${name}[${i}] is ${String(v)}, expected a finite number`);
  }
}

function checkClasses(classes: number, who: string): void {
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 2) {
    throw new Error(`${who}: classes must be an integer >= 2, got ${String(classes)}`);
  }
}

function checkLabels(labels: ArrayLike<number>, classes: number, who: string, name: string): void {
  if (labels == null || typeof labels.length !== 'number') throw new Error(`${who}: ${name} must be an array of class indices`);
  if (labels.length === 0) throw new Error(`${who}: ${name} is empty`);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= classes) {
      throw new Error(`${who}: ${name}[${i}] is ${String(c)}, expected an integer class index in [0, ${classes - 1}]`);
    }
  }
}

function sameLength(a: { length: number }, b: { length: number }, who: string, what: string): void {
  if (a.length !== b.length) throw new Error(`${who}: ${what} have different lengths (${a.length} and ${b.length})`);
}

export function checkNumberOption(v: number, who: string, name: string, ok: (v: number) => boolean, expected: string): void {
  if (typeof v !== 'number' || !ok(v)) throw new Error(`${who}: ${name} must be ${expected}, got ${String(v)}`);
}

// ---------------------------------------------------------------------------------------------------
// Standardisation

/** Features z-scored with training statistics. */
export interface Standardised {
  train: number[][];
  test: number[][];
  /** Training mean of each feature. */
  mean: number[];
  /** Training standard deviation of each feature (population form, divisor n); 0 for a constant column. */
  std: number[];
}

/**
 * z-scores every feature with the training mean and standard deviation:
 *   mu_j = (1/n) sum_i x_ij,   sigma_j = sqrt((1/n) sum_i (x_ij - mu_j)^2),   z_ij = (x_ij - mu_j) / sigma_j,
 * for the training rows and the test rows alike (test statistics are never used). A column that is constant in the
 * training set (sigma_j <= 1e-12 max(1, |mu_j|)) becomes 0 in both sets. The test set may be empty.
 */
export function standardise(train: FeatureRows, test: FeatureRows): Standardised {
  const who = 'standardise';
  const p = checkRows(train, who, 'train');
  const pt = checkRows(test, who, 'test', true);
  if (pt !== -1 && pt !== p) throw new Error(`${who}: test rows have ${pt} features, train rows have ${p}`);
  const n = train.length, mean = new Array<number>(p).fill(0), std = new Array<number>(p).fill(0);
  for (const r of train) for (let j = 0; j < p; j++) mean[j] = mean[j]! + r[j]!;
  for (let j = 0; j < p; j++) mean[j] = mean[j]! / n;
  for (const r of train) for (let j = 0; j < p; j++) { const d = r[j]! - mean[j]!; std[j] = std[j]! + d * d; }
  for (let j = 0; j < p; j++) {
    const s = Math.sqrt(std[j]! / n);
    std[j] = s <= 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? 0 : s;
  }
  const z = (r: ArrayLike<number>): number[] => {
    const out = new Array<number>(p);
    for (let j = 0; j < p; j++) out[j] = std[j]! > 0 ? (r[j]! - mean[j]!) / std[j]! : 0;
    return out;
  };
  return { train: train.map(z), test: test.map(z), mean, std };
}

// ---------------------------------------------------------------------------------------------------
// Ridge regression

/** A fitted linear model y ~ intercept + x . weights. */
export interface RidgeModel {
  weights: number[];
  intercept: number;
  /** intercept + x . weights for each row. */
  predict(X: FeatureRows): number[];
}

/**
 * Solves the symmetric positive-definite system A x = b (A: m x m, row-major) by Cholesky, A = L L^T, then
 * L z = b and L^T x = z (Golub & Van Loan 4.2). Throws when a pivot (before its square root) is not above
 * 1e-12 times its diagonal entry: A is singular or so ill-conditioned (condition ~1e12) that x is meaningless.
 */
function choleskySolve(A: Float64Array, b: Float64Array, m: number, who: string): Float64Array {
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * m + j]!;
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!;
      if (i === j) {
        if (!(s > 1e-12 * A[i * m + i]!) || !Number.isFinite(s)) { // relative: rounding leaves tiny positive pivots
          throw new Error(`${who}: the normal equations are not positive definite (pivot ${j} is ${s}); features are collinear or constant: use lambda > 0`);
        }
        L[i * m + i] = Math.sqrt(s);
      } else {
        L[i * m + j] = s / L[j * m + j]!;
      }
    }
  }
  const z = new Float64Array(m), x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * z[k]!;
    z[i] = s / L[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  return x;
}

/**
 * Ridge regression in closed form (Hoerl & Kennard 1970). With column means xbar and ybar and centred data
 * Xc = X - 1 xbar^T, yc = y - ybar, the weights solve the normal equations
 *   (Xc^T Xc + lambda I) w = Xc^T yc
 * (by Cholesky), and the intercept, which is not penalised, is b = ybar - xbar . w. The penalty is on the sum of
 * squared errors (not the mean): w minimises sum_i (y_i - b - x_i . w)^2 + lambda |w|^2. lambda = 0 is ordinary
 * least squares (throws when features are collinear). Cost O(n p^2 + p^3): meant for p up to a few thousand.
 */
export function ridgeRegression(X: FeatureRows, y: ArrayLike<number>, lambda = 1e-3): RidgeModel {
  const who = 'ridgeRegression';
  const p = checkRows(X, who, 'X');
  checkVector(y, who, 'y');
  sameLength(X, y, who, 'X rows and y');
  checkNumberOption(lambda, who, 'lambda', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  const n = X.length, xbar = new Float64Array(p);
  let ybar = 0;
  for (let i = 0; i < n; i++) { const r = X[i]!; for (let j = 0; j < p; j++) xbar[j] = xbar[j]! + r[j]!; ybar += y[i]!; }
  for (let j = 0; j < p; j++) xbar[j] = xbar[j]! / n;
  ybar /= n;
  const A = new Float64Array(p * p), b = new Float64Array(p), xc = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const r = X[i]!, yc = y[i]! - ybar;
    for (let j = 0; j < p; j++) xc[j] = r[j]! - xbar[j]!;
    for (let j = 0; j < p; j++) {
      const v = xc[j]!;
      b[j] = b[j]! + v * yc;
      for (let k = 0; k <= j; k++) A[j * p + k] = A[j * p + k]! + v * xc[k]!;
    }
  }
  for (let j = 0; j < p; j++) {
    A[j * p + j] = A[j * p + j]! + lambda;
    for (let k = 0; k < j; k++) A[k * p + j] = A[j * p + k]!;
  }
  const w = choleskySolve(A, b, p, who);
  let intercept = ybar;
  for (let j = 0; j < p; j++) intercept -= xbar[j]! * w[j]!;
  const weights = Array.from(w);
  return {
    weights, intercept,
    predict(Xn: FeatureRows): number[] {
      const q = checkRows(Xn, `${who}.predict`, 'X');
      if (q !== p) throw new Error(`${who}.predict: rows have ${q} features, the model was fitted on ${p}`);
      return Xn.map((r) => { let s = intercept; for (let j = 0; j < p; j++) s += r[j]! * weights[j]!; return s; });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Scores

/**
 * Coefficient of determination R^2 = 1 - SS_res / SS_tot with SS_res = sum_i (y_i - yhat_i)^2 and
 * SS_tot = sum_i (y_i - ybar)^2 (ybar the mean of yTrue). 1 for perfect predictions, 0 for predicting the mean,
 * negative for worse. NaN when yTrue is constant (SS_tot = 0: R^2 undefined).
 */
export function r2Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const who = 'r2Score';
  checkVector(yTrue, who, 'yTrue');
  checkVector(yPred, who, 'yPred');
  sameLength(yTrue, yPred, who, 'yTrue and yPred');
  const n = yTrue.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += yTrue[i]!;
  m /= n;
  let res = 0, tot = 0;
  for (let i = 0; i < n; i++) { const t = yTrue[i]!; res += (t - yPred[i]!) ** 2; tot += (t - m) ** 2; }
  return tot > 0 ? 1 - res / tot : NaN;
}

/**
 * Balanced accuracy (Brodersen et al. 2010): the mean over the classes c present in yTrue of the recall
 *   recall_c = #{i : yTrue_i = c and yPred_i = c} / #{i : yTrue_i = c}.
 * Classes absent from yTrue are left out (their recall is undefined). Equals the plain accuracy when every class
 * has the same number of examples; a constant prediction scores 1 / (number of classes present).
 */
export function balancedAccuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: number): number {
  const who = 'balancedAccuracy';
  checkClasses(classes, who);
  checkLabels(yTrue, classes, who, 'yTrue');
  checkLabels(yPred, classes, who, 'yPred');
  sameLength(yTrue, yPred, who, 'yTrue and yPred');
  return balancedAccuracyUnchecked(yTrue, yPred, classes, null);
}

function balancedAccuracyUnchecked(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: number, idx: ArrayLike<number> | null): number {
  const count = new Float64Array(classes), hit = new Float64Array(classes);
  const n = idx ? idx.length : yTrue.length;
  for (let k = 0; k < n; k++) {
    const i = idx ? idx[k]! : k, c = yTrue[i]!;
    count[c]!++;
    if (yPred[i] === c) hit[c]!++;
  }
  let s = 0, present = 0;
  for (let c = 0; c < classes; c++) if (count[c]! > 0) { s += hit[c]! / count[c]!; present++; }
  return s / present;
}

// ---------------------------------------------------------------------------------------------------
// Logistic regression

export interface LogisticOptions {
  /** L2 penalty on the weights (not the intercepts), added to the mean weighted log loss as (l2/2) |W|^2 (default 1e-3). */
  l2?: number;
  /** Maximum L-BFGS iterations (default 1000). */
  iterations?: number;
  /** Convergence: stop when the largest absolute gradient component is <= tolerance (default 1e-6). */
  tolerance?: number;
  /** Weight the examples of class c by n / (classes_present * n_c) (default true); false: every example weighs 1. */
  balanced?: boolean;
}

/** A fitted multinomial logistic regression: P(c | x) = softmax_c(intercepts_c + weights_c . x). */
export interface LogisticModel {
  classes: number;
  /** [classes][p]: one weight vector per class. */
  weights: number[][];
  /** [classes]. */
  intercepts: number[];
  /** The objective at the solution (mean weighted log loss + (l2/2) |W|^2). */
  loss: number;
  /** L-BFGS iterations used. */
  iterations: number;
  /** Whether the gradient tolerance was reached (false: iteration limit, or no further decrease possible). */
  converged: boolean;
  /** The most probable class of each row (the lowest index among ties). */
  predict(X: FeatureRows): number[];
  /** [rows][classes] class probabilities (each row sums to 1). */
  probabilities(X: FeatureRows): number[][];
}

/**
 * Multinomial (softmax) logistic regression fitted by full-batch L-BFGS (Nocedal & Wright 2006, Algorithm 7.4,
 * memory 10, backtracking Armijo line search; deterministic). With logits z_ic = b_c + W_c . x_i, probabilities
 * P_ic = exp(z_ic) / sum_c' exp(z_ic') (computed with log-sum-exp) and example weights v_i, it minimises
 *   L(W, b) = (1 / sum_i v_i) sum_i v_i (log sum_c exp(z_ic) - z_{i,y_i}) + (l2/2) sum_{c,j} W_cj^2,
 * whose gradient is dL/dW_cj = (1/sum v) sum_i v_i (P_ic - [y_i = c]) x_ij + l2 W_cj, dL/db_c likewise without
 * x_ij and the penalty. balanced (default): v_i = n / (K n_{y_i}) with K the number of classes present in the
 * labels (King & Zeng 2001; the "balanced" weights of scikit-learn), else v_i = 1. Classes without training
 * examples are allowed (their intercept drifts towards -infinity until the gradient tolerance is met). The labels
 * must contain at least two distinct classes. Standardise the features first (see probe).
 */
export function logisticRegression(X: FeatureRows, labels: ArrayLike<number>, classes: number, options: LogisticOptions = {}): LogisticModel {
  const who = 'logisticRegression';
  checkClasses(classes, who);
  const p = checkRows(X, who, 'X');
  checkLabels(labels, classes, who, 'labels');
  sameLength(X, labels, who, 'X rows and labels');
  const l2 = options.l2 ?? 1e-3, maxIter = options.iterations ?? 1000, tol = options.tolerance ?? 1e-6, balanced = options.balanced ?? true;
  checkNumberOption(l2, who, 'l2', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  checkNumberOption(maxIter, who, 'iterations', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  checkNumberOption(tol, who, 'tolerance', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  if (typeof balanced !== 'boolean') throw new Error(`${who}: balanced must be a boolean, got ${String(balanced)}`);
  const n = X.length, K = classes;
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) counts[labels[i]!]!++;
  let present = 0;
  for (let c = 0; c < K; c++) if (counts[c]! > 0) present++;
  if (present < 2) throw new Error(`${who}: the labels contain ${present} distinct class; at least 2 are needed`);
  const v = new Float64Array(n);
  let vSum = 0;
  for (let i = 0; i < n; i++) { v[i] = balanced ? n / (present * counts[labels[i]!]!) : 1; vSum += v[i]!; }
  // Rows as one contiguous float64 matrix.
  const A = new Float64Array(n * p);
  for (let i = 0; i < n; i++) { const r = X[i]!; for (let j = 0; j < p; j++) A[i * p + j] = r[j]!; }
  const dim = K * (p + 1), bOff = K * p, z = new Float64Array(K);
  // Objective and gradient at theta = [W (K x p, row-major), b (K)].
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * p;
      let zmax = -Infinity;
      for (let c = 0; c < K; c++) {
        let s = theta[bOff + c]!;
        const w = c * p;
        for (let j = 0; j < p; j++) s += theta[w + j]! * A[row + j]!;
        z[c] = s;
        if (s > zmax) zmax = s;
      }
      let se = 0;
      for (let c = 0; c < K; c++) se += Math.exp(z[c]! - zmax);
      const lse = zmax + Math.log(se), y = labels[i]!, vi = v[i]!;
      loss += vi * (lse - z[y]!);
      for (let c = 0; c < K; c++) {
        const g = vi * (Math.exp(z[c]! - lse) - (c === y ? 1 : 0));
        if (g === 0) continue;
        const w = c * p;
        for (let j = 0; j < p; j++) grad[w + j] = grad[w + j]! + (g * A[row + j]!);
        grad[bOff + c] = grad[bOff + c]! + g;
      }
    }
    loss /= vSum;
    let pen = 0;
    for (let k = 0; k < dim; k++) grad[k] = grad[k]! / vSum;
    for (let k = 0; k < bOff; k++) { const t = theta[k]!; pen += t * t; grad[k] = grad[k]! + l2 * t; }
    return loss + 0.5 * l2 * pen;
  };
  const r = lbfgs(evaluate, new Float64Array(dim), maxIter, tol);
  const theta = r.x;
  const weights = Array.from({ length: K }, (_, c) => Array.from(theta.subarray(c * p, (c + 1) * p)));
  const intercepts = Array.from(theta.subarray(bOff, bOff + K));
  const probabilities = (Xn: FeatureRows, name: string): number[][] => {
    const q = checkRows(Xn, `${who}.${name}`, 'X');
    if (q !== p) throw new Error(`${who}.${name}: rows have ${q} features, the model was fitted on ${p}`);
    return Xn.map((row) => {
      const zz = new Array<number>(K);
      let zmax = -Infinity;
      for (let c = 0; c < K; c++) {
        let s = intercepts[c]!;
        const w = weights[c]!;
        for (let j = 0; j < p; j++) s += w[j]! * row[j]!;
        zz[c] = s;
        if (s > zmax) zmax = s;
      }
      let se = 0;
      for (let c = 0; c < K; c++) { zz[c] = Math.exp(zz[c]! - zmax); se += zz[c]!; }
      for (let c = 0; c < K; c++) zz[c] = zz[c]! / se;
      return zz;
    });
  };
  return {
    classes: K, weights, intercepts, loss: r.f, iterations: r.iterations, converged: r.converged,
    probabilities: (Xn) => probabilities(Xn, 'probabilities'),
    predict: (Xn) => probabilities(Xn, 'predict').map((pr) => {
      let best = 0;
      for (let c = 1; c < K; c++) if (pr[c]! > pr[best]!) best = c;
      return best;
    }),
  };
}

/**
 * Limited-memory BFGS (Nocedal & Wright 2006, Algorithm 7.4 two-loop recursion, Algorithm 3.1 backtracking with the
 * Armijo condition f(x + a d) <= f(x) + 1e-4 a g.d). Pairs with s.y <= 1e-10 |s| |y| are not stored. Stops when
 * max |g| <= tol, after maxIter iterations, or when the line search can no longer decrease f.
 */
function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, maxIter: number, tol: number): { x: Float64Array; f: number; iterations: number; converged: boolean } {
  const m = 10, dim = x0.length;
  let x = Float64Array.from(x0), g = new Float64Array(dim);
  let f = fg(x, g);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const d = new Float64Array(dim), alpha = new Float64Array(m);
  const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let k = 0; k < dim; k++) s += a[k]! * b[k]!; return s; };
  const maxAbs = (a: Float64Array) => { let s = 0; for (let k = 0; k < dim; k++) s = Math.max(s, Math.abs(a[k]!)); return s; };
  let it = 0;
  while (it < maxIter) {
    if (maxAbs(g) <= tol) return { x, f, iterations: it, converged: true };
    // d = -H g (two-loop recursion); steepest descent scaled to unit length on the first step.
    d.set(g);
    for (let k = S.length - 1; k >= 0; k--) {
      const a = rho[k]! * dot(S[k]!, d);
      alpha[k] = a;
      const yk = Y[k]!;
      for (let t = 0; t < dim; t++) d[t] = d[t]! - a * yk[t]!;
    }
    let gamma: number;
    if (S.length > 0) { const yl = Y[S.length - 1]!; gamma = dot(S[S.length - 1]!, yl) / dot(yl, yl); } else gamma = 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let t = 0; t < dim; t++) d[t] = d[t]! * gamma;
    for (let k = 0; k < S.length; k++) {
      const b = rho[k]! * dot(Y[k]!, d), sk = S[k]!, a = alpha[k]!;
      for (let t = 0; t < dim; t++) d[t] = d[t]! + ((a - b) * sk[t]!);
    }
    for (let t = 0; t < dim; t++) d[t] = -d[t]!;
    let gd = dot(g, d);
    if (!(gd < 0)) { // not a descent direction: restart from steepest descent
      S.length = 0; Y.length = 0; rho.length = 0;
      const sc = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let t = 0; t < dim; t++) d[t] = -g[t]! * sc;
      gd = dot(g, d);
    }
    let step = 1, accepted = false;
    const xn = new Float64Array(dim), gn = new Float64Array(dim);
    let fn = f;
    for (let ls = 0; ls < 60; ls++) {
      for (let t = 0; t < dim; t++) xn[t] = x[t]! + step * d[t]!;
      fn = fg(xn, gn);
      if (Number.isFinite(fn) && fn <= f + 1e-4 * step * gd) { accepted = true; break; }
      step *= 0.5;
    }
    it++;
    if (!accepted || !(fn < f)) return { x, f, iterations: it, converged: maxAbs(g) <= tol };
    const s = new Float64Array(dim), yv = new Float64Array(dim);
    for (let t = 0; t < dim; t++) { s[t] = xn[t]! - x[t]!; yv[t] = gn[t]! - g[t]!; }
    const sy = dot(s, yv);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === m) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(yv); rho.push(1 / sy);
    }
    x = xn; g = gn; f = fn;
  }
  return { x, f, iterations: it, converged: maxAbs(g) <= tol };
}

// ---------------------------------------------------------------------------------------------------
// Bootstrap

export interface ProbeBootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Central coverage of the interval (default 0.95: the 2.5 and 97.5 percentiles). */
  level?: number;
  /** PRNG seed (default 0). */
  seed?: number;
}

/** A statistic with a percentile bootstrap interval. */
export interface Interval {
  /** The statistic on all indices 0..n-1. */
  estimate: number;
  low: number;
  high: number;
}

/**
 * Percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13) of a statistic of n examples. Each of the B
 * resamples draws n indices uniformly with replacement from 0..n-1 (mulberry32(seed), through the bootstrap of
 * scores.ts: deterministic for a seed); low and high are the (1 - level)/2 and (1 + level)/2 quantiles of the B
 * resampled statistics (linear interpolation between order statistics; resamples whose statistic is NaN are
 * dropped). estimate is the statistic on all indices [0, 1, ..., n-1].
 */
export function bootstrapCI(n: number, statistic: (indices: number[]) => number, options: ProbeBootstrapOptions = {}): Interval {
  const who = 'bootstrapCI';
  checkNumberOption(n, who, 'n', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  if (typeof statistic !== 'function') throw new Error(`${who}: statistic must be a function of an index array`);
  const resamples = options.resamples ?? 1000, level = options.level ?? 0.95, seed = options.seed ?? 0;
  checkNumberOption(resamples, who, 'resamples', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  checkNumberOption(level, who, 'level', (v) => v > 0 && v < 1, 'in (0, 1)');
  checkNumberOption(seed, who, 'seed', Number.isFinite, 'a finite number');
  const r = bootstrapOverCases(new Float64Array(n), [n, 1], (idx) => statistic(Array.from(idx)), { samples: resamples, level, seed });
  return { estimate: r.estimate[0]!, low: r.lower[0]!, high: r.upper[0]! };
}

// ---------------------------------------------------------------------------------------------------
// Probe

export interface ProbeOptions extends ProbeBootstrapOptions {
  /** Ridge penalty of a regression probe (default 1e-3; see ridgeRegression). */
  lambda?: number;
  /** L2 penalty of a classification probe (default 1e-3; see logisticRegression). */
  l2?: number;
  /** L-BFGS iterations and tolerance of a classification probe (see logisticRegression). */
  iterations?: number;
  tolerance?: number;
  /** Balanced class weights of a classification probe (default true). */
  balanced?: boolean;
  /** Number of classes of a classification probe (default: 1 + the largest label of train and test). */
  classes?: number;
}

export interface ProbeResult {
  /** The metric on the whole test set. */
  score: number;
  /** Percentile bootstrap interval over test examples (the fitted model fixed; its test predictions resampled). */
  low: number;
  high: number;
  metric: 'balanced accuracy' | 'R^2';
}

/**
 * Linear probe (Alain & Bengio 2017): standardise the features with the training statistics, fit a linear read-out
 * on the training set once (classification: multinomial logistic regression, balanced class weights by default;
 * regression: ridge regression), predict the test set, and score it (balanced accuracy or R^2) with a percentile
 * bootstrap interval over test examples (bootstrapCI over the test predictions; the model is not refitted).
 */
export function probe(
  trainX: FeatureRows, trainTarget: ArrayLike<number>, testX: FeatureRows, testTarget: ArrayLike<number>,
  kind: 'classification' | 'regression', options: ProbeOptions = {},
): ProbeResult {
  const who = 'probe';
  if (kind !== 'classification' && kind !== 'regression') throw new Error(`${who}: kind must be 'classification' or 'regression', got ${String(kind)}`);
  const p = checkRows(trainX, who, 'trainX'), q = checkRows(testX, who, 'testX');
  if (p !== q) throw new Error(`${who}: testX rows have ${q} features, trainX rows have ${p}`);
  checkVector(trainTarget, who, 'trainTarget');
  checkVector(testTarget, who, 'testTarget');
  sameLength(trainX, trainTarget, who, 'trainX rows and trainTarget');
  sameLength(testX, testTarget, who, 'testX rows and testTarget');
  const z = standardise(trainX, testX), boot = { resamples: options.resamples, level: options.level, seed: options.seed };
  const yt = Array.from(testTarget);
  if (kind === 'regression') {
    const model = ridgeRegression(z.train, trainTarget, options.lambda ?? 1e-3);
    const pred = model.predict(z.test);
    const ci = bootstrapCI(yt.length, (idx) => r2Score(idx.map((i) => yt[i]!), idx.map((i) => pred[i]!)), boot);
    return { score: ci.estimate, low: ci.low, high: ci.high, metric: 'R^2' };
  }
  let classes = options.classes;
  for (const [name, t] of [['trainTarget', trainTarget], ['testTarget', yt]] as const) {
    for (let i = 0; i < t.length; i++) {
      if (!Number.isInteger(t[i]) || t[i]! < 0) throw new Error(`${who}: ${name}[${i}] is ${t[i]}, expected a class index (an integer >= 0)`);
    }
  }
  if (classes === undefined) {
    classes = 0;
    for (let i = 0; i < trainTarget.length; i++) classes = Math.max(classes, trainTarget[i]! + 1);
    for (let i = 0; i < yt.length; i++) classes = Math.max(classes, yt[i]! + 1);
  }
  checkClasses(classes, who);
  checkLabels(trainTarget, classes, who, 'trainTarget');
  checkLabels(yt, classes, who, 'testTarget');
  const model = logisticRegression(z.train, trainTarget, classes, { l2: options.l2, iterations: options.iterations, tolerance: options.tolerance, balanced: options.balanced });
  const pred = model.predict(z.test), K = classes;
  const ci = bootstrapCI(yt.length, (idx) => balancedAccuracyUnchecked(yt, pred, K, idx), boot);
  return { score: ci.estimate, low: ci.low, high: ci.high, metric: 'balanced accuracy' };
}
