import type { LGraph, LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';
import { LiteGraph } from '@comfyorg/litegraph';
import { api } from './api.ts';
import { adoptRunState, peekRunState } from './node-state.ts';
import { toast } from './toast.ts';
import { promptProblem, workflowProblem } from './workflow-check.ts';

const STORAGE_KEY = 'fewstep.workflow';

type GraphData = Parameters<LGraph['configure']>[0];

/**
 * Replaces the graph with a UI workflow, or refuses it (the graph untouched) with a message naming
 * what is wrong. Node types this server lacks are named but do not stop the load.
 */
export function loadWorkflow(graph: LGraph, workflow: unknown, source: string, options: { keepRunState?: boolean } = {}): boolean {
  const problem = workflowProblem(workflow);
  if (problem) {
    toast(`${source} was not loaded: ${problem}. The graph is unchanged.`, 'error');
    return false;
  }
  const data = workflow as { nodes: Array<{ id: number | string; type: string }> };
  const missing = [...new Set(data.nodes.map((n) => n.type).filter((t) => !LiteGraph.registered_node_types[t]))];
  const before = graph.serialize();
  const kept = options.keepRunState ? new Map(graph._nodes.map((node) => [String(node.id), { type: node.type, state: peekRunState(node) }])) : undefined;
  try {
    graph.configure(structuredClone(workflow) as GraphData);
  } catch (error) {
    // Half a graph is worse than none: put back what was there.
    graph.configure(before as GraphData);
    toast(`${source} was not loaded: ${(error as Error).message}. The graph is unchanged.`, 'error');
    return false;
  }
  if (kept) {
    for (const node of graph._nodes as LGraphNode[]) {
      const old = kept.get(String(node.id));
      if (old && old.type === node.type) adoptRunState(node, old.state);
    }
  }
  if (missing.length > 0) toast(`${source}: this server has no node type ${missing.join(', ')}`, 'error');
  return true;
}

/** Centres the given nodes (all when none are given) in view, zooming out, never in past 1:1. */
export function fitView(canvas: LGraphCanvas, nodes: readonly LGraphNode[]): void {
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
  const scale = Math.max(0.1, Math.min(1, (width - 80) / (x1 - x0), (height - 120) / (y1 - y0)));
  canvas.ds.scale = scale;
  canvas.ds.offset[0] = (width / scale - (x1 - x0)) / 2 - x0;
  canvas.ds.offset[1] = (height / scale - (y1 - y0)) / 2 - y0;
  canvas.setDirty(true, true);
}

export function serializeWorkflow(graph: LGraph): unknown {
  return graph.serialize();
}

/** The graph and its view, kept across reloads. */
export function saveToStorage(graph: LGraph): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(serializeWorkflow(graph)));
  } catch {
    // Storage full or disabled: the graph still lives in the page.
  }
}

/** The last session's graph, with the view it had (litegraph saves it as extra.ds). */
export function restoreFromStorage(graph: LGraph, canvas: LGraphCanvas): boolean {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (!saved) return false;
  try {
    const workflow = JSON.parse(saved) as { extra?: { ds?: { scale?: number; offset?: number[] } } };
    if (!loadWorkflow(graph, workflow, 'last session')) return false;
    const view = workflow.extra?.ds;
    if (view && typeof view.scale === 'number' && Array.isArray(view.offset) && view.offset.length === 2) {
      canvas.ds.scale = view.scale;
      canvas.ds.offset[0] = Number(view.offset[0]);
      canvas.ds.offset[1] = Number(view.offset[1]);
    } else fitView(canvas, graph._nodes);
    return true;
  } catch {
    return false;
  }
}

/** Downloads the workflow as a JSON file. */
export function downloadWorkflow(graph: LGraph, name: string): void {
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
    if (/\.json$/i.test(file.name) || file.type === 'application/json') {
      try {
        JSON.parse(await file.text());
      } catch (error) {
        toast(`${file.name} was not loaded: it is not valid JSON (${(error as Error).message}). The graph is unchanged.`, 'error');
        return false;
      }
    }
    const parsed = await api.parseWorkflow(file, file.name);
    if (parsed.kind === 'prompt') {
      // The server reads any other JSON object as an API prompt; refuse one that is neither.
      const problem =
        promptProblem((parsed as { prompt?: unknown }).prompt) ?? ((parsed.workflow as { nodes?: unknown[] })?.nodes?.length ? undefined : 'it has no nodes');
      if (problem) {
        toast(`${file.name} was not loaded: ${problem}. The graph is unchanged.`, 'error');
        return false;
      }
    }
    const ok = loadWorkflow(graph, parsed.workflow, file.name);
    if (ok) toast(`Loaded ${file.name}`, 'ok');
    return ok;
  } catch (error) {
    toast(`${file.name} was not loaded: ${(error as Error).message}. The graph is unchanged.`, 'error');
    return false;
  }
}
