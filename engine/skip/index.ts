/**
 * Skip policies and compute accounting (pure; no graph imports).
 *
 * A sampling run asks, per step, block and batch element: run the block, reuse the residual it
 * produced when it last ran, drop it (identity), or, for the unconditional half of a guided
 * batch, share the residual its conditional partner got at this step. Per step it also asks how
 * to get the unconditional half at all: run it, skip it (guidance off that step), or reuse the
 * last guidance direction (in model-output or clean-image units).
 *
 *   SkipConfig (JSON, TypeBox schema)  -- createSkipSettings(config, blocks) -->  SkipSettings
 *   { policy: none | mask | change | learned, guidance?: { uncondRows?, uncondPass? } }
 *
 * SkipSettings ride on a MODEL handle (SkipGate makes them); ModelRunner (one per sampling run)
 * applies them and keeps that run's residual caches and its ComputeAccount, so nothing carries
 * over between runs. Learned gates (learned.ts) are learned as Bernoulli gates by engine/rl;
 * see the comment at the top of that file.
 */
export * from './policy.ts';
export { ComputeAccount } from './accounting.ts';
export { maskPolicy, parseMaskRows, splitRows, formatRows } from './mask.ts';
export { ChangePolicyConfig, changePolicy } from './change.ts';
export { LearnedGateParams, greedyGateMask } from './learned.ts';
export { SkipConfig, skipConfigIssues, createSkipSettings } from './settings.ts';
export { ModelRunner } from './runner.ts';
