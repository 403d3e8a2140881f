import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { Classifier } from '../engine/onnx/index.ts';
import {
  inspectOnnxScorer,
  OnnxScorer,
  OnnxScorerError,
  scoreImages,
  scorerFileInside,
  type FrechetReference,
  type RewardWeights,
} from '../engine/rewards/index.ts';
import { frechetReferenceFor } from '../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../engine/sampling/model-handle.ts';

/**
 * Classifiers (with their FD reference) and ONNX scorers are loaded once per file and shared by
 * every run: loading a session costs far more than scoring a batch.
 */
const classifiers = new Map<string, Promise<{ classifier: Classifier; reference: FrechetReference | undefined }>>();
const scorers = new Map<string, Promise<OnnxScorer>>();

function classifierFor(handle: ModelHandle) {
  const dir = handle.model.dir;
  let entry = classifiers.get(dir);
  if (!entry) {
    entry = Classifier.load(dir).then(async (classifier) => ({
      classifier,
      reference: classifier.info.stats ? await frechetReferenceFor(classifier) : undefined,
    }));
    entry.catch(() => classifiers.delete(dir));
    classifiers.set(dir, entry);
  }
  return entry;
}

/** The scorer a workflow's onnx_path names, resolved inside the models folder before it is opened. */
function scorerFor(root: string | undefined, relative: string, size: number) {
  const inside = scorerFileInside(root, relative);
  if (!inside.ok) return Promise.reject(new OnnxScorerError(inside.message));
  const key = `${inside.file}@${size}`;
  let entry = scorers.get(key);
  if (!entry) {
    entry = OnnxScorer.load(inside.file, size, relative);
    entry.catch(() => scorers.delete(key));
    scorers.set(key, entry);
  }
  return entry;
}

/** The node's weights as the reward module names them. */
function rewardWeights(widgets: { confidence_weight: number; fd_weight: number; jpeg_weight: number; onnx_weight: number }): RewardWeights {
  return { confidence: widgets.confidence_weight, fd: widgets.fd_weight, jpeg: widgets.jpeg_weight, onnx: widgets.onnx_weight };
}

/**
 * The per-image line of the report. FD is one figure for a whole batch: when it is the only
 * weighted term every image gets the same value, which is the batch figure, and is labelled so.
 */
export function perImageLine(perImage: readonly number[], weights: RewardWeights, fd: number | undefined): string {
  const batchPart = weights.fd !== 0 && fd !== undefined ? -weights.fd * fd : 0;
  const perImageWeighted = weights.confidence !== 0 || weights.jpeg !== 0 || weights.onnx !== 0;
  if (!perImageWeighted && batchPart !== 0)
    return `batch reward ${batchPart.toFixed(3)}, the same for all ${perImage.length} images (FD scores the batch, not each image)`;
  const values = perImage.map((v) => v.toFixed(3)).join(', ');
  return batchPart !== 0 ? `per image: ${values} (each includes the batch FD term ${batchPart.toFixed(3)})` : `per image: ${values}`;
}

