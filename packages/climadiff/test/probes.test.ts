import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balancedAccuracy, bootstrapCI, logisticRegression, probe, r2Score, ridgeRegression, standardise,
} from '../src/eval/probes.js';
import { pcaFeatures } from '../src/eval/pca.js';
import { gauss, rng } from './random-fixture.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

/** Gaussian blobs: `perClass[c]` examples around centres[c] with standard deviation sd. */
function blobs(seed: number, centres: number[][], perClass: number[], sd: number): { X: number[][]; y: number[] } {
  const g = gauss(rng(seed)), X: number[][] = [], y: number[] = [];
  centres.forEach((c, k) => { for (let i = 0; i < perClass[k]!; i++) { X.push(c.map((v) => v + sd * g())); y.push(k); } });
  return { X, y };
}

/** q orthonormal random directions in R^p (Gram-Schmidt). */
function orthonormal(seed: number, q: number, p: number): number[][] {
  const g = gauss(rng(seed)), out: number[][] = [];
  for (let k = 0; k < q; k++) {
    const v = Array.from({ length: p }, () => g());
    for (const u of out) { const d = dot(u, v); for (let j = 0; j < p; j++) v[j] = v[j]! - d * u[j]!; }
    const nv = norm(v);
    out.push(v.map((x) => x / nv));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// standardise

test('standardise: z-scores with the training mean and population std; test uses training statistics; constant column is 0', () => {
  // column 0: [1, 3] -> mean 2, std 1; column 1: [5, 5] -> constant
  const r = standardise([[1, 5], [3, 5]], [[4, 7], [2, 5]]);
  assert.deepEqual(r.mean, [2, 5]);
  assert.deepEqual(r.std, [1, 0]);
  assert.deepEqual(r.train, [[-1, 0], [1, 0]]);
  assert.deepEqual(r.test, [[2, 0], [0, 0]]);
  // population form (divisor n): [0, 0, 3, 3] has mean 1.5 and std 1.5
  const s = standardise([[0], [0], [3], [3]], [[6]]);
  close(s.std[0]!, 1.5, 1e-15);
  close(s.test[0]![0]!, 3, 1e-15);
  assert.deepEqual(standardise([[1], [2]], []).test, []);
});

// ---------------------------------------------------------------------------------------------------
// ridge

test('ridgeRegression: hand-computed 1-D fit (lambda 0 and 1; the intercept is not penalised)', () => {
  // x = [0, 1, 2, 3], y = [1, 3, 2, 5]: xbar = 1.5, ybar = 2.75, Sxx = 5, Sxy = 2.625 - 0.125 - 0.375 + 3.375 = 5.5
  const X = [[0], [1], [2], [3]], y = [1, 3, 2, 5];
  const ols = ridgeRegression(X, y, 0); // w = 5.5 / 5 = 1.1, b = 2.75 - 1.5 * 1.1 = 1.1
  close(ols.weights[0]!, 1.1, 1e-12, 'ols w');
  close(ols.intercept, 1.1, 1e-12, 'ols b');
  const rr = ridgeRegression(X, y, 1); // w = 5.5 / (5 + 1) = 11/12, b = 2.75 - 1.5 * 11/12 = 1.375
  close(rr.weights[0]!, 11 / 12, 1e-12, 'ridge w');
  close(rr.intercept, 1.375, 1e-12, 'ridge b');
  const pr = rr.predict([[0], [2]]);
  close(pr[0]!, 1.375, 1e-12);
  close(pr[1]!, 1.375 + 22 / 12, 1e-12);
});

test('ridgeRegression: recovers known weights on noiseless data', () => {
  const g = gauss(rng(3)), wTrue = [2, -1, 0.5, 0, 3], b = -4;
  const X = Array.from({ length: 200 }, () => wTrue.map(() => g()));
  const y = X.map((r) => b + dot(r, wTrue));
  const m = ridgeRegression(X, y, 0);
  m.weights.forEach((w, j) => close(w, wTrue[j]!, 1e-10, `w${j}`));
  close(m.intercept, b, 1e-10, 'b');
  const md = ridgeRegression(X, y); // default lambda 1e-3: a tiny shrinkage
  md.weights.forEach((w, j) => close(w, wTrue[j]!, 1e-4, `w${j}`));
  // a large penalty shrinks the weights towards 0
  assert.ok(norm(ridgeRegression(X, y, 1e4).weights) < 0.2 * norm(wTrue));
});

// ---------------------------------------------------------------------------------------------------
// scores

test('r2Score: perfect is 1, the mean is 0, hand-computed value, worse than the mean is negative', () => {
  const y = [1, 2, 3, 4];
  close(r2Score(y, y), 1, 0);
  close(r2Score(y, [2.5, 2.5, 2.5, 2.5]), 0, 1e-15);
  // SS_res = (4 - 5)^2 = 1, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5 -> 1 - 1/5 = 0.8
  close(r2Score(y, [1, 2, 3, 5]), 0.8, 1e-15);
  // SS_res = 9 + 1 + 1 + 9 = 20 -> 1 - 20/5 = -3
  close(r2Score(y, [4, 3, 2, 1]), -3, 1e-15);
  assert.ok(Number.isNaN(r2Score([2, 2], [2, 2])), 'constant truth: undefined');
});

test('balancedAccuracy: hand-computed on imbalanced examples, differs from plain accuracy', () => {
  // 8 of class 0, 2 of class 1, all predicted 0: accuracy 0.8, balanced (1 + 0) / 2 = 0.5
  const yTrue = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1], yPred = new Array(10).fill(0);
  close(balancedAccuracy(yTrue, yPred, 2), 0.5, 1e-15);
  // recalls: class 0: 2/3, class 1: 1/2, class 2: 1/1 -> (2/3 + 1/2 + 1) / 3 = 13/18; accuracy 4/6
  // class 3 is absent from yTrue and does not count (predicting it only costs recall elsewhere)
  close(balancedAccuracy([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2], 4), 13 / 18, 1e-15);
  close(balancedAccuracy([0, 0, 0, 1, 1, 2], [0, 0, 3, 1, 0, 2], 4), 13 / 18, 1e-15);
  close(balancedAccuracy([0, 1, 2], [0, 1, 2], 3), 1, 0);
});

// ---------------------------------------------------------------------------------------------------
// logistic regression

/** The objective of logisticRegression written out independently: weighted mean log loss + (l2/2)|W|^2. */
function logisticObjective(W: number[][], b: number[], X: number[][], y: number[], K: number, l2: number, balanced: boolean): number {
  const n = X.length, counts = new Array(K).fill(0);
  y.forEach((c) => counts[c]++);
  const present = counts.filter((c) => c > 0).length;
  let num = 0, den = 0;
  X.forEach((x, i) => {
    const z = W.map((w, c) => b[c]! + dot(w, x));
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    const v = balanced ? n / (present * counts[y[i]!]) : 1;
    num += v * (lse - z[y[i]!]!); den += v;
  });
  return num / den + 0.5 * l2 * W.flat().reduce((s, w) => s + w * w, 0);
}

test('logisticRegression: separates 3-class Gaussian blobs; probabilities sum to 1', () => {
  const centres = [[0, 0], [4, 0], [2, 4]];
  const tr = blobs(11, centres, [100, 100, 100], 0.7), te = blobs(12, centres, [200, 200, 200], 0.7);
  const m = logisticRegression(tr.X, tr.y, 3);
  assert.ok(m.converged, `converged after ${m.iterations} iterations`);
  const pred = m.predict(te.X);
  const ba = balancedAccuracy(te.y, pred, 3);
  assert.ok(ba > 0.95, `balanced accuracy ${ba}`);
  for (const pr of m.probabilities(te.X)) {
    close(pr.reduce((s, v) => s + v, 0), 1, 1e-12, 'sum of probabilities');
    assert.ok(pr.every((v) => v >= 0 && v <= 1));
  }
  // predict is the argmax of probabilities
  m.probabilities(te.X).forEach((pr, i) => assert.equal(pr.indexOf(Math.max(...pr)), pred[i]));
  // deterministic
  assert.deepEqual(logisticRegression(tr.X, tr.y, 3).weights, m.weights);
});

test('logisticRegression: hand-solved 2-class 1-D optimum (lambda a = 1 - sigma(2a))', () => {
  // x = [-1, 1], labels [0, 1], l2 = 0.1: by symmetry b_0 = b_1 and W = [-a, a]; the objective is
  // -log sigma(2a) + l2 a^2, stationary where l2 a = 1 - sigma(2a). Solve by bisection.
  const l2 = 0.1, sig = (t: number) => 1 / (1 + Math.exp(-t));
  let lo = 0, hi = 100;
  for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (l2 * mid < 1 - sig(2 * mid)) lo = mid; else hi = mid; }
  const m = logisticRegression([[-1], [1]], [0, 1], 2, { l2, tolerance: 1e-10 });
  close(m.weights[1]![0]!, lo, 1e-8, 'a');
  close(m.weights[0]![0]!, -lo, 1e-8, '-a');
  close(m.intercepts[0]! - m.intercepts[1]!, 0, 1e-8, 'b0 - b1');
  close(m.loss, -Math.log(sig(2 * lo)) + l2 * lo * lo, 1e-12, 'loss');
});

