import type { Engine, Folders, OutputCache, RunEvent, RunResult, UiOutput } from '../engine/index.ts';

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

export interface QueueReporter {
  /** Every event of a running prompt. */
  event(item: QueueItem, event: RunEvent): void;
  /** A prompt that ended without the engine reporting it (it threw, or was invalid at run time). */
  crashed(item: QueueItem, message: string, errorType: string): void;
  /** The queue changed length. */
  status(): void;
}

/** How long an idle queue waits before running a new prompt (see enqueue). */
export const RUN_START_DELAY_MS = 50;

const toTuple = (item: QueueItem): QueueTuple => [item.number, item.promptId, item.prompt, item.extraData, item.outputs];

/**
 * One queue, prompts run one at a time in order. A prompt that fails, throws or is interrupted is
 * recorded in the history and the queue moves on; nothing a prompt does stops the queue.
 */
export class PromptQueue {
  private readonly pending: QueueItem[] = [];
  private running: { item: QueueItem; abort: AbortController } | undefined;
  private readonly history = new Map<string, HistoryEntry>();
  private counter = 0;
  private pumping: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly folders: Folders,
    private readonly cache: OutputCache,
    private readonly reporter: QueueReporter,
    private readonly maxHistory = 1000,
  ) {}

  nextNumber(front = false): number {
    return front ? -++this.counter : ++this.counter;
  }

  enqueue(item: QueueItem): void {
    this.pending.push(item);
    this.pending.sort((a, b) => a.number - b.number);
    this.reporter.status();
    // The run starts a moment later, so the reply to POST /prompt is written before any message
    // about the prompt, and a client has read it and registered its listeners (the SDKs do that
    // on the reply) before the first message comes, as with ComfyUI's worker thread.
    this.pumping ??= new Promise<void>((resolve) => setTimeout(resolve, RUN_START_DELAY_MS)).then(() => this.pump()).finally(() => (this.pumping = undefined));
  }

  get remaining(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  snapshot(): { queue_running: QueueTuple[]; queue_pending: QueueTuple[] } {
    return {
      queue_running: this.running ? [toTuple(this.running.item)] : [],
      queue_pending: this.pending.map(toTuple),
    };
  }

  /** Removes pending prompts (by id, or all); running ones are stopped with interrupt(). */
  removePending(ids?: string[]): number {
    const before = this.pending.length;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (!ids || ids.includes(this.pending[i].promptId)) this.pending.splice(i, 1);
    }
    if (before !== this.pending.length) this.reporter.status();
    return before - this.pending.length;
  }

  /** Interrupts the running prompt; with an id, only when that prompt is the one running. */
  interrupt(promptId?: string): boolean {
    if (!this.running || (promptId && this.running.item.promptId !== promptId)) return false;
    this.running.abort.abort();
    return true;
  }

  historyEntries(maxItems?: number): Record<string, HistoryEntry> {
    const entries = [...this.history.entries()];
    return Object.fromEntries(maxItems === undefined ? entries : entries.slice(Math.max(0, entries.length - maxItems)));
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    return this.history.get(promptId);
  }

  deleteHistory(ids?: string[]): void {
    if (!ids) this.history.clear();
    else for (const id of ids) this.history.delete(id);
  }

  has(promptId: string): boolean {
    return this.history.has(promptId) || this.running?.item.promptId === promptId || this.pending.some((i) => i.promptId === promptId);
  }

  /** Resolves when the queue has nothing left to run. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Stops the running prompt and drops the pending ones (server shutdown). */
  async stop(): Promise<void> {
    this.pending.length = 0;
    this.interrupt();
    await this.idle();
  }

  private async pump(): Promise<void> {
    for (let item = this.pending.shift(); item; item = this.pending.shift()) {
      const abort = new AbortController();
      this.running = { item, abort };
      const messages: HistoryEntry['status']['messages'] = [];
      let result: RunResult | undefined;
      try {
        result = await this.engine.run(item.prompt, {
          promptId: item.promptId,
          signal: abort.signal,
          cache: this.cache,
          folders: this.folders,
          workflow: item.workflow,
          onEvent: (event) => {
            recordMessage(messages, event);
            try {
              this.reporter.event(item!, event);
            } catch (error) {
              console.error('fewstep: reporting an event failed:', error);
            }
          },
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        messages.push(['execution_error', { prompt_id: item.promptId, exception_message: message, timestamp: Date.now() }]);
        this.reporter.crashed(item, message, error instanceof Error ? error.name : 'Error');
      }
      if (result?.status === 'invalid') {
        const message = [result.error.message, result.error.details].filter(Boolean).join(': ');
        messages.push(['execution_error', { prompt_id: item.promptId, exception_message: message, timestamp: Date.now() }]);
        this.reporter.crashed(item, message, result.error.type);
      }
      const outputs = result && result.status !== 'invalid' ? result.outputs : {};
      this.history.set(item.promptId, {
        prompt: toTuple(item),
        outputs,
        status: { status_str: result?.status === 'success' ? 'success' : 'error', completed: result?.status === 'success', messages },
        meta: Object.fromEntries(Object.keys(outputs).map((id) => [id, { node_id: id, display_node: id }])),
      });
      while (this.history.size > this.maxHistory) this.history.delete(this.history.keys().next().value!);
      this.running = undefined;
      this.reporter.status();
    }
  }
}

/** The status messages ComfyUI keeps in history. */
function recordMessage(messages: HistoryEntry['status']['messages'], event: RunEvent): void {
  const timestamp = Date.now();
  switch (event.type) {
    case 'run_started':
      messages.push(['execution_start', { prompt_id: event.promptId, timestamp }]);
      break;
    case 'node_cached':
      messages.push(['execution_cached', { prompt_id: event.promptId, nodes: event.nodeIds, timestamp }]);
      break;
    case 'node_failed':
      messages.push(['execution_error', { prompt_id: event.promptId, node_id: event.nodeId, node_type: event.classType, exception_message: event.message, exception_type: event.errorType, timestamp }]);
      break;
    case 'run_interrupted':
      messages.push(['execution_interrupted', { prompt_id: event.promptId, node_id: event.nodeId, timestamp }]);
      break;
    case 'run_finished':
      if (event.status === 'success') messages.push(['execution_success', { prompt_id: event.promptId, timestamp }]);
      break;
  }
}
