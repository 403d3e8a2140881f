import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { SAMPLER_NAMES } from '../engine/diffusion/index.ts';
import { generate } from '../engine/sampling/generate.ts';
import { fromModelRange, imageBatch, tileBatch } from '../engine/image/image-batch.ts';
import { samplingSettings } from '../engine/sampling/settings.ts';

export default defineNode({
  type: 'FewStepSampler',
  displayName: 'Few-Step Sampler',
  category: 'sampling',
  description:
    'Generates images in a few steps (any count works) with DPM-Solver++(2M), DDIM and friends, classifier-free guidance and live previews of the predicted clean image.',
  version: 1,
  inputs: { model: { type: 'MODEL' }, conditioning: { type: 'CONDITIONING' }, schedule: { type: 'SCHEDULE' } },
  widgets: {
    seed: Type.Integer({ default: 0, minimum: 0, maximum: 2 ** 32 - 1, controlAfterGenerate: true, description: 'Image i of the batch uses noise seed + i.' }),
    batch_size: Type.Integer({ default: 4, minimum: 1, maximum: 256 }),
    cfg: Type.Number({
      default: 2,
      minimum: 0,
      maximum: 20,
      step: 0.1,
      description: 'Classifier-free guidance scale; 1 turns guidance off (half the compute).',
    }),
    sampler: Type.Union(
      SAMPLER_NAMES.map((name) => Type.Literal(name)),
      { default: 'dpmpp_2m' },
    ),
    eta: Type.Number({ default: 0, minimum: 0, maximum: 1, step: 0.05, description: 'Stochasticity for ddim and euler_ancestral (0 = deterministic).' }),
  },
  outputs: { IMAGE: 'IMAGE' },
  training: ({ sampler, cfg, eta }) => ({ kind: 'sampler', sampler, cfg, eta }),
  async run(ctx, { model, conditioning, schedule, seed, batch_size, cfg, sampler, eta }) {
    const { classes } = model.model;
    const bad = conditioning.classes.find((c) => c < 0 || c >= classes.length);
    if (bad !== undefined) throw new Error(`class ${bad} is not one of model ${model.name}'s ${classes.length} classes`);
    const labels = Array.from({ length: batch_size }, (_, i) => conditioning.classes[i % conditioning.classes.length]);
    const { channels, height, width, range } = model.model.image;
    const toImages = (values: Float32Array) => imageBatch(batch_size, channels, height, width, fromModelRange(values, range));
    // A learned schedule may carry guidance and eta per step; they win over the widgets.
    const result = await generate({
      handle: model,
      labels,
      seed,
      ...samplingSettings(schedule, { sampler, cfg, eta }),
      signal: ctx.signal,
      onStep: (step, steps, predictedX0, compute) => ctx.progress(step, steps, tileBatch(toImages(predictedX0)), { compute }),
    });
    const { per_step, ...summary } = result.stats;
    return {
      outputs: { IMAGE: toImages(result.images) },
      stats: {
        ...summary,
        per_step,
        steps: schedule.timesteps.length,
        sampler,
        spacing: schedule.spacing,
        model: model.name,
        skip: model.skip?.description ?? null,
      },
      ui: {
        text: [
          `${schedule.timesteps.length} steps, ${summary.model_evaluations_per_image} model evaluations/image, ${(summary.flops_saved_fraction * 100).toFixed(1)}% FLOPs saved, ${summary.seconds.toFixed(2)} s`,
          ...(model.skip
            ? [
                `blocks: ${summary.blocks_run} run, ${summary.blocks_reused} reused, ${summary.blocks_dropped} dropped, ${summary.blocks_shared} shared; ${summary.uncond_passes_skipped} unconditional passes skipped (saved: ${(summary.flops_saved_cond_fraction * 100).toFixed(1)}% conditional + ${(summary.flops_saved_uncond_fraction * 100).toFixed(1)}% guidance half)`,
              ]
            : []),
        ],
      },
    };
  },
});
