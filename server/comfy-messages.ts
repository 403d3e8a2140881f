import { encodePng, type RunEvent } from '../engine/index.ts';
import type { QueueItem, QueueReporter } from './queue.ts';
import type { WsHub } from './ws-hub.ts';

/**
 * Maps the engine's run events onto ComfyUI's websocket messages, with ComfyUI's field names and
 * order: execution_start, execution_cached, (executing, progress*, executed)*, then
 * execution_success | execution_error | execution_interrupted, then executing with node null.
 */
export function comfyReporter(hub: WsHub, status: () => unknown): QueueReporter {
  // The nodes each running prompt has executed so far, for execution_error / _interrupted.
  const executed = new Map<string, string[]>();
  const classOf = new Map<string, Map<string, string>>();

  const finish = (item: QueueItem) => {
    executed.delete(item.promptId);
    classOf.delete(item.promptId);
    hub.send(item.clientId, 'executing', { node: null, display_node: null, prompt_id: item.promptId });
  };

  return {
    status: () => hub.broadcast('status', { status: status() }),
    crashed(item, message, errorType) {
      hub.send(item.clientId, 'execution_error', {
        prompt_id: item.promptId,
        node_id: null,
        node_type: null,
        executed: executed.get(item.promptId) ?? [],
        exception_message: message,
        exception_type: errorType,
        traceback: [],
        current_inputs: {},
        current_outputs: {},
        timestamp: Date.now(),
      });
      finish(item);
    },
    event(item, event: RunEvent) {
      const to = item.clientId;
      const prompt_id = item.promptId;
      const timestamp = Date.now();
      switch (event.type) {
        case 'run_started':
          executed.set(prompt_id, []);
          classOf.set(prompt_id, new Map());
          hub.send(to, 'execution_start', { prompt_id, timestamp });
          break;
        case 'node_cached':
          executed.get(prompt_id)?.push(...event.nodeIds);
          hub.send(to, 'execution_cached', { nodes: event.nodeIds, prompt_id, timestamp });
          break;
        case 'node_started':
          classOf.get(prompt_id)?.set(event.nodeId, event.classType);
          hub.send(to, 'executing', { node: event.nodeId, display_node: event.nodeId, prompt_id });
          break;
        case 'node_progress':
          hub.send(to, 'progress', { value: event.value, max: event.max, prompt_id, node: event.nodeId, ...(event.detail ? { detail: event.detail } : {}) });
          if (event.preview) hub.sendPreview(to, encodePng(event.preview, 0));
          break;
        case 'node_finished':
          executed.get(prompt_id)?.push(event.nodeId);
          if (event.ui) hub.send(to, 'executed', { node: event.nodeId, display_node: event.nodeId, output: event.ui, prompt_id });
          break;
        case 'node_failed':
          hub.send(to, 'execution_error', {
            prompt_id,
            node_id: event.nodeId,
            node_type: event.classType,
            executed: executed.get(prompt_id) ?? [],
            exception_message: event.message,
            exception_type: event.errorType,
            traceback: [],
            current_inputs: {},
            current_outputs: {},
            timestamp,
          });
          break;
        case 'run_interrupted':
          hub.send(to, 'execution_interrupted', {
            prompt_id,
            node_id: event.nodeId,
            node_type: event.nodeId ? (classOf.get(prompt_id)?.get(event.nodeId) ?? null) : null,
            executed: executed.get(prompt_id) ?? [],
            timestamp,
          });
          break;
        case 'run_finished':
          if (event.status === 'success') hub.send(to, 'execution_success', { prompt_id, timestamp });
          finish(item);
          break;
        default: {
          // Events added later (e.g. training_progress from the RL nodes) pass through under their own name.
          const { type, ...data } = event as { type: string };
          hub.send(to, type, { ...data, prompt_id });
        }
      }
    },
  };
}
