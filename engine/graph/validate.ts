import type { NodeEnvironment } from '../node.ts';
import type { NodeDef, Registry } from './registry.ts';
import { checkWidgetValue, coerceWidgetValue } from './check-value.ts';
import type { NodeErrorEntry, NodeErrors, PromptError } from './errors.ts';
import { ancestorsOf, compareIds, topologicalOrder } from './order.ts';
import { isPlainObject, isPromptLink, type Graph, type GraphLink, type GraphNode } from './prompt.ts';
import { widgetDefault } from './widgets.ts';

export type ValidationResult =
  | { ok: true; graph: Graph }
  | { ok: false; error: PromptError; nodeErrors: NodeErrors };

/**
 * Validates a prompt (API format) against the registry and reports every problem at once.
 * Total over JSON: whatever `input` is, it returns a result and never throws.
 */
export function validatePrompt(registry: Registry, env: NodeEnvironment, input: unknown): ValidationResult {
  if (!isPlainObject(input)) {
    return invalid('invalid_prompt', 'Invalid prompt', `a prompt is a JSON object of nodes by id, got ${describe(input)}`);
  }
  // Null-prototype records: node ids and input names come from the user ("__proto__" included).
  const nodeErrors: NodeErrors = Object.create(null);
  const report = (id: string, classType: string, entry: NodeErrorEntry) => {
    (nodeErrors[id] ??= { errors: [], dependent_outputs: [], class_type: classType }).errors.push(entry);
  };

  // Pass 1: shape and node types, for every node.
  const known = new Map<string, { def: NodeDef; inputs: Record<string, unknown>; title?: string }>();
  const unknownTypes = new Map<string, string[]>();
  for (const [id, raw] of Object.entries(input)) {
    if (!isPlainObject(raw) || typeof raw.class_type !== 'string') {
      report(id, '', entry('invalid_prompt', 'Invalid node', `node ${id} needs a string class_type and an inputs object`));
      continue;
    }
    const def = registry.get(raw.class_type);
    if (!def) {
      unknownTypes.set(raw.class_type, [...(unknownTypes.get(raw.class_type) ?? []), id]);
      report(id, raw.class_type, entry('invalid_prompt', `Node type ${raw.class_type} does not exist`, `fewstep has no node type "${raw.class_type}"`));
      continue;
    }
    if (raw.inputs !== undefined && !isPlainObject(raw.inputs)) {
      report(id, def.type, entry('invalid_prompt', 'Invalid node', `node ${id}: inputs must be an object`));
      continue;
    }
    const meta = isPlainObject(raw._meta) && typeof raw._meta.title === 'string' ? raw._meta.title : undefined;
    known.set(id, { def, inputs: (raw.inputs as Record<string, unknown>) ?? {}, title: meta });
  }

  const outputs = [...known].filter(([, node]) => node.def.outputNode).map(([id]) => id).sort(compareIds);
  if (outputs.length === 0 && unknownTypes.size === 0) {
    return invalid('prompt_no_outputs', 'Prompt has no outputs', 'add an output node such as SaveImage or PreviewImage', nodeErrors);
  }

  // Pass 2: links and widgets, for the nodes some output needs.
  const deps = new Map<string, string[]>();
  for (const [id, node] of known) {
    deps.set(id, Object.values(node.inputs).filter(isPromptLink).map((link) => String(link[0])));
  }
  const needed = ancestorsOf(outputs, deps);
  const graphNodes = new Map<string, GraphNode>();
  for (const id of [...needed].sort(compareIds)) {
    const { def, inputs, title } = known.get(id)!;
    const links: Record<string, GraphLink> = Object.create(null);
    const values: Record<string, unknown> = Object.create(null);
    const fail = (e: NodeErrorEntry) => report(id, def.type, e);

    for (const socket of def.inputs) {
      const value = inputs[socket.name];
      if (value === undefined || value === null) {
        if (!socket.optional) fail(entry('required_input_missing', 'Required input is missing', `${socket.name} (${socket.type}) is not connected`, socket.name));
        continue;
      }
      const link = resolveLink(known, input, socket.name, value, fail);
      if (!link) continue;
      if (link.type !== socket.type) {
        fail(entry('return_type_mismatch', 'Return type mismatch between linked nodes', `${socket.name}: expects ${socket.type}, but node ${link.link.node} output ${link.link.index} gives ${link.type}`, socket.name));
        continue;
      }
      links[socket.name] = link.link;
    }

    for (const widget of def.widgets) {
      const raw = inputs[widget.name];
      if (isPromptLink(raw)) {
        const link = resolveLink(known, input, widget.name, raw, fail);
        if (!link) continue;
        const fits = link.type === widget.kind || (widget.kind === 'COMBO' && link.type === 'STRING');
        if (!fits) {
          fail(entry('return_type_mismatch', 'Return type mismatch between linked nodes', `${widget.name}: expects ${widget.kind}, but node ${link.link.node} output ${link.link.index} gives ${link.type}`, widget.name));
          continue;
        }
        links[widget.name] = link.link;
        continue;
      }
      const value = raw === undefined || raw === null ? widgetDefault(widget.schema) : coerceWidgetValue(widget.kind, raw, widget.schema);
      if (value === undefined) {
        fail(entry('required_input_missing', 'Required input is missing', `${widget.name} has no value and no default`, widget.name));
        continue;
      }
      const problem = checkWidgetValue(widget.name, widget.schema, widget.kind, value);
      if (problem) fail(problem);
      else values[widget.name] = value;
    }

    const valuesComplete = def.widgets.every((w) => w.name in values || w.name in links);
    if (def.spec.check && valuesComplete && !nodeErrors[id]) {
      for (const problem of def.spec.check(values, env)) {
        fail(entry('custom_validation_failed', 'Invalid setting', `${problem.input}: ${problem.message}`, problem.input));
      }
    }
    graphNodes.set(id, { id, type: def.type, title, links: { ...links }, values: { ...values } });
  }

  const { order, cyclic } = topologicalOrder(needed, deps);
  for (const id of cyclic) {
    report(id, known.get(id)!.def.type, entry('dependency_cycle', 'Dependency cycle', `node ${id} depends on itself through its inputs (nodes ${cyclic.join(', ')})`));
  }

  for (const [id, errors] of Object.entries(nodeErrors)) {
    errors.dependent_outputs = outputs.filter((out) => ancestorsOf([out], deps).has(id));
  }
  if (unknownTypes.size > 0) {
    const names = [...unknownTypes].map(([type, ids]) => `${type} (node ${ids.join(', ')})`).join(', ');
    return invalid('invalid_prompt', 'Unknown node types', `this workflow uses node types fewstep does not have: ${names}. Run \`fewstep nodes\` to list the ones it has.`, nodeErrors);
  }
  if (Object.keys(nodeErrors).length > 0) {
    const count = Object.values(nodeErrors).reduce((n, e) => n + e.errors.length, 0);
    return invalid('prompt_outputs_failed_validation', 'Prompt outputs failed validation', `${count} problem${count === 1 ? '' : 's'} in ${Object.keys(nodeErrors).length} node${Object.keys(nodeErrors).length === 1 ? '' : 's'}`, nodeErrors);
  }
  return { ok: true, graph: { nodes: graphNodes, outputs, order } };
}

