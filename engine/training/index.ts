/**
 * The graph trainer: learns a workflow's learnable nodes (a StepScheduler's schedule, SkipGate's
 * gates) as one policy against its reward, by the roles nodes declare (roles.ts). Every caller
 * uses this entry: `fewstep train`, the server's POST /train (the editor's Train button), bench/.
 */
export { TrainingError, type TrainingErrorCode } from './errors.ts';
export { DEFAULT_TRAIN_SETTINGS, TrainSettingsSchema, resolveTrainSettings, type TrainSettings } from './settings.ts';
export { planTraining, type TrainPlan } from './plan.ts';
export { trainWorkflow, type TrainOptions, type TrainResult, type TrainSetup } from './train.ts';
export { workflowSampling, type SamplerInputs, type SamplerRunOptions } from './sampling.ts';
export { rewardCurvePng } from './reward-curve.ts';
export type { GateLogits, GatesRole, RewardRole, SamplerRole, ScheduleRole, TrainingRole } from './roles.ts';
