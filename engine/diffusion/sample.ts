/**
 * A reference sampling loop over any sampler, for callers that can hand in the model as a
 * function (tests, benches, simple nodes). The model callback may be sync or async;
 * cancellation is checked between steps.
 */
import type { NormalNoise } from './rng.ts';
import { currentTimestep, isFinished, type Sampler, type SamplerInitArgs, type SamplerState } from './samplers/types.ts';

/** Evaluates the (guided) model on x at timestep t; returns the raw model output. */
export type DenoiseFunction = (x: Float32Array, t: number, step: number) => Float32Array | Promise<Float32Array>;

export interface SampleHooks {
  signal?: AbortSignal;
  onStep?: (info: { step: number; total: number; t: number; predictedX0: Float32Array }) => void;
}

export async function sample<Options, State extends SamplerState>(
  sampler: Sampler<Options, State>,
  initArgs: SamplerInitArgs<Options>,
  denoise: DenoiseFunction,
  noise: NormalNoise,
  hooks: SampleHooks = {},
): Promise<Float32Array> {
  let state = sampler.init(initArgs);
  while (!isFinished(state)) {
    hooks.signal?.throwIfAborted();
    const t = currentTimestep(state);
    const modelOutput = await denoise(state.x, t, state.step);
    const result = sampler.step(state, modelOutput, noise);
    hooks.onStep?.({ step: state.step, total: state.timesteps.length, t, predictedX0: result.predictedX0 });
    state = result.state;
  }
  return state.x;
}

/** The same loop for a synchronous model; handy in tests and benches. */
export function sampleSync<Options, State extends SamplerState>(
  sampler: Sampler<Options, State>,
  initArgs: SamplerInitArgs<Options>,
  denoise: (x: Float32Array, t: number, step: number) => Float32Array,
  noise: NormalNoise,
): Float32Array {
  let state = sampler.init(initArgs);
  while (!isFinished(state)) {
    const result = sampler.step(state, denoise(state.x, currentTimestep(state), state.step), noise);
    state = result.state;
  }
  return state.x;
}