test('logisticRegression: the fit is a stationary point of the written-out objective (balanced and unbalanced weights)', () => {
  const { X, y } = blobs(21, [[0, 0, 0], [1.5, 0.5, 0], [0, 1.5, 1]], [120, 30, 10], 1.0);
  for (const balanced of [true, false]) {
    const l2 = 0.01, m = logisticRegression(X, y, 3, { l2, balanced, tolerance: 1e-9 });
    const f = (W: number[][], b: number[]) => logisticObjective(W, b, X, y, 3, l2, balanced);
    close(m.loss, f(m.weights, m.intercepts), 1e-12, `loss (balanced ${balanced})`);
    const h = 1e-5;
    for (let c = 0; c < 3; c++) {
      for (let j = 0; j <= 3; j++) { // j = 3: the intercept
        const shift = (s: number) => {
          const W = m.weights.map((w) => w.slice()), b = m.intercepts.slice();
          if (j < 3) W[c]![j]! += s; else b[c]! += s;
          return f(W, b);
        };
        const grad = (shift(h) - shift(-h)) / (2 * h);
        assert.ok(Math.abs(grad) < 1e-6, `balanced ${balanced}: d/d(${c}, ${j}) = ${grad}`);
      }
    }
  }
  // the two weightings give different fits on imbalanced data; balanced weights raise the minority recall
  const mb = logisticRegression(X, y, 3), mu = logisticRegression(X, y, 3, { balanced: false });
  assert.ok(balancedAccuracy(y, mb.predict(X), 3) > balancedAccuracy(y, mu.predict(X), 3));
});

