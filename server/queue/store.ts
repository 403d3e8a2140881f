import type { FileNumbering } from '../../engine/index.ts';
import type { HistoryEntry, QueueItem } from './types.ts';

/**
 * Where the in-process queue keeps its prompts and history: memory (tests, `--in-memory`) or
 * SQLite (the default, durable across kill -9). Synchronous, as both are; the local queue
 * answers the asynchronous PromptQueue interface on top of it.
 */
export interface QueueStore {
  /** Numbers saved files per prompt id, so a prompt run again after a crash rewrites its own files. */
  readonly fileNumbering?: FileNumbering;
  nextNumber(front: boolean): number;
  add(item: QueueItem): void;
  /** Pending prompts in run order (number, then arrival). */
  pending(): QueueItem[];
  /** The prompt being run, if any. */
  running(): QueueItem | undefined;
  /** Marks the first pending prompt running and returns it. */
  start(): QueueItem | undefined;
  /** Puts the running prompt back at the head of the queue (graceful shutdown: it runs again on the next start). */
  requeue(promptId: string): void;
  /** Records a prompt's history entry and forgets it as pending or running, in one step. */
  finish(promptId: string, entry: HistoryEntry): void;
  /** Removes pending prompts (by id, or all); returns how many. */
  removePending(ids?: string[]): number;
  /** Pending plus running. */
  count(): number;
  history(maxItems?: number): Record<string, HistoryEntry>;
  historyEntry(promptId: string): HistoryEntry | undefined;
  deleteHistory(ids?: string[]): void;
  has(promptId: string): boolean;
  close(): void;
}
