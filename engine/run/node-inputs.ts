import type { ModelCatalog, NodeResult, OutputSpecs } from '../node.ts';
import { ancestorsOf } from '../graph/order.ts';
import type { Graph } from '../graph/prompt.ts';
import type { Registry } from '../graph/registry.ts';
import { executeGraph, type RunOptions, type RunResult } from './executor.ts';

/**
 * Runs only what one node of a validated graph needs, not the node itself, and returns the
 * values it would receive by input name (links resolved, widgets as validated). The trainer
 * samples this way with exactly the MODEL and SCHEDULE a workflow's sampler gets.
 */
export async function nodeInputs(
  registry: Registry,
  models: ModelCatalog,
  graph: Graph,
  prompt: unknown,
  nodeId: string,
  options: RunOptions,
): Promise<{ ok: true; inputs: Record<string, unknown> } | { ok: false; result: Exclude<RunResult, { status: 'success' }> }> {
  const node = graph.nodes.get(nodeId);
  if (!node) throw new RangeError(`node ${nodeId} is not in the graph`);
  const deps = new Map([...graph.nodes].map(([id, each]) => [id, Object.values(each.links).map((link) => link.node)]));
  const needed = ancestorsOf(
    Object.values(node.links).map((link) => link.node),
    deps,
  );
  const results = new Map<string, NodeResult<OutputSpecs>>();
  const result = await executeGraph(
    registry,
    models,
    { nodes: graph.nodes, outputs: [], order: graph.order.filter((id) => needed.has(id)) },
    prompt,
    options,
    results,
  );
  if (result.status !== 'success') return { ok: false, result };
  const inputs: Record<string, unknown> = { ...node.values };
  for (const [name, link] of Object.entries(node.links)) inputs[name] = results.get(link.node)!.outputs[link.output];
  return { ok: true, inputs };
}