// ---------------------------------------------------------------------------------------------------
// bootstrap

test('bootstrapCI: contains the estimate, matches the normal-theory width, shrinks with n, reproducible with the seed', () => {
  const g = gauss(rng(5)), data = Array.from({ length: 2000 }, () => g());
  const meanOf = (v: number[]) => (idx: number[]) => idx.reduce((s, i) => s + v[i]!, 0) / idx.length;
  const big = bootstrapCI(data.length, meanOf(data), { resamples: 500 });
  close(big.estimate, data.reduce((s, v) => s + v, 0) / data.length, 1e-12, 'estimate on all indices');
  assert.ok(big.low <= big.estimate && big.estimate <= big.high, JSON.stringify(big));
  // width of a 95% interval of the mean of N(0, 1): 2 * 1.96 / sqrt(n) = 0.0877 for n = 2000
  close(big.high - big.low, (2 * 1.96) / Math.sqrt(2000), 0.015, 'width');
  const small = bootstrapCI(50, meanOf(data.slice(0, 50)), { resamples: 500 });
  assert.ok(small.low <= small.estimate && small.estimate <= small.high);
  assert.ok(small.high - small.low > 3 * (big.high - big.low), `n = 50: ${small.high - small.low}, n = 2000: ${big.high - big.low}`);
  // reproducible, and the seed matters
  assert.deepEqual(bootstrapCI(50, meanOf(data), { resamples: 200, seed: 7 }), bootstrapCI(50, meanOf(data), { resamples: 200, seed: 7 }));
  assert.notDeepEqual(bootstrapCI(50, meanOf(data), { resamples: 200, seed: 7 }), bootstrapCI(50, meanOf(data), { resamples: 200, seed: 8 }));
  // a narrower level gives a narrower interval
  const l50 = bootstrapCI(50, meanOf(data), { resamples: 500, level: 0.5 });
  assert.ok(l50.high - l50.low < small.high - small.low);
  // indices are drawn with replacement from 0..n-1
  bootstrapCI(7, (idx) => { assert.equal(idx.length, 7); assert.ok(idx.every((i) => Number.isInteger(i) && i >= 0 && i < 7)); return 0; }, { resamples: 20 });
});

// ---------------------------------------------------------------------------------------------------
// probe

