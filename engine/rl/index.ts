/** Learning (no graph imports): Gaussian policies, Bernoulli gates, Adam, group-normalised policy gradient, the schedule action space. */
export { logProb, gradLogProb } from './gaussian-policy.ts';
export { gateBits, greedyGateBits, gateLogProb, gradGateLogProb } from './bernoulli-policy.ts';
export { initialState, groupAdvantages, policyGradient, jointLogProb, train, finalAction, type PolicyTask } from './trainer.ts';
export { actionSize, decodeSchedule, encodeSchedule } from './schedule-policy.ts';
export { parseLearnedSchedule, type LearnedSchedule } from './learned-schedule.ts';
