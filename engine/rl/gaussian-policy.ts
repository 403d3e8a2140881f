/**
 * A diagonal Gaussian policy over a parameter vector: action a ~ N(mean, exp(logStd)^2).
 * What the action means (a schedule, guidance scales, ...) is the task's business; this module
 * only samples, scores and differentiates, so the policy gradient is exact and testable.
 */
export interface GaussianPolicyParams {
  mean: number[];
  logStd: number[];
}

const LOG_2PI = Math.log(2 * Math.PI);

export function logProb(params: GaussianPolicyParams, action: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < params.mean.length; i++) {
    const std = Math.exp(params.logStd[i]);
    const z = (action[i] - params.mean[i]) / std;
    sum += -0.5 * z * z - params.logStd[i] - 0.5 * LOG_2PI;
  }
  return sum;
}

/** d log p(action) / d mean and d / d logStd. */
export function gradLogProb(params: GaussianPolicyParams, action: ArrayLike<number>): { mean: Float64Array; logStd: Float64Array } {
  const n = params.mean.length;
  const mean = new Float64Array(n);
  const logStd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const variance = Math.exp(2 * params.logStd[i]);
    const diff = action[i] - params.mean[i];
    mean[i] = diff / variance;
    logStd[i] = (diff * diff) / variance - 1;
  }
  return { mean, logStd };
}

/** Actions mean + std * noise for each noise vector (the caller draws the noise, e.g. antithetic pairs). */
export function actionFor(params: GaussianPolicyParams, noise: ArrayLike<number>): Float64Array {
  return Float64Array.from(params.mean, (m, i) => m + Math.exp(params.logStd[i]) * noise[i]);
}