test('probe: classification of blobs scores balanced accuracy > 0.95 with an interval around it', () => {
  const centres = [[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 0, 0]];
  // features on very different scales: standardisation makes them comparable
  const scale = (X: number[][]) => X.map((r) => [r[0]! * 1000, r[1]! * 0.001, r[2]! + 50, r[3]!]);
  const tr = blobs(31, centres, [150, 60, 30], 0.6), te = blobs(32, centres, [300, 100, 50], 0.6);
  const r = probe(scale(tr.X), tr.y, scale(te.X), te.y, 'classification', { resamples: 300 });
  assert.equal(r.metric, 'balanced accuracy');
  assert.ok(r.score > 0.95, `score ${r.score}`);
  assert.ok(r.low <= r.score && r.score <= r.high && r.high <= 1, JSON.stringify(r));
  assert.deepEqual(probe(scale(tr.X), tr.y, scale(te.X), te.y, 'classification', { resamples: 300 }), r);
});

test('probe: regression R^2 matches the signal fraction of the variance', () => {
  // y = x . w + noise with Var(x . w) = |w|^2 = 1 and noise variance 0.25: R^2 = 1 / 1.25 = 0.8
  const g = gauss(rng(41)), w = [0.6, 0.8, 0, 0, 0];
  const make = (n: number) => {
    const X = Array.from({ length: n }, () => w.map(() => g()));
    return { X, y: X.map((r) => dot(r, w) + 0.5 * g()) };
  };
  const tr = make(500), te = make(2000);
  const r = probe(tr.X, tr.y, te.X, te.y, 'regression', { resamples: 300 });
  assert.equal(r.metric, 'R^2');
  close(r.score, 0.8, 0.03, 'R^2');
  assert.ok(r.low <= r.score && r.score <= r.high && r.high - r.low < 0.05, JSON.stringify(r));
});

// ---------------------------------------------------------------------------------------------------
// PCA

test('pcaFeatures: hand-computed 2-D example (offset mean, test rows centred with the training mean)', () => {
  // centred points (+-2, 0), (0, +-1): variances 8/4 = 2 and 2/4 = 0.5 -> explained [0.8, 0.2]
  const off = [10, -5], add = (r: number[]) => [r[0]! + off[0]!, r[1]! + off[1]!];
  const train = [[2, 0], [-2, 0], [0, 1], [0, -1]].map(add);
  const r = pcaFeatures(train, [[1, 1]].map(add), 2);
  close(r.explained[0]!, 0.8, 1e-12); close(r.explained[1]!, 0.2, 1e-12);
  close(r.components[0]![0]!, 1, 1e-12); close(r.components[0]![1]!, 0, 1e-12);
  close(r.components[1]![0]!, 0, 1e-12); close(r.components[1]![1]!, 1, 1e-12);
  const want = [[2, 0], [-2, 0], [0, 1], [0, -1]];
  r.train.forEach((row, i) => row.forEach((v, c) => close(v, want[i]![c]!, 1e-12, `train ${i},${c}`)));
  close(r.test[0]![0]!, 1, 1e-12); close(r.test[0]![1]!, 1, 1e-12);
  assert.deepEqual(Array.from(r.mean), off);
});

