/**
 * Euler on the probability-flow ODE in VE sigma space (Karras et al. 2022; diffusers'
 * EulerDiscreteScheduler without churn). The state stays in VP space (the model's input);
 * we convert x_ve = x / alpha, step dx/dsigma = (x_ve - x0) / sigma, and convert back.
 * Algebraically this is DDIM with eta = 0 (x_ve_next = x0 + sigma_next eps), as in diffusers.
 */
import Type, { type Static } from 'typebox';
import { initBaseState, stepContext, type Sampler, type SamplerState } from './types.ts';

export const EulerOptionsSchema = Type.Object({});
export type EulerOptions = Static<typeof EulerOptionsSchema>;

export const eulerSampler: Sampler<EulerOptions, SamplerState> = {
  name: 'euler',
  description: 'Euler on the probability-flow ODE in Karras sigma space (deterministic).',
  stochastic: false,
  optionsSchema: EulerOptionsSchema,
  init: (args) => initBaseState(args),
  step(state, modelOutput) {
    const { current, next, x0 } = stepContext(state, modelOutput);
    const sigma = current.sigma / current.alpha;
    const sigmaNext = next.sigma / next.alpha;
    const x = new Float32Array(x0.length);
    for (let i = 0; i < x.length; i++) {
      const xVe = state.x[i] / current.alpha;
      const derivative = (xVe - x0[i]) / sigma;
      x[i] = (xVe + derivative * (sigmaNext - sigma)) * next.alpha;
    }
    return { state: { ...state, x, step: state.step + 1 }, predictedX0: x0 };
  },
};
