/** Small numeric functions several engine modules share (schedules, policies), written once. */

/** The logistic function 1 / (1 + e^-x). */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** log(sigmoid(x)), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** The inverse of sigmoid: log(p / (1 - p)). */
export function logit(p: number): number {
  return Math.log(p / (1 - p));
}