test('pcaFeatures: recovers the leading axes and variance fractions of anisotropic data (subspace iteration)', () => {
  const p = 40, n = 600, sds = [6, 3, 1.5], noise = 0.2;
  const axes = orthonormal(51, 3, p), g = gauss(rng(52));
  const make = (m: number) => Array.from({ length: m }, () => {
    const x = Array.from({ length: p }, () => 7 + noise * g());
    sds.forEach((s, k) => { const a = s * g(); for (let j = 0; j < p; j++) x[j] = x[j]! + a * axes[k]![j]!; });
    return Float32Array.from(x);
  });
  const train = make(n), test = make(50);
  const r = pcaFeatures(train, test, 3);
  assert.ok(r.converged);
  for (let k = 0; k < 3; k++) {
    const c = Math.abs(dot(r.components[k]!, axes[k]!));
    assert.ok(c > (k < 2 ? 0.99 : 0.98), `axis ${k}: |cos| = ${c}`);
  }
  // generating variances: s_k^2 / (sum_k s_k^2 + p noise^2)
  const total = sds.reduce((s, v) => s + v * v, 0) + p * noise * noise;
  sds.forEach((s, k) => close(r.explained[k]!, (s * s) / total, 0.12 * (s * s) / total, `explained ${k}`));
  // definitional checks: orthonormal axes, C v = lambda v with C = Xc^T Xc / n and lambda = explained * total variance,
  // training scores = Xc v, and test scores = (x - mean) v (projecting the training rows as test rows gives the same)
  const Xc = train.map((x) => Array.from(x, (v, j) => v - r.mean[j]!));
  const totalVar = Xc.reduce((s, x) => s + dot(x, x), 0) / n;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) close(dot(r.components[a]!, r.components[b]!), a === b ? 1 : 0, 1e-9, `v${a}.v${b}`);
    const v = r.components[a]!, proj = Xc.map((x) => dot(x, v));
    const Cv = new Float64Array(p);
    Xc.forEach((x, i) => { for (let j = 0; j < p; j++) Cv[j] = Cv[j]! + (x[j]! * proj[i]!) / n; });
    const lam = r.explained[a]! * totalVar;
    for (let j = 0; j < p; j++) close(Cv[j]!, lam * v[j]!, 1e-6 * lam, `C v${a} [${j}]`);
    proj.forEach((s, i) => close(r.train[i]![a]!, s, 1e-8, `train score ${i},${a}`));
  }
  const again = pcaFeatures(train, train, 3);
  again.test.forEach((row, i) => row.forEach((v, c) => close(v, again.train[i]![c]!, 1e-8, `test-path score ${i},${c}`)));
  assert.deepEqual(pcaFeatures(train, test, 3).test, r.test, 'deterministic');
  // scores have the component variances: mean over rows of score^2 = lambda
  for (let a = 0; a < 3; a++) close(r.train.reduce((s, row) => s + row[a]! ** 2, 0) / n, r.explained[a]! * totalVar, 1e-8 * totalVar);
});

test('pcaFeatures: wide data (32768 features, few examples) through the Gram matrix', () => {
  const p = 32768, n = 40, g = gauss(rng(61)), axis = orthonormal(62, 1, 64)[0]!;
  // leading direction spread over all features: axis repeated and renormalised
  const dir = Float64Array.from({ length: p }, (_, j) => axis[j % 64]! / Math.sqrt(p / 64));
  const train = Array.from({ length: n }, () => {
    const a = 5 * g(), x = new Float32Array(p);
    for (let j = 0; j < p; j++) x[j] = a * dir[j]! + 0.002 * g();
    return x;
  });
  const r = pcaFeatures(train, train.slice(0, 3), 4);
  assert.equal(r.components[0]!.length, p);
  assert.ok(Math.abs(dot(r.components[0]!, dir)) > 0.99, `|cos| = ${Math.abs(dot(r.components[0]!, dir))}`);
  assert.ok(r.explained[0]! > 0.9 && r.explained.every((v, i) => i === 0 || v <= r.explained[i - 1]!), JSON.stringify(r.explained));
  r.test.forEach((row, i) => row.forEach((v, c) => close(v, r.train[i]![c]!, 1e-6, `score ${i},${c}`)));
});

test('pcaFeatures: duplicate rows (rank below d) give zero components, not NaN', () => {
  const r = pcaFeatures([[1, 0, 0], [1, 0, 0], [-1, 0, 0], [-1, 0, 0]], [[2, 0, 0]], 2);
  close(r.explained[0]!, 1, 1e-12);
  assert.equal(r.explained[1], 0);
  assert.ok(r.components[1]!.every((v) => v === 0));
  assert.ok(r.train.every((row) => row[1] === 0 && Number.isFinite(row[0]!)));
  close(r.test[0]![0]!, 2, 1e-12);
});

// ---------------------------------------------------------------------------------------------------
// bad inputs

