/** Skip policies and compute accounting: pure, no graph imports. */
export * from './policy.ts';
export { ComputeAccount, type ComputeSummary, type SegmentFlops, type StepAccount, type EvaluationRecord } from './accounting.ts';
export { MaskPolicyConfig, MaskRow, MaskRows, maskPolicy, maskIssues, parseMaskRows, splitRows, formatRows } from './mask.ts';
export { ChangePolicyConfig, changePolicy, relativeChange } from './change.ts';
export { LearnedGateParams, initialGateParams, gateProbabilities, sampleGateMask, greedyGateMask, gateLogProb, gateLogProbGradient, formatGateMask, type GateMask } from './learned.ts';
export { SkipConfig, GuidanceConfig, NoSkipConfig, skipConfigIssues, createSkipSettings, describeSkipConfig, type SkipConfigIssue } from './settings.ts';
export { ModelRunner, type EvaluateInfo } from './runner.ts';
