import path from 'node:path'
import ort from 'onnxruntime-node'
import { loadManifest, MANIFEST_FILE, SEGMENT_IO, type ModelManifest } from './manifest.ts'
import { ModelError } from './model-error.ts'
import { providerSettingFromEnv, withProviderFallback, type ActiveProvider, type ProviderLogger, type ProviderSetting } from './providers.ts'
import { sessionOptionsFor, sessionTuningFromEnv, type SessionTuning } from './session-options.ts'
import { createCheckedSession, releaseAll } from './sessions.ts'
import { elementCount, labelsToInt64, ortFloat, toFloatTensor, type FloatTensor, type Labels } from './tensors.ts'

export interface ModelLoadOptions {
  /** Default: FEWSTEP_EP from the environment, else 'cpu'. */
  provider?: ProviderSetting
  tuning?: SessionTuning
  /** Receives the one line said when CUDA is asked for but CPU is used. */
  log?: ProviderLogger
}

export interface EmbedInput {
  x: Float32Array
  t: Float32Array
  label: Labels
}

interface Sessions {
  embed: ort.InferenceSession
  blocks: ort.InferenceSession[]
  head: ort.InferenceSession
  full: ort.InferenceSession | undefined
}

/**
 * A model split into embed -> blocks -> head, each an onnxruntime session created once at load
 * and reused by every call. Holds no per-run state: residual caches for block skipping belong
 * to the sampler's run, so one model serves concurrent runs.
 */
