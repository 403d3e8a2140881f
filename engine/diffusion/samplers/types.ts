/**
 * The one contract every sampler follows. The sampler never sees the model: the caller
 * evaluates the model on `state.x` at `currentTimestep(state)` and passes the output to
 * `step`. All math is element-wise over a flat Float32Array, so batch size is the caller's.
 */
import type { TSchema } from 'typebox';
import { DiffusionError } from '../errors.ts';
import { denoisedFromModelOutput, type DenoisedPair, type PredictionType } from '../prediction.ts';
import type { NormalNoise } from '../rng.ts';
import { CLEAN_TIMESTEP, schedulePoint, type NoiseSchedule, type SchedulePoint } from '../schedule.ts';

export interface SamplerState {
  /** The current sample: exactly what the model receives at currentTimestep(state). */
  readonly x: Float32Array;
  /** Index into timesteps of the next model evaluation; === timesteps.length when done. */
  readonly step: number;
  readonly timesteps: readonly number[];
  readonly schedule: NoiseSchedule;
  readonly prediction: PredictionType;
}

export interface SamplerInitArgs<Options> {
  /** Standard-normal noise (length = batch * element size); init scales it as the sampler needs. */
  noise: Float32Array;
  /** Strictly descending model timesteps; the final step always goes to CLEAN_TIMESTEP. */
  timesteps: readonly number[];
  schedule: NoiseSchedule;
  prediction: PredictionType;
  options: Options;
}

export interface SamplerStepResult<State extends SamplerState> {
  state: State;
  /** The model's clean-sample estimate at this step (for previews and rewards). */
  predictedX0: Float32Array;
}

export interface Sampler<Options, State extends SamplerState = SamplerState> {
  /** Registry name, ComfyUI-style (e.g. "dpmpp_2m"). */
  readonly name: string;
  readonly description: string;
  /** True when step draws from the noise source (for some options). */
  readonly stochastic: boolean;
  readonly optionsSchema: TSchema;
  init(args: SamplerInitArgs<Options>): State;
  step(state: State, modelOutput: Float32Array, noise: NormalNoise): SamplerStepResult<State>;
}

/** Timestep the model must be evaluated at next. */
export function currentTimestep(state: SamplerState): number {
  if (isFinished(state)) throw new DiffusionError('sampler_finished', 'sampler has no steps left', 'step');
  return state.timesteps[state.step];
}

export function isFinished(state: SamplerState): boolean {
  return state.step >= state.timesteps.length;
}

/** Shared init checks; every VP sampler here starts from x_T = noise (diffusers' init_noise_sigma = 1). */
export function initBaseState<Options>(args: SamplerInitArgs<Options>): SamplerState {
  const { timesteps, schedule } = args;
  if (timesteps.length === 0) throw new DiffusionError('invalid_timesteps', 'timesteps must not be empty', 'timesteps');
  timesteps.forEach((t, i) => {
    if (!Number.isFinite(t) || t < 0 || (i > 0 && !(t < timesteps[i - 1]))) {
      throw new DiffusionError('invalid_timesteps', `timesteps must be finite, >= 0 and strictly descending (index ${i}: ${t})`, `timesteps[${i}]`);
    }
  });
  return { x: Float32Array.from(args.noise), step: 0, timesteps: [...timesteps], schedule, prediction: args.prediction };
}

/** Everything one step needs: schedule at the current and next timestep, and (x0, eps). */
export interface StepContext extends DenoisedPair {
  current: SchedulePoint;
  next: SchedulePoint;
  isLastStep: boolean;
}

export function stepContext(state: SamplerState, modelOutput: Float32Array): StepContext {
  const t = currentTimestep(state);
  const isLastStep = state.step === state.timesteps.length - 1;
  const current = schedulePoint(state.schedule, t);
  const next = schedulePoint(state.schedule, isLastStep ? CLEAN_TIMESTEP : state.timesteps[state.step + 1]);
  return { current, next, isLastStep, ...denoisedFromModelOutput(state.prediction, state.x, modelOutput, current.alpha, current.sigma) };
}

/** Per-step eta: etaPerStep[step] when given, else eta. */
export function etaAt(options: { eta?: number; etaPerStep?: readonly number[] }, step: number, fallback: number): number {
  return options.etaPerStep?.[step] ?? options.eta ?? fallback;
}

export function checkEtaPerStep(options: { etaPerStep?: readonly number[] }, steps: number): void {
  if (options.etaPerStep !== undefined && options.etaPerStep.length !== steps) {
    throw new DiffusionError('invalid_options', `etaPerStep has ${options.etaPerStep.length} entries for ${steps} steps`, 'options.etaPerStep');
  }
}
