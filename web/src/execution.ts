import type { LGraph, LGraphNode } from '@comfyorg/litegraph';
import { api, type ImageRef, type NodeErrors, type ServerMessage } from './api.ts';
import { makeRoomForContent, runState } from './nodes.ts';
import { toast } from './toast.ts';

export interface ProgressView {
  set(fraction: number | null, text: string): void;
  queueLength(remaining: number): void;
  /** A prompt started or ended: lists of the queue and its history are stale. */
  changed(): void;
}

/**
 * Follows the prompts this editor queued over the websocket: per-node progress bars, the overall
 * bar, live previews on the running node, images on output nodes, and failures on their nodes.
 */
export class ExecutionView {
  private promptId: string | undefined;
  private currentNode: string | undefined;
  private totals = new Map<string, number>();
  private done = new Set<string>();
  private nodeFraction = 0;
  private outcome: 'done' | 'failed' | 'stopped' = 'done';
  /** Nodes whose output this run's `executed` messages carried. */
  private readonly shown = new Set<string>();

  constructor(
    private readonly graph: () => LGraph,
    private readonly view: ProgressView,
    private readonly redraw: () => void,
  ) {}

  /** Called after POST /prompt accepted a prompt of `nodeCount` nodes. */
  expect(promptId: string, nodeCount: number): void {
    this.totals.set(promptId, nodeCount);
  }

  private node(id: string | null | undefined): LGraphNode | undefined {
    if (id === null || id === undefined) return undefined;
    const graph = this.graph();
    return graph.getNodeById(Number(id)) ?? graph.getNodeById(id) ?? undefined;
  }

  private overall(): void {
    if (!this.promptId) return;
    const total = this.totals.get(this.promptId) ?? Math.max(1, this.done.size + 1);
    const fraction = Math.min(1, (this.done.size + this.nodeFraction) / Math.max(1, total));
    const current = this.node(this.currentNode);
    this.view.set(fraction, current ? `${current.title} ${Math.round(fraction * 100)}%` : `${Math.round(fraction * 100)}%`);
  }

  /** Clears the error marks and progress of the last run; images, previews and text stay until replaced. */
  clearMarks(): void {
    for (const node of this.graph()._nodes) {
      const state = runState(node);
      node.progress = undefined;
      node.has_errors = false;
      state.message = undefined;
      state.inputErrors.clear();
    }
    this.redraw();
  }

  /** The graph was replaced or cleared: the bar and its label go back to idle. */
  resetStatus(): void {
    this.promptId = undefined;
    this.currentNode = undefined;
    this.done.clear();
    this.nodeFraction = 0;
    this.view.set(null, 'idle');
  }

  /** A 400 from POST /prompt: each problem goes on its node and input. */
  showValidation(error: { message: string; details?: string }, nodeErrors: NodeErrors = {}): void {
    this.clearMarks();
    let placed = 0;
    for (const [id, { errors }] of Object.entries(nodeErrors)) {
      const node = this.node(id);
      if (!node) continue;
      node.has_errors = true;
      const state = runState(node);
      for (const entry of errors) {
        const input = entry.extra_info?.input_name;
        const text = entry.details || entry.message;
        if (input) state.inputErrors.set(input, text);
        else state.message = state.message ? `${state.message}; ${text}` : text;
        placed++;
      }
    }
    toast(
      placed > 0
        ? `${error.message}: ${placed} problem${placed > 1 ? 's' : ''} marked on the graph`
        : `${error.message}${error.details ? `: ${error.details}` : ''}`,
      'error',
    );
    this.redraw();
  }

  preview(png: Blob): void {
    const node = this.node(this.currentNode);
    if (!node) return;
    const state = runState(node);
    const img = new Image();
    const url = URL.createObjectURL(png);
    img.onload = () => {
      const old = state.preview;
      state.preview = img;
      if (old?.src.startsWith('blob:')) URL.revokeObjectURL(old.src);
      makeRoomForContent(node);
      this.redraw();
    };
    img.src = url;
  }

