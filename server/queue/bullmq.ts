import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueContext, QueueFactory } from '../queue.ts';
import { shipInputs } from './inputs.ts';
import { highestOutputNumbers, landFiles, landStranded } from './landing.ts';
import { PROMPT_QUEUE, RedisHistory, RedisKeys, connectRedis, jobIdOf, raiseFileCounters } from './redis-store.ts';
import { lostEntry } from './run-prompt.ts';
import { toTuple, type HistoryEntry, type PromptQueue, type QueueItem, type QueueSnapshot } from './types.ts';
import { decodeEvent, queueItem, wireItem, type WireMessage } from './wire.ts';

export interface RedisQueueOptions {
  url: string;
  /** Key prefix shared by the API servers and workers of one fewstep (default `fewstep`). */
  prefix?: string;
  maxHistory?: number;
}

/** `fewstep serve --redis URL`: prompts go to BullMQ, `fewstep worker`s run them. */
export function redisQueue(options: RedisQueueOptions): QueueFactory {
  return (context) => new BullQueue(context, options);
}

const PENDING = ['waiting', 'prioritized'] as const;
const CANCEL_TTL_S = 3600;

/**
 * The API server's side of the Redis queue. Prompts are BullMQ jobs (id from the prompt id, so
 * a prompt is queued once however many servers see it); history is in Redis, so a restarted
 * server, or another one sharing the Redis, lists it all. Workers publish run events on
 * `<prefix>:events`; every API server feeds them, in order, to its reporter, which sends them to
 * the clients connected to it, after writing the files they name into its folders.
 */
export class BullQueue implements PromptQueue {
  private readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly queue: Queue<QueueItem>;
  private readonly events: QueueEvents;
  private readonly history: RedisHistory;
  private readonly connections: Redis[];
  /** Items seen on run_started, so later events of the prompt reach the reporter whole. */
  private readonly items = new Map<string, QueueItem>();
  private count = 0;
  private received: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | undefined;
  private stale = false;
  private readonly ready: Promise<void>;

