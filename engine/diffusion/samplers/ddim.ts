/**
 * DDIM (Song et al. 2021), diffusers' DDIMScheduler with final_alpha_cumprod = 1:
 * x_next = alpha_next x0 + sqrt(1 - abar_next - s^2) eps + s z, where
 * s = eta * sqrt((1 - abar_next) / (1 - abar)) * sqrt(1 - abar / abar_next).
 * eta = 0 is the deterministic probability-flow sampler; eta = 1 equals DDPM's posterior.
 */
import Type, { type Static } from 'typebox';
import { checkEtaPerStep, etaAt, initBaseState, stepContext, type Sampler, type SamplerState } from './types.ts';

export const DdimOptionsSchema = Type.Object({
  eta: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Stochasticity: 0 deterministic, 1 DDPM-like' })),
  etaPerStep: Type.Optional(Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { description: 'Overrides eta per step (length = steps)' })),
});
export type DdimOptions = Static<typeof DdimOptionsSchema>;

export interface DdimState extends SamplerState {
  readonly options: DdimOptions;
}

export const ddimSampler: Sampler<DdimOptions, DdimState> = {
  name: 'ddim',
  description: 'DDIM; eta = 0 deterministic, eta > 0 adds fresh noise each step.',
  stochastic: true,
  optionsSchema: DdimOptionsSchema,
  init(args) {
    checkEtaPerStep(args.options, args.timesteps.length);
    return { ...initBaseState(args), options: args.options };
  },
  step(state, modelOutput, noise) {
    const { current, next, x0, eps } = stepContext(state, modelOutput);
    const eta = etaAt(state.options, state.step, 0);
    const posteriorVariance = ((1 - next.alphaCumprod) / (1 - current.alphaCumprod)) * (1 - current.alphaCumprod / next.alphaCumprod);
    const noiseStd = eta * Math.sqrt(Math.max(0, posteriorVariance));
    const epsScale = Math.sqrt(Math.max(0, 1 - next.alphaCumprod - noiseStd * noiseStd));
    const z = noiseStd > 0 ? noise(x0.length) : undefined;
    const x = new Float32Array(x0.length);
    for (let i = 0; i < x.length; i++) {
      x[i] = next.alpha * x0[i] + epsScale * eps[i] + (z === undefined ? 0 : noiseStd * z[i]);
    }
    return { state: { ...state, x, step: state.step + 1 }, predictedX0: x0 };
  },
};
