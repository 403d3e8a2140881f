import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import Type from 'typebox';
import Value from 'typebox/value';
import { loadManifest, MANIFEST_FILE, type ClassifierInfo, type ModelManifest } from './manifest.ts';
import { ModelError } from './model-error.ts';
import { providerSettingFromEnv, withProviderFallback, type ActiveProvider } from './providers.ts';
import type { ModelLoadOptions } from './segmented-model.ts';
import { sessionOptionsFor, sessionTuningFromEnv } from './session-options.ts';
import { createCheckedSession } from './sessions.ts';
import { elementCount, softmax } from './tensors.ts';

/** Mean and covariance of the classifier's features on real test images: the reference for FD scores. */
export const FeatureStatsSchema = Type.Object({
  dim: Type.Integer({ minimum: 1 }),
  n: Type.Integer({ minimum: 1 }),
  mean: Type.Array(Type.Number()),
  cov: Type.Array(Type.Array(Type.Number())),
});
export type FeatureStats = Type.Static<typeof FeatureStatsSchema>;

export interface ClassifierOutput {
  /** [batch, classes] */
  logits: Float32Array;
  /** [batch, featureDim] */
  features: Float32Array;
  featureDim: number;
}

/** The model's image classifier: class logits for rewards, features for FD against real images. */
export class Classifier {
  private constructor(
    readonly dir: string,
    readonly info: ClassifierInfo,
    readonly image: ModelManifest['image'],
    readonly classes: readonly string[],
    readonly provider: ActiveProvider,
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(dir: string, options: ModelLoadOptions = {}): Promise<Classifier> {
    const manifest = await loadManifest(dir);
    const info = manifest.classifier;
    if (!info) throw new ModelError('file_missing', path.join(dir, MANIFEST_FILE), 'classifier', `model ${manifest.name} has no classifier`);
    return Classifier.open(dir, info, manifest, { manifestPath: path.join(dir, MANIFEST_FILE), field: 'classifier' }, options);
  }

  /**
   * A classifier described by `info` (file, input and output names, statistics file) rather than
   * by the model manifest's classifier entry: for a second classifier kept beside a model. `model`
   * gives the image shape and class names it classifies; `describedBy` names where `info` came
   * from, for errors.
   */
  static async open(
    dir: string,
    info: ClassifierInfo,
    model: Pick<ModelManifest, 'image' | 'classes'>,
    describedBy: { manifestPath: string; field: string },
    options: ModelLoadOptions = {},
  ): Promise<Classifier> {
    const { value: session, provider } = await withProviderFallback(
      options.provider ?? providerSettingFromEnv(process.env, options.log),
      (active) =>
        createCheckedSession({ dir, file: info.file, ...describedBy }, sessionOptionsFor(active, options.tuning ?? sessionTuningFromEnv()), {
          inputs: [info.input],
          outputs: [info.logits, info.features],
        }),
      options.log,
    );
    return new Classifier(dir, info, model.image, model.classes, provider, session);
  }

  /** images: [batch, C, H, W] flat, in the model's image range. */
  async classify(images: Float32Array): Promise<ClassifierOutput> {
    const { channels, height, width } = this.image;
    const perImage = channels * height * width;
    if (images.length === 0 || images.length % perImage !== 0) {
      throw new ModelError(
        'bad_input',
        path.join(this.dir, this.info.file),
        'image',
        `${images.length} values is not a whole number of ${channels}x${height}x${width} images`,
      );
    }
    const dims = [images.length / perImage, channels, height, width];
    const out = await this.session.run({ [this.info.input]: new ort.Tensor('float32', images, dims) });
    const features = out[this.info.features];
    return {
      logits: out[this.info.logits].data as Float32Array,
      features: features.data as Float32Array,
      featureDim: elementCount(features.dims.slice(1)),
    };
  }

  /** Row-wise softmax of logits from classify(). */
  probabilities(logits: Float32Array): Float32Array {
    return softmax(logits, this.classes.length);
  }

  /** classifier-stats.json, checked: dim matches mean and cov. */
  async featureStats(): Promise<FeatureStats> {
    if (!this.info.stats) throw new ModelError('file_missing', path.join(this.dir, MANIFEST_FILE), 'classifier/stats', 'no feature statistics file is named');
    return loadFeatureStats(path.join(this.dir, this.info.stats));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export async function loadFeatureStats(file: string): Promise<FeatureStats> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new ModelError('manifest_unreadable', file, undefined, `is not readable JSON (${(cause as Error).message})`, { cause });
  }
  const [error] = [...Value.Errors(FeatureStatsSchema, json)];
  if (error) throw new ModelError('manifest_invalid', file, error.instancePath.replace(/^\//, '') || '(root)', error.message);
  const stats = json as FeatureStats;
  if (stats.mean.length !== stats.dim) throw new ModelError('manifest_invalid', file, 'mean', `has ${stats.mean.length} entries, dim is ${stats.dim}`);
  const badRow = stats.cov.findIndex((row) => row.length !== stats.dim);
  if (stats.cov.length !== stats.dim || badRow >= 0) throw new ModelError('manifest_invalid', file, 'cov', `must be ${stats.dim}x${stats.dim}`);
  return stats;
}