export class SegmentedModel {
  readonly #sessions: Sessions
  #disposed = false
  /**
   * Whether forwardAll() runs full.onnx (one session) when the model ships one. Measured
   * (bench/onnx-chain.ts) the block chain costs 9-16% more than the whole-model session on CPU,
   * so a step that runs every block uses the whole model; skipping needs the chain.
   * FEWSTEP_BLOCK_CHAIN=1 turns it off (benchmarks of the chain itself).
   */
  preferFull = process.env.FEWSTEP_BLOCK_CHAIN !== '1'

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly provider: ActiveProvider,
    sessions: Sessions,
  ) {
    this.#sessions = sessions
  }

  static async load(dir: string, options: ModelLoadOptions = {}): Promise<SegmentedModel> {
    const manifest = await loadManifest(dir)
    const setting = options.provider ?? providerSettingFromEnv(process.env, options.log)
    const { value: sessions, provider } = await withProviderFallback(
      setting,
      (active) => createSessions(dir, manifest, sessionOptionsFor(active, options.tuning ?? sessionTuningFromEnv())),
      options.log,
    )
    return new SegmentedModel(dir, manifest, provider, sessions)
  }

  get name(): string { return this.manifest.name }
  get classes(): readonly string[] { return this.manifest.classes }
  get nullClass(): number | undefined { return this.manifest.nullClass }
  get image(): ModelManifest['image'] { return this.manifest.image }
  get prediction(): ModelManifest['prediction'] { return this.manifest.prediction }
  get schedule(): ModelManifest['schedule'] { return this.manifest.schedule }
  get blockCount(): number { return this.#sessions.blocks.length }
  get hasFull(): boolean { return this.#sessions.full !== undefined }

  /** FLOPs per sample of each segment, for compute accounting when blocks are skipped. */
  get flops(): { embed: number; blocks: number[]; head: number; total: number; full: number | undefined } {
    const segments = this.manifest.segments
    const blocks = segments.slice(1, -1).map((s) => s.flops)
    const embed = segments[0].flops
    const head = segments[segments.length - 1].flops
    return { embed, blocks, head, total: embed + head + blocks.reduce((a, b) => a + b, 0), full: this.manifest.full?.flops }
  }

  async embed(input: EmbedInput): Promise<{ h: FloatTensor; emb: FloatTensor }> {
    const out = await this.#run(this.#sessions.embed, this.#embedFeeds(input))
    return { h: toFloatTensor(out.h, 'embed h'), emb: toFloatTensor(out.emb, 'embed emb') }
  }

  /** h_out = h + f_i(h, emb); the residual of block i is the returned h minus the given h. */
  async block(index: number, input: { h: FloatTensor; emb: FloatTensor }): Promise<FloatTensor> {
    const session = this.#sessions.blocks[index]
    if (session === undefined) throw this.#badInput('block', `index ${index} is outside 0..${this.blockCount - 1}`)
    if (input.h.dims[0] !== input.emb.dims[0]) throw this.#badInput('block', `h batch ${input.h.dims[0]} differs from emb batch ${input.emb.dims[0]}`)
    const out = await this.#run(session, { h: ortFloat(input.h), emb: ortFloat(input.emb) })
    return toFloatTensor(out.h_out, `block ${index} h_out`)
  }

  async head(input: { h: FloatTensor; emb: FloatTensor; x: Float32Array }): Promise<Float32Array> {
    const batch = input.h.dims[0]
    const out = await this.#run(this.#sessions.head, { h: ortFloat(input.h), emb: ortFloat(input.emb), x: this.#imageTensor(input.x, batch, 'head') })
    return out.out.data as Float32Array
  }

  /** The whole chain, block by block; equals forwardFull to float rounding. */
  async forward(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    const { embed, blocks, head } = this.#sessions
    const feeds = this.#embedFeeds({ x, t, label })
    const embedded = await this.#run(embed, feeds)
    // Tensors pass from one session to the next as they are: no re-wrapping, no copies in JS.
    let h = embedded.h
    for (const block of blocks) h = (await this.#run(block, { h, emb: embedded.emb })).h_out
    return (await this.#run(head, { h, emb: embedded.emb, x: feeds.x })).out.data as Float32Array
  }

  /** Every block, the fastest way this model can: full.onnx when it has one (and preferFull), else the chain. */
  forwardAll(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    return this.preferFull && this.hasFull ? this.forwardFull(x, t, label) : this.forward(x, t, label)
  }

  /** The same network as one session (full.onnx): the unskipped fast path, and the chain's reference. */
  async forwardFull(x: Float32Array, t: Float32Array, label: Labels): Promise<Float32Array> {
    const full = this.#sessions.full
    if (full === undefined) throw new ModelError('FILE_MISSING', path.join(this.dir, MANIFEST_FILE), 'full', 'this model has no full.onnx')
    const out = await this.#run(full, this.#embedFeeds({ x, t, label }))
    return out[full.outputNames[0]].data as Float32Array
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    const { embed, blocks, head, full } = this.#sessions
    await releaseAll([embed, ...blocks, head, full])
  }

  async #run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.#disposed) throw new ModelError('DISPOSED', this.dir, undefined, `model ${this.name} was disposed`)
    return (await session.run(feeds)) as Record<string, ort.Tensor>
  }

  #embedFeeds({ x, t, label }: EmbedInput): { x: ort.Tensor; t: ort.Tensor; label: ort.Tensor } {
    const batch = t.length
    if (label.length !== batch) throw this.#badInput('embed', `label has ${label.length} entries, t has ${batch}`)
    return { x: this.#imageTensor(x, batch, 'embed'), t: new ort.Tensor('float32', t, [batch]), label: new ort.Tensor('int64', labelsToInt64(label), [batch]) }
  }

  #imageTensor(x: Float32Array, batch: number, segment: string): ort.Tensor {
    const { channels, height, width } = this.manifest.image
    const dims = [batch, channels, height, width]
    if (x.length !== elementCount(dims)) throw this.#badInput(segment, `x has ${x.length} values, expected ${dims.join('x')} = ${elementCount(dims)}`)
    return new ort.Tensor('float32', x, dims)
  }

  #badInput(segment: string, detail: string): ModelError {
    return new ModelError('BAD_INPUT', this.dir, segment, `${this.name}: ${detail}`)
  }
}

async function createSessions(dir: string, manifest: ModelManifest, options: ort.InferenceSession.SessionOptions): Promise<Sessions> {
  const manifestPath = path.join(dir, MANIFEST_FILE)
  const created: ort.InferenceSession[] = []
  const create = async (file: string, field: string, expected: { inputs: readonly string[]; outputs?: readonly string[] }) => {
    const session = await createCheckedSession({ dir, file, manifestPath, field }, options, expected)
    created.push(session)
    return session
  }
  try {
    // One at a time: onnxruntime-node creates sessions on the main thread anyway, and a failure
    // stops at the first bad file instead of loading the rest for nothing.
    const segments: ort.InferenceSession[] = []
    for (const [index, segment] of manifest.segments.entries()) {
      segments.push(await create(segment.file, `segments/${index}`, SEGMENT_IO[segment.kind]))
    }
    const full = manifest.full ? await create(manifest.full.file, 'full/file', { inputs: SEGMENT_IO.embed.inputs }) : undefined
    if (full && full.outputNames.length !== 1) {
      throw new ModelError('IO_MISMATCH', path.join(dir, manifest.full!.file), 'full/file', `has ${full.outputNames.length} outputs, expected 1`)
    }
    return { embed: segments[0], blocks: segments.slice(1, -1), head: segments[segments.length - 1], full }
  } catch (error) {
    await releaseAll(created)
    throw error
  }
}
