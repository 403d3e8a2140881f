/**
 * The shared evaluation harness: generate n samples over fixed seeds and balanced classes, in
 * batches, and measure them with the model's own classifier: FD against the test split's
 * feature statistics, agreement with the requested class, mean confidence, and compute
 * (NFE, FLOPs, images/s, wall time); optionally also with other classifiers, on the same images.
 * Results can be cached on disk, keyed by a hash of the model's files and the full configuration,
 * so an expensive baseline is computed once.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Classifier } from '../onnx/index.ts';
import { classAgreement, classConfidence, mean } from '../rewards/classifier-scores.ts';
import { FrechetReference, featureMoments, momentsFromArrays } from '../rewards/frechet.ts';
import { generate } from './generate.ts';
import type { ModelHandle } from './model-handle.ts';

export interface EvaluationConfig {
  /** How many images (n >= 1000 for reported figures). */
  samples: number;
  /** Image j uses noise stream seedBase + j and class j mod classes, whatever the batch size. */
  seedBase: number;
  timesteps: readonly number[];
  cfg: number | readonly number[];
  sampler: string;
  samplerOptions?: Record<string, unknown>;
  /** Images per generate() call; does not change the images. Default 100. */
  batchSize?: number;
  /** Images per chunk for `chunkFd` (the batch FD a trainer sees as its reward). Default 128. */
  chunkSize?: number;
}

/** A classifier with the FD reference of its own features. */
export interface EvaluationScorer {
  classifier: Classifier;
  reference: FrechetReference;
}

export interface EvaluateOptions extends EvaluationConfig {
  handle: ModelHandle;
  classifier: Classifier;
  /** The test split's features (classifier.featureStats()), as a reference with its sqrt precomputed. */
  reference: FrechetReference;
  /** More classifiers that score the same images (`alsoScored` in the result, in this order). */
  alsoScoreWith?: readonly EvaluationScorer[];
  /** A folder for cached results (bench/.cache); omit to always compute. */
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluationResult {
  samples: number;
  /** FD of all samples' classifier features against the test statistics. */
  fd: number;
  /** Mean FD over consecutive chunks of chunkSize images (biased upwards; what a batch reward sees). */
  chunkFd: number;
  chunkSize: number;
  /** Fraction of images whose top class is the requested one. */
  agreement: number;
  /** Mean probability of the requested class. */
  meanConfidence: number;
  /** The same figures from each of `alsoScoreWith`, in its order. */
  alsoScored: ScoredFigures[];
  nfe: number;
  modelEvaluationsPerImage: number;
  flopsPerImage: number;
  flopsSavedFraction: number;
  seconds: number;
  imagesPerSecond: number;
  /** True when read from the cache (seconds are then those of the run that filled it). */
  cached: boolean;
  cacheKey?: string;
}

export interface ScoredFigures {
  fd: number;
  chunkFd: number;
  agreement: number;
  meanConfidence: number;
}

/** The seed ranges, kept apart so a figure never uses seeds a trainer saw. */
export const SEED_RANGES = {
  /** Training rollouts draw from here upwards. */
  train: 1_000_000,
  /** Held-out FD during training. */
  heldOut: 2_000_000,
  /** bench/ figures. */
  bench: 3_000_000,
} as const;

/** sha256 over every file of a model folder (names and bytes), memoised per folder. */
const folderHashes = new Map<string, string>();
export function modelFilesHash(dir: string): string {
  const known = folderHashes.get(dir);
  if (known) return known;
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    hash.update(name);
    hash.update(readFileSync(file));
  }
  const digest = hash.digest('hex');
  folderHashes.set(dir, digest);
  return digest;
}

/**
 * The key a result is cached under: the model's files plus everything that changes the images.
 * The features are cached too, so figures over them (chunkFd at any chunk size) need no key.
 */
