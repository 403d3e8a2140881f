/**
 * The graph trainer: learns a workflow's learnable nodes (a StepScheduler's schedule, SkipGate's
 * gates) as one policy against its reward, by the roles nodes declare (roles.ts). Every caller
 * uses this entry: `fewstep train`, the server's POST /train (the editor's Train button), bench/.
 */
export { TrainingError } from './errors.ts';
export { DEFAULT_TRAIN_SETTINGS, resolveTrainSettings, type TrainSettings } from './settings.ts';
export { planTraining } from './plan.ts';
export { trainWorkflow, type TrainOptions, type TrainResult, type TrainSetup } from './train.ts';
export { workflowSampling } from './sampling.ts';
export { rewardCurvePng } from './reward-curve.ts';
export type { TrainerState, TrainProgress } from '../rl/trainer.ts';
