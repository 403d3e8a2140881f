import type { Engine, Folders, OutputCache } from '../engine/index.ts';
import { LocalQueue } from './queue/local.ts';
import { MemoryStore } from './queue/memory.ts';
import { SqliteStore } from './queue/sqlite.ts';
import type { PromptQueue, QueueReporter } from './queue/types.ts';

export type { HistoryEntry, PromptQueue, QueueItem, QueueReporter, QueueTuple } from './queue/types.ts';

/** What a queue needs from the server that holds it. */
export interface QueueContext {
  engine: Engine;
  folders: Folders;
  /** Outputs kept across runs in this process (a Redis queue runs nothing here). */
  cache: OutputCache;
  /** Turns run events into the clients' websocket messages (comfy-messages.ts). */
  reporter: QueueReporter;
}

/** Builds the server's queue once the server has its reporter; BullMQ's lives in queue/bullmq.ts. */
export type QueueFactory = (context: QueueContext) => PromptQueue;

/** Prompts and history in memory: tests, and `fewstep serve --in-memory`. */
export const memoryQueue: QueueFactory = ({ engine, folders, cache, reporter }) => new LocalQueue(engine, folders, cache, reporter, new MemoryStore());

/** Prompts and history in SQLite under `dataDir`: the default of `fewstep serve`, durable across kill -9. */
export function sqliteQueue(dataDir: string): QueueFactory {
  return ({ engine, folders, cache, reporter }) => {
    const store = new SqliteStore(dataDir);
    const { rerun, failed } = store.recovered;
    if (rerun.length > 0) console.log(`fewstep: ${rerun.length} prompt(s) were running when fewstep last stopped; they run again`);
    if (failed.length > 0) console.log(`fewstep: ${failed.length} prompt(s) stopped fewstep twice while running; recorded as failed`);
    return new LocalQueue(engine, folders, cache, reporter, store);
  };
}