function resolveLink(
  known: ReadonlyMap<string, { def: NodeDef }>,
  prompt: Record<string, unknown>,
  name: string,
  value: unknown,
  fail: (e: NodeErrorEntry) => void,
): { link: GraphLink; type: string } | null {
  if (!isPromptLink(value)) {
    fail(entry('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', `${name}: expected a link [node_id, output_index], got ${describe(value)}`, name));
    return null;
  }
  const from = String(value[0]);
  const source = known.get(from);
  if (!source) {
    // An unknown-type source is already reported on its own node.
    if (!(from in prompt)) fail(entry('bad_linked_input', 'Bad linked input', `${name}: links to node ${from}, which is not in the prompt`, name));
    return null;
  }
  const output = source.def.outputs[value[1]];
  if (!output) {
    fail(entry('bad_linked_input', 'Bad linked input', `${name}: node ${from} (${source.def.type}) has no output ${value[1]}; it has ${source.def.outputs.length}`, name));
    return null;
  }
  return { link: { node: from, output: output.name, index: value[1] }, type: output.type };
}

function entry(type: NodeErrorEntry['type'], message: string, details: string, inputName?: string): NodeErrorEntry {
  return { type, message, details, extra_info: inputName ? { input_name: inputName } : {} };
}

function invalid(type: PromptError['type'], message: string, details: string, nodeErrors: NodeErrors = {}): ValidationResult {
  return { ok: false, error: { type, message, details, extra_info: {} }, nodeErrors };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
