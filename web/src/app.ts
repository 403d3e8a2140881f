import { LGraph, LGraphCanvas, LiteGraph, type LGraphNode } from '@comfyorg/litegraph';
import { api, connectSocket } from './api.ts';
import { ExecutionView } from './execution.ts';
import { HistoryPanel } from './history-panel.ts';
import { bindShortcuts, pointerIsDown } from './keys.ts';
import { adjustMenus } from './menus.ts';
import { Minimap } from './minimap.ts';
import { drawModes, MODE_BYPASS, MODE_MUTED, toggleMode } from './modes.ts';
import { registerNodeTypes } from './nodes.ts';
import { QueuePanel } from './queue-panel.ts';
import { NodeSearch } from './search.ts';
import { Sidebar } from './sidebar.ts';
import { attachTooltips } from './tooltips.ts';
import { toast } from './toast.ts';
import { TrainingView } from './training.ts';
import { UndoHistory } from './undo.ts';
import { Workbench } from './workbench.ts';
import { fitView, loadWorkflow, restoreFromStorage, saveToStorage } from './workflow-io.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function clientId(): string {
  const key = 'fewstep.clientId';
  let id = sessionStorage.getItem(key);
  if (!id) {
    id = crypto.randomUUID().replaceAll('-', '');
    sessionStorage.setItem(key, id);
  }
  return id;
}

/** The editor as scripts and tests reach it (`window.app`, as in ComfyUI's frontend). */
export interface App {
  graph: LGraph;
  canvas: LGraphCanvas;
  LiteGraph: typeof LiteGraph;
  queuePrompt(): Promise<boolean>;
  /** Loads a UI workflow as the current graph (undoable); false, with a message, when it is refused. */
  loadGraphData(workflow: unknown, source?: string): boolean;
  undo: UndoHistory;
  training: TrainingView;
  minimap: Minimap;
  search: NodeSearch;
}

function configureLiteGraph(): void {
  LiteGraph.release_link_on_empty_shows_menu = true;
  LiteGraph.search_show_all_on_open = true;
  LiteGraph.alt_drag_do_clone_nodes = true;
  // A long widget value is cut short before its label is: the label says what the value is.
  LiteGraph.truncateWidgetValuesFirst = true;
}

export async function createApp(): Promise<App> {
  configureLiteGraph();
  const graph = new LGraph();
  const area = $('canvas-area');
  const canvas = new LGraphCanvas($<HTMLCanvasElement>('graph-canvas'), graph);
  canvas.allow_searchbox = true;
  canvas.clear_background_color = '#1e1f22';
  canvas.render_canvas_border = false;
  canvas.show_info = false;
  drawModes(canvas);
  const redraw = () => canvas.setDirty(true, true);
  const resize = () => {
    const { width, height } = area.getBoundingClientRect();
    canvas.resize(Math.floor(width), Math.floor(height));
  };
  new ResizeObserver(resize).observe(area);
  resize();

  const sidebar = new Sidebar($('sidebar'));
  const queuePanel = new QueuePanel(sidebar, $('queue-panel'), $<HTMLButtonElement>('queue-panel-button'));
  const bar = $('overall-bar');
  const text = $('overall-text');
  const queueButton = $<HTMLButtonElement>('queue-button');
  let historyPanel: HistoryPanel | undefined;
  const execution = new ExecutionView(
    () => graph,
    {
      set(fraction, label) {
        bar.style.width = fraction === null ? '0' : `${Math.round(fraction * 100)}%`;
        text.textContent = label;
      },
      queueLength(remaining) {
        queueButton.textContent = remaining > 0 ? `Queue (${remaining})` : 'Queue';
      },
      changed() {
        queuePanel.refresh();
        historyPanel?.refresh();
      },
    },
    redraw,
  );

  const id = clientId();
  const training = new TrainingView(
    () => graph,
    $<HTMLButtonElement>('train-button'),
    $<HTMLInputElement>('train-minutes'),
    id,
    redraw,
    (rejection) => execution.showValidation(rejection.error, rejection.node_errors),
    sidebar,
  );
  const connection = $('connection');
  connectSocket(id, {
    message: (message) => {
      if (!training.message(message)) execution.message(message);
    },
    preview: (png) => execution.preview(png),
    connected(online) {
      connection.textContent = online ? 'online' : 'offline';
      connection.classList.toggle('online', online);
    },
  });

  registerNodeTypes(await api.objectInfo());

  const undo = new UndoHistory(
    () => graph,
    (snapshot) => {
      loadWorkflow(graph, snapshot, 'undo', { keepRunState: true });
      training.refresh();
      redraw();
    },
  );
  const checkpoint = () => {
    if (undo.checkpoint()) training.refresh();
  };
  const workbench = new Workbench({ graph, canvas, execution, training, undo, queuePanel, clientId: id, redraw });
  historyPanel = new HistoryPanel(sidebar, $('history-panel'), $<HTMLButtonElement>('history-panel-button'), (workflow, source) =>
    workbench.replaceGraph(workflow, source),
  );
  const search = new NodeSearch(canvas, graph, checkpoint);
  attachTooltips(canvas, graph);
  adjustMenus(graph, canvas, () => {
    redraw();
    checkpoint();
  });
  const minimap = new Minimap(canvas, graph, area, $<HTMLButtonElement>('minimap-button'));

  const shipped = await api.workflows().catch(() => []);
  workbench.listExamples($<HTMLSelectElement>('examples'), shipped);
  if (!restoreFromStorage(graph, canvas) && shipped.length > 0) {
    const first = shipped.find((w) => w.name === 'four-step') ?? shipped[0];
    await api
      .workflow(first.name)
      .then((w) => loadWorkflow(graph, w, first.name) && fitView(canvas, graph._nodes))
      .catch(() => false);
  }
  undo.reset();
  graph.start();
  setInterval(() => {
    if (!pointerIsDown()) checkpoint();
    saveToStorage(graph);
    training.refresh();
  }, 1000);
  training.refresh();
  window.addEventListener('beforeunload', () => saveToStorage(graph));

  const selected = () => Object.values(canvas.selected_nodes) as LGraphNode[];
  const fit = () => fitView(canvas, selected().length > 0 ? selected() : graph._nodes);
  const setMode = (mode: number) => {
    if (!toggleMode(selected(), mode)) return false;
    redraw();
    checkpoint();
    return true;
  };
  bindShortcuts(
    {
      queue: (front) => void workbench.queue(front),
      interrupt: () => void api.interrupt().catch((e) => toast((e as Error).message, 'error')),
      open: () => $<HTMLInputElement>('file-input').click(),
      save: () => void workbench.save(),
      undo: () => workbench.undoOrRedo('undo'),
      redo: () => workbench.undoOrRedo('redo'),
      bypass: () => setMode(MODE_BYPASS),
      mute: () => setMode(MODE_MUTED),
      fit,
    },
    checkpoint,
  );
  document.addEventListener('fewstep:graph-edited', checkpoint);
  workbench.bindToolbar({ fit });

  return {
    graph,
    canvas,
    LiteGraph,
    queuePrompt: () => workbench.queue(),
    loadGraphData: (workflow, source = 'workflow') => workbench.replaceGraph(workflow, source),
    undo,
    training,
    minimap,
    search,
  };
}
