import type { QueueStore } from './store.ts';
import type { HistoryEntry, QueueItem } from './types.ts';

/** The queue in this process's memory: what tests use, and `fewstep serve --in-memory`. Lost with the process. */
export class MemoryStore implements QueueStore {
  private readonly queued: QueueItem[] = [];
  private current: QueueItem | undefined;
  private readonly entries = new Map<string, HistoryEntry>();
  private counter = 0;

  constructor(private readonly maxHistory = 1000) {}

  nextNumber(front: boolean): number {
    return front ? -++this.counter : ++this.counter;
  }

  add(item: QueueItem): void {
    this.queued.push(item);
    // Stable: equal numbers keep their arrival order.
    this.queued.sort((a, b) => a.number - b.number);
  }

  pending(): QueueItem[] {
    return [...this.queued];
  }

  running(): QueueItem | undefined {
    return this.current;
  }

  start(): QueueItem | undefined {
    this.current = this.queued.shift();
    return this.current;
  }

  requeue(promptId: string): void {
    if (this.current?.promptId !== promptId) return;
    this.queued.unshift(this.current);
    this.current = undefined;
  }

  finish(promptId: string, entry: HistoryEntry): void {
    if (this.current?.promptId === promptId) this.current = undefined;
    this.entries.set(promptId, entry);
    while (this.entries.size > this.maxHistory) this.entries.delete(this.entries.keys().next().value!);
  }

  removePending(ids?: string[]): number {
    const before = this.queued.length;
    for (let i = this.queued.length - 1; i >= 0; i--) {
      if (!ids || ids.includes(this.queued[i].promptId)) this.queued.splice(i, 1);
    }
    return before - this.queued.length;
  }

  count(): number {
    return this.queued.length + (this.current ? 1 : 0);
  }

  history(maxItems?: number): Record<string, HistoryEntry> {
    const entries = [...this.entries.entries()];
    return Object.fromEntries(maxItems === undefined ? entries : entries.slice(Math.max(0, entries.length - maxItems)));
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    return this.entries.get(promptId);
  }

  deleteHistory(ids?: string[]): void {
    if (!ids) this.entries.clear();
    else for (const id of ids) this.entries.delete(id);
  }

  has(promptId: string): boolean {
    return this.entries.has(promptId) || this.current?.promptId === promptId || this.queued.some((item) => item.promptId === promptId);
  }

  close(): void {
    this.queued.length = 0;
  }
}
