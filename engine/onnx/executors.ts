import os from 'node:os';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { ModelManifest } from './manifest.ts';
import { ModelError } from './model-error.ts';
import { createModelSessions, sessionFor, type ModelSessions, type SegmentId } from './model-sessions.ts';
import { sessionOptionsFor, SESSION_TUNINGS } from './session-options.ts';
import { releaseAll, type FullSessionSpec } from './sessions.ts';
import { fromWire, joinRows, sliceRows, type WireTensor, type WorkerReply, type WorkerRequest } from './wire.ts';

export type { SegmentId } from './model-sessions.ts';
export type Feeds = Record<string, ort.Tensor>;

/*
 * What runs a model's sessions for SegmentedModel: every session in this thread (LocalExecutor),
 * and full.onnx also with the batch cut into one part per core, each part run by a worker
 * thread's single-threaded session (SplitExecutor). Both take and give whole-batch tensors.
 */

/** The model's sessions in this thread, each with its own intra-op thread pool. */
export class LocalExecutor {
  constructor(private readonly sessions: ModelSessions) {}

  static async create(dir: string, manifest: ModelManifest, options: ort.InferenceSession.SessionOptions): Promise<LocalExecutor> {
    return new LocalExecutor(await createModelSessions(dir, manifest, options));
  }

  run(segment: SegmentId, feeds: Feeds): Promise<Feeds> {
    const session = sessionFor(this.sessions, segment);
    if (!session) throw new Error(`no session for segment ${segment}`);
    return session.run(feeds) as Promise<Feeds>;
  }

  async dispose(): Promise<void> {
    const { embed, blocks, head, full } = this.sessions;
    await releaseAll([embed, ...blocks, head, full]);
  }
}

interface Pending {
  resolve: (outputs: Record<string, WireTensor>) => void;
  reject: (error: Error) => void;
}

/** Worker threads for a model's batch split; FEWSTEP_ORT_WORKERS overrides (1: no split). */
export function splitWorkersFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.FEWSTEP_ORT_WORKERS?.trim();
  if (text) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new ModelError('bad_input', 'FEWSTEP_ORT_WORKERS', undefined, `"${text}" is not a whole number >= 1`);
    return value;
  }
  return os.availableParallelism();
}

/**
 * Seconds of whole-model work before the split starts; FEWSTEP_SPLIT_AFTER_SECONDS overrides
 * (0: with the model), else `fallback`.
 */
export function splitAfterSecondsFromEnv(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env.FEWSTEP_SPLIT_AFTER_SECONDS?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new ModelError('bad_input', 'FEWSTEP_SPLIT_AFTER_SECONDS', undefined, `"${text}" is not a number of seconds >= 0`);
  return value;
}

/**
 * Runs full.onnx with each batch cut into contiguous parts, one per worker thread, each worker
 * holding a session with one intra-op thread; results are joined in batch order. Measured on 2
 * cores (bench/onnx-overhead.ts, bench/speed.ts): 1.35-1.5x faster than one session with two
 * intra-op threads, because a 28x28 convolution is too small to split across threads inside one
 * operator while two halves of a batch run side by side with nothing to wait for. The block
 * chain is not split: its 12 calls per step would each pay the round trip and the copies, and
 * measured slower split than in this thread. Same results to the bit on the default model: a
 * sample's output does not depend on the rest of its batch.
 */
export class SplitExecutor {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: ModelError | undefined;
  #disposed = false;

  private constructor(
    workers: Worker[],
    private readonly dir: string,
  ) {
    this.#workers = workers;
    for (const worker of workers) {
      // An idle worker must not keep the process alive (a CLI run ends when its work does); a
      // worker with a call in flight must, or the process could exit while awaiting it.
      // Listeners first: adding a 'message' listener refs the worker's port again, so an unref
      // before it was undone and a split that started but never ran kept the process alive.
      worker.on('message', (reply: WorkerReply) => this.#onReply(reply));
      worker.on('error', (error) => this.#fail(`a worker thread failed: ${error.message}`));
      worker.on('exit', (code) => {
        if (!this.#disposed) this.#fail(`a worker thread exited (code ${code})`);
      });
      worker.unref();
    }
  }

  get workers(): number {
    return this.#workers.length;
  }

  static async start(spec: FullSessionSpec, count: number): Promise<SplitExecutor> {
    const dir = spec.source.dir;
    const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(spec)));
    const workers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw failed.reason;
    }
    return new SplitExecutor(workers, dir);
  }

  /** full.onnx on a whole batch. */
  async run(feeds: Feeds): Promise<Feeds> {
    if (this.#failure) throw this.#failure;
    const batch = Object.values(feeds)[0].dims[0];
    const parts = Math.max(1, Math.min(this.#workers.length, batch));
    const replies = await Promise.all(
      Array.from({ length: parts }, (_, k) => {
        const lo = Math.floor((batch * k) / parts);
        const hi = Math.floor((batch * (k + 1)) / parts);
        const request: WorkerRequest = { id: this.#nextId++, feeds: {} };
        for (const [name, tensor] of Object.entries(feeds)) request.feeds[name] = sliceRows(tensor, lo, hi);
        return new Promise<Record<string, WireTensor>>((resolve, reject) => {
          this.#pending.set(request.id, { resolve, reject });
          this.#workers[k].ref();
          this.#workers[k].postMessage(
            request,
            Object.values(request.feeds).map((t) => t.data.buffer as ArrayBuffer),
          );
        });
      }),
    );
    const outputs: Feeds = {};
    for (const name of Object.keys(replies[0])) {
      const joined = joinRows(replies.map((reply) => reply[name]));
      outputs[name] = new ort.Tensor(joined.type, joined.data, joined.dims);
    }
    return outputs;
  }

  /** Lets the process exit while no call is in flight (called after every reply). */
  #unrefIfIdle(): void {
    if (this.#pending.size === 0) for (const worker of this.#workers) worker.unref();
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#rejectAll(new ModelError('disposed', this.dir, undefined, 'the model was disposed while a call was running'));
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #onReply(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'run-error') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    this.#unrefIfIdle();
    if (reply.type === 'result') pending.resolve(reply.outputs);
    else pending.reject(fromWire(reply.error));
  }

  #fail(detail: string): void {
    this.#failure ??= new ModelError('worker_failed', this.dir, undefined, `${detail}; running full.onnx in the main thread from now on`);
    this.#rejectAll(this.#failure);
  }

  #rejectAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#unrefIfIdle();
  }
}

/** Starts one worker and waits until its sessions are loaded (or rejects with the worker's ModelError). */
function startWorker(spec: FullSessionSpec): Promise<Worker> {
  const dir = spec.source.dir;
  // The worker is TypeScript like the rest of the engine; worker threads do not inherit tsx's
  // loader, so the first thing a worker does is register it, from the same tsx install.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./split-worker.ts', import.meta.url).href;
  const source = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) })`;
  const worker = new Worker(source, { eval: true, workerData: { spec, options: sessionOptionsFor('cpu', SESSION_TUNINGS['one-thread']) } });
  return new Promise((resolve, reject) => {
    const onError = (error: Error) =>
      reject(new ModelError('worker_failed', dir, undefined, `a worker thread could not start: ${error.message}`, { cause: error }));
    worker.once('error', onError);
    worker.once('message', (reply: WorkerReply) => {
      worker.off('error', onError);
      if (reply.type === 'ready') return resolve(worker);
      void worker.terminate();
      reject(reply.type === 'load-error' ? fromWire(reply.error) : new ModelError('worker_failed', dir, undefined, `unexpected first message ${reply.type}`));
    });
  });
}
