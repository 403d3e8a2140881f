import type { RunEvent, UiOutput } from '../../engine/index.ts';

/** One queued prompt, as ComfyUI lists it: `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export interface QueueItem {
  number: number;
  promptId: string;
  prompt: Record<string, unknown>;
  extraData: Record<string, unknown>;
  outputs: string[];
  clientId?: string;
  /** The UI workflow, embedded in saved images. */
  workflow?: unknown;
}

export type QueueTuple = [number, string, Record<string, unknown>, Record<string, unknown>, string[]];

export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, UiOutput>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
  meta: Record<string, { node_id: string; display_node: string }>;
}

export interface QueueSnapshot {
  queue_running: QueueTuple[];
  queue_pending: QueueTuple[];
}

export interface QueueReporter {
  /** Every event of a running prompt. */
  event(item: QueueItem, event: RunEvent): void;
  /** A prompt that ended without the engine reporting it (it threw, was invalid at run time, or its worker was lost). */
  crashed(item: QueueItem, message: string, errorType: string): void;
  /** The queue changed length. */
  status(): void;
}

/**
 * The queue and history behind ComfyUI's /prompt, /queue, /history and /interrupt, whatever holds
 * them: memory (tests), SQLite (the embedded default) or BullMQ on Redis (workers elsewhere).
 * Reads are asynchronous because Redis answers over the network.
 */
export interface PromptQueue {
  /** The next queue number (negative for `front`, so it sorts first). */
  nextNumber(front?: boolean): Promise<number>;
  enqueue(item: QueueItem): Promise<void>;
  /** Prompts pending or running, as last known (for status messages, which are synchronous). */
  readonly remaining: number;
  snapshot(): Promise<QueueSnapshot>;
  /** Removes pending prompts (by id, or all); a named prompt a worker took meanwhile is interrupted. */
  removePending(ids?: string[]): Promise<number>;
  /** Interrupts the running prompt(s); with an id, only that prompt, when it is running. */
  interrupt(promptId?: string): Promise<boolean>;
  historyEntries(maxItems?: number): Promise<Record<string, HistoryEntry>>;
  historyEntry(promptId: string): Promise<HistoryEntry | undefined>;
  deleteHistory(ids?: string[]): Promise<void>;
  /** Whether the id is pending, running or in the history. */
  has(promptId: string): Promise<boolean>;
  /** Resolves when nothing is left to run. */
  idle(): Promise<void>;
  /** Server shutdown: stops reporting and releases the store; what is durable stays queued. */
  stop(): Promise<void>;
}

export const toTuple = (item: QueueItem): QueueTuple => [item.number, item.promptId, item.prompt, item.extraData, item.outputs];
