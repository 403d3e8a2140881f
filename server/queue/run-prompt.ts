import type { Engine, FileNumbering, Folders, OutputCache, RunEvent, RunResult, UiOutput } from '../../engine/index.ts';
import { toTuple, type HistoryEntry, type QueueItem, type QueueReporter } from './types.ts';

type Messages = HistoryEntry['status']['messages'];

export interface RunPromptOptions {
  signal: AbortSignal;
  folders: Folders;
  cache?: OutputCache;
  fileNumbering?: FileNumbering;
  reporter: Pick<QueueReporter, 'event' | 'crashed'>;
}

/**
 * Runs one queued prompt on the engine and returns its history entry. Whatever the prompt does
 * (fails, throws, is interrupted, is invalid by the time it runs), it ends as an entry: the local
 * queue and the Redis worker both record exactly what this returns.
 */
export async function runPrompt(engine: Engine, item: QueueItem, options: RunPromptOptions): Promise<HistoryEntry> {
  const messages: Messages = [];
  let result: RunResult | undefined;
  try {
    result = await engine.run(item.prompt, {
      promptId: item.promptId,
      signal: options.signal,
      cache: options.cache,
      folders: options.folders,
      workflow: item.workflow,
      fileNumbering: options.fileNumbering,
      onEvent: (event) => {
        recordMessage(messages, event);
        try {
          options.reporter.event(item, event);
        } catch (error) {
          console.error('fewstep: reporting an event failed:', error);
        }
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    messages.push(['execution_error', { prompt_id: item.promptId, exception_message: message, timestamp: Date.now() }]);
    options.reporter.crashed(item, message, error instanceof Error ? error.name : 'Error');
  }
  if (result?.status === 'invalid') {
    const message = [result.error.message, result.error.details].filter(Boolean).join(': ');
    messages.push(['execution_error', { prompt_id: item.promptId, exception_message: message, timestamp: Date.now() }]);
    options.reporter.crashed(item, message, result.error.type);
  }
  const outputs = result && result.status !== 'invalid' ? result.outputs : {};
  return historyEntry(item, outputs, result?.status === 'success', messages);
}

export function historyEntry(item: QueueItem, outputs: Record<string, UiOutput>, success: boolean, messages: Messages): HistoryEntry {
  return {
    prompt: toTuple(item),
    outputs,
    status: { status_str: success ? 'success' : 'error', completed: success, messages },
    meta: Object.fromEntries(Object.keys(outputs).map((id) => [id, { node_id: id, display_node: id }])),
  };
}

/** The entry of a prompt that never finished because whatever ran it died (server or worker killed). */
export function lostEntry(item: QueueItem, message: string, errorType: string): HistoryEntry {
  return historyEntry(item, {}, false, [
    ['execution_error', { prompt_id: item.promptId, exception_message: message, exception_type: errorType, timestamp: Date.now() }],
  ]);
}

/** The status messages ComfyUI keeps in history. */
function recordMessage(messages: Messages, event: RunEvent): void {
  const timestamp = Date.now();
  switch (event.type) {
    case 'run_started':
      messages.push(['execution_start', { prompt_id: event.promptId, timestamp }]);
      break;
    case 'node_cached':
      messages.push(['execution_cached', { prompt_id: event.promptId, nodes: event.nodeIds, timestamp }]);
      break;
    case 'node_failed':
      messages.push([
        'execution_error',
        {
          prompt_id: event.promptId,
          node_id: event.nodeId,
          node_type: event.classType,
          exception_message: event.message,
          exception_type: event.errorType,
          timestamp,
        },
      ]);
      break;
    case 'run_interrupted':
      messages.push(['execution_interrupted', { prompt_id: event.promptId, node_id: event.nodeId, timestamp }]);
      break;
    case 'run_finished':
      if (event.status === 'success') messages.push(['execution_success', { prompt_id: event.promptId, timestamp }]);
      break;
  }
}
