import type { Engine } from '../../engine/index.ts';
import { coerceWidgetValue } from '../../engine/graph/check-value.ts';
import { isPlainObject } from '../../engine/graph/prompt.ts';
import type { Prompt } from '../../engine/graph/prompt.ts';
import { UsageError } from './load.ts';

export interface Assignment {
  node: string;
  input: string;
  value: string;
}

/** Parses `NODE.INPUT=VALUE`; NODE may itself contain dots only when it is a title. */
export function parseAssignment(text: string): Assignment {
  const eq = text.indexOf('=');
  const target = eq < 0 ? '' : text.slice(0, eq);
  const dot = target.lastIndexOf('.');
  if (eq < 0 || dot <= 0 || dot === target.length - 1) {
    throw new UsageError(`--set ${text}: expected NODE.INPUT=VALUE, e.g. --set FewStepSampler.seed=7`);
  }
  return { node: target.slice(0, dot), input: target.slice(dot + 1), value: text.slice(eq + 1) };
}

/**
 * Applies --set assignments to a prompt (a copy is returned). NODE is a node id, or a node type
 * or title that exactly one node has; INPUT must be one of that node's widgets.
 */
export function applyAssignments(engine: Engine, prompt: Prompt, assignments: readonly Assignment[]): Prompt {
  const result: Prompt = structuredClone(prompt);
  for (const { node, input, value } of assignments) {
    const id = findNode(result, node);
    const def = engine.registry.get(result[id].class_type);
    const widget = def?.widgets.find((w) => w.name === input);
    if (!def || !widget) {
      const names = def?.widgets.map((w) => w.name).join(', ') || 'none';
      throw new UsageError(`--set ${node}.${input}: node ${id} (${result[id].class_type}) has no widget "${input}" (widgets: ${names})`);
    }
    result[id].inputs[input] = coerceWidgetValue(widget.kind, value, widget.schema);
  }
  return result;
}

function findNode(prompt: Prompt, name: string): string {
  if (isPlainObject(prompt[name])) return name;
  const matches = Object.keys(prompt).filter((id) => prompt[id].class_type === name || prompt[id]._meta?.title === name);
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new UsageError(`--set ${name}.…: no node has id, type or title "${name}"`);
  throw new UsageError(`--set ${name}.…: ${matches.length} nodes match "${name}" (ids ${matches.join(', ')}); use a node id`);
}
