/**
 * Policy gradient with a group baseline (DDPO/GRPO-style): each iteration draws a group of
 * actions in antithetic pairs, rolls them all out on the same seeds (common random numbers, so
 * reward differences come from the actions, not the noise), normalises rewards within the
 * group (advantage = (r - mean) / std), and takes an Adam step along
 * mean_g advantage_g * grad log p(action_g). Seeded and resumable: the whole state is JSON.
 * Every few iterations the policy's mean is scored on held-out seeds; the best mean by that
 * figure is kept, and training stops early when it stops improving (reward hacking shows up
 * as a training reward that rises while the held-out figure does not).
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { adamAscend, adamInit, type AdamState } from './adam.ts';
import { gateBits, gateLogProb, gradGateLogProb, greedyGateBits } from './bernoulli-policy.ts';
import { actionFor, gradLogProb, logProb, type GaussianPolicyParams } from './gaussian-policy.ts';
import { SeededRandom } from './random.ts';

export const TrainerOptionsSchema = Type.Object({
  iterations: Type.Integer({ minimum: 1, default: 24 }),
  /** Actions per iteration, drawn as antithetic pairs (so even). */
  groupSize: Type.Integer({ minimum: 2, default: 8, multipleOf: 2 }),
  learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.08 }),
  /** Learn the exploration noise too (off: it stays at its initial value). */
  learnStd: Type.Boolean({ default: false }),
  /** Score the mean on held-out seeds every this many iterations (and at the end). 0: never. */
  evaluateEvery: Type.Integer({ minimum: 0, default: 4 }),
  /** Stop after this many held-out evaluations without improvement. 0: never stop early. */
  patience: Type.Integer({ minimum: 0, default: 3 }),
  /** Stop when this many seconds have passed (checked between iterations). 0: no limit. */
  maxSeconds: Type.Number({ minimum: 0, default: 0 }),
});
export type TrainerOptions = Static<typeof TrainerOptionsSchema>;

export function trainerOptions(partial: Partial<TrainerOptions> = {}): TrainerOptions {
  const options = Value.Default(TrainerOptionsSchema, structuredClone(partial)) as TrainerOptions;
  const [error] = [...Value.Errors(TrainerOptionsSchema, options)];
  if (error) throw new RangeError(`trainer option ${error.instancePath.slice(1) || '(root)'}: ${error.message}`);
  return options;
}

/** What a trainer optimises. Higher rewards are better; lower held-out scores are better (e.g. FD). */
export interface PolicyTask {
  /** Rewards of a group of actions, all rolled out on the seeds of `iteration` (common random numbers). */
  rollout(actions: readonly Float64Array[], iteration: number): Promise<number[]>;
  /** A held-out figure for the policy's greedy action (mean; likelier gates), lower = better, on seeds the rollouts never use. */
  heldOut?(action: Float64Array): Promise<number>;
}

export interface HistoryEntry {
  iteration: number;
  /** Mean and best reward of the group (null for the held-out figure before training). */
  reward: number | null;
  bestReward: number | null;
  heldOut?: number;
  seconds: number;
}

/** A Gaussian over the continuous part, plus optional independent Bernoulli gates (logits of 1). */
export interface JointPolicyParams extends GaussianPolicyParams {
  gateLogits?: number[];
}

export interface TrainerState {
  format: 'fewstep-pg/1';
  iteration: number;
  policy: JointPolicyParams;
  adam: AdamState;
  random: number;
  history: HistoryEntry[];
  /** The greedy action with the best held-out figure so far. */
  best: { action: number[]; heldOut: number; iteration: number } | null;
  evaluationsWithoutImprovement: number;
  stopped: null | 'iterations' | 'early-stopping' | 'time' | 'aborted';
}

export interface TrainProgress {
  iteration: number;
  iterations: number;
  /** The group's mean training reward; null before the first iteration. */
  reward: number | null;
  heldOutFd?: number;
}

