/** Learning (no graph imports): Gaussian policies, Bernoulli gates, Adam, group-normalised policy gradient, the schedule action space. */
export { logProb, gradLogProb, actionFor, type GaussianPolicyParams } from './gaussian-policy.ts';
export { gateBits, greedyGateBits, gateLogProb, gradGateLogProb } from './bernoulli-policy.ts';
export { adamInit, adamAscend, type AdamState, type AdamOptions } from './adam.ts';
export { SeededRandom } from './random.ts';
export {
  TrainerOptionsSchema, trainerOptions, initialState, groupAdvantages, policyGradient, jointLogProb, greedyAction, train, finalAction,
  type JointPolicyParams, type TrainerOptions, type PolicyTask, type TrainerState, type HistoryEntry, type TrainProgress,
} from './trainer.ts';
export { ScheduleSpaceSchema, actionSize, decodeSchedule, encodeSchedule, type ScheduleSpace, type DecodedSchedule } from './schedule-policy.ts';
export { LearnedScheduleSchema, parseLearnedSchedule, type LearnedSchedule } from './learned-schedule.ts';
