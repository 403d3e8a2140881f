import ort from 'onnxruntime-node';

/** A float32 tensor as the rest of the engine sees it: a flat array and its dims, batch first. */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Class labels in any integer form; onnxruntime wants int64. */
export type Labels = BigInt64Array | Int32Array | readonly number[];

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

export function toFloatTensor(value: ort.Tensor, what: string): FloatTensor {
  if (value.type !== 'float32') throw new TypeError(`${what}: expected float32, got ${value.type}`);
  return { data: value.data as Float32Array, dims: value.dims };
}

export function ortFloat(tensor: FloatTensor): ort.Tensor {
  return new ort.Tensor('float32', tensor.data, tensor.dims);
}

export function labelsToInt64(labels: Labels): BigInt64Array {
  if (labels instanceof BigInt64Array) return labels;
  const out = new BigInt64Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = BigInt(labels[i]);
  return out;
}

export function softmax(logits: Float32Array, classes: number): Float32Array {
  const probabilities = new Float32Array(logits.length);
  for (let row = 0; row < logits.length / classes; row++) {
    const offset = row * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[offset + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += probabilities[offset + k] = Math.exp(logits[offset + k] - max);
    for (let k = 0; k < classes; k++) probabilities[offset + k] /= sum;
  }
  return probabilities;
}
