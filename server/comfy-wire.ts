import type { UiOutput } from '../engine/index.ts';

/**
 * The websocket messages fewstep sends, typed as ComfyUI sends them (execution.py, main.py,
 * comfy_execution/progress.py). test/server/frontend-types.typecheck.ts checks these against the
 * types of ComfyUI's frontend (@comfyorg/comfyui-frontend-types).
 */
export interface StatusMessage {
  status: { exec_info: { queue_remaining: number } };
  sid?: string;
}

export interface ExecutionStartMessage {
  prompt_id: string;
  timestamp: number;
}

export type ExecutionSuccessMessage = ExecutionStartMessage;

export interface ExecutionCachedMessage {
  nodes: string[];
  prompt_id: string;
  timestamp: number;
}

export interface ExecutingMessage {
  node: string;
  display_node: string;
  prompt_id: string;
}

/** The end of a prompt: `executing` with node null (ComfyUI's frontend types leave this one out). */
export interface ExecutingDoneMessage {
  node: null;
  display_node: null;
  prompt_id: string;
}

export interface ProgressMessage {
  value: number;
  max: number;
  prompt_id: string;
  node: string;
  /** fewstep's addition: figures so far (the sampler's compute per step). */
  detail?: Record<string, unknown>;
}

export interface ExecutedMessage {
  node: string;
  display_node: string;
  output: UiOutput;
  prompt_id: string;
}

export interface ExecutionErrorMessage {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  exception_message: string;
  exception_type: string;
  traceback: string[];
  current_inputs: Record<string, unknown>;
  current_outputs: Record<string, unknown>;
  timestamp: number;
}

/** A prompt that failed with no node at fault (it threw outside a node): node_id and node_type are null. */
export type ExecutionCrashMessage = Omit<ExecutionErrorMessage, 'node_id' | 'node_type'> & { node_id: null; node_type: null };

export interface ExecutionInterruptedMessage {
  prompt_id: string;
  node_id: string | null;
  node_type: string | null;
  executed: string[];
  timestamp: number;
}
