/**
 * The schedule-learning task: an action decodes to a schedule (and per-step guidance/eta), a
 * rollout generates a batch with it on the iteration's training seeds (the same seeds for every
 * member of the group), and the batch is scored with the weighted reward. The held-out figure
 * (lower is better; it picks the schedule that is kept) is the FD of the mean's schedule on seeds
 * no rollout uses, less the confidence term when the reward values confidence (heldOutLoss).
 */
import type { NoiseSchedule } from '../diffusion/index.ts';
import { fromModelRange } from '../image/image-batch.ts';
import type { Classifier } from '../onnx/index.ts';
import { scoreImages, type RewardWeights } from '../rewards/reward.ts';
import type { FrechetReference } from '../rewards/frechet.ts';
import type { ImagesLike } from '../rewards/onnx-scorer.ts';
import { evaluate, SEED_RANGES } from '../sampling/evaluate.ts';
import { generate } from '../sampling/generate.ts';
import { samplingSettings } from '../sampling/settings.ts';
import type { ModelHandle } from '../sampling/model-handle.ts';
import { createSkipSettings, formatRows, type BlockAction, type SkipConfig } from '../skip/index.ts';
import { actionSize, decodeSchedule, type DecodedSchedule, type ScheduleSpace } from './schedule-policy.ts';
import type { PolicyTask } from './trainer.ts';

export interface ScheduleTaskOptions {
  handle: ModelHandle;
  classifier: Classifier;
  reference: FrechetReference;
  noiseSchedule: NoiseSchedule;
  space: ScheduleSpace;
  weights: RewardWeights;
  sampler: string;
  /** Guidance when it is not learned, and eta when it is not learned (ddim / euler_ancestral). */
  cfg: number;
  eta: number;
  /** Images per rollout (balanced over classes). */
  batch: number;
  /** Images for each held-out FD. */
  heldOutSamples: number;
  onnxScore?: (images: ImagesLike) => Promise<Float64Array>;
  /** Learn SkipGate's gates jointly: one run/skip bit per step and block (and per half when withUncond). */
  gates?: GateSpace;
  signal?: AbortSignal;
}

export interface GateSpace {
  steps: number;
  blocks: number;
  withUncond: boolean;
  skipAction: 'reuse' | 'drop';
  /** Reward minus computePenalty x (FLOPs used / FLOPs of running everything). */
  computePenalty: number;
  /** SkipGate's guidance lever (uncond_pass), kept as the workflow sets it. */
  guidance?: SkipConfig['guidance'];
}

export function gateCount(gates: GateSpace): number {
  return gates.steps * gates.blocks * (gates.withUncond ? 2 : 1);
}

/** Gate bits (1 = run) as mask tables, cond first. */
export function gateTables(bits: ArrayLike<number>, gates: GateSpace): { cond: BlockAction[][]; uncond?: BlockAction[][] } {
  const table = (offset: number) =>
    Array.from({ length: gates.steps }, (_, step) =>
      Array.from({ length: gates.blocks }, (_, block): BlockAction => (bits[offset + step * gates.blocks + block] >= 0.5 ? 'run' : gates.skipAction)),
    );
  return { cond: table(0), ...(gates.withUncond ? { uncond: table(gates.steps * gates.blocks) } : {}) };
}

/** The skip config a gate action stands for (a static mask: replayable and cacheable). */
export function gateSkipConfig(bits: ArrayLike<number>, gates: GateSpace): SkipConfig {
  const tables = gateTables(bits, gates);
  const guidance = { ...(gates.guidance ?? {}), ...(tables.uncond ? { uncondRows: formatRows(tables.uncond).split('/') } : {}) };
  return { policy: { kind: 'mask', rows: formatRows(tables.cond).split('/') }, ...(Object.keys(guidance).length > 0 ? { guidance } : {}) };
}

/**
 * The held-out figure the trainer minimises: FD when the reward has no confidence term (as
 * always), else what the reward trades on held-out images, fd weight x FD - confidence weight x
 * mean confidence; picking by FD alone would throw away what a confidence term bought.
 */
export function heldOutLoss(result: { fd: number; meanConfidence: number }, weights: Pick<RewardWeights, 'fd' | 'confidence'>): number {
  return weights.confidence === 0 ? result.fd : weights.fd * result.fd - weights.confidence * result.meanConfidence;
}

export function scheduleTask(
  options: ScheduleTaskOptions,
): PolicyTask & { decode(action: ArrayLike<number>): DecodedSchedule; handleFor(action: ArrayLike<number>): ModelHandle } {
  const { handle, classifier, reference, gates } = options;
  const classes = handle.model.classes.length;
  const { channels, height, width, range } = handle.model.image;
  const labels = Array.from({ length: options.batch }, (_, i) => i % classes);
  const scheduleSize = actionSize(options.space);
  const decode = (action: ArrayLike<number>) =>
    decodeSchedule(Array.prototype.slice.call(action, 0, scheduleSize) as number[], options.space, options.noiseSchedule);
  const handleFor = (action: ArrayLike<number>): ModelHandle => {
    if (!gates) return handle;
    const bits = Array.prototype.slice.call(action, scheduleSize) as number[];
    return { ...handle, skip: createSkipSettings(gateSkipConfig(bits, gates), handle.model.blockCount) };
  };
  return {
    decode,
    handleFor,
    async rollout(actions, iteration) {
      const rewards: number[] = [];
      for (const action of actions) {
        const settings = samplingSettings(decode(action), options);
        const result = await generate({
          handle: handleFor(action),
          labels,
          seed: SEED_RANGES.train + iteration * options.batch,
          signal: options.signal,
          ...settings,
        });
        const images = { count: options.batch, channels, height, width, data: fromModelRange(result.images, range) };
        const scores = await scoreImages({ images, weights: options.weights, labels, classes, range, classifier, reference, onnxScore: options.onnxScore });
        const computeUsed = result.stats.flops_full > 0 ? result.stats.flops / result.stats.flops_full : 1;
        rewards.push(scores.mean - (gates ? gates.computePenalty * computeUsed : 0));
      }
      return rewards;
    },
    async heldOut(action) {
      const result = await evaluate({
        handle: handleFor(action),
        classifier,
        reference,
        samples: options.heldOutSamples,
        seedBase: SEED_RANGES.heldOut,
        batchSize: options.batch,
        signal: options.signal,
        ...samplingSettings(decode(action), options),
      });
      return heldOutLoss(result, options.weights);
    },
  };
}
