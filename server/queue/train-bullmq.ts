import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrainerFactory } from '../app.ts';
import { busyError, checkTrainRequest, newTrainJob, type Trainer, type TrainJob, type TrainRequest } from '../train-jobs.ts';
import { HttpError } from '../http-error.ts';
import { shipInputs } from './inputs.ts';
import { landFiles } from './landing.ts';
import { connectRedis, deleteIfHolds, RedisKeys, TRAIN_QUEUE, trainFilesId, trainJobId, type TrainJobData } from './redis-store.ts';
import type { TrainWireMessage } from './wire.ts';

const ALIVE = new Set(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children']);
const CANCEL_TTL_S = 3600;
const MAX_KEPT = 50;
const STARTING_MS = 60_000;

/** `fewstep serve --redis URL`: POST /train validates here, queues the run on BullMQ, and a `fewstep worker` trains. */
export function redisTraining(options: { url: string; prefix?: string }): TrainerFactory {
  return (context) => new BullTraining(context, options.url, options.prefix);
}

/**
 * The API server's side of training on workers. One run at a time per Redis (every API server
 * sharing it sees the same run): the run's id is set in `<prefix>:training:current` when it is
 * queued and cleared when it ends. Records live in Redis (the worker updates them as it goes), so
 * GET /train is the same on every API server. Messages come back on `<prefix>:training:events`;
 * each API server writes the files they name into its output/train/, then sends them to its clients.
 * A worker lost mid-run fails the run (BullMQ's stalled check, no retry): training is not rerun.
 */
class BullTraining implements Trainer {
  private readonly keys: RedisKeys;
  private readonly connections: Redis[];
  private readonly redis: Redis;
  private readonly queue: Queue<TrainJobData>;
  private readonly events: QueueEvents;
  private received: Promise<void> = Promise.resolve();
  private readonly ready: Promise<void>;

  constructor(
    private readonly context: Parameters<TrainerFactory>[0],
    url: string,
    prefix?: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.connections = [0, 1, 2, 3].map(() => connectRedis(url));
    const [redis, subscriber, queueConnection, eventsConnection] = this.connections;
    this.redis = redis;
    this.queue = new Queue<TrainJobData>(TRAIN_QUEUE, {
      connection: queueConnection,
      prefix: this.keys.prefix,
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: false },
    });
    this.events = new QueueEvents(TRAIN_QUEUE, { connection: eventsConnection, prefix: this.keys.prefix });
    this.events.on('failed', ({ jobId, failedReason }) => void this.recordFailed(jobId, failedReason).catch(report));
    this.queue.on('error', report);
    this.events.on('error', report);
    subscriber.on('message', (_channel: string, raw: string) => {
      this.received = this.received.then(() => this.receive(raw)).catch(report);
    });
    this.ready = this.begin(subscriber);
    this.ready.catch(report);
  }

  private async begin(subscriber: Redis): Promise<void> {
    await subscriber.subscribe(this.keys.trainEvents);
    await this.events.waitUntilReady();
    // Runs whose worker was lost while no API server listened.
    for (const job of await this.queue.getFailed()) if (job) await this.recordFailed(job.id!, job.failedReason);
  }

  async current(): Promise<TrainJob | undefined> {
    await this.ready;
    const id = await this.redis.get(this.keys.trainCurrent);
    const job = id ? await this.get(id) : undefined;
    return job?.status === 'running' ? job : undefined;
  }

  async list(): Promise<TrainJob[]> {
    await this.ready;
    const ids = await this.redis.zrange(this.keys.trainOrder, 0, -1);
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.trainRuns, ...ids);
    return raws.flatMap((raw) => (raw ? [JSON.parse(raw) as TrainJob] : []));
  }

  async get(id: string): Promise<TrainJob | undefined> {
    await this.ready;
    const raw = await this.redis.hget(this.keys.trainRuns, id);
    return raw ? (JSON.parse(raw) as TrainJob) : undefined;
  }

  async start(request: TrainRequest): Promise<TrainJob> {
    const settings = checkTrainRequest(this.context.engine, request);
    await this.ready;
    const job = newTrainJob(request, settings);
    const { keys, redis } = this;
    // The record before the mark: another server that finds the mark finds the run it names.
    await redis.hset(keys.trainRuns, job.train_id, JSON.stringify(job));
    try {
      await this.claim(job.train_id);
    } catch (error) {
      await redis.hdel(keys.trainRuns, job.train_id);
      throw error;
    }
    try {
      await redis.zadd(keys.trainOrder, job.started, job.train_id);
      const old = await redis.zrange(keys.trainOrder, 0, -MAX_KEPT - 1);
      if (old.length > 0)
        await redis
          .multi()
          .zrem(keys.trainOrder, ...old)
          .hdel(keys.trainRuns, ...old)
          .exec();
      await shipInputs(redis, keys, this.context.folders, trainFilesId(job.train_id), request.prompt as unknown as Record<string, unknown>);
      await this.queue.add('train', { job, request }, { jobId: trainJobId(job.train_id) });
    } catch (error) {
      // Not queued: no record of it, and the next run may start.
      await redis.multi().hdel(keys.trainRuns, job.train_id).zrem(keys.trainOrder, job.train_id).exec();
      await deleteIfHolds(redis, keys.trainCurrent, job.train_id);
      throw error;
    }
    return job;
  }

  async interrupt(id?: string): Promise<boolean> {
    await this.ready;
    const running = await this.current();
    if (!running || (id && running.train_id !== id)) return false;
    // The mark stops a run a worker is just taking, or one no worker has taken yet.
    await this.redis
      .multi()
      .set(this.keys.cancel(trainFilesId(running.train_id)), '1', 'EX', CANCEL_TTL_S)
      .publish(this.keys.trainControl, JSON.stringify({ trainId: running.train_id }))
      .exec();
    return true;
  }

  async idle(): Promise<void> {
    while (await this.current()) await new Promise((resolve) => setTimeout(resolve, 100));
    await this.received;
  }

  /** Disconnects; a run in hand goes on on its worker. */
  async stop(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.received;
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const connection of this.connections) connection.disconnect();
  }

  /** Makes `trainId` the one run of this Redis, or refuses (409) while another is queued or running. */
  private async claim(trainId: string): Promise<void> {
    const { redis, keys } = this;
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await redis.set(keys.trainCurrent, trainId, 'NX')) === 'OK') return;
      const holder = await redis.get(keys.trainCurrent);
      if (!holder) continue;
      const job = await this.get(holder);
      if (job?.status === 'running') {
        const state = await this.queue.getJobState(trainJobId(holder));
        // 'unknown' a moment after it started: another API server is still queuing it.
        if (ALIVE.has(state) || (state === 'unknown' && Date.now() - job.started < STARTING_MS)) throw busyError(job);
      }
      // It has ended, or its job is gone (lost with a Redis that kept no file): the mark is stale.
      await deleteIfHolds(redis, keys.trainCurrent, holder);
    }
    throw new HttpError(409, 'training_busy', 'another training run is starting; try again');
  }

  private async receive(raw: string): Promise<void> {
    const message = JSON.parse(raw) as TrainWireMessage;
    // The files first: a client told `training_done` may fetch them from /view at once.
    if (message.files) await landFiles(this.redis, this.keys, this.context.folders, trainFilesId(message.data.train_id), message.files);
    this.context.hub.send(message.clientId, message.type, message.data);
  }

  /** A run BullMQ failed: its worker was lost (stalled). Recorded and told to its client once, across API servers. */
  private async recordFailed(jobId: string, reason: string | undefined): Promise<void> {
    const bull = await Job.fromId<TrainJobData>(this.queue, jobId);
    if (!bull) return;
    const { train_id: id, client_id: clientId } = bull.data.job;
    const { redis, keys } = this;
    if ((await redis.set(keys.trainLost(id), '1', 'EX', CANCEL_TTL_S, 'NX')) === 'OK') {
      const job = (await this.get(id)) ?? bull.data.job;
      if (job.status === 'running') {
        job.status = 'failed';
        job.message = /stalled/i.test(reason ?? '')
          ? 'the worker running this training was lost (killed or crashed); training is not rerun: start it again with POST /train'
          : `the worker failed: ${reason ?? 'no reason given'}`;
        const message: TrainWireMessage = { clientId, type: 'training_error', data: { train_id: id, message: job.message } };
        await redis.multi().hset(keys.trainRuns, id, JSON.stringify(job)).publish(keys.trainEvents, JSON.stringify(message)).exec();
      }
      await deleteIfHolds(redis, keys.trainCurrent, id);
    }
    await bull.remove().catch(() => undefined);
  }
}

function report(error: unknown): void {
  console.error(`fewstep: Redis training: ${error instanceof Error ? error.message : String(error)}`);
}
