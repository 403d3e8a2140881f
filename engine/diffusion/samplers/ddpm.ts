/**
 * DDPM ancestral sampling (Ho et al. 2020) over arbitrary timestep jumps: sample the
 * posterior q(x_next | x_t, x0 = predicted x0) with diffusers' "fixed_small" variance.
 */
import Type, { type Static } from 'typebox';
import { initBaseState, stepContext, type Sampler, type SamplerState } from './types.ts';

export const DdpmOptionsSchema = Type.Object({});
export type DdpmOptions = Static<typeof DdpmOptionsSchema>;

export const ddpmSampler: Sampler<DdpmOptions, SamplerState> = {
  name: 'ddpm',
  description: 'DDPM ancestral sampler (posterior mean plus fresh noise each step).',
  stochastic: true,
  optionsSchema: DdpmOptionsSchema,
  init: (args) => initBaseState(args),
  step(state, modelOutput, noise) {
    const { current, next, x0 } = stepContext(state, modelOutput);
    // Treat the jump current -> next as one DDPM transition with beta = 1 - abar / abar_next.
    const stepAlphaCumprod = current.alphaCumprod / next.alphaCumprod;
    const beta = 1 - stepAlphaCumprod;
    const x0Coefficient = (next.alpha * beta) / (1 - current.alphaCumprod);
    const xtCoefficient = (Math.sqrt(stepAlphaCumprod) * (1 - next.alphaCumprod)) / (1 - current.alphaCumprod);
    const noiseStd = Math.sqrt(Math.max(0, (beta * (1 - next.alphaCumprod)) / (1 - current.alphaCumprod)));
    const z = noiseStd > 0 ? noise(x0.length) : undefined;
    const x = new Float32Array(x0.length);
    for (let i = 0; i < x.length; i++) {
      x[i] = x0Coefficient * x0[i] + xtCoefficient * state.x[i] + (z === undefined ? 0 : noiseStd * z[i]);
    }
    return { state: { ...state, x, step: state.step + 1 }, predictedX0: x0 };
  },
};
