import type { NodeEnvironment } from '../node.ts';
import type { NodeDef } from './registry.ts';
import { checkWidgetValue, coerceWidgetValue } from './check-value.ts';
import type { NodeErrorEntry } from './errors.ts';
import { isPromptLink, type GraphLink, type GraphNode } from './prompt.ts';
import { widgetDefault } from './widgets.ts';

/** A prompt node whose type the registry knows, as read in validation's first pass. */
export interface KnownNode {
  def: NodeDef;
  inputs: Record<string, unknown>;
  title?: string;
}

/** What checking one node needs to see of the rest of the prompt. */
export interface NodeCheckContext {
  known: ReadonlyMap<string, KnownNode>;
  /** Every node id in the prompt, including those of unknown type (reported on their own). */
  ids: ReadonlySet<string>;
  env: NodeEnvironment;
}

/**
 * Checks one node's links and widget values (and the node's own check) and returns it as a graph
 * node; every problem is pushed to `problems`. Work is proportional to the node's declared inputs.
 */
export function checkNode(id: string, node: KnownNode, context: NodeCheckContext, problems: NodeErrorEntry[]): GraphNode {
  const { def, inputs, title } = node;
  // Keys here are the node type's declared names, never the user's, so plain objects are safe.
  const links: Record<string, GraphLink> = {};
  const values: Record<string, unknown> = {};
  const before = problems.length;

  for (const socket of def.inputs) {
    const value = inputs[socket.name];
    if (value === undefined || value === null) {
      if (!socket.optional)
        problems.push(entry('required_input_missing', 'Required input is missing', `${socket.name} (${socket.type}) is not connected`, socket.name));
      continue;
    }
    const link = resolveLink(context, socket.name, value, problems);
    if (!link) continue;
    if (link.type === socket.type) links[socket.name] = link.link;
    else problems.push(mismatch(socket.name, socket.type, link));
  }

  for (const widget of def.widgets) {
    const raw = inputs[widget.name];
    if (isPromptLink(raw)) {
      const link = resolveLink(context, widget.name, raw, problems);
      if (!link) continue;
      const fits = link.type === widget.kind || (widget.kind === 'COMBO' && link.type === 'STRING');
      if (fits) links[widget.name] = link.link;
      else problems.push(mismatch(widget.name, widget.kind, link));
      continue;
    }
    const value = raw === undefined || raw === null ? widgetDefault(widget.schema) : coerceWidgetValue(widget.kind, raw, widget.schema);
    if (value === undefined) {
      problems.push(entry('required_input_missing', 'Required input is missing', `${widget.name} has no value and no default`, widget.name));
      continue;
    }
    const problem = checkWidgetValue(widget.name, widget.schema, widget.kind, value);
    if (problem) problems.push(problem);
    else values[widget.name] = value;
  }

  // The node's own check sees only complete, well-typed values; widgets fed by links are known only when it runs.
  const valuesComplete = def.widgets.every((w) => w.name in values || w.name in links);
  if (def.spec.check && valuesComplete && problems.length === before) {
    for (const problem of def.spec.check(values, context.env)) {
      problems.push(entry('custom_validation_failed', 'Invalid setting', `${problem.input}: ${problem.message}`, problem.input));
    }
  }
  return { id, type: def.type, title, links, values };
}

/** The ids a known node reads from, through its declared inputs only (others are ignored, never run). */
export function linkedIds(node: KnownNode): string[] {
  const ids: string[] = [];
  for (const { name } of node.def.inputs) if (isPromptLink(node.inputs[name])) ids.push(String((node.inputs[name] as [string, number])[0]));
  for (const { name } of node.def.widgets) if (isPromptLink(node.inputs[name])) ids.push(String((node.inputs[name] as [string, number])[0]));
  return ids;
}

function resolveLink(context: NodeCheckContext, name: string, value: unknown, problems: NodeErrorEntry[]): { link: GraphLink; type: string } | null {
  if (!isPromptLink(value)) {
    problems.push(
      entry(
        'bad_linked_input',
        'Bad linked input, must be a length-2 list of [node_id, slot_index]',
        `${name}: expected a link [node_id, output_index], got ${describe(value)}`,
        name,
      ),
    );
    return null;
  }
  const from = String(value[0]);
  const source = context.known.get(from);
  if (!source) {
    // An unknown-type source is already reported on its own node.
    if (!context.ids.has(from))
      problems.push(entry('bad_linked_input', 'Bad linked input', `${name}: links to node ${from}, which is not in the prompt`, name));
    return null;
  }
  const output = source.def.outputs[value[1]];
  if (!output) {
    problems.push(
      entry(
        'bad_linked_input',
        'Bad linked input',
        `${name}: node ${from} (${source.def.type}) has no output ${value[1]}; it has ${source.def.outputs.length}`,
        name,
      ),
    );
    return null;
  }
  return { link: { node: from, output: output.name, index: value[1] }, type: output.type };
}

function mismatch(name: string, expected: string, link: { link: GraphLink; type: string }): NodeErrorEntry {
  return entry(
    'return_type_mismatch',
    'Return type mismatch between linked nodes',
    `${name}: expects ${expected}, but node ${link.link.node} output ${link.link.index} gives ${link.type}`,
    name,
  );
}

export function entry(type: NodeErrorEntry['type'], message: string, details: string, inputName?: string): NodeErrorEntry {
  return { type, message, details, extra_info: inputName ? { input_name: inputName } : {} };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
