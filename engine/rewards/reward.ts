/**
 * Weighted sums of rewards, higher = better. Per-image terms (class confidence, JPEG
 * compressibility, an ONNX scorer) and one batch term (minus the domain FD of the batch against
 * the test statistics, shared by every image of the batch).
 */
import Type, { type Static } from 'typebox';
import { classAgreement, classConfidence, mean } from './classifier-scores.ts';
import type { FrechetReference } from './frechet.ts';
import { jpegCompressibility } from './jpeg.ts';
import type { ImagesLike } from './onnx-scorer.ts';

export const RewardWeightsSchema = Type.Object({
  confidence: Type.Number({ default: 0, description: 'Probability of the requested class (0..1), per image.' }),
  fd: Type.Number({ default: 0, minimum: 0, description: 'Minus the batch FD against the test statistics (the same for every image of a batch).' }),
  jpeg: Type.Number({ default: 0, description: 'Compressibility: minus the JPEG (q95) size in kB, per image.' }),
  onnx: Type.Number({ default: 0, description: "The ONNX scorer's output, per image." }),
});
export type RewardWeights = Static<typeof RewardWeightsSchema>;

/** What each term measured (raw, before weighting); absent terms were not computed. */
export interface RewardComponents {
  confidence?: Float64Array;
  agreement?: Float64Array;
  fd?: number;
  jpegKb?: Float64Array;
  onnx?: Float64Array;
}

export interface Scores {
  /** The weighted reward per image. */
  perImage: number[];
  /** Its mean over the batch. */
  mean: number;
  weights: RewardWeights;
  /** Means of the raw terms, for display: confidence, agreement, fd, jpeg_kb, onnx. */
  terms: Record<string, number>;
}

declare module '../sockets.ts' {
  interface SocketValues {
    SCORES: Scores;
  }
}

/** What the reward needs from a classifier (engine/onnx's Classifier fits). */
export interface FeatureClassifier {
  classify(images: Float32Array): Promise<{ logits: Float32Array; features: Float32Array; featureDim: number }>;
}

export function combineRewards(count: number, components: RewardComponents, weights: RewardWeights): Scores {
  const perImage = new Array<number>(count).fill(0);
  const terms: Record<string, number> = {};
  const addPerImage = (values: Float64Array | undefined, weight: number, name: string, sign = 1) => {
    if (!values) return;
    if (values.length !== count) throw new RangeError(`${name} has ${values.length} values for ${count} images`);
    terms[name] = mean(values);
    if (weight !== 0) for (let i = 0; i < count; i++) perImage[i] += sign * weight * values[i];
  };
  addPerImage(components.confidence, weights.confidence, 'confidence');
  if (components.agreement) terms.agreement = mean(components.agreement);
  addPerImage(components.jpegKb, weights.jpeg, 'jpeg_kb', -1);
  addPerImage(components.onnx, weights.onnx, 'onnx');
  if (components.fd !== undefined) {
    terms.fd = components.fd;
    if (weights.fd !== 0) for (let i = 0; i < count; i++) perImage[i] -= weights.fd * components.fd;
  }
  return { perImage, mean: mean(perImage), weights, terms };
}

export interface ScoreOptions {
  /** Images in [0, 1], planar [count, C, H, W]. */
  images: ImagesLike;
  weights: RewardWeights;
  /** Requested class per image (confidence and agreement need them). */
  labels?: readonly number[];
  classes?: number;
  /** Maps [0, 1] to the classifier's input range (the model's image range). */
  range?: readonly [number, number];
  classifier?: FeatureClassifier;
  reference?: FrechetReference;
  onnxScore?: (images: ImagesLike) => Promise<Float64Array>;
}

/** Computes the terms that have weight (and confidence/agreement whenever a classifier and labels are given). */
export async function scoreImages(options: ScoreOptions): Promise<Scores> {
  const { images, weights } = options;
  const components: RewardComponents = {};
  const needsClassifier = weights.confidence !== 0 || weights.fd !== 0;
  if (options.classifier && (needsClassifier || options.labels)) {
    const [lo, hi] = options.range ?? [0, 1];
    const input = Float32Array.from(images.data, (value) => lo + value * (hi - lo));
    const out = await options.classifier.classify(input);
    if (options.labels && options.classes) {
      components.confidence = classConfidence(out.logits, options.classes, options.labels);
      components.agreement = classAgreement(out.logits, options.classes, options.labels);
    }
    if (options.reference && images.count >= 2) components.fd = options.reference.distanceOfFeatures(out.features);
  }
  if (weights.confidence !== 0 && !components.confidence) throw new RangeError('the confidence reward needs a classifier and the requested classes');
  if (weights.fd !== 0 && components.fd === undefined) throw new RangeError('the FD reward needs a classifier, its test statistics and at least 2 images');
  if (weights.jpeg !== 0) components.jpegKb = jpegCompressibility(images).map((v) => -v);
  if (weights.onnx !== 0) {
    if (!options.onnxScore) throw new RangeError('the ONNX reward needs a scorer file');
    components.onnx = await options.onnxScore(images);
  }
  return combineRewards(images.count, components, weights);
}
