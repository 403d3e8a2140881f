/**
 * Exact "models" for data distributions where the optimal denoiser is analytic, so sampler
 * error can be measured without a network. Both are element-wise, like the samplers.
 */
import {
  currentTimestep,
  isFinished,
  modelOutputFromDenoised,
  schedulePoint,
  type NormalNoise,
  type NoiseSchedule,
  type PredictionType,
  type Sampler,
  type SamplerInitArgs,
  type SamplerState,
} from '../../../engine/diffusion/index.ts';

export type Oracle = (x: Float32Array, t: number) => Float32Array;

/** Data is a point mass at `value`: x0 = value exactly, eps = (x - alpha value) / sigma. */
export function pointMassOracle(schedule: NoiseSchedule, prediction: PredictionType, value: number): Oracle {
  return (x, t) => {
    const { alpha, sigma } = schedulePoint(schedule, t);
    const x0 = new Float32Array(x.length).fill(value);
    const eps = x.map((xi) => (xi - alpha * value) / sigma);
    return modelOutputFromDenoised(prediction, x0, eps, alpha, sigma);
  };
}

/**
 * Data is N(mean, std^2): E[x0 | x_t] = mean + alpha std^2 / (abar std^2 + 1 - abar) (x_t - alpha mean).
 */
export function gaussianOracle(schedule: NoiseSchedule, prediction: PredictionType, mean: number, std: number): Oracle {
  return (x, t) => {
    const { alpha, sigma, alphaCumprod } = schedulePoint(schedule, t);
    const gain = (alpha * std * std) / (alphaCumprod * std * std + 1 - alphaCumprod);
    const x0 = x.map((xi) => mean + gain * (xi - alpha * mean));
    const eps = x.map((xi, i) => (xi - alpha * x0[i]) / sigma);
    return modelOutputFromDenoised(prediction, x0, eps, alpha, sigma);
  };
}

export function meanAndStd(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

/** The bare sampling loop over a synchronous oracle (the engine's loop, engine/sampling/generate.ts, runs the model). */
export function sampleSync<Options, State extends SamplerState>(
  sampler: Sampler<Options, State>,
  initArgs: SamplerInitArgs<Options>,
  denoise: (x: Float32Array, t: number, step: number) => Float32Array,
  noise: NormalNoise,
): Float32Array {
  let state = sampler.init(initArgs);
  while (!isFinished(state)) state = sampler.step(state, denoise(state.x, currentTimestep(state), state.step), noise).state;
  return state.x;
}
