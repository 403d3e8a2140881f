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
 * Learning treats each entry as an independent Bernoulli gate (engine/rl/bernoulli-policy.ts);
 * each rollout runs one sampled mask as a static mask policy (engine/rl/schedule-task.ts
 * gateSkipConfig), so it is replayable and cacheable. Inference runs the greedy mask: a block
 * runs iff its logit >= 0 (P(run) >= 0.5); SkipGate's 'learned' mode does exactly that.
 */
import Type from 'typebox';
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

/** Which blocks run, per step, for each half. */
interface GateMask {
  cond: BlockAction[][];
  uncond?: BlockAction[][];
}

export function greedyGateMask(params: LearnedGateParams): GateMask {
  const greedy = (logits: number[][]) => logits.map((row) => row.map((logit): BlockAction => (logit >= 0 ? 'run' : params.skipAction)));
  return { cond: greedy(params.logits), ...(params.uncondLogits ? { uncond: greedy(params.uncondLogits) } : {}) };
}
