/** Per-image scores from classifier outputs: confidence in the requested class, and agreement. */

/** Softmax of each row of `logits` ([n, classes]), in float64. */
export function softmaxRows(logits: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let row = 0; row * classes < logits.length; row++) {
    const base = row * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[base + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[base + c] = Math.exp(logits[base + c] - max);
    for (let c = 0; c < classes; c++) out[base + c] /= sum;
  }
  return out;
}

function checkShape(logits: ArrayLike<number>, classes: number, labels: readonly number[]): void {
  if (logits.length !== labels.length * classes) throw new RangeError(`${logits.length} logits do not hold ${labels.length} rows of ${classes} classes`);
  const bad = labels.find((label) => !Number.isInteger(label) || label < 0 || label >= classes);
  if (bad !== undefined) throw new RangeError(`label ${bad} is not one of ${classes} classes`);
}

/** Probability the classifier gives the requested class, per image (in [0, 1]). */
export function classConfidence(logits: ArrayLike<number>, classes: number, labels: readonly number[]): Float64Array {
  checkShape(logits, classes, labels);
  const probabilities = softmaxRows(logits, classes);
  return Float64Array.from(labels, (label, i) => probabilities[i * classes + label]);
}

/** 1 where the classifier's top class is the requested one, else 0, per image. */
export function classAgreement(logits: ArrayLike<number>, classes: number, labels: readonly number[]): Float64Array {
  checkShape(logits, classes, labels);
  return Float64Array.from(labels, (label, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    return best === label ? 1 : 0;
  });
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length === 0 ? NaN : sum / values.length;
}
