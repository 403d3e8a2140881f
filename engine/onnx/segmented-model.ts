import path from 'node:path';
import ort from 'onnxruntime-node';
import { LocalExecutor, SplitExecutor, splitAfterSecondsFromEnv, splitWorkersFromEnv, type Feeds, type SegmentId } from './executors.ts';
import { fullSessionSpec } from './model-sessions.ts';
import type { FullSessionSpec } from './sessions.ts';
import { loadManifest, MANIFEST_FILE, type ModelManifest } from './manifest.ts';
import { ModelError } from './model-error.ts';
import { providerSettingFromEnv, withProviderFallback, type ActiveProvider, type ProviderLogger, type ProviderSetting } from './providers.ts';
import { sessionOptionsFor, sessionTuningFromEnv, type SessionTuning } from './session-options.ts';
import { elementCount, labelsToInt64, ortFloat, toFloatTensor, type FloatTensor, type Labels } from './tensors.ts';

export interface ModelLoadOptions {
  /** Default: FEWSTEP_EP from the environment, else 'cpu'. */
  provider?: ProviderSetting;
  /** Tuning of sessions in this thread (not used by the worker threads of a split). */
  tuning?: SessionTuning;
  /**
   * On CPU, worker threads that each run one part of every full.onnx batch (a single-threaded
   * session each); 1 runs everything in this thread. Default: FEWSTEP_ORT_WORKERS, else one per
   * core. The block chain, and everything on CUDA, runs in this thread.
   */
  workers?: number;
  /**
   * Seconds of whole-model (full.onnx) work in this thread before the worker threads start:
   * starting them costs about half a second of both cores, which a short CLI run would never win
   * back. 0 starts them with the model, and load waits for them. Default: FEWSTEP_SPLIT_AFTER_SECONDS, else 1.
   */
  splitAfterSeconds?: number;
  /** Receives the one line said when CUDA is asked for but CPU is used, or when worker threads fail to start. */
  log?: ProviderLogger;
}

/** When and how the batch split starts (absent: never, e.g. on CUDA or without full.onnx). */
interface SplitPlan {
  spec: FullSessionSpec;
  workers: number;
  afterSeconds: number;
  log: ProviderLogger;
}

export interface EmbedInput {
  x: Float32Array;
  t: Float32Array;
  label: Labels;
}

/**
 * A model split into embed -> blocks -> head, each an onnxruntime session created once at load
 * and reused by every call (in this thread, or per worker thread when the batch is split: see
 * executors.ts). Holds no per-run state: residual caches for block skipping belong to the
 * sampler's run, so one model serves concurrent runs.
 */
