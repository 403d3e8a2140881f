/**
 * The schedule-learning task: an action decodes to a schedule (and per-step guidance/eta), a
 * rollout generates a batch with it on the iteration's training seeds (the same seeds for every
 * member of the group), and the batch is scored with the weighted reward. The held-out figure
 * is the FD of the mean's schedule on seeds no rollout uses.
 */
import type { NoiseSchedule } from '../diffusion/index.ts';
import { fromModelRange } from '../image/image-batch.ts';
import type { Classifier } from '../onnx/index.ts';
import { scoreImages, type RewardWeights } from '../rewards/reward.ts';
import type { FrechetReference } from '../rewards/frechet.ts';
import type { ImagesLike } from '../rewards/onnx-scorer.ts';
import { evaluate, SEED_RANGES } from '../sampling/evaluate.ts';
import { generate } from '../sampling/generate.ts';
import type { ModelHandle } from '../sampling/model-handle.ts';
import { decodeSchedule, type DecodedSchedule, type ScheduleSpace } from './schedule-policy.ts';
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
  signal?: AbortSignal;
}

const ETA_SAMPLERS = new Set(['ddim', 'euler_ancestral']);

/** What generate() needs for a decoded schedule, honouring learned guidance and eta the way FewStepSampler does. */
export function runSettings(decoded: DecodedSchedule, options: Pick<ScheduleTaskOptions, 'sampler' | 'cfg' | 'eta'>) {
  const samplerOptions = ETA_SAMPLERS.has(options.sampler) ? (decoded.eta ? { etaPerStep: decoded.eta } : { eta: options.eta }) : {};
  return { timesteps: decoded.timesteps, cfg: decoded.guidance ?? options.cfg, sampler: options.sampler, samplerOptions };
}

export function scheduleTask(options: ScheduleTaskOptions): PolicyTask & { decode(action: ArrayLike<number>): DecodedSchedule } {
  const { handle, classifier, reference } = options;
  const classes = handle.model.classes.length;
  const { channels, height, width, range } = handle.model.image;
  const labels = Array.from({ length: options.batch }, (_, i) => i % classes);
  const decode = (action: ArrayLike<number>) => decodeSchedule(action, options.space, options.noiseSchedule);
  return {
    decode,
    async rollout(actions, iteration) {
      const rewards: number[] = [];
      for (const action of actions) {
        const settings = runSettings(decode(action), options);
        const result = await generate({ handle, labels, seed: SEED_RANGES.train + iteration * options.batch, signal: options.signal, ...settings });
        const images = { count: options.batch, channels, height, width, data: fromModelRange(result.images, range) };
        const scores = await scoreImages({ images, weights: options.weights, labels, classes, range, classifier, reference, onnxScore: options.onnxScore });
        rewards.push(scores.mean);
      }
      return rewards;
    },
    async heldOut(mean) {
      const result = await evaluate({ handle, classifier, reference, samples: options.heldOutSamples, seedBase: SEED_RANGES.heldOut, batchSize: options.batch, signal: options.signal, ...runSettings(decode(mean), options) });
      return result.fd;
    },
  };
}
