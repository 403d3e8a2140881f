import {
  alphaAt,
  applyClassifierFreeGuidance,
  batchNormalNoise,
  currentTimestep,
  doubleBatch,
  getSampler,
  guidanceLabels,
  guidanceScaleAt,
  isFinished,
  parseNoiseSchedule,
  resolveSamplerOptions,
  sigmaAt,
} from '../diffusion/index.ts';
import { ModelRunner } from '../skip/runner.ts';
import type { ComputeSummary } from '../skip/accounting.ts';
import type { ModelHandle } from './model-handle.ts';

export interface GenerateOptions {
  handle: ModelHandle;
  /** One class label per image. */
  labels: readonly number[];
  seed: number;
  /** Guidance scale, constant or per step; 1 means no unconditional pass. */
  cfg: number | readonly number[];
  sampler: string;
  samplerOptions?: Record<string, unknown>;
  timesteps: readonly number[];
  signal?: AbortSignal;
  /** Called after each step with the model's current clean-image estimate (model range) and the compute so far. */
  onStep?: (step: number, steps: number, predictedX0: Float32Array, compute: StepCompute) => void;
}

/** Compute accounting as a step ends: that step's blocks and FLOPs, and the run's totals so far. */
export interface StepCompute {
  step: ComputeSummary['per_step'][number];
  flops: number;
  flops_full: number;
  flops_saved_fraction: number;
  seconds: number;
}

export interface GenerateResult {
  /** [batch, C, H, W] in the model's image range. */
  images: Float32Array;
  stats: {
    nfe: number;
    model_evaluations_per_image: number;
    seconds: number;
    images_per_second: number;
  } & ReturnType<ModelRunner['account']['summary']>;
}

/** How far the predicted clean image moves per unit of model output (x0 = alpha x - sigma v, ...). */
function x0PerOutput(prediction: 'v' | 'eps' | 'x0', alpha: number, sigma: number): number {
  return prediction === 'v' ? -sigma : prediction === 'eps' ? -sigma / alpha : 1;
}

/**
 * The sampling loop: seeded noise, one model evaluation per step (cond and uncond in one
 * batch when guided), the sampler's update, previews. Image i uses noise stream seed + i, so a
 * seed gives the same image alone or in a batch.
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const { model } = options.handle;
  const { channels, height, width } = model.image;
  const batch = options.labels.length;
  const size = channels * height * width;
  const schedule = parseNoiseSchedule(model.schedule);
  const sampler = getSampler(options.sampler);
  const noise = batchNormalNoise(options.seed, batch);
  let state = sampler.init({
    noise: noise(batch * size),
    timesteps: options.timesteps,
    schedule,
    prediction: model.prediction,
    options: resolveSamplerOptions(options.sampler, options.samplerOptions ?? {}),
  });
  const runner = new ModelRunner(model, options.handle.skip);
  const labels = Int32Array.from(options.labels);
  const nullClass = model.nullClass;
  const steps = options.timesteps.length;
  let evaluations = 0;
  for (let step = 0; !isFinished(state); step++) {
    options.signal?.throwIfAborted();
    const t = currentTimestep(state);
    const scale = guidanceScaleAt(options.cfg as number | number[], step);
    const guided = scale !== 1 && nullClass !== undefined;
    const x = guided ? doubleBatch(state.x) : state.x;
    const out = await runner.evaluate(x, new Float32Array(guided ? 2 * batch : batch).fill(t), guided ? guidanceLabels(labels, nullClass) : labels, {
      step,
      steps,
      uncondFrom: batch,
      x0PerOutput: x0PerOutput(model.prediction, alphaAt(schedule, t), sigmaAt(schedule, t)),
    });
    evaluations += guided ? 2 : 1;
    const result = sampler.step(state, guided ? applyClassifierFreeGuidance(out, scale) : out, noise);
    state = result.state;
    if (options.onStep) {
      const so = runner.account.summary();
      options.onStep(step + 1, steps, result.predictedX0, {
        step: so.per_step[so.per_step.length - 1],
        flops: so.flops,
        flops_full: so.flops_full,
        flops_saved_fraction: so.flops_saved_fraction,
        seconds: (performance.now() - started) / 1000,
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    images: state.x,
    stats: {
      nfe: steps,
      model_evaluations_per_image: evaluations,
      seconds,
      images_per_second: batch / seconds,
      ...runner.account.summary(),
    },
  };
}