export class SegmentedModel {
  readonly #local: LocalExecutor;
  readonly #splitPlan: SplitPlan | undefined;
  #split: SplitExecutor | undefined;
  #splitStarting: Promise<void> | undefined;
  /** Seconds full.onnx has run in this thread so far (counts toward starting the split). */
  #fullSeconds = 0;
  #disposed = false;
  /**
   * Whether forwardAll() runs full.onnx when the model ships one. Measured (bench/onnx-chain.ts)
   * the block chain costs 9-20% more than the whole-model session on CPU, and only full.onnx is
   * split over worker threads, so a step that runs every block uses the whole model; skipping
   * needs the chain.
   * FEWSTEP_BLOCK_CHAIN=1 turns it off (benchmarks of the chain itself).
   */
  preferFull = process.env.FEWSTEP_BLOCK_CHAIN !== '1';

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly provider: ActiveProvider,
    local: LocalExecutor,
    splitPlan: SplitPlan | undefined,
  ) {
    this.#local = local;
    this.#splitPlan = splitPlan;
  }

  static async load(dir: string, options: ModelLoadOptions = {}): Promise<SegmentedModel> {
    const manifest = await loadManifest(dir);
    const setting = options.provider ?? providerSettingFromEnv(process.env, options.log);
    const workers = options.workers ?? splitWorkersFromEnv();
    const { value: local, provider } = await withProviderFallback(
      setting,
      (active) => LocalExecutor.create(dir, manifest, sessionOptionsFor(active, options.tuning ?? sessionTuningFromEnv())),
      options.log,
    );
    const plan =
      provider === 'cpu' && workers > 1 && manifest.full
        ? {
            spec: fullSessionSpec(dir, manifest),
            workers,
            afterSeconds: options.splitAfterSeconds ?? splitAfterSecondsFromEnv(1),
            log: options.log ?? ((line: string) => console.warn(line)),
          }
        : undefined;
    const model = new SegmentedModel(dir, manifest, provider, local, plan);
    if (plan?.afterSeconds === 0) {
      try {
        await model.startSplit();
      } catch (error) {
        await model.dispose();
        throw error;
      }
    }
    return model;
  }

  /**
   * Starts the worker threads that split full.onnx's batches now, if this model splits at all,
   * and waits until they run (benchmarks call it so that no timed call sees them start). A
   * failure to start rejects here; calls keep running in this thread.
   */
  async startSplit(): Promise<void> {
    const plan = this.#splitPlan;
    if (!plan || this.#split) return;
    this.#splitStarting ??= SplitExecutor.start(plan.spec, plan.workers).then(async (split) => {
      if (this.#disposed) await split.dispose();
      else this.#split = split;
    });
    await this.#splitStarting;
  }

  get name(): string {
    return this.manifest.name;
  }
  get classes(): readonly string[] {
    return this.manifest.classes;
  }
  get nullClass(): number | undefined {
    return this.manifest.nullClass;
  }
  get image(): ModelManifest['image'] {
    return this.manifest.image;
  }
  get prediction(): ModelManifest['prediction'] {
    return this.manifest.prediction;
  }
  get schedule(): ModelManifest['schedule'] {
    return this.manifest.schedule;
  }
  get blockCount(): number {
    return this.manifest.segments.length - 2;
  }
  get hasFull(): boolean {
    return this.manifest.full !== undefined;
  }
  /** Worker threads splitting each full.onnx batch now (1: it runs in this thread). */
  get threads(): number {
    return this.#split?.workers ?? 1;
  }

  /** FLOPs per sample of each segment, for compute accounting when blocks are skipped. */
  get flops(): { embed: number; blocks: number[]; head: number; total: number; full: number | undefined } {
    const segments = this.manifest.segments;
    const blocks = segments.slice(1, -1).map((s) => s.flops);
    const embed = segments[0].flops;
    const head = segments[segments.length - 1].flops;
    return { embed, blocks, head, total: embed + head + blocks.reduce((a, b) => a + b, 0), full: this.manifest.full?.flops };
  }

  async embed(input: EmbedInput): Promise<{ h: FloatTensor; emb: FloatTensor }> {
    const out = await this.#run('embed', this.#embedFeeds(input));
    return { h: toFloatTensor(out.h, 'embed h'), emb: toFloatTensor(out.emb, 'embed emb') };
  }

  /** h_out = h + f_i(h, emb); the residual of block i is the returned h minus the given h. */
  async block(index: number, input: { h: FloatTensor; emb: FloatTensor }): Promise<FloatTensor> {
    if (!Number.isInteger(index) || index < 0 || index >= this.blockCount) throw this.#badInput('block', `index ${index} is outside 0..${this.blockCount - 1}`);
    if (input.h.dims[0] !== input.emb.dims[0]) throw this.#badInput('block', `h batch ${input.h.dims[0]} differs from emb batch ${input.emb.dims[0]}`);
    const out = await this.#run(index, { h: ortFloat(input.h), emb: ortFloat(input.emb) });
    return toFloatTensor(out.h_out, `block ${index} h_out`);
  }

  async head(input: { h: FloatTensor; emb: FloatTensor; x: Float32Array }): Promise<Float32Array> {
    const batch = input.h.dims[0];
    const out = await this.#run('head', { h: ortFloat(input.h), emb: ortFloat(input.emb), x: this.#imageTensor(input.x, batch, 'head') });
    return out.out.data as Float32Array;
  }

  /** The whole chain, block by block; equals forwardFull to float rounding. */
  async forward(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    const feeds = this.#embedFeeds({ x, t, label });
    const embedded = await this.#run('embed', feeds);
    // Tensors pass from one session to the next as they are: no re-wrapping, no copies in JS.
    let h = embedded.h;
    for (let block = 0; block < this.blockCount; block++) h = (await this.#run(block, { h, emb: embedded.emb })).h_out;
    return (await this.#run('head', { h, emb: embedded.emb, x: feeds.x })).out.data as Float32Array;
  }

  /** Every block, the fastest way this model can: full.onnx when it has one (and preferFull), else the chain. */
  forwardAll(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    return this.preferFull && this.hasFull ? this.forwardFull(x, t, label) : this.forward(x, t, label);
  }

  /** The same network as one session (full.onnx): the unskipped fast path, and the chain's reference. */
  async forwardFull(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    if (!this.hasFull) throw new ModelError('file_missing', path.join(this.dir, MANIFEST_FILE), 'full', 'this model has no full.onnx');
    const out = await this.#run('full', this.#embedFeeds({ x, t, label }));
    return Object.values(out)[0].data as Float32Array;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#splitStarting?.catch(() => {});
    await Promise.all([this.#local.dispose(), this.#split?.dispose()]);
  }

  async #run(segment: SegmentId, feeds: Feeds): Promise<Feeds> {
    if (this.#disposed) throw new ModelError('disposed', this.dir, undefined, `model ${this.name} was disposed`);
    if (segment !== 'full') return this.#local.run(segment, feeds);
    const split = this.#split;
    if (split) {
      try {
        return await split.run(feeds);
      } catch (error) {
        if (!(error instanceof ModelError && error.code === 'worker_failed')) throw error;
        // A worker thread died: said once, and the model runs in this thread from now on.
        this.#split = undefined;
        this.#splitPlan?.log(`${this.name}: ${error.detail}`);
        void split.dispose();
      }
    }
    const started = performance.now();
    const out = await this.#local.run(segment, feeds);
    this.#fullSeconds += (performance.now() - started) / 1000;
    const plan = this.#splitPlan;
    if (plan && !this.#splitStarting && this.#fullSeconds >= plan.afterSeconds) {
      // In the background: this call and the next run in this thread until the workers are up.
      this.startSplit().catch((error: Error) =>
        plan.log(`${this.name}: worker threads did not start (${error.message.split('\n')[0]}); running in this thread`),
      );
    }
    return out;
  }

  #embedFeeds({ x, t, label }: EmbedInput): { x: ort.Tensor; t: ort.Tensor; label: ort.Tensor } {
    const batch = t.length;
    if (label.length !== batch) throw this.#badInput('embed', `label has ${label.length} entries, t has ${batch}`);
    return { x: this.#imageTensor(x, batch, 'embed'), t: new ort.Tensor('float32', t, [batch]), label: new ort.Tensor('int64', labelsToInt64(label), [batch]) };
  }

  #imageTensor(x: Float32Array, batch: number, segment: string): ort.Tensor {
    const { channels, height, width } = this.manifest.image;
    const dims = [batch, channels, height, width];
    if (x.length !== elementCount(dims)) throw this.#badInput(segment, `x has ${x.length} values, expected ${dims.join('x')} = ${elementCount(dims)}`);
    return new ort.Tensor('float32', x, dims);
  }

  #badInput(segment: string, detail: string): ModelError {
    return new ModelError('bad_input', this.dir, segment, `${this.name}: ${detail}`);
  }
}
