/**
 * DPM-Solver++(2M) (Lu et al. 2022), diffusers' DPMSolverMultistepScheduler with
 * algorithm "dpmsolver++", solver_order 2, "midpoint" update, final sigma zero: a
 * multistep data-prediction solver in lambda = log(alpha / sigma) (half the log-SNR).
 * The first step is first order (no history yet), and so is the last: the step to
 * sigma = 0 has h = infinity, where the first-order update returns x0 exactly.
 */
import Type, { type Static } from 'typebox';
import { initBaseState, stepContext, type Sampler, type SamplerState } from './types.ts';

export const DpmSolverPlusPlus2mOptionsSchema = Type.Object({});
export type DpmSolverPlusPlus2mOptions = Static<typeof DpmSolverPlusPlus2mOptionsSchema>;

export interface DpmSolverPlusPlus2mState extends SamplerState {
  /** x0 prediction and lambda of the previous step, for the second-order correction. */
  readonly previousX0: Float32Array | undefined;
  readonly previousLambda: number;
}

export const dpmSolverPlusPlus2mSampler: Sampler<DpmSolverPlusPlus2mOptions, DpmSolverPlusPlus2mState> = {
  name: 'dpmpp_2m',
  description: 'DPM-Solver++(2M): second-order multistep ODE solver; the best deterministic few-step choice.',
  stochastic: false,
  optionsSchema: DpmSolverPlusPlus2mOptionsSchema,
  init: (args) => ({ ...initBaseState(args), previousX0: undefined, previousLambda: NaN }),
  step(state, modelOutput) {
    const { current, next, x0, isLastStep } = stepContext(state, modelOutput);
    const lambda = current.logSnr / 2;
    const lambdaNext = next.logSnr / 2;
    const h = lambdaNext - lambda;
    const sigmaRatio = next.sigma / current.sigma;
    // alpha_next * (1 - e^-h); equals 1 when stepping to clean (h = inf, alpha_next = 1)
    const x0Weight = next.alpha * -Math.expm1(-h);
    // r = 0 happens where a clipped schedule is flat (equal log-SNR at both steps): no slope to use
    const r = (lambda - state.previousLambda) / h;
    const useSecondOrder = state.previousX0 !== undefined && !isLastStep && r > 0 && Number.isFinite(r);
    const x = new Float32Array(x0.length);
    if (useSecondOrder) {
      const previousX0 = state.previousX0 as Float32Array;
      const correction = 0.5 / r;
      for (let i = 0; i < x.length; i++) {
        const d1 = x0[i] - previousX0[i];
        x[i] = sigmaRatio * state.x[i] + x0Weight * (x0[i] + correction * d1);
      }
    } else {
      for (let i = 0; i < x.length; i++) x[i] = sigmaRatio * state.x[i] + x0Weight * x0[i];
    }
    // the caller gets its own copy: previews may clamp it in place without touching our history
    return { state: { ...state, x, step: state.step + 1, previousX0: x0, previousLambda: lambda }, predictedX0: Float32Array.from(x0) };
  },
};
