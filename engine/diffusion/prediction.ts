/**
 * What the network predicts, and the conversions to the (x0, eps) pair every sampler works
 * with. VP parameterisation: x_t = alpha x0 + sigma eps, v = alpha eps - sigma x0.
 */
import Type from 'typebox';
import { DiffusionError } from './errors.ts';

export const PREDICTION_TYPES = ['v', 'eps', 'x0'] as const;
export const PredictionTypeSchema = Type.Union(
  PREDICTION_TYPES.map((name) => Type.Literal(name)),
  {
    description: 'What the model outputs: v (velocity), eps (noise) or x0 (clean sample).',
  },
);
export type PredictionType = (typeof PREDICTION_TYPES)[number];

export interface DenoisedPair {
  x0: Float32Array;
  eps: Float32Array;
}

/** Converts a model output at (xt, alpha, sigma) to predicted clean sample and noise. */
export function denoisedFromModelOutput(prediction: PredictionType, xt: Float32Array, modelOutput: Float32Array, alpha: number, sigma: number): DenoisedPair {
  if (modelOutput.length !== xt.length) {
    throw new DiffusionError('shape_mismatch', `model output has ${modelOutput.length} values, sample has ${xt.length}`, 'modelOutput');
  }
  const x0 = new Float32Array(xt.length);
  const eps = new Float32Array(xt.length);
  for (let i = 0; i < xt.length; i++) {
    const x = xt[i];
    const out = modelOutput[i];
    if (prediction === 'v') {
      // alpha^2 + sigma^2 = 1 inverts v = alpha eps - sigma x0 without division
      x0[i] = alpha * x - sigma * out;
      eps[i] = sigma * x + alpha * out;
    } else if (prediction === 'eps') {
      eps[i] = out;
      x0[i] = (x - sigma * out) / alpha;
    } else {
      x0[i] = out;
      eps[i] = (x - alpha * out) / sigma;
    }
  }
  return { x0, eps };
}

/** The inverse: what a perfect model of the given prediction type would output. */
export function modelOutputFromDenoised(prediction: PredictionType, x0: Float32Array, eps: Float32Array, alpha: number, sigma: number): Float32Array {
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    out[i] = prediction === 'v' ? alpha * eps[i] - sigma * x0[i] : prediction === 'eps' ? eps[i] : x0[i];
  }
  return out;
}

/** x_t = alpha x0 + sigma noise (forward process; used for img2img and tests). */
export function addNoise(x0: Float32Array, noise: Float32Array, alpha: number, sigma: number): Float32Array {
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = alpha * x0[i] + sigma * noise[i];
  return out;
}
