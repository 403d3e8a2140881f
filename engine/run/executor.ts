import { randomUUID } from 'node:crypto';
import type { FileNumbering, Folders, ModelCatalog, NodeContext, NodeResult, OutputSpecs, UiOutput } from '../node.ts';
import type { Registry } from '../graph/registry.ts';
import { checkWidgetValue } from '../graph/check-value.ts';
import type { Graph } from '../graph/prompt.ts';
import type { NodeErrors, PromptError } from '../graph/errors.ts';
import { cacheKey, type OutputCache } from './output-cache.ts';
import type { RunEvent, RunEventListener } from './events.ts';

export interface RunOptions {
  promptId?: string;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Outputs kept across runs; without one, every node runs. */
  cache?: OutputCache;
  folders: Folders;
  /** The UI workflow the prompt came from, embedded in saved images. */
  workflow?: unknown;
  /** Numbers saved files per prompt id, so a prompt run again writes the same files. */
  fileNumbering?: FileNumbering;
}

export interface NodeFailure {
  nodeId: string;
  classType: string;
  message: string;
  errorType: string;
}

interface Finished {
  promptId: string;
  /** UI outputs of the output nodes, by node id (what ComfyUI's history lists). */
  outputs: Record<string, UiOutput>;
  /** What other nodes showed on their cards (the sampler's summary line), by node id. */
  display: Record<string, UiOutput>;
  /** Figures nodes reported, by node id. */
  stats: Record<string, Record<string, unknown>>;
  executed: string[];
  cached: string[];
}

export type RunResult =
  | ({ status: 'success' } & Finished)
  | ({ status: 'failed'; error: NodeFailure } & Finished)
  | ({ status: 'interrupted'; nodeId: string | null } & Finished)
  | { status: 'invalid'; promptId: string; error: PromptError; nodeErrors: NodeErrors };

/**
 * Runs a validated graph in dependency order, reusing cached outputs where the inputs are
 * unchanged. `results` receives every node's result (a caller inside the engine may want the
 * values themselves, see node-inputs.ts).
 */
export async function executeGraph(
  registry: Registry,
  models: ModelCatalog,
  graph: Graph,
  prompt: unknown,
  options: RunOptions,
  results = new Map<string, NodeResult<OutputSpecs>>(),
): Promise<RunResult> {
  const promptId = options.promptId ?? randomUUID();
  const signal = options.signal ?? new AbortController().signal;
  const emit = (event: RunEvent) => options.onEvent?.(event);
  const finished: Finished = { promptId, outputs: {}, display: {}, stats: {}, executed: [], cached: [] };

  // Keys depend only on widget values and the sources' keys, so they are known before running.
  const keys = new Map<string, string>();
  for (const id of graph.order) {
    const node = graph.nodes.get(id)!;
    const def = registry.get(node.type)!;
    const sources = Object.fromEntries(Object.entries(node.links).map(([name, link]) => [name, [keys.get(link.node), link.output]]));
    keys.set(id, def.deterministic ? cacheKey([def.type, def.version, node.values, sources]) : `${promptId}:${id}:${randomUUID()}`);
  }
  for (const id of graph.order) {
    const hit = options.cache?.get(keys.get(id)!);
    if (hit) {
      results.set(id, hit);
      finished.cached.push(id);
    }
  }

  emit({ type: 'run_started', promptId, nodes: [...graph.order] });
  emit({ type: 'node_cached', promptId, nodeIds: [...finished.cached] });
  const done = (status: 'success' | 'failed' | 'interrupted') => emit({ type: 'run_finished', promptId, status });
  const interrupted = (nodeId: string | null): RunResult => {
    emit({ type: 'run_interrupted', promptId, nodeId });
    done('interrupted');
    return { status: 'interrupted', nodeId, ...finished };
  };

  for (const id of graph.order) {
    const node = graph.nodes.get(id)!;
    const cachedResult = results.get(id);
    const def = registry.get(node.type)!;
    if (cachedResult) {
      record(finished, id, def.outputNode, cachedResult);
      // As ComfyUI: a cached output node shows its result again, in its turn (and so does any
      // cached node with something on its card, which editors show without a new run).
      if (def.outputNode || cachedResult.ui)
        emit({
          type: 'node_finished',
          promptId,
          nodeId: id,
          classType: def.type,
          outputNode: def.outputNode,
          cached: true,
          ui: cachedResult.ui,
          stats: cachedResult.stats,
        });
      continue;
    }
    if (signal.aborted) return interrupted(id);
    const fail = (message: string, errorType: string): RunResult => {
      const error = { nodeId: id, classType: def.type, message, errorType };
      emit({ type: 'node_failed', promptId, ...error });
      done('failed');
      return { status: 'failed', error, ...finished };
    };

    const inputs: Record<string, unknown> = { ...node.values };
    for (const [name, link] of Object.entries(node.links)) {
      inputs[name] = results.get(link.node)!.outputs[link.output];
      const widget = def.widgets.find((w) => w.name === name);
      const problem = widget && checkWidgetValue(name, widget.schema, widget.kind, inputs[name]);
      if (problem) return fail(`${def.type} (node ${id}) input ${problem.details}`, problem.type);
    }

    emit({ type: 'node_started', promptId, nodeId: id, classType: def.type });
    const ctx: NodeContext = {
      nodeId: id,
      promptId,
      signal,
      folders: options.folders,
      models,
      prompt,
      workflow: options.workflow,
      fileNumbering: options.fileNumbering,
      progress: (value, max, preview, detail) => emit({ type: 'node_progress', promptId, nodeId: id, value, max, preview, ...(detail ? { detail } : {}) }),
      throwIfAborted: () => signal.throwIfAborted(),
    };
    let result: NodeResult<OutputSpecs>;
    try {
      result = await def.spec.run(ctx, inputs);
    } catch (error) {
      if (signal.aborted) return interrupted(id);
      return fail(`${def.type} (node ${id}): ${error instanceof Error ? error.message : String(error)}`, errorName(error));
    }
    const missing = def.outputs.find((output) => result?.outputs?.[output.name] === undefined);
    if (!result || missing) return fail(`${def.type} (node ${id}) returned no value for output "${missing?.name ?? '?'}"`, 'NodeContractError');
    Object.freeze(result.outputs);
    results.set(id, result);
    options.cache?.set(keys.get(id)!, result);
    finished.executed.push(id);
    record(finished, id, def.outputNode, result);
    emit({ type: 'node_finished', promptId, nodeId: id, classType: def.type, outputNode: def.outputNode, ui: result.ui, stats: result.stats });
  }
  done('success');
  return { status: 'success', ...finished };
}

function record(finished: Finished, id: string, outputNode: boolean, result: NodeResult<OutputSpecs>): void {
  if (result.ui) (outputNode ? finished.outputs : finished.display)[id] = result.ui;
  if (result.stats) finished.stats[id] = result.stats;
}

function errorName(error: unknown): string {
  return error instanceof Error ? (error.constructor?.name ?? error.name) : 'Error';
}