/**
 * A fresh state. `gateLogits` adds independent Bernoulli gates (e.g. SkipGate's run/skip per
 * step and block) to the action: they follow the Gaussian part in each action vector as 0/1.
 */
export function initialState(
  initialMean: ArrayLike<number>,
  initialStd: number | ArrayLike<number>,
  seed: number,
  gateLogits?: ArrayLike<number>,
): TrainerState {
  const size = initialMean.length;
  const std = (i: number) => (typeof initialStd === 'number' ? initialStd : initialStd[i]);
  const gates = gateLogits ? Array.from(gateLogits) : [];
  return {
    format: 'fewstep-pg/1',
    iteration: 0,
    policy: {
      mean: Array.from(initialMean),
      logStd: Array.from({ length: size }, (_, i) => Math.log(std(i))),
      ...(gates.length > 0 ? { gateLogits: gates } : {}),
    },
    adam: adamInit(2 * size + gates.length),
    random: seed >>> 0,
    history: [],
    best: null,
    evaluationsWithoutImprovement: 0,
    stopped: null,
  };
}

/** Group-normalised advantages; all zero when every reward is the same. */
export function groupAdvantages(rewards: readonly number[]): number[] {
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const variance = rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / rewards.length;
  const std = Math.sqrt(variance);
  return rewards.map((r) => (std > 1e-12 ? (r - mean) / std : 0));
}

/**
 * The policy-gradient estimate from a group of actions and their advantages: for the Gaussian
 * part d/d(mean, logStd), for the gates d/d logit of log Bernoulli = bit - sigmoid(logit).
 */
export function policyGradient(
  policy: JointPolicyParams,
  actions: readonly ArrayLike<number>[],
  advantages: readonly number[],
): { mean: Float64Array; logStd: Float64Array; gateLogits: Float64Array } {
  const size = policy.mean.length;
  const gates = policy.gateLogits ?? [];
  const mean = new Float64Array(size);
  const logStd = new Float64Array(size);
  const gateLogits = new Float64Array(gates.length);
  actions.forEach((action, g) => {
    const grad = gradLogProb(policy, action);
    for (let i = 0; i < size; i++) {
      mean[i] += (advantages[g] * grad.mean[i]) / actions.length;
      logStd[i] += (advantages[g] * grad.logStd[i]) / actions.length;
    }
    const gateGrad = gradGateLogProb(gates, Array.prototype.slice.call(action, size));
    for (let j = 0; j < gates.length; j++) gateLogits[j] += (advantages[g] * gateGrad[j]) / actions.length;
  });
  return { mean, logStd, gateLogits };
}

/** log pi(action) of the joint policy (Gaussian part + Bernoulli gates). */
export function jointLogProb(policy: JointPolicyParams, action: ArrayLike<number>): number {
  const size = policy.mean.length;
  return logProb(policy, action) + gateLogProb(policy.gateLogits ?? [], Array.prototype.slice.call(action, size));
}

/** The action to ship: the Gaussian mean, and each gate at its likelier value. */
export function greedyAction(policy: JointPolicyParams): Float64Array {
  return Float64Array.from([...policy.mean, ...greedyGateBits(policy.gateLogits ?? [])]);
}

/**
 * Trains until `options.iterations` in total (a resumed state counts what it already did), early
 * stopping, `maxSeconds` or the signal. Returns the new state (the input is not modified).
 */
