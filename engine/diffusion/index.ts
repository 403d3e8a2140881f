/** Public API of the diffusion math: schedules, spacings, predictions, samplers, guidance, noise. */
export { DiffusionError, type DiffusionErrorCode } from './errors.ts';
export {
  CLEAN_TIMESTEP,
  CosineScheduleSchema,
  LinearScheduleSchema,
  NoiseScheduleSchema,
  alphaAt,
  alphaCumprod,
  karrasSigmaAt,
  logSnr,
  maxTimestep,
  parseNoiseSchedule,
  schedulePoint,
  sigmaAt,
  timestepForLogSnr,
  type CosineSchedule,
  type LinearSchedule,
  type NoiseSchedule,
  type SchedulePoint,
} from './schedule.ts';
export {
  SPACING_NAMES,
  SpacingSchema,
  computeTimesteps,
  explicitTimesteps,
  karrasTimesteps,
  leadingTimesteps,
  linspaceTimesteps,
  logSnrTimesteps,
  roundHalfToEven,
  trailingTimesteps,
  validateTimesteps,
  type Spacing,
  type SpacingName,
} from './spacing.ts';
export {
  PREDICTION_TYPES,
  PredictionTypeSchema,
  addNoise,
  denoisedFromModelOutput,
  modelOutputFromDenoised,
  type DenoisedPair,
  type PredictionType,
} from './prediction.ts';
export { NormalStream, batchNormalNoise, type NormalNoise } from './rng.ts';
export { applyClassifierFreeGuidance, doubleBatch, guidanceLabels, guidanceScaleAt, needsUnconditional } from './guidance.ts';
export {
  currentTimestep,
  isFinished,
  type Sampler,
  type SamplerInitArgs,
  type SamplerState,
  type SamplerStepResult,
} from './samplers/types.ts';
export { SAMPLER_NAMES, getSampler, isSamplerName, resolveSamplerOptions, samplerTakesEta, samplers, type AnySampler, type SamplerName } from './samplers.ts';
export { ddimSampler, DdimOptionsSchema, type DdimOptions } from './samplers/ddim.ts';
export { ddpmSampler, DdpmOptionsSchema } from './samplers/ddpm.ts';
export { eulerSampler, EulerOptionsSchema } from './samplers/euler.ts';
export { eulerAncestralSampler, EulerAncestralOptionsSchema, type EulerAncestralOptions } from './samplers/eulerAncestral.ts';
export { dpmSolverPlusPlus2mSampler, DpmSolverPlusPlus2mOptionsSchema } from './samplers/dpmSolverPlusPlus2m.ts';
