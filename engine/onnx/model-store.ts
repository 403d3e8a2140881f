import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PathError, resolveInside } from '../files.ts';
import { Classifier } from './classifier.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { ModelError } from './model-error.ts';
import { SegmentedModel, type ModelLoadOptions } from './segmented-model.ts';

/** The repository's models/ folder, found from this file so it works from any working directory. */
export const DEFAULT_MODELS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

/** Model folder names are plain names: a request for "../x" must not leave the models root. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Loads models by name from one root folder, once each: concurrent callers share one promise,
 * so sessions are created once per process. A failed load is forgotten, so fixing the files and
 * asking again works without a restart.
 */
export class ModelStore {
  readonly #models = new Map<string, Promise<SegmentedModel>>();
  readonly #classifiers = new Map<string, Promise<Classifier>>();
  readonly #infos = new Map<string, { mtimeMs: number; blocks: number }>();

  constructor(
    readonly root: string = DEFAULT_MODELS_ROOT,
    private readonly options: ModelLoadOptions = {},
  ) {}

  /**
   * Names of the folders under root that hold a model.json, sorted. Synchronous: the engine
   * lists models when it builds widgets (LoadModel's choices), before anything runs.
   */
  list(): string[] {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw cause;
    }
    return entries
      .filter((entry) => entry.isDirectory() && MODEL_NAME.test(entry.name) && existsSync(path.join(this.root, entry.name, MANIFEST_FILE)))
      .map((entry) => entry.name)
      .sort();
  }

  /**
   * A model's block count from its model.json, read synchronously (node checks run before any
   * model loads) and re-read when the file changes; undefined when it is missing or unreadable.
   */
  info(name: string): { blocks: number } | undefined {
    if (!MODEL_NAME.test(name)) return undefined;
    const file = path.join(this.root, name, MANIFEST_FILE);
    try {
      const { mtimeMs } = statSync(file);
      let hit = this.#infos.get(name);
      if (!hit || hit.mtimeMs !== mtimeMs) {
        const manifest = JSON.parse(readFileSync(file, 'utf8')) as { segments?: Array<{ kind?: string }> };
        hit = { mtimeMs, blocks: (manifest.segments ?? []).filter((segment) => segment.kind === 'block').length };
        this.#infos.set(name, hit);
      }
      return { blocks: hit.blocks };
    } catch {
      // Unreadable here: the model's own loader reports it when a graph runs.
      return undefined;
    }
  }

  load(name: string): Promise<SegmentedModel> {
    return this.#cached(this.#models, name, (dir) => SegmentedModel.load(dir, this.options));
  }

  classifier(name: string): Promise<Classifier> {
    return this.#cached(this.#classifiers, name, (dir) => Classifier.load(dir, this.options));
  }

  /** Releases every session loaded so far; the store can load again afterwards. */
  async dispose(): Promise<void> {
    const loaded = [...this.#models.values(), ...this.#classifiers.values()];
    this.#models.clear();
    this.#classifiers.clear();
    await Promise.allSettled(loaded.map(async (promise) => (await promise).dispose()));
  }

  #cached<T>(cache: Map<string, Promise<T>>, name: string, load: (dir: string) => Promise<T>): Promise<T> {
    const existing = cache.get(name);
    if (existing) return existing;
    const promise = this.#resolve(name).then(load);
    cache.set(name, promise);
    // Forget failures (only if still the cached attempt: dispose() may have cleared it).
    promise.catch(() => {
      if (cache.get(name) === promise) cache.delete(name);
    });
    return promise;
  }

  async #resolve(name: string): Promise<string> {
    // Errors name files relative to the models folder, never the machine's paths.
    const shown = path.join(name, MANIFEST_FILE);
    if (!MODEL_NAME.test(name)) throw new ModelError('model_not_found', 'models', undefined, `"${name}" is not a model name (letters, digits, . _ - only)`);
    let dir: string;
    try {
      // A model folder that is a symlink out of the models folder is not a model of this store.
      dir = resolveInside(this.root, name, 'models');
    } catch (error) {
      if (error instanceof PathError) throw new ModelError('model_not_found', 'models', undefined, error.message);
      throw error;
    }
    if (!existsSync(path.join(dir, MANIFEST_FILE))) {
      const known = this.list();
      throw new ModelError('model_not_found', shown, undefined, `model "${name}" does not exist (models here: ${known.join(', ') || 'none'})`);
    }
    return dir;
  }
}
