import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrechetReference, featureMoments, frechetDistance, momentsFromArrays, type FeatureMoments } from '../../../engine/rewards/frechet.ts';
import { matmul, sqrtPsd, symmetricEigen } from '../../../engine/rewards/linalg.ts';

/** A deterministic pseudo-random stream for test matrices. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** A random orthogonal matrix (Gram-Schmidt on random columns). */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const next = lcg(seed);
  const q = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const column = Array.from({ length: n }, next);
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += column[i] * q[i * n + j];
      for (let i = 0; i < n; i++) column[i] -= dot * q[i * n + j];
    }
    const norm = Math.hypot(...column);
    for (let i = 0; i < n; i++) q[i * n + k] = column[i] / norm;
  }
  return q;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j];
  return out;
}

function diagonal(values: number[]): Float64Array {
  const n = values.length;
  const out = new Float64Array(n * n);
  values.forEach((value, i) => (out[i * n + i] = value));
  return out;
}

const moments = (mean: number[], cov: Float64Array): FeatureMoments => ({ dim: mean.length, n: 100, mean: Float64Array.from(mean), cov });

test('Jacobi eigendecomposition reconstructs a symmetric matrix and finds known eigenvalues', () => {
  const { values } = symmetricEigen([2, 1, 1, 2], 2);
  assert.deepEqual(
    [...values].sort().map((v) => Number(v.toFixed(12))),
    [1, 3],
  );
  const n = 12;
  const q = randomOrthogonal(n, 7);
  const eigen = Array.from({ length: n }, (_, i) => i + 0.5);
  const a = matmul(matmul(q, diagonal(eigen), n), transpose(q, n), n);
  const found = symmetricEigen(a, n);
  assert.deepEqual(
    [...found.values].sort((x, y) => x - y).map((v) => Number(v.toFixed(9))),
    eigen,
  );
  // V diag(values) V^T == A
  const rebuilt = matmul(matmul(found.vectors, diagonal([...found.values]), n), transpose(found.vectors, n), n);
  for (let i = 0; i < n * n; i++) assert.ok(Math.abs(rebuilt[i] - a[i]) < 1e-10);
});

test('sqrtPsd squares back to the matrix', () => {
  const n = 10;
  const q = randomOrthogonal(n, 3);
  const a = matmul(matmul(q, diagonal(Array.from({ length: n }, (_, i) => (i + 1) ** 2)), n), transpose(q, n), n);
  const root = sqrtPsd(a, n);
  const squared = matmul(root, root, n);
  for (let i = 0; i < n * n; i++) assert.ok(Math.abs(squared[i] - a[i]) < 1e-9);
});

test('FD of identical statistics is 0', () => {
  const n = 16;
  const q = randomOrthogonal(n, 11);
  const cov = matmul(matmul(q, diagonal(Array.from({ length: n }, (_, i) => 0.1 + i)), n), transpose(q, n), n);
  const a = moments(
    Array.from({ length: n }, (_, i) => i),
    cov,
  );
  assert.ok(frechetDistance(a, a) < 1e-9);
});

test('FD of shifted means with equal covariances is the squared distance between the means', () => {
  const n = 8;
  const q = randomOrthogonal(n, 5);
  const cov = matmul(matmul(q, diagonal(Array.from({ length: n }, (_, i) => 1 + i)), n), transpose(q, n), n);
  const shift = [3, -1, 0, 0, 2, 0, 0, 1];
  const fd = frechetDistance(moments(new Array(n).fill(0), cov), moments(shift, cov));
  assert.ok(Math.abs(fd - (9 + 1 + 4 + 1)) < 1e-8, `fd ${fd}`);
});

test('FD of diagonal covariances has the closed form sum (sqrt a - sqrt b)^2, also after a common rotation', () => {
  const a = [1, 4, 9, 0.25, 2];
  const b = [4, 1, 1, 1, 3];
  const expected = a.reduce((sum, ai, i) => sum + (Math.sqrt(ai) - Math.sqrt(b[i])) ** 2, 0) + 1; // + |[1,0,...]|^2
  const n = a.length;
  const fd = frechetDistance(moments([1, 0, 0, 0, 0], diagonal(a)), moments([0, 0, 0, 0, 0], diagonal(b)));
  assert.ok(Math.abs(fd - expected) < 1e-10, `fd ${fd} expected ${expected}`);
  // Rotating both distributions by one orthogonal Q changes nothing; the sqrt is then non-diagonal.
  const q = randomOrthogonal(n, 9);
  const rotate = (d: number[]) => matmul(matmul(q, diagonal(d), n), transpose(q, n), n);
  const rotatedMean = Array.from({ length: n }, (_, i) => q[i * n]);
  const rotated = frechetDistance(moments(rotatedMean, rotate(a)), moments([0, 0, 0, 0, 0], rotate(b)));
  assert.ok(Math.abs(rotated - expected) < 1e-8, `rotated ${rotated} expected ${expected}`);
});

test('FD is symmetric for non-commuting covariances, and the reference form matches', () => {
  const n = 6;
  const covA = matmul(matmul(randomOrthogonal(n, 1), diagonal([1, 2, 3, 4, 5, 6]), n), transpose(randomOrthogonal(n, 1), n), n);
  const covB = matmul(matmul(randomOrthogonal(n, 2), diagonal([6, 1, 2, 1, 0.5, 3]), n), transpose(randomOrthogonal(n, 2), n), n);
  const a = moments([0, 1, 0, 0, 0, 0], covA);
  const b = moments([0, 0, 0, 1, 0, 0], covB);
  const ab = frechetDistance(a, b);
  assert.ok(Math.abs(ab - frechetDistance(b, a)) < 1e-8);
  assert.ok(Math.abs(ab - new FrechetReference(a).distance(b)) < 1e-12);
  assert.ok(ab > 0);
});

test('featureMoments gives the mean and the unbiased covariance', () => {
  const rows = [1, 2, 3, 4, 5, 9]; // three rows of 2
  const m = featureMoments(rows, 2);
  assert.deepEqual([...m.mean], [3, 5]);
  // x: 1,3,5 (var 4); y: 2,4,9 (var 13); cov(x, y) = ((-2)(-3) + 0 + 2*4) / 2 = 7
  assert.deepEqual(
    [...m.cov].map((v) => Number(v.toFixed(9))),
    [4, 7, 7, 13],
  );
  assert.throws(() => featureMoments([1, 2], 2), RangeError);
});

test('FD of samples from one Gaussian against its exact moments shrinks with more samples', () => {
  const next = lcg(42);
  const normal = () => Math.sqrt(-2 * Math.log((next() + 1) / 2 + 1e-12)) * Math.cos(Math.PI * next());
  const dim = 4;
  const reference = new FrechetReference(
    momentsFromArrays({
      dim,
      mean: [0, 0, 0, 0],
      cov: [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    }),
  );
  const sampleFd = (count: number) => reference.distanceOfFeatures(Array.from({ length: count * dim }, normal));
  assert.ok(sampleFd(4000) < sampleFd(40));
});
