import type { LGraph } from '@comfyorg/litegraph';
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
