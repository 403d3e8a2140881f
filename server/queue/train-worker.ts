import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { Folders } from '../../engine/index.ts';
import type { FewstepSetup } from '../setup.ts';
import { runTraining, type FileRef, type TrainJob } from '../train-jobs.ts';
import { landInputs } from './inputs.ts';
import { connectRedis, deleteIfHolds, FILES_TTL_S, type RedisKeys, TRAIN_QUEUE, trainFilesId, type TrainJobData } from './redis-store.ts';
import { fileField, type TrainWireMessage } from './wire.ts';

type TrainFiles = { workflow: FileRef; plot: FileRef };

export interface TrainingWorkerOptions {
  setup: FewstepSetup;
  redisUrl: string;
  keys: RedisKeys;
  folders: Folders;
  sharedOutput?: boolean;
  lockMs: number;
  stalledMs: number;
  name: string;
  log: (line: string) => void;
}

/**
 * A worker's training side: takes runs from the `train` queue, one at a time, trains with the
 * engine, keeps the run's record in Redis up to date and publishes its messages (and, unless the
 * output folder is shared, the bytes of the learned workflow and the plot) to the API servers.
 * A run whose worker is lost is failed by BullMQ's stalled check (maxStalledCount 0), not rerun:
 * training takes minutes to hours, and its client has seen the first run's progress.
 */
export async function startTrainingWorker(options: TrainingWorkerOptions): Promise<{ close(): Promise<void> }> {
  const { keys, folders, log } = options;
  const redis = connectRedis(options.redisUrl);
  const control = connectRedis(options.redisUrl);
  const running = new Map<string, AbortController>();
  await control.subscribe(keys.trainControl);
  control.on('message', (_channel: string, raw: string) => {
    const { trainId } = JSON.parse(raw) as { trainId?: string };
    for (const [id, abort] of running) if (!trainId || id === trainId) abort.abort();
  });

  const processor = async (bull: Job<TrainJobData>) => {
    const { request } = bull.data;
    const job: TrainJob = bull.data.job;
    const id = job.train_id;
    const abort = new AbortController();
    running.set(id, abort);
    // One connection, commands in order: the files and the record are in Redis before the message naming them.
    const writes: Array<Promise<unknown>> = [];
    const send = (type: string, data: Record<string, unknown>) => {
      const ended = type === 'training_done' || type === 'training_error';
      const files = type === 'training_done' && !options.sharedOutput ? shipFiles(id, data.files as TrainFiles | null, writes) : undefined;
      const message: TrainWireMessage = { clientId: job.client_id, type, data: { train_id: id, ...data }, ...(files?.length ? { files } : {}) };
      writes.push(redis.hset(keys.trainRuns, id, JSON.stringify(job)));
      if (ended) writes.push(deleteIfHolds(redis, keys.trainCurrent, id));
      writes.push(redis.publish(keys.trainEvents, JSON.stringify(message)));
      if (ended) log(`training ${id} ${type === 'training_done' ? String(data.status) : `failed: ${String(data.message)}`}`);
    };
    try {
      if ((await redis.exists(keys.cancel(trainFilesId(id)))) === 1) abort.abort();
      await landInputs(redis, keys, folders, trainFilesId(id));
      log(`training ${id} started`);
      await runTraining(options.setup, folders, job, request, abort.signal, send);
    } finally {
      running.delete(id);
      for (const result of await Promise.allSettled(writes)) if (result.status === 'rejected') log(`a Redis write failed: ${String(result.reason)}`);
    }
  };

  const shipFiles = (id: string, refs: TrainFiles | null, writes: Array<Promise<unknown>>): string[] => {
    if (!refs) return [];
    const fields = [refs.workflow, refs.plot].map((ref) => {
      const field = fileField(ref);
      writes.push(redis.hset(keys.files(trainFilesId(id)), field, readFileSync(path.join(folders.output, ref.subfolder, ref.filename))));
      return field;
    });
    writes.push(redis.expire(keys.files(trainFilesId(id)), FILES_TTL_S));
    return fields;
  };

  const bullConnection = connectRedis(options.redisUrl);
  const worker = new Worker<TrainJobData>(TRAIN_QUEUE, processor, {
    connection: bullConnection,
    prefix: keys.prefix,
    name: options.name,
    concurrency: 1,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledMs,
    maxStalledCount: 0,
  });
  worker.on('error', (error) => log(`BullMQ (training): ${error.message}`));
  await worker.waitUntilReady();
  return {
    async close() {
      // A run in hand stops, keeping what it learned so far, before the worker goes.
      for (const abort of running.values()) abort.abort();
      await worker.close();
      for (const connection of [control, redis, bullConnection]) connection.disconnect();
    },
  };
}
