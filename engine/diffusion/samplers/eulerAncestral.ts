/**
 * Euler ancestral (k-diffusion sample_euler_ancestral; diffusers EulerAncestralDiscrete):
 * an Euler step down to sigma_down, then fresh noise of size sigma_up, in VE sigma space.
 * eta scales sigma_up (1 = standard ancestral, 0 = plain Euler).
 */
import Type, { type Static } from 'typebox';
import { checkEtaPerStep, etaAt, initBaseState, stepContext, type Sampler, type SamplerState } from './types.ts';

export const EulerAncestralOptionsSchema = Type.Object({
  eta: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'Ancestral noise amount: 1 standard, 0 deterministic Euler' })),
  etaPerStep: Type.Optional(Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { description: 'Overrides eta per step (length = steps)' })),
  noiseScale: Type.Optional(Type.Number({ minimum: 0, default: 1, description: "k-diffusion's s_noise" })),
});
export type EulerAncestralOptions = Static<typeof EulerAncestralOptionsSchema>;

export interface EulerAncestralState extends SamplerState {
  readonly options: EulerAncestralOptions;
}

export const eulerAncestralSampler: Sampler<EulerAncestralOptions, EulerAncestralState> = {
  name: 'euler_ancestral',
  description: 'Euler ancestral: Euler step to sigma_down, then fresh noise sigma_up.',
  stochastic: true,
  optionsSchema: EulerAncestralOptionsSchema,
  init(args) {
    checkEtaPerStep(args.options, args.timesteps.length);
    return { ...initBaseState(args), options: args.options };
  },
  step(state, modelOutput, noise) {
    const { current, next, x0, eps } = stepContext(state, modelOutput);
    const eta = etaAt(state.options, state.step, 1);
    const sigma = current.sigma / current.alpha;
    const sigmaNext = next.sigma / next.alpha;
    const sigmaUp = Math.min(sigmaNext, eta * Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2));
    const sigmaDown = Math.sqrt(Math.max(0, sigmaNext ** 2 - sigmaUp ** 2));
    const noiseStd = sigmaUp * (state.options.noiseScale ?? 1);
    const z = noiseStd > 0 ? noise(x0.length) : undefined;
    const x = new Float32Array(x0.length);
    for (let i = 0; i < x.length; i++) {
      // x_ve + d (sigma_down - sigma) with d = (x_ve - x0) / sigma = eps
      const xVe = x0[i] + sigmaDown * eps[i] + (z === undefined ? 0 : noiseStd * z[i]);
      x[i] = xVe * next.alpha;
    }
    return { state: { ...state, x, step: state.step + 1 }, predictedX0: x0 };
  },
};
