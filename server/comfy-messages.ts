import { encodePng, type RunEvent } from '../engine/index.ts';
import type * as Wire from './comfy-wire.ts';
import { ProgressStates } from './progress-state.ts';
import type { QueueItem, QueueReporter } from './queue.ts';
import type { WsHub } from './ws-hub.ts';

/**
 * What fewstep sends for a node that is not an output node but shows something on its card (the
 * sampler's figures): ComfyUI's `executed` is for output nodes only, and clients such as
 * @stable-canvas/comfyui-client take the first `executed` as the result. Same data as `executed`.
 */
export const NODE_DISPLAY_MESSAGE = 'fewstep_executed';

/**
 * Maps the engine's run events onto ComfyUI's websocket messages, with ComfyUI's names, fields,
 * order and recipients (execution.py, comfy_execution/progress.py): execution_start,
 * execution_cached (always, maybe empty), then per node progress_state (running), executing,
 * progress*, executed (output nodes, cached ones too), progress_state (finished); then
 * execution_success | execution_error | execution_interrupted, then executing with node null.
 * A prompt queued without a client_id gets what ComfyUI broadcasts then (progress,
 * progress_state, previews, execution_interrupted) on every socket, the rest only on watchers'.
 */
export function comfyReporter(hub: WsHub, status: () => Wire.StatusMessage['status']): QueueReporter {
  // The nodes each running prompt has executed so far, for execution_error / _interrupted.
  const executed = new Map<string, string[]>();
  const classOf = new Map<string, Map<string, string>>();
  const progress = new ProgressStates();

  const finish = (item: QueueItem) => {
    executed.delete(item.promptId);
    classOf.delete(item.promptId);
    progress.forget(item.promptId);
    hub.send(item.clientId, 'executing', { node: null, display_node: null, prompt_id: item.promptId } satisfies Wire.ExecutingDoneMessage);
  };
  const sendProgressState = (item: QueueItem) => hub.sendOrBroadcast(item.clientId, 'progress_state', progress.message(item.promptId));

  return {
    status: () => hub.broadcast('status', { status: status() } satisfies Wire.StatusMessage),
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
      } satisfies Wire.ExecutionCrashMessage);
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
          progress.start(prompt_id);
          hub.send(to, 'execution_start', { prompt_id, timestamp } satisfies Wire.ExecutionStartMessage);
          break;
        case 'node_cached':
          hub.send(to, 'execution_cached', { nodes: event.nodeIds, prompt_id, timestamp } satisfies Wire.ExecutionCachedMessage);
          break;
        case 'node_started':
          classOf.get(prompt_id)?.set(event.nodeId, event.classType);
          progress.set(prompt_id, event.nodeId, 'running', 0, 1);
          sendProgressState(item);
          hub.send(to, 'executing', { node: event.nodeId, display_node: event.nodeId, prompt_id } satisfies Wire.ExecutingMessage);
          break;
        case 'node_progress':
          progress.set(prompt_id, event.nodeId, 'running', event.value, event.max);
          sendProgressState(item);
          hub.sendOrBroadcast(to, 'progress', {
            value: event.value,
            max: event.max,
            prompt_id,
            node: event.nodeId,
            ...(event.detail ? { detail: event.detail } : {}),
          } satisfies Wire.ProgressMessage);
          if (event.preview) {
            const node = event.nodeId;
            hub.sendPreview(to, encodePng(event.preview, 0), { node_id: node, prompt_id, display_node_id: node, parent_node_id: null, real_node_id: node });
          }
          break;
        case 'node_finished': {
          if (!event.cached) executed.get(prompt_id)?.push(event.nodeId);
          if (event.ui) {
            const message = { node: event.nodeId, display_node: event.nodeId, output: event.ui, prompt_id } satisfies Wire.ExecutedMessage;
            hub.send(to, event.outputNode ? 'executed' : NODE_DISPLAY_MESSAGE, message);
          }
          progress.finish(prompt_id, event.nodeId);
          sendProgressState(item);
          break;
        }
        case 'node_failed':
          progress.set(prompt_id, event.nodeId, 'error');
          sendProgressState(item);
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
          } satisfies Wire.ExecutionErrorMessage);
          break;
        case 'run_interrupted':
          hub.sendOrBroadcast(to, 'execution_interrupted', {
            prompt_id,
            node_id: event.nodeId,
            node_type: event.nodeId ? (classOf.get(prompt_id)?.get(event.nodeId) ?? null) : null,
            executed: executed.get(prompt_id) ?? [],
            timestamp,
          } satisfies Wire.ExecutionInterruptedMessage);
          break;
        case 'run_finished':
          if (event.status === 'success') hub.send(to, 'execution_success', { prompt_id, timestamp } satisfies Wire.ExecutionSuccessMessage);
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
