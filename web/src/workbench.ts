import type { LGraph, LGraphCanvas } from '@comfyorg/litegraph';
import { api, ApiError, type PromptRejection } from './api.ts';
import { askName, confirmAction } from './dialogs.ts';
import type { ExecutionView } from './execution.ts';
import type { QueuePanel } from './queue-panel.ts';
import { toast } from './toast.ts';
import type { TrainingView } from './training.ts';
import type { UndoHistory } from './undo.ts';
import { applySeedControls } from './widgets.ts';
import { downloadWorkflow, fitView, loadFile, loadWorkflow, serializeWorkflow } from './workflow-io.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Parts {
  graph: LGraph;
  canvas: LGraphCanvas;
  execution: ExecutionView;
  training: TrainingView;
  undo: UndoHistory;
  queuePanel: QueuePanel;
  clientId: string;
  redraw: () => void;
}

/**
 * What the toolbar and the shortcuts do to the graph: queue, save, load, clear, undo. Every
 * change that replaces the graph is undoable and leaves nothing of the old graph's state behind
 * (status, error marks, the training panel).
 */
export class Workbench {
  /** The name Save offers: the example or file last loaded, or the last name saved under. */
  private name = 'workflow';

  constructor(private readonly parts: Parts) {}

  /** Sends the graph to the queue (`front`: ahead of the pending prompts, as Ctrl+Shift+Enter does). */
  async queue(front = false): Promise<boolean> {
    const { graph, execution, clientId, undo, queuePanel, redraw } = this.parts;
    undo.checkpoint();
    const workflow = serializeWorkflow(graph);
    execution.clearMarks();
    try {
      const { prompt_id } = await api.queuePrompt(workflow, clientId, workflow, front);
      execution.expect(prompt_id, graph._nodes.length);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && (error.body as PromptRejection)?.error) {
        const body = error.body as PromptRejection;
        execution.showValidation(body.error, body.node_errors);
      } else toast(`Queue failed: ${(error as Error).message}`, 'error');
      return false;
    }
    // Seeds move after the prompt is sent (ComfyUI's control_after_generate "after" mode).
    if (applySeedControls(graph._nodes) > 0) {
      redraw();
      undo.checkpoint();
    }
    queuePanel.refresh();
    return true;
  }

  /** Everything the old graph left: run status, the training panel; then the view fits the new one. */
  private replaced(fit: boolean): void {
    const { graph, canvas, execution, training, undo, redraw } = this.parts;
    execution.resetStatus();
    training.dismiss();
    training.refresh();
    if (fit) fitView(canvas, graph._nodes);
    undo.checkpoint();
    redraw();
  }

  replaceGraph(workflow: unknown, source: string): boolean {
    this.parts.undo.checkpoint();
    if (!loadWorkflow(this.parts.graph, workflow, source)) return false;
    this.replaced(true);
    return true;
  }

  async loadFile(file: File): Promise<void> {
    this.parts.undo.checkpoint();
    if (!(await loadFile(this.parts.graph, file))) return;
    this.name = file.name.replace(/\.(json|png)$/i, '');
    this.replaced(true);
  }

  async save(): Promise<void> {
    const name = await askName('Save workflow as', this.name);
    if (!name) return;
    this.name = name.replace(/\.json$/, '');
    downloadWorkflow(this.parts.graph, name);
  }

  async clear(): Promise<void> {
    const { graph } = this.parts;
    if (graph._nodes.length > 0) {
      const count = graph._nodes.length;
      const sure = await confirmAction('Clear the graph?', `This removes all ${count} node${count === 1 ? '' : 's'}. Ctrl+Z brings them back.`, 'Clear');
      if (!sure) return;
    }
    this.parts.undo.checkpoint();
    graph.clear();
    this.name = 'workflow';
    this.replaced(false);
  }

  undoOrRedo(which: 'undo' | 'redo'): boolean {
    const { undo, execution } = this.parts;
    const done = which === 'undo' ? undo.undo() : undo.redo();
    if (done) execution.resetStatus();
    else toast(`Nothing to ${which}`, 'info');
    return true;
  }

  listExamples(select: HTMLSelectElement, shipped: Array<{ name: string; title: string }>): void {
    for (const workflow of shipped) select.add(new Option(workflow.title, workflow.name));
    select.onchange = async () => {
      const name = select.value;
      select.value = '';
      if (!name) return;
      try {
        if (this.replaceGraph(await api.workflow(name), name)) {
          this.name = name;
          toast(`Loaded example ${name}`, 'ok');
        }
      } catch (error) {
        toast(`${name}: ${(error as Error).message}`, 'error');
      }
    };
  }

  bindToolbar({ fit }: { fit: () => void }): void {
    $('queue-button').onclick = () => void this.queue();
    $('interrupt-button').onclick = () => void api.interrupt().catch((e) => toast((e as Error).message, 'error'));
    $('save-button').onclick = () => void this.save();
    $('clear-button').onclick = () => void this.clear();
    $('undo-button').onclick = () => this.undoOrRedo('undo');
    $('redo-button').onclick = () => this.undoOrRedo('redo');
    $('fit-button').onclick = fit;
    const picker = $<HTMLInputElement>('file-input');
    $('load-button').onclick = () => picker.click();
    picker.onchange = async () => {
      const file = picker.files?.[0];
      picker.value = '';
      if (file) await this.loadFile(file);
    };
    // Files dropped anywhere on the canvas area: a workflow .json, or a .png that carries one.
    const area = $('canvas-area');
    area.addEventListener(
      'dragover',
      (event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        event.stopPropagation();
        area.classList.add('dragging');
      },
      true,
    );
    area.addEventListener('dragleave', () => area.classList.remove('dragging'), true);
    area.addEventListener(
      'drop',
      (event) => {
        area.classList.remove('dragging');
        const file = event.dataTransfer?.files?.[0];
        if (!file) return;
        event.preventDefault();
        event.stopPropagation();
        void this.loadFile(file);
      },
      true,
    );
  }
}
