import type { LGraph, LGraphCanvas } from '@comfyorg/litegraph';
import { LiteGraph } from '@comfyorg/litegraph';
import { api } from './api.ts';
import { toast } from './toast.ts';

const STORAGE_KEY = 'fewstep.workflow';

/** Loads a UI workflow onto the graph, naming node types this server does not have. */
export function loadWorkflow(graph: LGraph, workflow: unknown, source: string): boolean {
  const data = workflow as { nodes?: Array<{ type?: string }> };
  if (!data || !Array.isArray(data.nodes)) {
    toast(`${source}: not a workflow`, 'error');
    return false;
  }
  const missing = [...new Set(data.nodes.map((n) => n.type ?? '').filter((t) => t && !LiteGraph.registered_node_types[t]))];
  graph.clear();
  graph.configure(structuredClone(workflow) as Parameters<LGraph['configure']>[0]);
  if (missing.length > 0) toast(`${source}: this server has no node type ${missing.join(', ')}`, 'error');
  return true;
}

/** Centres the graph in view, zooming out (never in past 1:1) until every node shows. */
export function fitView(canvas: LGraphCanvas, graph: LGraph): void {
  const nodes = graph._nodes;
  if (nodes.length === 0) return;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const node of nodes) {
    x0 = Math.min(x0, node.pos[0]);
    y0 = Math.min(y0, node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT);
    x1 = Math.max(x1, node.pos[0] + node.size[0]);
    y1 = Math.max(y1, node.pos[1] + node.size[1]);
  }
  const element = canvas.canvas;
  const width = element.clientWidth;
  const height = element.clientHeight;
  const scale = Math.max(0.3, Math.min(1, (width - 80) / (x1 - x0), (height - 120) / (y1 - y0)));
  canvas.ds.scale = scale;
  canvas.ds.offset = [(width / scale - (x1 - x0)) / 2 - x0, (height / scale - (y1 - y0)) / 2 - y0];
  canvas.setDirty(true, true);
}

export function serializeWorkflow(graph: LGraph): unknown {
  return graph.serialize();
}

export function saveToStorage(graph: LGraph): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(serializeWorkflow(graph)));
  } catch {
    // Storage full or disabled: the graph still lives in the page.
  }
}

export function restoreFromStorage(graph: LGraph): boolean {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (!saved) return false;
  try {
    return loadWorkflow(graph, JSON.parse(saved), 'last session');
  } catch {
    return false;
  }
}

/** Downloads the workflow as a JSON file. */
export function downloadWorkflow(graph: LGraph, name = 'workflow.json'): void {
  const blob = new Blob([JSON.stringify(serializeWorkflow(graph), null, 2)], { type: 'application/json' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/** Reads a dropped or picked file (JSON, or a PNG carrying a workflow) through the server's parser. */
export async function loadFile(graph: LGraph, file: File): Promise<boolean> {
  try {
    const parsed = await api.parseWorkflow(file, file.name);
    const ok = loadWorkflow(graph, parsed.workflow, file.name);
    if (ok) toast(`Loaded ${file.name}`, 'ok');
    return ok;
  } catch (error) {
    toast(`${file.name}: ${(error as Error).message}`, 'error');
    return false;
  }
}
