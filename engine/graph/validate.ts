import type { NodeEnvironment } from '../node.ts';
import type { Registry } from './registry.ts';
import type { NodeErrorEntry, NodeErrors, PromptError } from './errors.ts';
import { ancestorsOf, compareIds, dependentOutputs, topologicalOrder, type Dependencies } from './order.ts';
import { isPlainObject, type Graph, type GraphNode } from './prompt.ts';
import { nodeCountError } from './limits.ts';
import { checkNode, describe, entry, linkedIds, type KnownNode } from './validate-node.ts';

export type ValidationResult = { ok: true; graph: Graph } | { ok: false; error: PromptError; nodeErrors: NodeErrors };

/** An error lists at most this many outputs it blocks (all of them would grow with the square of the graph). */
const MAX_DEPENDENT_OUTPUTS = 32;
/** Messages naming many nodes name this many, then say how many more. */
const MAX_IDS_NAMED = 10;

/**
 * Validates a prompt (API format) against the registry and reports every problem at once.
 * Total over JSON: whatever `input` is, it returns a result and never throws. Linear in the
 * size of the prompt (times log n for ordering).
 */
export function validatePrompt(registry: Registry, env: NodeEnvironment, input: unknown): ValidationResult {
  if (!isPlainObject(input)) {
    return invalid('invalid_prompt', 'Invalid prompt', `a prompt is a JSON object of nodes by id, got ${describe(input)}`);
  }
  const keys = Object.keys(input);
  const tooMany = nodeCountError(keys.length, 'prompt');
  if (tooMany) return { ok: false, error: tooMany, nodeErrors: {} };
  const ids = new Set(keys);

  const problems = problemLog();
  const { known, unknownTypes } = readNodes(registry, input, problems.report);
  const outputs = [...known]
    .filter(([, node]) => node.def.outputNode)
    .map(([id]) => id)
    .sort(compareIds);
  if (outputs.length === 0 && unknownTypes.size === 0) {
    return invalid('prompt_no_outputs', 'Prompt has no outputs', 'add an output node such as SaveImage or PreviewImage', problems.nodeErrors);
  }

  // Only the nodes some output needs are checked and ordered.
  const deps: Dependencies = new Map([...known].map(([id, node]) => [id, linkedIds(node)]));
  const needed = ancestorsOf(outputs, deps);
  const graphNodes = new Map<string, GraphNode>();
  const context = { known, ids, env };
  const found: NodeErrorEntry[] = [];
  for (const id of [...needed].sort(compareIds)) {
    const node = known.get(id)!;
    graphNodes.set(id, checkNode(id, node, context, found));
    for (const problem of found) problems.report(id, node.def.type, problem);
    found.length = 0;
  }
  const { order, cyclic } = topologicalOrder(needed, deps);
  const inCycle = nameIds(cyclic);
  for (const id of cyclic)
    problems.report(
      id,
      known.get(id)!.def.type,
      entry('dependency_cycle', 'Dependency cycle', `node ${id} depends on itself through its inputs (nodes ${inCycle})`),
    );

  if (problems.count === 0) return { ok: true, graph: { nodes: graphNodes, outputs, order } };
  const blocked = dependentOutputs(outputs, deps, MAX_DEPENDENT_OUTPUTS);
  for (const [id, errors] of Object.entries(problems.nodeErrors)) errors.dependent_outputs = blocked.get(id) ?? [];
  return verdict(unknownTypes, problems);
}

type Report = (id: string, classType: string, entry: NodeErrorEntry) => void;

/** Collects problems by node, in ComfyUI's node_errors shape. */
function problemLog() {
  // Null-prototype records: node ids and input names come from the user ("__proto__" included).
  const nodeErrors: NodeErrors = Object.create(null);
  const log = {
    nodeErrors,
    count: 0,
    report: ((id, classType, problem) => {
      (nodeErrors[id] ??= { errors: [], dependent_outputs: [], class_type: classType }).errors.push(problem);
      log.count++;
    }) as Report,
  };
  return log;
}

/** Pass 1: every node's shape and type. Nodes of unknown type are reported and grouped by type. */
function readNodes(registry: Registry, input: Record<string, unknown>, report: Report) {
  const known = new Map<string, KnownNode>();
  const unknownTypes = new Map<string, string[]>();
  for (const [id, raw] of Object.entries(input)) {
    if (!isPlainObject(raw) || typeof raw.class_type !== 'string') {
      report(id, '', entry('invalid_prompt', 'Invalid node', `node ${id} needs a string class_type and an inputs object`));
      continue;
    }
    const def = registry.get(raw.class_type);
    if (!def) {
      const sameType = unknownTypes.get(raw.class_type);
      if (sameType) sameType.push(id);
      else unknownTypes.set(raw.class_type, [id]);
      report(id, raw.class_type, entry('invalid_prompt', `Node type ${raw.class_type} does not exist`, `fewstep has no node type "${raw.class_type}"`));
      continue;
    }
    if (raw.inputs !== undefined && !isPlainObject(raw.inputs)) {
      report(id, def.type, entry('invalid_prompt', 'Invalid node', `node ${id}: inputs must be an object`));
      continue;
    }
    const title = isPlainObject(raw._meta) && typeof raw._meta.title === 'string' ? raw._meta.title : undefined;
    known.set(id, { def, inputs: (raw.inputs as Record<string, unknown>) ?? {}, title });
  }
  return { known, unknownTypes };
}

/** The top-level error once problems were found: unknown types first, as they explain the rest. */
function verdict(unknownTypes: ReadonlyMap<string, string[]>, problems: ReturnType<typeof problemLog>): ValidationResult {
  if (unknownTypes.size > 0) {
    const names = [...unknownTypes].slice(0, MAX_IDS_NAMED).map(([type, ids]) => `${type} (node ${nameIds(ids)})`);
    if (unknownTypes.size > MAX_IDS_NAMED) names.push(`and ${unknownTypes.size - MAX_IDS_NAMED} more types`);
    return invalid(
      'invalid_prompt',
      'Unknown node types',
      `this workflow uses node types fewstep does not have: ${names.join(', ')}. Run \`fewstep nodes\` to list the ones it has.`,
      problems.nodeErrors,
    );
  }
  const nodes = Object.keys(problems.nodeErrors).length;
  const details = `${problems.count} problem${problems.count === 1 ? '' : 's'} in ${nodes} node${nodes === 1 ? '' : 's'}`;
  return invalid('prompt_outputs_failed_validation', 'Prompt outputs failed validation', details, problems.nodeErrors);
}

function nameIds(ids: readonly string[]): string {
  const named = ids.slice(0, MAX_IDS_NAMED).join(', ');
  return ids.length > MAX_IDS_NAMED ? `${named} and ${ids.length - MAX_IDS_NAMED} more` : named;
}

function invalid(type: PromptError['type'], message: string, details: string, nodeErrors: NodeErrors = {}): ValidationResult {
  return { ok: false, error: { type, message, details, extra_info: {} }, nodeErrors };
}
