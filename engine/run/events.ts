import type { ImageBatch } from '../image/image-batch.ts';
import type { UiOutput } from '../node.ts';

/** Everything a run reports, as one typed union. The server maps these onto ComfyUI's ws messages. */
export type RunEvent =
  | { type: 'run_started'; promptId: string; nodes: string[] }
  /** Always sent after run_started, with the nodes reused from the cache (maybe none). */
  | { type: 'node_cached'; promptId: string; nodeIds: string[] }
  | { type: 'node_started'; promptId: string; nodeId: string; classType: string }
  | { type: 'node_progress'; promptId: string; nodeId: string; value: number; max: number; preview?: ImageBatch; detail?: Record<string, unknown> }
  /**
   * A node's result: after it ran, or (`cached`) when the result of an output node, or of a node
   * that shows something, came from the cache, so its ui is shown again. `outputNode` tells ComfyUI's `executed` (output nodes) from a node
   * that only shows figures on its card.
   */
  | {
      type: 'node_finished';
      promptId: string;
      nodeId: string;
      classType: string;
      outputNode: boolean;
      cached?: boolean;
      ui?: UiOutput;
      stats?: Record<string, unknown>;
    }
  | { type: 'node_failed'; promptId: string; nodeId: string; classType: string; message: string; errorType: string }
  | { type: 'run_interrupted'; promptId: string; nodeId: string | null }
  | { type: 'run_finished'; promptId: string; status: 'success' | 'failed' | 'interrupted' };

export type RunEventListener = (event: RunEvent) => void;
