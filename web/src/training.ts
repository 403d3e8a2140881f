import type { LGraph, LGraphNode } from '@comfyorg/litegraph';
import { api, ApiError, type ImageRef, type PromptRejection, type ServerMessage } from './api.ts';
import { TrainingChart } from './chart.ts';
import type { Sidebar } from './sidebar.ts';
import { toast } from './toast.ts';
import { serializeWorkflow } from './workflow-io.ts';

const widgetValue = (node: LGraphNode, name: string) => node.widgets?.find((w) => w.name === name)?.value;
/** litegraph node modes that take a node out of the run (as the server's conversion drops them). */
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

/** True when the graph has a StepScheduler whose spacing is "learned": there is something to train. */
export function hasLearnedScheduler(graph: LGraph): boolean {
  return graph._nodes.some(
    (node) => node.type === 'StepScheduler' && widgetValue(node, 'spacing') === 'learned' && node.mode !== MODE_MUTED && node.mode !== MODE_BYPASS,
  );
}

/**
 * The Train button and the reward chart: POST /train with the graph, follow `training_progress`
 * on the socket, and when `training_done` arrives write the learned widget values into the graph's
 * nodes (the StepScheduler's schedule, a SkipGate's gates), so Queue samples what was learned and
 * Save keeps it. The server also writes the learned workflow to output/train/.
 */
export class TrainingView {
  private trainId: string | undefined;
  /** Set when the graph was replaced during a run: what it learns is not written into another graph. */
  private detached = false;
  private status = '';
  /** Extra trainer settings sent with the next run (the server's defaults otherwise): iterations, batch, ... */
  overrides: Record<string, number | boolean> = {};
  readonly chart: TrainingChart;
  private readonly panel = document.getElementById('training-panel') as HTMLElement;
  private readonly label = document.getElementById('training-label') as HTMLElement;
  private readonly notice = document.getElementById('training-notice') as HTMLElement;
  private readonly plot = document.getElementById('training-plot') as HTMLAnchorElement;

  constructor(
    private readonly graph: () => LGraph,
    private readonly button: HTMLButtonElement,
    private readonly minutes: HTMLInputElement,
    private readonly clientId: string,
    private readonly redraw: () => void,
    private readonly onRejected: (rejection: PromptRejection) => void,
    private readonly sidebar: Sidebar,
  ) {
    button.onclick = () => void this.click();
    this.chart = new TrainingChart(document.getElementById('training-chart') as HTMLCanvasElement);
  }

  /** Shows the panel with a fresh chart for a run of `iterations`. */
  private begin(iterations: number): void {
    this.detached = false;
    this.chart.reset(iterations);
    this.status = `training: 0 of ${iterations} iterations`;
    this.notice.hidden = true;
    this.plot.hidden = true;
    this.sidebar.show(this.panel);
    this.describe();
  }

  private describe(): void {
    const reward = this.chart.reward.points.at(-1);
    const heldOut = this.chart.heldOut.points.at(-1);
    this.label.textContent = [this.status, reward ? `reward ${reward.value.toFixed(4)}` : '', heldOut ? `held-out FD ${heldOut.value.toFixed(3)}` : '']
      .filter(Boolean)
      .join(' · ');
  }

  private finish(outcome: 'done' | 'stopped' | 'failed', notice: string, plot?: ImageRef): void {
    this.status = `training ${outcome}`;
    this.describe();
    this.notice.textContent = notice;
    this.notice.className = `training-notice ${outcome}`;
    this.notice.hidden = false;
    if (plot) {
      this.plot.href = api.viewUrl(plot);
      this.plot.hidden = false;
    }
  }

  /**
   * The graph was cleared or replaced: the panel goes, and a run still going on the server no
   * longer writes into this graph (its result is still saved under output/train/).
   */
  dismiss(): void {
    if (this.trainId) this.detached = true;
    this.sidebar.hide(this.panel);
    this.chart.reset();
    this.label.textContent = '';
    this.notice.hidden = true;
    this.plot.hidden = true;
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
      this.begin(iterations);
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
        if (!this.trainId) this.begin(Number(data.iterations) || 0);
        this.trainId = data.train_id;
        break;
      case 'training_progress':
        if (!this.trainId) this.begin(Number(data.iterations) || 0);
        this.trainId ??= data.train_id;
        this.chart.add(data);
        if (Number.isFinite(Number(data.iterations))) this.status = `training: ${Number(data.step)} of ${Number(data.iterations)} iterations`;
        this.describe();
        break;
      case 'training_done': {
        this.trainId = undefined;
        const applied = Boolean(data.widgets) && !this.detached;
        if (applied) this.apply(data.widgets);
        const stopped = data.status === 'stopped';
        const saved = data.files ? `Saved output/train/${data.files.workflow.filename}` : '';
        const notice = data.files
          ? `${stopped ? 'Training stopped; kept the best schedule so far' : 'Training done'}: held-out FD ${fmt(data.held_out_fd_start)} -> ${fmt(data.held_out_fd_best)}. ${applied ? 'The learned values are in the graph: Queue samples with them, Save keeps them.' : 'The graph was replaced meanwhile, so nothing was written into it.'} ${saved}.`
          : 'Training stopped before its first iteration.';
        this.finish(stopped ? 'stopped' : 'done', notice, data.files?.plot as ImageRef | undefined);
        toast(notice, data.files ? 'ok' : 'info');
        break;
      }
      case 'training_error':
        this.trainId = undefined;
        this.finish('failed', `Training failed: ${data.message}`);
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
