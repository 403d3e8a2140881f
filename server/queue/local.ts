import type { Engine, Folders, OutputCache } from '../../engine/index.ts';
import { runPrompt } from './run-prompt.ts';
import type { QueueStore } from './store.ts';
import { toTuple, type HistoryEntry, type PromptQueue, type QueueItem, type QueueReporter, type QueueSnapshot } from './types.ts';

/** How long an idle queue waits before running a new prompt (see kick). */
export const RUN_START_DELAY_MS = 50;

/**
 * The queue that runs prompts in this process, one at a time in order, over a store (memory or
 * SQLite). A prompt that fails, throws or is interrupted is recorded in the history and the queue
 * moves on; nothing a prompt does stops the queue. Prompts the store kept from before (SQLite,
 * after a restart) start running as soon as the queue is created.
 */
export class LocalQueue implements PromptQueue {
  private running: { item: QueueItem; abort: AbortController } | undefined;
  private pumping: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly engine: Engine,
    private readonly folders: Folders,
    private readonly cache: OutputCache,
    private readonly reporter: QueueReporter,
    private readonly store: QueueStore,
  ) {
    if (store.count() > 0) this.kick();
  }

  async nextNumber(front = false): Promise<number> {
    return this.store.nextNumber(front);
  }

  async enqueue(item: QueueItem): Promise<void> {
    this.store.add(item);
    this.reporter.status();
    this.kick();
  }

  get remaining(): number {
    return this.stopping ? 0 : this.store.count();
  }

  async snapshot(): Promise<QueueSnapshot> {
    return {
      queue_running: this.running ? [toTuple(this.running.item)] : [],
      queue_pending: this.store.pending().map(toTuple),
    };
  }

  async removePending(ids?: string[]): Promise<number> {
    const removed = this.store.removePending(ids);
    if (removed > 0) this.reporter.status();
    return removed;
  }

  async interrupt(promptId?: string): Promise<boolean> {
    if (!this.running || (promptId && this.running.item.promptId !== promptId)) return false;
    this.running.abort.abort();
    return true;
  }

  async historyEntries(maxItems?: number): Promise<Record<string, HistoryEntry>> {
    return this.store.history(maxItems);
  }

  async historyEntry(promptId: string): Promise<HistoryEntry | undefined> {
    return this.store.historyEntry(promptId);
  }

  async deleteHistory(ids?: string[]): Promise<void> {
    this.store.deleteHistory(ids);
  }

  async has(promptId: string): Promise<boolean> {
    return this.store.has(promptId);
  }

  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /**
   * Server shutdown: the running prompt is stopped and put back (it runs again on the next start,
   * not counted as a crash), pending prompts stay in the store; then the store is closed.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.running?.abort.abort();
    await this.idle();
    this.store.close();
  }

  private kick(): void {
    if (this.stopping) return;
    // The run starts a moment later, so the reply to POST /prompt is written before any message
    // about the prompt, and a client has read it and registered its listeners before the first one.
    this.pumping ??= new Promise((resolve) => setTimeout(resolve, RUN_START_DELAY_MS)).then(() => this.pump()).finally(() => (this.pumping = undefined));
  }

  private async pump(): Promise<void> {
    for (let item = this.store.start(); item; item = this.stopping ? undefined : this.store.start()) {
      const abort = new AbortController();
      this.running = { item, abort };
      const entry = await runPrompt(this.engine, item, {
        signal: abort.signal,
        cache: this.cache,
        folders: this.folders,
        fileNumbering: this.store.fileNumbering,
        reporter: this.reporter,
      });
      // Stopped by the shutdown (not by a user's interrupt before it): run it again on the next start.
      const cutShort = this.stopping && entry.status.messages.some(([type]) => type === 'execution_interrupted');
      if (cutShort) this.store.requeue(item.promptId);
      else this.store.finish(item.promptId, entry);
      this.running = undefined;
      if (!this.stopping) this.reporter.status();
    }
  }
}