export function evaluationCacheKey(options: EvaluateOptions): string {
  const config = {
    version: 2,
    model: modelFilesHash(options.handle.model.dir),
    classifier: modelFilesHash(options.classifier.dir),
    skip: options.handle.skip?.description ?? null,
    samples: options.samples,
    seedBase: options.seedBase,
    timesteps: options.timesteps,
    cfg: options.cfg,
    sampler: options.sampler,
    samplerOptions: options.samplerOptions ?? {},
  };
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 32);
}

/** Names one classifier for the cache: its folder's files and its own file name. */
function scorerKey(classifier: Classifier): string {
  return `${modelFilesHash(classifier.dir)}:${classifier.info.file}`;
}

/** Loads the classifier's test statistics as an FD reference. */
export async function frechetReferenceFor(classifier: Classifier): Promise<FrechetReference> {
  return new FrechetReference(momentsFromArrays(await classifier.featureStats()));
}

/** A cache entry: the result, the primary classifier's features, and per other classifier its features and scores. */
interface CacheEntry {
  result: Omit<EvaluationResult, 'alsoScored'>;
  features: string;
  also?: Record<string, { features: string; agreement: number; meanConfidence: number }>;
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  const key = options.cacheDir ? evaluationCacheKey(options) : undefined;
  const cacheFile = key && options.cacheDir ? path.join(options.cacheDir, `eval-${key}.json`) : undefined;
  const chunkSize = Math.min(options.chunkSize ?? 128, options.samples);
  const others = options.alsoScoreWith ?? [];
  let entry: CacheEntry | undefined;
  if (cacheFile && existsSync(cacheFile)) {
    try {
      entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheEntry;
    } catch {
      // An unreadable cache entry is recomputed and overwritten.
    }
  }
  // An entry without one of the other classifiers' features is recomputed (the images are not kept) and extended.
  if (entry && others.every((other) => entry.also?.[scorerKey(other.classifier)])) {
    const alsoScored = others.map((other) => {
      const cached = entry.also![scorerKey(other.classifier)];
      return figuresOf(other.reference, decodeFeatures(cached.features), chunkSize, cached);
    });
    return {
      ...entry.result,
      chunkFd: chunkedFd(options.reference, decodeFeatures(entry.features), chunkSize),
      chunkSize,
      alsoScored,
      cached: true,
      cacheKey: key,
    };
  }
  const { result, features, otherScores } = await computeEvaluation(options, chunkSize);
  const alsoScored = others.map((other, i) => figuresOf(other.reference, otherScores[i].features, chunkSize, otherScores[i]));
  if (cacheFile && options.cacheDir) {
    const also = { ...entry?.also };
    others.forEach((other, i) => {
      also[scorerKey(other.classifier)] = {
        features: encodeFeatures(otherScores[i].features),
        agreement: otherScores[i].agreement,
        meanConfidence: otherScores[i].meanConfidence,
      };
    });
    mkdirSync(options.cacheDir, { recursive: true });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    const written: CacheEntry = { result, features: encodeFeatures(features), also };
    writeFileSync(temporary, JSON.stringify(written));
    renameSync(temporary, cacheFile);
  }
  return { ...result, alsoScored, cacheKey: key };
}

function encodeFeatures(features: Float32Array): string {
  return Buffer.from(features.buffer, features.byteOffset, features.byteLength).toString('base64');
}

