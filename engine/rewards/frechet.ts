/**
 * Frechet distance between Gaussians fitted to feature sets (FID's formula, here on the model's
 * own classifier features):
 *   FD = |m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1^1/2 S2 S1^1/2)
 * The trace term uses the symmetric form sqrt(S1) S2 sqrt(S1), whose eigenvalues are those of
 * S1 S2, so one symmetric eigendecomposition gives it exactly (no non-symmetric sqrtm).
 */
import { matmul, sqrtPsd, symmetricEigen, trace } from './linalg.ts';

export interface FeatureMoments {
  readonly dim: number;
  /** How many feature vectors the moments came from. */
  readonly n: number;
  readonly mean: Float64Array;
  /** dim x dim, row-major. */
  readonly cov: Float64Array;
}

/** Mean and unbiased covariance (divides by n - 1, as numpy.cov) of `n` feature rows of length dim. */
export function featureMoments(features: ArrayLike<number>, dim: number): FeatureMoments {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`need at least 2 feature rows of ${dim} values, got ${features.length} values`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let i = 0; i < dim; i++) mean[i] += features[r * dim + i];
  for (let i = 0; i < dim; i++) mean[i] /= n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < dim; i++) centred[i] = features[r * dim + i] - mean[i];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      for (let j = i; j < dim; j++) cov[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = cov[i * dim + j] / (n - 1);
      cov[i * dim + j] = value;
      cov[j * dim + i] = value;
    }
  }
  return { dim, n, mean, cov };
}

/** Moments from plain arrays (e.g. classifier-stats.json: mean[], cov[][]). */
export function momentsFromArrays(stats: { dim: number; n?: number; mean: readonly number[]; cov: readonly (readonly number[])[] }): FeatureMoments {
  const { dim } = stats;
  if (stats.mean.length !== dim || stats.cov.length !== dim || stats.cov.some((row) => row.length !== dim)) {
    throw new RangeError(`feature statistics must have a mean of ${dim} and a ${dim}x${dim} covariance`);
  }
  return { dim, n: stats.n ?? 0, mean: Float64Array.from(stats.mean), cov: Float64Array.from(stats.cov.flat()) };
}

/**
 * A fixed reference distribution (the test split's statistics): its covariance square root is
 * computed once, so each distance costs two matrix products and one eigendecomposition.
 */
export class FrechetReference {
  readonly #sqrtCov: Float64Array;
  readonly #traceCov: number;

  constructor(readonly moments: FeatureMoments) {
    this.#sqrtCov = sqrtPsd(moments.cov, moments.dim);
    this.#traceCov = trace(moments.cov, moments.dim);
  }

  /** FD of `other` against this reference. */
  distance(other: FeatureMoments): number {
    const { dim } = this.moments;
    if (other.dim !== dim) throw new RangeError(`feature dimension ${other.dim} does not match the reference's ${dim}`);
    let meanTerm = 0;
    for (let i = 0; i < dim; i++) meanTerm += (this.moments.mean[i] - other.mean[i]) ** 2;
    const product = matmul(matmul(this.#sqrtCov, other.cov, dim), this.#sqrtCov, dim);
    // Symmetrise against round-off before the symmetric solver.
    for (let i = 0; i < dim; i++) {
      for (let j = i + 1; j < dim; j++) {
        const value = (product[i * dim + j] + product[j * dim + i]) / 2;
        product[i * dim + j] = value;
        product[j * dim + i] = value;
      }
    }
    const { values } = symmetricEigen(product, dim);
    let traceSqrt = 0;
    for (const value of values) traceSqrt += Math.sqrt(Math.max(value, 0));
    // FD is a squared distance: clip tiny negative round-off to 0.
    return Math.max(0, meanTerm + this.#traceCov + trace(other.cov, dim) - 2 * traceSqrt);
  }

  /** FD of a batch of feature rows against this reference. */
  distanceOfFeatures(features: ArrayLike<number>): number {
    return this.distance(featureMoments(features, this.moments.dim));
  }
}

/** FD between two sets of moments (computes the square root of a's covariance each call). */
export function frechetDistance(a: FeatureMoments, b: FeatureMoments): number {
  return new FrechetReference(a).distance(b);
}