  constructor(
    private readonly context: QueueContext,
    options: RedisQueueOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    this.connections = [0, 1, 2, 3].map(() => connectRedis(options.url));
    const [redis, subscriber, queueConnection, eventsConnection] = this.connections;
    this.redis = redis;
    this.subscriber = subscriber;
    this.history = new RedisHistory(redis, this.keys, options.maxHistory);
    this.queue = new Queue<QueueItem>(PROMPT_QUEUE, {
      connection: queueConnection,
      prefix: this.keys.prefix,
      // No retries on errors: a prompt that fails is recorded as failed. Only a lost worker's prompt runs again (stalled-job recovery).
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: false },
    });
    this.events = new QueueEvents(PROMPT_QUEUE, { connection: eventsConnection, prefix: this.keys.prefix });
    for (const name of ['waiting', 'active', 'completed', 'failed', 'removed'] as const) this.events.on(name, () => this.refresh());
    this.events.on('failed', ({ jobId, failedReason }) => void this.recordFailed(jobId, failedReason).catch(report));
    this.queue.on('error', report);
    this.events.on('error', report);
    subscriber.on('message', (_channel: string, raw: string) => {
      this.received = this.received.then(() => this.receive(raw)).catch(report);
    });
    this.ready = this.start();
    this.ready.catch(report);
  }

  private async start(): Promise<void> {
    await this.subscriber.subscribe(this.keys.events);
    await this.events.waitUntilReady();
    const { folders } = this.context;
    await raiseFileCounters(this.redis, this.keys, highestOutputNumbers(folders.output));
    const landed = await landStranded(this.redis, this.keys, folders);
    if (landed > 0) console.log(`fewstep: wrote ${landed} file(s) workers made while this server was down`);
    // Failures nobody recorded: their 'failed' event came while no API server listened.
    for (const job of await this.queue.getFailed()) if (job) await this.recordFailed(job.id!, job.failedReason);
    await this.refresh();
  }

  async nextNumber(front = false): Promise<number> {
    await this.ready;
    const number = await this.redis.incr(this.keys.number);
    return front ? -number : number;
  }

  async enqueue(item: QueueItem): Promise<void> {
    await this.ready;
    await shipInputs(this.redis, this.keys, this.context.folders, item.promptId, item.prompt);
    await this.queue.add('prompt', item, { jobId: jobIdOf(item.promptId), lifo: item.number < 0 });
    // Counted now for the status message; corrected from Redis without holding up the reply.
    this.count++;
    this.context.reporter.status();
    void this.refresh();
  }

  get remaining(): number {
    return this.count;
  }

  async snapshot(): Promise<QueueSnapshot> {
    await this.ready;
    const [active, pending] = await Promise.all([this.queue.getJobs(['active']), this.queue.getJobs([...PENDING])]);
    const items = (jobs: Array<Job<QueueItem> | undefined>) => jobs.flatMap((job) => (job ? [job.data] : [])).sort((a, b) => a.number - b.number);
    return { queue_running: items(active).map(toTuple), queue_pending: items(pending).map(toTuple) };
  }

  async removePending(ids?: string[]): Promise<number> {
    await this.ready;
    const targets = ids ?? (await this.queue.getJobs([...PENDING])).flatMap((job) => (job ? [job.data.promptId] : []));
    let removed = 0;
    for (const promptId of targets) {
      if ((await this.queue.remove(jobIdOf(promptId))) === 1) removed++;
      // Taken by a worker since the client saw it pending: stop it there.
      else if ((await this.queue.getJobState(jobIdOf(promptId))) === 'active') await this.cancel([promptId]);
    }
    if (removed > 0) await this.refresh();
    return removed;
  }

  async interrupt(promptId?: string): Promise<boolean> {
    await this.ready;
    const active = promptId
      ? (await this.queue.getJobState(jobIdOf(promptId))) === 'active'
        ? [promptId]
        : []
      : (await this.queue.getJobs(['active'])).flatMap((job) => (job ? [job.data.promptId] : []));
    if (active.length === 0) return false;
    await this.cancel(active);
    return true;
  }

  async historyEntries(maxItems?: number): Promise<Record<string, HistoryEntry>> {
    await this.ready;
    return this.history.entries(maxItems);
  }

  async historyEntry(promptId: string): Promise<HistoryEntry | undefined> {
    await this.ready;
    return this.history.get(promptId);
  }

  async deleteHistory(ids?: string[]): Promise<void> {
    await this.ready;
    await this.history.delete(ids);
  }

  async has(promptId: string): Promise<boolean> {
    await this.ready;
    return (await this.history.has(promptId)) || (await this.queue.getJobState(jobIdOf(promptId))) !== 'unknown';
  }

  async idle(): Promise<void> {
    await this.ready;
    for (;;) {
      const counts = await this.queue.getJobCounts('active', 'delayed', ...PENDING);
      if (Object.values(counts).every((n) => n === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.received;
  }

  /** Disconnects; prompts and history stay in Redis for the workers and the next server. */
  async stop(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.received;
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const connection of this.connections) connection.disconnect();
  }

  /** Interrupts prompts wherever they run; the mark also stops one that a worker is just taking. */
  private async cancel(promptIds: string[]): Promise<void> {
    const batch = this.redis.multi();
    for (const promptId of promptIds) {
      batch.set(this.keys.cancel(promptId), '1', 'EX', CANCEL_TTL_S);
      batch.publish(this.keys.control, JSON.stringify({ promptId }));
    }
    await batch.exec();
  }

  private async receive(raw: string): Promise<void> {
    const message = JSON.parse(raw) as WireMessage;
    const { promptId } = message.item;
    const item = queueItem(message.item, this.items.get(promptId));
    const { reporter, folders } = this.context;
    if (message.kind === 'crashed') {
      this.items.delete(promptId);
      reporter.crashed(item, message.message, message.errorType);
      return;
    }
    if (message.event.type === 'run_started') this.items.set(promptId, item);
    // The files first: a client told `executed` may fetch them from /view at once.
    if (message.files) await landFiles(this.redis, this.keys, folders, promptId, message.files);
    reporter.event(item, decodeEvent(message.event));
    if (message.event.type === 'run_finished') this.items.delete(promptId);
  }

  /** A job BullMQ failed (its worker lost twice, or an error): recorded in the history once, across servers. */
  private async recordFailed(jobId: string, reason: string | undefined): Promise<void> {
    const job = await Job.fromId<QueueItem>(this.queue, jobId);
    if (!job) return;
    const item = job.data;
    if (!(await this.history.has(item.promptId))) {
      const lost = /stalled/i.test(reason ?? '');
      const message = lost
        ? 'the worker running this prompt was lost (killed or crashed) twice; it is not run again'
        : `the worker failed: ${reason ?? 'no reason given'}`;
      const errorType = lost ? 'WorkerLost' : 'WorkerError';
      if (await this.history.write(item.promptId, lostEntry(item, message, errorType))) {
        const crashed: WireMessage = { kind: 'crashed', item: wireItem(item, true), message, errorType };
        await this.redis.publish(this.keys.events, JSON.stringify(crashed));
      }
    }
    await job.remove().catch(() => undefined);
  }

  /** Re-reads the queue's length from Redis (one read at a time, again if asked meanwhile), telling clients when it changed. */
  private refresh(): Promise<void> {
    this.stale = true;
    this.refreshing ??= (async () => {
      try {
        while (this.stale) {
          this.stale = false;
          const counts = await this.queue.getJobCounts('active', 'delayed', ...PENDING);
          const count = Object.values(counts).reduce((sum, n) => sum + n, 0);
          if (count !== this.count) {
            this.count = count;
            this.context.reporter.status();
          }
        }
      } catch (error) {
        report(error);
      }
      this.refreshing = undefined;
    })();
    return this.refreshing;
  }
}

function report(error: unknown): void {
  console.error(`fewstep: Redis queue: ${error instanceof Error ? error.message : String(error)}`);
}
