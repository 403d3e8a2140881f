/**
 * Independent Bernoulli gates (e.g. SkipGate's run/skip per step and block): gate j is 1 with
 * probability sigmoid(logit_j). Like gaussian-policy.ts, this module only samples, scores and
 * differentiates; what a gate means is the task's business.
 */
import { logSigmoid, sigmoid } from '../math.ts';

/** Gate bits from uniforms in [0, 1): 1 where u < sigmoid(logit) (the caller draws u, e.g. mirrored pairs u, 1 - u). */
export function gateBits(logits: readonly number[], uniforms: ArrayLike<number>): number[] {
  return logits.map((logit, j) => (uniforms[j] < sigmoid(logit) ? 1 : 0));
}

/** Each gate at its likelier value: 1 iff logit >= 0 (P(1) >= 0.5). */
export function greedyGateBits(logits: readonly number[]): number[] {
  return logits.map((logit) => (logit >= 0 ? 1 : 0));
}

/** log p(bits): the sum of log sigmoid(logit) over gates that are 1 and log sigmoid(-logit) over the others. */
export function gateLogProb(logits: readonly number[], bits: ArrayLike<number>): number {
  return logits.reduce((total, logit, j) => total + (bits[j] === 1 ? logSigmoid(logit) : logSigmoid(-logit)), 0);
}

/** d log p(bits) / d logits = bit - sigmoid(logit). */
export function gradGateLogProb(logits: readonly number[], bits: ArrayLike<number>): Float64Array {
  return Float64Array.from(logits, (logit, j) => bits[j] - sigmoid(logit));
}
