/** A node's state in ComfyUI's `progress_state` message (comfy_execution/progress.py). */
export type NodeState = 'pending' | 'running' | 'finished' | 'error';

export interface NodeProgress {
  value: number;
  max: number;
  state: NodeState;
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  real_node_id: string;
}

/** `progress_state`: every node of a prompt that has started, with its progress. */
export interface ProgressStateMessage {
  prompt_id: string;
  nodes: Record<string, NodeProgress>;
}

/**
 * The per-prompt node states behind `progress_state`, which ComfyUI's frontend reads for the
 * running node, its progress bar and the queue's progress popup. Like ComfyUI, a message lists
 * only nodes that are no longer pending; parent_node_id is left out (fewstep has no subgraphs).
 */
export class ProgressStates {
  private readonly prompts = new Map<string, Map<string, NodeProgress>>();

  start(promptId: string): void {
    this.prompts.set(promptId, new Map());
  }

  set(promptId: string, nodeId: string, state: NodeState, value?: number, max?: number): void {
    const nodes = this.prompts.get(promptId);
    if (!nodes) return;
    const entry = nodes.get(nodeId) ?? { value: 0, max: 1, state, node_id: nodeId, prompt_id: promptId, display_node_id: nodeId, real_node_id: nodeId };
    entry.state = state;
    if (value !== undefined) entry.value = value;
    if (max !== undefined) entry.max = max;
    nodes.set(nodeId, entry);
  }

  /** As ComfyUI's finish_progress: the node is finished and its bar full. */
  finish(promptId: string, nodeId: string): void {
    this.set(promptId, nodeId, 'finished');
    const entry = this.prompts.get(promptId)?.get(nodeId);
    if (entry) entry.value = entry.max;
  }

  message(promptId: string): ProgressStateMessage {
    const nodes = this.prompts.get(promptId) ?? new Map<string, NodeProgress>();
    return { prompt_id: promptId, nodes: Object.fromEntries([...nodes].filter(([, node]) => node.state !== 'pending').map(([id, node]) => [id, { ...node }])) };
  }

  forget(promptId: string): void {
    this.prompts.delete(promptId);
  }
}
