import '@comfyorg/litegraph/style.css';
import './style.css';
import { LGraph, LGraphCanvas, LiteGraph } from '@comfyorg/litegraph';
import { api, ApiError, connectSocket, type PromptRejection } from './api.ts';
import { ExecutionView } from './execution.ts';
import { registerNodeTypes } from './nodes.ts';
import { toast } from './toast.ts';
import { TrainingView } from './training.ts';
import { downloadWorkflow, fitView, loadFile, loadWorkflow, restoreFromStorage, saveToStorage, serializeWorkflow } from './workflow-io.ts';

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

async function main(): Promise<void> {
  LiteGraph.release_link_on_empty_shows_menu = true;
  LiteGraph.search_show_all_on_open = true;
  LiteGraph.alt_drag_do_clone_nodes = true;

  const graph = new LGraph();
  const canvasElement = $<HTMLCanvasElement>('graph-canvas');
  const canvas = new LGraphCanvas(canvasElement, graph);
  canvas.allow_searchbox = true;
  canvas.clear_background_color = '#1e1f22';
  canvas.render_canvas_border = false;
  canvas.show_info = false;
  const redraw = () => canvas.setDirty(true, true);

  const area = $('canvas-area');
  const resize = () => {
    const { width, height } = area.getBoundingClientRect();
    canvas.resize(Math.floor(width), Math.floor(height));
  };
  new ResizeObserver(resize).observe(area);
  resize();

  const bar = $('overall-bar');
  const text = $('overall-text');
  const queueButton = $<HTMLButtonElement>('queue-button');
  const execution = new ExecutionView(() => graph, {
    set(fraction, label) {
      bar.style.width = fraction === null ? '0' : `${Math.round(fraction * 100)}%`;
      text.textContent = label;
    },
    queueLength(remaining) {
      queueButton.textContent = remaining > 0 ? `Queue (${remaining})` : 'Queue';
    },
  }, redraw);

  const id = clientId();
  const training = new TrainingView(() => graph, $<HTMLButtonElement>('train-button'), $<HTMLInputElement>('train-minutes'), id, redraw, (rejection) => execution.showValidation(rejection.error, rejection.node_errors));
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

  const examples = $<HTMLSelectElement>('examples');
  const shipped = await api.workflows().catch(() => []);
  for (const workflow of shipped) examples.add(new Option(workflow.title, workflow.name));
  examples.onchange = async () => {
    const name = examples.value;
    examples.value = '';
    if (!name) return;
    try {
      if (loadWorkflow(graph, await api.workflow(name), name)) {
        fitView(canvas, graph);
        toast(`Loaded example ${name}`, 'ok');
      }
    } catch (error) {
      toast(`${name}: ${(error as Error).message}`, 'error');
    }
  };

  if (!restoreFromStorage(graph) && shipped.length > 0) {
    const first = shipped.find((w) => w.name === 'four-step') ?? shipped[0];
    await api.workflow(first.name).then((w) => loadWorkflow(graph, w, first.name) && fitView(canvas, graph)).catch(() => false);
  }
  graph.start();
  setInterval(() => {
    saveToStorage(graph);
    training.refresh();
  }, 1000);
  training.refresh();
  window.addEventListener('beforeunload', () => saveToStorage(graph));

  const queue = async () => {
    const workflow = serializeWorkflow(graph);
    execution.clearMarks();
    try {
      const { prompt_id } = await api.queuePrompt(workflow, id, workflow);
      execution.expect(prompt_id, graph._nodes.length);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && (error.body as PromptRejection)?.error) {
        const body = error.body as PromptRejection;
        execution.showValidation(body.error, body.node_errors);
      } else toast(`Queue failed: ${(error as Error).message}`, 'error');
    }
  };
  queueButton.onclick = queue;
  $('interrupt-button').onclick = () => void api.interrupt().catch((e) => toast((e as Error).message, 'error'));
  $('save-button').onclick = () => downloadWorkflow(graph);
  $('clear-button').onclick = () => {
    graph.clear();
    redraw();
  };
  const picker = $<HTMLInputElement>('file-input');
  $('load-button').onclick = () => picker.click();
  picker.onchange = async () => {
    const file = picker.files?.[0];
    picker.value = '';
    if (file && (await loadFile(graph, file))) fitView(canvas, graph);
    redraw();
  };

  document.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
      event.preventDefault();
      void queue();
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      downloadWorkflow(graph);
    }
  });

  // Files dropped anywhere on the canvas area: a workflow .json, or a .png that carries one.
  area.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.stopPropagation();
    area.classList.add('dragging');
  }, true);
  area.addEventListener('dragleave', () => area.classList.remove('dragging'), true);
  area.addEventListener('drop', async (event) => {
    area.classList.remove('dragging');
    const file = event.dataTransfer?.files?.[0];
    if (!file) return;
    event.preventDefault();
    event.stopPropagation();
    if (await loadFile(graph, file)) fitView(canvas, graph);
    redraw();
  }, true);

  // A handle for tests and the browser console.
  (window as unknown as { fewstep: unknown }).fewstep = { graph, canvas, queue, training, LiteGraph };
}

main().catch((error) => {
  console.error(error);
  toast(`The editor could not start: ${(error as Error).message}`, 'error');
});
