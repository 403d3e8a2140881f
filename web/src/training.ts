import type { LGraph, LGraphNode } from '@comfyorg/litegraph';
import { api, ApiError, type ImageRef, type PromptRejection, type ServerMessage } from './api.ts';
import { trainingChart } from './chart.ts';
import { toast } from './toast.ts';
import { serializeWorkflow } from './workflow-io.ts';

const widgetValue = (node: LGraphNode, name: string) => node.widgets?.find((w) => w.name === name)?.value;
/** litegraph node modes that take a node out of the run (as the server's conversion drops them). */
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

/** True when the graph has a StepScheduler whose spacing is "learned": there is something to train. */
export function hasLearnedScheduler(graph: LGraph): boolean {
  return graph._nodes.some((node) => node.type === 'StepScheduler' && widgetValue(node, 'spacing') === 'learned' && node.mode !== MODE_MUTED && node.mode !== MODE_BYPASS);
}

/**
 * The Train button and the reward chart: POST /train with the graph, follow `training_progress`
 * on the socket, and when `training_done` arrives write the learned widget values into the graph's
 * nodes (the StepScheduler's schedule, a SkipGate's gates), so Queue samples what was learned and
 * Save keeps it. The server also writes the learned workflow to output/train/.
 */
export class TrainingView {
  private trainId: string | undefined;
  /** Extra trainer settings sent with the next run (the server's defaults otherwise): iterations, batch, ... */
  overrides: Record<string, number | boolean> = {};

  constructor(
    private readonly graph: () => LGraph,
    private readonly button: HTMLButtonElement,
    private readonly minutes: HTMLInputElement,
    private readonly clientId: string,
    private readonly redraw: () => void,
    private readonly onRejected: (rejection: PromptRejection) => void,
  ) {
    button.onclick = () => void this.click();
  }

  get running(): boolean {
    return this.trainId !== undefined;
  }

  /** Shows the button when the graph can be trained (or a run is going), labelled for what a click does. */
  refresh(): void {
    this.button.hidden = !this.running && !hasLearnedScheduler(this.graph());
    const options = this.minutes.parentElement;
    if (options) options.hidden = this.button.hidden || this.running;
    this.button.textContent = this.running ? 'Stop training' : 'Train';
    this.button.classList.toggle('busy', this.running);
  }

  async click(): Promise<void> {
    if (this.trainId) {
      await api.interruptTraining(this.trainId).catch((error) => toast((error as Error).message, 'error'));
      return;
    }
    const workflow = serializeWorkflow(this.graph());
    const maxMinutes = Number(this.minutes.value);
    if (!(maxMinutes > 0)) {
      toast('Train: set the minutes to a number above 0', 'error');
      return;
    }
    try {
      const { train_id, iterations } = await api.train(workflow, this.clientId, 'workflow', { maxMinutes, ...this.overrides });
      this.trainId = train_id;
      trainingChart.reset(`training: 0 of ${iterations} iterations`);
      toast(`Training started (${iterations} iterations)`, 'info');
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && (error.body as PromptRejection)?.node_errors) this.onRejected(error.body as PromptRejection);
      else toast(`Train: ${(error as Error).message}`, 'error');
    }
    this.refresh();
  }

  /** Handles the training messages; false for anything else. */
  message({ type, data }: ServerMessage): boolean {
    switch (type) {
      case 'training_start':
        this.trainId = data.train_id;
        break;
      case 'training_progress':
        this.trainId ??= data.train_id;
        trainingChart.add(data);
        break;
      case 'training_done':
        this.trainId = undefined;
        if (data.widgets) this.apply(data.widgets);
        trainingChart.finish(data.status === 'stopped' ? 'stopped' : 'done', data.files?.plot as ImageRef | undefined);
        toast(
          data.files
            ? `${data.status === 'stopped' ? 'Training stopped; kept the best schedule so far' : 'Training done'}: held-out FD ${fmt(data.held_out_fd_start)} -> ${fmt(data.held_out_fd_best)}; saved output/train/${data.files.workflow.filename}`
            : 'Training stopped before its first iteration',
          data.files ? 'ok' : 'info',
        );
        break;
      case 'training_error':
        this.trainId = undefined;
        trainingChart.finish('failed');
        toast(`Training failed: ${data.message}`, 'error');
        break;
      default:
        return false;
    }
    this.refresh();
    this.redraw();
    return true;
  }

  private apply(widgets: Record<string, Record<string, unknown>>): void {
    const graph = this.graph();
    for (const [id, values] of Object.entries(widgets)) {
      const node = graph.getNodeById(Number(id)) ?? graph.getNodeById(id);
      if (!node) continue;
      for (const [name, value] of Object.entries(values)) {
        const widget = node.widgets?.find((w) => w.name === name);
        if (widget) widget.value = value as never;
      }
    }
  }
}

const fmt = (value: unknown) => (typeof value === 'number' ? value.toFixed(3) : '-');
