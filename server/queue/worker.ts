import { readFileSync } from 'node:fs';
import os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { OutputCache, type Engine, type Folders, type ImageRef, type RunEvent } from '../../engine/index.ts';
import { resolveInside } from '../../engine/files.ts';
import { FILES_TTL_S, PROMPT_QUEUE, RedisHistory, RedisKeys, connectRedis, redisFileNumbering } from './redis-store.ts';
import type { ModelStore } from '../../engine/onnx/index.ts';
import { landInputs } from './inputs.ts';
import { startTrainingWorker } from './train-worker.ts';
import { runPrompt } from './run-prompt.ts';
import type { QueueItem, QueueReporter } from './types.ts';
import { encodeEvent, fileField, wireItem, type WireMessage } from './wire.ts';

export interface WorkerOptions {
  engine: Engine;
  /** The engine's models: with them this worker also takes training runs (POST /train), one at a time. */
  store?: ModelStore;
  redisUrl: string;
  prefix?: string;
  folders: Folders;
  /** The worker's output and temp folders are the API servers' (same path, shared storage): no bytes travel through Redis. */
  sharedOutput?: boolean;
  /** Prompts run at once by this worker (default 1). */
  concurrency?: number;
  /** BullMQ's lock on a running prompt, renewed at half this; a dead worker's prompt moves on after it (default 30 s). */
  lockMs?: number;
  /** How often this worker looks for prompts whose worker died (default 30 s). */
  stalledMs?: number;
  name?: string;
  log?: (line: string) => void;
}

export interface PromptWorker {
  readonly name: string;
  /** Finishes the prompts in hand, then disconnects. */
  close(): Promise<void>;
}

/**
 * `fewstep worker`: takes prompts from BullMQ, runs them on the engine, publishes every RunEvent
 * (and, unless the output folder is shared, the bytes of every file written) through Redis to the
 * API servers, and records the history entry in Redis, once. A prompt whose worker is killed is
 * handed to another worker by BullMQ's stalled-job check (once: a second loss fails it); a prompt
 * already in the history when it is taken (its worker died after recording it) is not run again.
 */
export async function startWorker(options: WorkerOptions): Promise<PromptWorker> {
  const name = options.name ?? `${os.hostname()}-${process.pid}`;
  const log = options.log ?? ((line: string) => console.log(`fewstep worker ${name}: ${line}`));
  const keys = new RedisKeys(options.prefix);
  const redis = connectRedis(options.redisUrl);
  const control = connectRedis(options.redisUrl);
  const history = new RedisHistory(redis, keys);
  const fileNumbering = redisFileNumbering(redis, keys);
  const cache = new OutputCache();
  const running = new Map<string, AbortController>();

  await control.subscribe(keys.control);
  control.on('message', (_channel: string, raw: string) => {
    const { promptId } = JSON.parse(raw) as { promptId?: string };
    for (const [id, abort] of running) if (!promptId || id === promptId) abort.abort();
  });

  // Every command goes down one connection in order, so a file is in Redis before the event naming it.
  const outstanding = new Set<Promise<unknown>>();
  const track = (command: Promise<unknown>) => {
    outstanding.add(command);
    command.catch((error) => log(`a Redis write failed: ${error instanceof Error ? error.message : String(error)}`)).finally(() => outstanding.delete(command));
  };
  const publish = (message: WireMessage) => track(redis.publish(keys.events, JSON.stringify(message)));
  const shipFiles = (promptId: string, images: ImageRef[]): string[] => {
    const fields: string[] = [];
    for (const ref of images) {
      if (ref.type !== 'output' && ref.type !== 'temp') continue;
      const field = fileField(ref);
      const bytes = readFileSync(resolveInside(options.folders[ref.type], [ref.subfolder, ref.filename].filter(Boolean).join('/')));
      track(redis.hset(keys.files(promptId), field, bytes));
      fields.push(field);
    }
    if (fields.length > 0) track(redis.expire(keys.files(promptId), FILES_TTL_S));
    return fields;
  };
  const reporter: Pick<QueueReporter, 'event' | 'crashed'> = {
    event(item: QueueItem, event: RunEvent) {
      const images = event.type === 'node_finished' && !options.sharedOutput ? event.ui?.images : undefined;
      const files = images ? shipFiles(item.promptId, images) : undefined;
      publish({ kind: 'event', item: wireItem(item, event.type === 'run_started'), event: encodeEvent(event), ...(files?.length ? { files } : {}) });
    },
    crashed(item, message, errorType) {
      publish({ kind: 'crashed', item: wireItem(item, true), message, errorType });
    },
  };

  const processor = async (job: Job<QueueItem>) => {
    const item = job.data;
    if (await history.has(item.promptId)) {
      log(`${item.promptId} is already in the history; not run again`);
      return;
    }
    const abort = new AbortController();
    running.set(item.promptId, abort);
    try {
      if ((await redis.exists(keys.cancel(item.promptId))) === 1) abort.abort();
      await landInputs(redis, keys, options.folders, item.promptId);
      log(`${item.promptId} started`);
      const entry = await runPrompt(options.engine, item, { signal: abort.signal, cache, folders: options.folders, fileNumbering, reporter });
      await Promise.all(outstanding);
      await history.write(item.promptId, entry);
      log(`${item.promptId} finished: ${entry.status.status_str}`);
    } catch (error) {
      // Prompts are never retried on an error (only after a lost worker): the API server records this one as failed.
      throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
    } finally {
      running.delete(item.promptId);
    }
  };

  const bullConnection = connectRedis(options.redisUrl);
  const worker = new Worker<QueueItem>(PROMPT_QUEUE, processor, {
    connection: bullConnection,
    prefix: keys.prefix,
    name,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockMs ?? 30_000,
    stalledInterval: options.stalledMs ?? 30_000,
    maxStalledCount: 1,
  });
  worker.on('error', (error) => log(`BullMQ: ${error.message}`));
  await worker.waitUntilReady();
  const training = options.store
    ? await startTrainingWorker({
        setup: { engine: options.engine, store: options.store },
        redisUrl: options.redisUrl,
        keys,
        folders: options.folders,
        sharedOutput: options.sharedOutput,
        lockMs: options.lockMs ?? 30_000,
        stalledMs: options.stalledMs ?? 30_000,
        name,
        log,
      })
    : undefined;
  log(
    `waiting for prompts${training ? ' and training runs' : ''} (concurrency ${options.concurrency ?? 1}, ${options.sharedOutput ? 'shared output folder' : 'files sent through Redis'})`,
  );

  return {
    name,
    async close() {
      await Promise.all([worker.close(), training?.close()]);
      await Promise.all(outstanding);
      for (const connection of [control, redis, bullConnection]) connection.disconnect();
    },
  };
}