export async function train(
  task: PolicyTask,
  start: TrainerState,
  partialOptions: Partial<TrainerOptions>,
  hooks: { onProgress?: (progress: TrainProgress) => void; onIteration?: (state: TrainerState) => void; signal?: AbortSignal } = {},
): Promise<TrainerState> {
  const options = trainerOptions(partialOptions);
  const state: TrainerState = structuredClone(start);
  state.stopped = null;
  const random = new SeededRandom(state.random);
  const size = state.policy.mean.length;
  const began = performance.now();
  const evaluate = async () => {
    if (!task.heldOut) return undefined;
    const action = greedyAction(state.policy);
    const score = await task.heldOut(action);
    if (!state.best || score < state.best.heldOut) {
      state.best = { action: [...action], heldOut: score, iteration: state.iteration };
      state.evaluationsWithoutImprovement = 0;
    } else state.evaluationsWithoutImprovement++;
    return score;
  };
  if (state.iteration === 0 && options.evaluateEvery > 0 && task.heldOut && !state.best) {
    const score = await evaluate();
    state.history.push({ iteration: 0, reward: null, bestReward: null, heldOut: score, seconds: 0 });
    hooks.onProgress?.({ iteration: 0, iterations: options.iterations, reward: null, heldOutFd: score });
  }
  while (state.iteration < options.iterations) {
    if (hooks.signal?.aborted) {
      state.stopped = 'aborted';
      break;
    }
    if (options.maxSeconds > 0 && (performance.now() - began) / 1000 >= options.maxSeconds) {
      state.stopped = 'time';
      break;
    }
    // Antithetic pairs: mirrored Gaussian noise, and mirrored uniforms (u, 1 - u) for the gates.
    const gates = state.policy.gateLogits ?? [];
    const actions: Float64Array[] = [];
    for (let pair = 0; pair < options.groupSize / 2; pair++) {
      const noise = Float64Array.from({ length: size }, () => random.normal());
      const uniforms = gates.map(() => random.next());
      for (const sign of [1, -1]) {
        const continuous = actionFor(
          state.policy,
          noise.map((v) => sign * v),
        );
        const bits = gateBits(gates, sign === 1 ? uniforms : uniforms.map((u) => 1 - u));
        actions.push(Float64Array.from([...continuous, ...bits]));
      }
    }
    const rewards = await task.rollout(actions, state.iteration);
    const gradient = policyGradient(state.policy, actions, groupAdvantages(rewards));
    const packed = [...gradient.mean, ...(options.learnStd ? gradient.logStd : new Float64Array(size)), ...gradient.gateLogits];
    const updated = adamAscend([...state.policy.mean, ...state.policy.logStd, ...gates], packed, state.adam, { learningRate: options.learningRate });
    state.policy = {
      mean: updated.slice(0, size),
      logStd: updated.slice(size, 2 * size).map((v) => Math.min(Math.log(2), Math.max(Math.log(1e-3), v))),
      ...(gates.length > 0 ? { gateLogits: updated.slice(2 * size) } : {}),
    };
    state.iteration++;
    state.random = random.state;
    const entry: HistoryEntry = {
      iteration: state.iteration,
      reward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
      bestReward: Math.max(...rewards),
      seconds: (performance.now() - began) / 1000,
    };
    const due = options.evaluateEvery > 0 && (state.iteration % options.evaluateEvery === 0 || state.iteration === options.iterations);
    if (due) entry.heldOut = await evaluate();
    state.history.push(entry);
    hooks.onProgress?.({ iteration: state.iteration, iterations: options.iterations, reward: entry.reward, heldOutFd: entry.heldOut });
    hooks.onIteration?.(state);
    if (due && options.patience > 0 && state.evaluationsWithoutImprovement >= options.patience) {
      state.stopped = 'early-stopping';
      break;
    }
  }
  state.stopped ??= 'iterations';
  // Whatever stopped it (time, iterations), the last policy gets its held-out figure too.
  const last = state.history.at(-1);
  if (options.evaluateEvery > 0 && task.heldOut && last && last.heldOut === undefined && state.stopped !== 'aborted') {
    last.heldOut = await evaluate();
    hooks.onProgress?.({ iteration: state.iteration, iterations: options.iterations, reward: last.reward, heldOutFd: last.heldOut });
  }
  return state;
}

/** The action to ship: the best greedy action on held-out seeds when there was a held-out figure, else the last one. */
export function finalAction(state: TrainerState): number[] {
  return state.best ? state.best.action : [...greedyAction(state.policy)];
}