  /** Shows what a node output: its text lines and its images. */
  private showOutput(id: string, output: { images?: ImageRef[]; text?: unknown } | undefined): void {
    const node = this.node(id);
    if (!node || !output) return;
    const images = output.images ?? [];
    if (Array.isArray(output.text)) {
      runState(node).text = output.text.map(String);
      makeRoomForContent(node);
    }
    if (images.length > 0) {
      const state = runState(node);
      state.preview = undefined;
      state.images = images.map((ref) => {
        const img = new Image();
        img.onload = () => this.redraw();
        img.src = api.viewUrl(ref);
        img.dataset.filename = ref.filename;
        return img;
      });
      makeRoomForContent(node);
    }
    this.redraw();
  }

  /**
   * Output nodes that were cached may get no `executed` message (this server sends them only
   * for nodes that ran): their outputs are read back from the prompt's history entry.
   */
  private async showCachedOutputs(promptId: string): Promise<void> {
    try {
      const entry = (await api.historyEntry(promptId))[promptId];
      if (!entry || promptId !== this.promptId) return;
      for (const [id, output] of Object.entries(entry.outputs ?? {})) if (!this.shown.has(id)) this.showOutput(id, output);
    } catch {
      // The outputs stay as they were; the history panel still lists them.
    }
  }

  message({ type, data }: ServerMessage): void {
    if (type === 'status') {
      this.view.queueLength(data.status?.exec_info?.queue_remaining ?? 0);
      this.view.changed();
      return;
    }
    if (data?.prompt_id && this.promptId && data.prompt_id !== this.promptId && type !== 'execution_start') return;
    switch (type) {
      case 'execution_start':
        this.promptId = data.prompt_id;
        this.done.clear();
        this.nodeFraction = 0;
        this.currentNode = undefined;
        this.outcome = 'done';
        this.shown.clear();
        this.clearMarks();
        this.view.set(0, 'starting');
        this.view.changed();
        break;
      case 'execution_cached':
        for (const id of data.nodes as string[]) this.done.add(String(id));
        this.overall();
        break;
      case 'executing': {
        const previous = this.node(this.currentNode);
        if (previous) previous.progress = undefined;
        if (this.currentNode) this.done.add(this.currentNode);
        this.nodeFraction = 0;
        if (data.node === null) {
          this.currentNode = undefined;
          // The bar stays full after a success, empty after a failure or a stop, until the next run.
          this.view.set(this.outcome === 'done' ? 1 : null, this.outcome);
          this.view.changed();
        } else {
          this.currentNode = String(data.node);
          const node = this.node(this.currentNode);
          if (node) {
            // The node runs again: what it showed last time is replaced by what comes now.
            node.progress = 0.001;
            const state = runState(node);
            state.preview = undefined;
            state.text = [];
          }
          this.overall();
        }
        break;
      }
      case 'progress': {
        const node = this.node(String(data.node));
        const fraction = data.max > 0 ? data.value / data.max : 0;
        if (node) node.progress = Math.max(0.001, fraction);
        this.currentNode = String(data.node);
        this.nodeFraction = fraction;
        this.overall();
        break;
      }
      // fewstep_executed: what a node that is not an output node shows (the sampler's figures).
      case 'fewstep_executed':
      case 'executed':
        this.shown.add(String(data.node));
        this.showOutput(String(data.node), data.output);
        break;
      case 'execution_error': {
        const node = this.node(data.node_id);
        if (node) {
          node.has_errors = true;
          runState(node).message = data.exception_message;
        }
        this.outcome = 'failed';
        this.view.changed();
        toast(`Failed${node ? ` in ${node.title}` : ''}: ${data.exception_message}`, 'error');
        break;
      }
      case 'execution_interrupted':
        this.outcome = 'stopped';
        this.view.changed();
        toast('Stopped', 'info');
        break;
      case 'execution_success':
        this.view.set(1, 'done');
        void this.showCachedOutputs(String(data.prompt_id ?? this.promptId));
        break;
    }
    this.redraw();
  }
}