function decodeFeatures(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function figuresOf(
  reference: FrechetReference,
  features: Float32Array,
  chunkSize: number,
  scores: { agreement: number; meanConfidence: number },
): ScoredFigures {
  return {
    fd: reference.distance(featureMoments(features, reference.moments.dim)),
    chunkFd: chunkedFd(reference, features, chunkSize),
    agreement: scores.agreement,
    meanConfidence: scores.meanConfidence,
  };
}

/** Mean FD over consecutive whole chunks of `chunkSize` feature rows. */
function chunkedFd(reference: FrechetReference, features: Float32Array, chunkSize: number): number {
  const dim = reference.moments.dim;
  const rows = features.length / dim;
  const fds: number[] = [];
  for (let first = 0; first + chunkSize <= rows; first += chunkSize)
    fds.push(reference.distanceOfFeatures(features.subarray(first * dim, (first + chunkSize) * dim)));
  return mean(fds);
}

interface OtherScores {
  features: Float32Array;
  agreement: number;
  meanConfidence: number;
}

async function computeEvaluation(
  options: EvaluateOptions,
  chunkSize: number,
): Promise<{ result: Omit<EvaluationResult, 'alsoScored'>; features: Float32Array; otherScores: OtherScores[] }> {
  const { samples, seedBase, handle, classifier } = options;
  if (!Number.isInteger(samples) || samples < 2) throw new RangeError(`samples must be an integer >= 2, got ${samples}`);
  const batchSize = options.batchSize ?? 100;
  const classes = handle.model.classes.length;
  const dim = options.reference.moments.dim;
  const features = new Float32Array(samples * dim);
  const labels: number[] = [];
  const confidences: number[] = [];
  const agreements: number[] = [];
  const others = (options.alsoScoreWith ?? []).map((scorer) => ({
    scorer,
    dim: scorer.reference.moments.dim,
    features: new Float32Array(samples * scorer.reference.moments.dim),
    confidences: [] as number[],
    agreements: [] as number[],
  }));
  let flopsUsed = 0;
  let flopsFull = 0;
  let nfe = 0;
  let evaluationsPerImage = 0;
  let generateSeconds = 0;
  const started = performance.now();
  for (let first = 0; first < samples; first += batchSize) {
    const count = Math.min(batchSize, samples - first);
    const batchLabels = Array.from({ length: count }, (_, i) => (first + i) % classes);
    const result = await generate({
      handle,
      labels: batchLabels,
      seed: seedBase + first,
      cfg: options.cfg,
      sampler: options.sampler,
      samplerOptions: options.samplerOptions,
      timesteps: options.timesteps,
      signal: options.signal,
    });
    generateSeconds += result.stats.seconds;
    flopsUsed += result.stats.flops;
    flopsFull += result.stats.flops_full;
    nfe = result.stats.nfe;
    evaluationsPerImage = result.stats.model_evaluations_per_image;
    // Scored as a saved image would be: clamped to the model's range.
    const [lo, hi] = handle.model.image.range;
    const images = result.images.map((v) => Math.min(hi, Math.max(lo, v)));
    const scored = await classifier.classify(images);
    if (scored.featureDim !== dim) throw new RangeError(`classifier features have ${scored.featureDim} dimensions, the statistics ${dim}`);
    features.set(scored.features, first * dim);
    confidences.push(...classConfidence(scored.logits, classes, batchLabels));
    agreements.push(...classAgreement(scored.logits, classes, batchLabels));
    for (const other of others) {
      const otherScored = await other.scorer.classifier.classify(images);
      if (otherScored.featureDim !== other.dim)
        throw new RangeError(`${other.scorer.classifier.info.file} features have ${otherScored.featureDim} dimensions, its statistics ${other.dim}`);
      other.features.set(otherScored.features, first * other.dim);
      other.confidences.push(...classConfidence(otherScored.logits, classes, batchLabels));
      other.agreements.push(...classAgreement(otherScored.logits, classes, batchLabels));
    }
    labels.push(...batchLabels);
    options.onProgress?.(first + count, samples);
  }
  const seconds = (performance.now() - started) / 1000;
  const result: Omit<EvaluationResult, 'alsoScored'> = {
    samples,
    fd: options.reference.distance(featureMoments(features, dim)),
    chunkFd: chunkedFd(options.reference, features, chunkSize),
    chunkSize,
    agreement: mean(agreements),
    meanConfidence: mean(confidences),
    nfe,
    modelEvaluationsPerImage: evaluationsPerImage,
    flopsPerImage: flopsUsed / samples,
    flopsSavedFraction: flopsFull > 0 ? 1 - flopsUsed / flopsFull : 0,
    seconds,
    imagesPerSecond: samples / generateSeconds,
    cached: false,
  };
  const otherScores = others.map((other) => ({ features: other.features, agreement: mean(other.agreements), meanConfidence: mean(other.confidences) }));
  return { result, features, otherScores };
}