test('every bad input throws a clear error', () => {
  const X = [[1, 2], [3, 4], [5, 7]];
  const throwsWith = (f: () => unknown, re: RegExp) => assert.throws(f, re);
  // standardise
  throwsWith(() => standardise([], []), /standardise: train is empty/);
  throwsWith(() => standardise(X, [[1]]), /test rows have 1 features/);
  throwsWith(() => standardise([[1, 2], [3]], []), /row 1 has 1 features/);
  throwsWith(() => standardise([[1, NaN]], []), /train\[0\]\[1\] is NaN/);
  throwsWith(() => standardise([[]], []), /row 0 must be a non-empty/);
  // ridge
  throwsWith(() => ridgeRegression(X, [1, 2]), /different lengths \(3 and 2\)/);
  throwsWith(() => ridgeRegression([], []), /X is empty/);
  throwsWith(() => ridgeRegression(X, [1, Infinity, 2]), /y\[1\] is Infinity/);
  throwsWith(() => ridgeRegression(X, [1, 2, 3], -1), /lambda must be/);
  throwsWith(() => ridgeRegression([[1, 2], [2, 4], [3, 6]], [1, 2, 3], 0), /not positive definite/);
  throwsWith(() => ridgeRegression(X, [1, 2, 3]).predict([[1]]), /fitted on 2/);
  // r2
  throwsWith(() => r2Score([1, 2], [1]), /different lengths/);
  throwsWith(() => r2Score([], []), /yTrue is empty/);
  throwsWith(() => r2Score([1, 2], [1, NaN]), /yPred\[1\] is NaN/);
  // balanced accuracy
  throwsWith(() => balancedAccuracy([0, 1], [0, 1], 1), /classes must be an integer >= 2/);
  throwsWith(() => balancedAccuracy([0, 1], [0], 2), /different lengths/);
  throwsWith(() => balancedAccuracy([0, 2], [0, 1], 2), /yTrue\[1\] is 2/);
  throwsWith(() => balancedAccuracy([0, 1], [0, 0.5], 2), /yPred\[1\] is 0.5/);
  throwsWith(() => balancedAccuracy([], [], 2), /yTrue is empty/);
  // logistic
  throwsWith(() => logisticRegression(X, [0, 1, 0], 1), /classes must be an integer >= 2/);
  throwsWith(() => logisticRegression(X, [0, 0, 0], 2), /1 distinct class/);
  throwsWith(() => logisticRegression(X, [0, 1], 2), /different lengths/);
  throwsWith(() => logisticRegression(X, [0, 1, 3], 3), /labels\[2\] is 3/);
  throwsWith(() => logisticRegression([], [], 2), /X is empty/);
  throwsWith(() => logisticRegression([[1], [NaN]], [0, 1], 2), /X\[1\]\[0\] is NaN/);
  throwsWith(() => logisticRegression(X, [0, 1, 0], 2, { l2: -1 }), /l2 must be/);
  throwsWith(() => logisticRegression(X, [0, 1, 0], 2, { iterations: 0 }), /iterations must be/);
  throwsWith(() => logisticRegression(X, [0, 1, 0], 2).predict([[1, 2, 3]]), /fitted on 2/);
  // bootstrap
  throwsWith(() => bootstrapCI(0, () => 0), /n must be a positive integer/);
  throwsWith(() => bootstrapCI(5, () => 0, { level: 1 }), /level must be in \(0, 1\)/);
  throwsWith(() => bootstrapCI(5, () => 0, { resamples: 0 }), /resamples must be/);
  throwsWith(() => bootstrapCI(5, () => 0, { seed: NaN }), /seed must be/);
  // probe
  throwsWith(() => probe(X, [0, 1, 0], X, [0, 1, 0], 'clustering' as 'regression'), /kind must be/);
  throwsWith(() => probe(X, [0, 1], X, [0, 1, 0], 'regression'), /trainX rows and trainTarget have different lengths/);
  throwsWith(() => probe(X, [0, 1, 0], [[1, 2, 3]], [0], 'regression'), /testX rows have 3 features/);
  throwsWith(() => probe(X, [0, 1, 0], [], [], 'regression'), /testX is empty/);
  throwsWith(() => probe(X, [0, 0, 0], X, [0, 0, 0], 'classification'), /classes must be an integer >= 2/);
  throwsWith(() => probe(X, [0, 1.5, 0], X, [0, 1, 0], 'classification'), /trainTarget\[1\] is 1.5/);
  throwsWith(() => probe(X, [0, 1, 0], X, [0, 1, NaN], 'classification'), /testTarget\[2\] is NaN/);
  // pca
  throwsWith(() => pcaFeatures([], [], 1), /train is empty/);
  throwsWith(() => pcaFeatures([[1, 2]], [], 1), /at least 2 training rows/);
  throwsWith(() => pcaFeatures(X, [], 3), /d must be an integer in \[1, min\(n - 1, p\)\] = \[1, 2\]/);
  throwsWith(() => pcaFeatures(X, [], 0), /d must be/);
  throwsWith(() => pcaFeatures(X, [[1, 2, 3]], 1), /test rows have 3 features/);
  throwsWith(() => pcaFeatures([[1, 1], [1, 1], [1, 1]], [], 1), /zero variance/);
  throwsWith(() => pcaFeatures([Float32Array.from([1, NaN]), Float32Array.from([1, 2])], [], 1), /train\[0\]\[1\] is NaN/);
});
