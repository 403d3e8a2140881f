/**
 * A per-step, per-block gate whose parameters are learned (by policy gradient, engine/rl).
 *
 * Parameters: a plain JSON object, `LearnedGateParams`:
 *   { kind: 'learned',
 *     logits: number[][],        // [step][block]: logit of P(run) for the conditional half
 *     uncondLogits?: number[][], // the same for the unconditional (guidance) half; absent: as cond
 *     skipAction: 'drop' | 'reuse' }  // what "not run" means
 * Rows are stretched over runs with another step count (see rowForStep).
 *
 * Use for learning (one action per rollout: a whole mask):
 *   const mask = sampleGateMask(params, random)          // Bernoulli(sigmoid(logit)) per entry
 *   run with createSkipSettings(maskConfig(mask)) ...    // a static mask: replayable, cacheable
 *   gateLogProb(params, mask)                            // log pi(mask); sum over entries
 *   gateLogProbGradient(params, mask)                    // d log pi / d logits = ran - sigmoid(logit)
 * Use for inference: `greedyGateMask(params)` runs a block iff its logit >= 0 (P(run) >= 0.5);
 * SkipGate's 'learned' mode does exactly that.
 */
import Type from 'typebox';
import { formatRows } from './mask.ts';
import type { BlockAction } from './policy.ts';

const LogitTable = Type.Array(Type.Array(Type.Number()), { minItems: 1 });

export const LearnedGateParams = Type.Object(
  {
    kind: Type.Literal('learned'),
    logits: LogitTable,
    uncondLogits: Type.Optional(LogitTable),
    skipAction: Type.Union([Type.Literal('drop'), Type.Literal('reuse')]),
  },
  { description: 'Learned per-step, per-block gates: logits of P(run).' },
);
export type LearnedGateParams = Type.Static<typeof LearnedGateParams>;

/** A sampled (or greedy) decision: which blocks run, per step, for each half. */
export interface GateMask {
  cond: BlockAction[][];
  uncond?: BlockAction[][];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** log(sigmoid(x)), stable for large |x|. */
const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** Parameters that run every block with probability `runProbability` (a starting point for learning). */
export function initialGateParams(steps: number, blocks: number, runProbability = 0.95, skipAction: 'drop' | 'reuse' = 'drop', withUncond = true): LearnedGateParams {
  const logit = Math.log(runProbability / (1 - runProbability));
  const table = () => Array.from({ length: steps }, () => new Array<number>(blocks).fill(logit));
  return { kind: 'learned', logits: table(), ...(withUncond ? { uncondLogits: table() } : {}), skipAction };
}

export function gateProbabilities(logits: readonly (readonly number[])[]): number[][] {
  return logits.map((row) => row.map(sigmoid));
}

export function sampleGateMask(params: LearnedGateParams, random: () => number): GateMask {
  const sample = (logits: number[][]) => logits.map((row) => row.map((logit): BlockAction => (random() < sigmoid(logit) ? 'run' : params.skipAction)));
  return { cond: sample(params.logits), ...(params.uncondLogits ? { uncond: sample(params.uncondLogits) } : {}) };
}

export function greedyGateMask(params: LearnedGateParams): GateMask {
  const greedy = (logits: number[][]) => logits.map((row) => row.map((logit): BlockAction => (logit >= 0 ? 'run' : params.skipAction)));
  return { cond: greedy(params.logits), ...(params.uncondLogits ? { uncond: greedy(params.uncondLogits) } : {}) };
}

/** log pi(mask | params): independent Bernoulli gates. */
export function gateLogProb(params: LearnedGateParams, mask: GateMask): number {
  const table = (logits: number[][], actions: BlockAction[][]) =>
    logits.reduce((total, row, s) => total + row.reduce((sum, logit, b) => sum + (actions[s][b] === 'run' ? logSigmoid(logit) : logSigmoid(-logit)), 0), 0);
  let total = table(params.logits, mask.cond);
  if (params.uncondLogits && mask.uncond) total += table(params.uncondLogits, mask.uncond);
  return total;
}

/** d log pi(mask) / d logits, shaped like the parameters. */
export function gateLogProbGradient(params: LearnedGateParams, mask: GateMask): { logits: number[][]; uncondLogits?: number[][] } {
  const table = (logits: number[][], actions: BlockAction[][]) => logits.map((row, s) => row.map((logit, b) => (actions[s][b] === 'run' ? 1 : 0) - sigmoid(logit)));
  return { logits: table(params.logits, mask.cond), ...(params.uncondLogits && mask.uncond ? { uncondLogits: table(params.uncondLogits, mask.uncond) } : {}) };
}

/** The mask as SkipGate's mask widgets write it. */
export function formatGateMask(mask: GateMask): { mask: string; uncond_mask: string } {
  return { mask: formatRows(mask.cond), uncond_mask: mask.uncond ? formatRows(mask.uncond) : '' };
}