export default defineNode({
  type: 'RewardScorer',
  displayName: 'Reward Scorer',
  category: 'rewards',
  description:
    "Scores images with rewards that have no gradient: the model classifier's confidence in the requested class, minus the batch's domain FD against the test split, JPEG compressibility (q95), any ONNX scorer; their weighted sum per image and its mean. `fewstep train` learns a StepScheduler against it.",
  version: 1,
  outputNode: true,
  inputs: {
    images: { type: 'IMAGE' },
    conditioning: { type: 'CONDITIONING', optional: true, tooltip: 'The requested classes (image i gets classes[i mod n]); needed for confidence.' },
    model: { type: 'MODEL', optional: true, tooltip: 'Whose classifier and test statistics score confidence and FD.' },
  },
  widgets: {
    confidence_weight: Type.Number({ default: 1, minimum: -100, maximum: 100, step: 0.1, description: "Weight of the requested class's probability (0..1)." }),
    fd_weight: Type.Number({
      default: 0,
      minimum: 0,
      maximum: 100,
      step: 0.01,
      description: 'Weight of minus the batch FD against the test statistics (a batch reward: needs >= 2 images).',
    }),
    jpeg_weight: Type.Number({ default: 0, minimum: -100, maximum: 100, step: 0.1, description: 'Weight of compressibility: minus the JPEG q95 size in kB.' }),
    onnx_weight: Type.Number({ default: 0, minimum: -100, maximum: 100, step: 0.1, description: "Weight of the ONNX scorer's output." }),
    onnx_path: Type.String({
      default: '',
      description:
        'An ONNX scorer, as a path inside the models folder (e.g. scorers/aesthetic.onnx): one float32 input [N, 1 or 3, S, S] in [0, 1], one score per image.',
    }),
    onnx_input_size: Type.Integer({ default: 28, minimum: 1, maximum: 4096, description: 'S: images are resized to S x S for the ONNX scorer.' }),
  },
  outputs: { SCORES: 'SCORES' },
  check({ onnx_weight, onnx_path, onnx_input_size }, env) {
    if (onnx_weight === 0 && onnx_path === '') return [];
    // Inside the models folder first: nothing outside it is opened, and every outside path reads the same.
    const inside = scorerFileInside(env.models.root, onnx_path);
    if (!inside.ok) return [{ input: 'onnx_path', message: inside.message }];
    const inspected = inspectOnnxScorer(inside.file, onnx_input_size, onnx_path);
    return inspected.ok ? [] : [{ input: 'onnx_path', message: inspected.message }];
  },
  training: ({ onnx_path, onnx_input_size, ...widgets }) => ({
    kind: 'reward',
    weights: rewardWeights(widgets),
    ...(widgets.onnx_weight !== 0
      ? {
          onnxScore: async (modelsRoot) => {
            const scorer = await scorerFor(modelsRoot, onnx_path, onnx_input_size);
            return (images) => scorer.score(images);
          },
        }
      : {}),
  }),
  async run(ctx, { images, conditioning, model, onnx_path, onnx_input_size, ...widgets }) {
    const weights = rewardWeights(widgets);
    const loaded = model ? await classifierFor(model) : undefined;
    const labels = conditioning ? Array.from({ length: images.count }, (_, i) => conditioning.classes[i % conditioning.classes.length]) : undefined;
    if (weights.confidence !== 0 && !labels) throw new Error('confidence_weight is set but no conditioning is connected: the requested classes are unknown');
    if ((weights.confidence !== 0 || weights.fd !== 0) && !loaded)
      throw new Error('confidence and FD rewards need a model connected (its classifier scores them)');
    if (weights.fd !== 0 && !loaded?.reference) throw new Error(`model ${model?.name} has no classifier statistics, so FD cannot be scored`);
    const scorer = weights.onnx !== 0 ? await scorerFor(ctx.models.root, onnx_path, onnx_input_size) : undefined;
    const scores = await scoreImages({
      images,
      weights,
      labels,
      classes: model?.model.classes.length,
      range: model?.model.image.range,
      classifier: loaded?.classifier,
      reference: images.count >= 2 ? loaded?.reference : undefined,
      onnxScore: scorer ? (batch) => scorer.score(batch) : undefined,
    });
    const terms = Object.entries(scores.terms).map(([name, value]) => `${name} ${value.toFixed(name === 'fd' ? 2 : 3)}`);
    return {
      outputs: { SCORES: scores },
      ui: {
        text: [
          `reward ${scores.mean.toFixed(4)} (mean of ${images.count})${terms.length ? `; ${terms.join(', ')}` : ''}`,
          perImageLine(scores.perImage, weights, scores.terms.fd),
        ],
      },
      stats: { reward: scores.mean, per_image: scores.perImage, weights, ...scores.terms },
    };
  },
});
