import type { Registry } from './registry.ts';
import type { Prompt, PromptNode } from './prompt.ts';
import { nodeCountError } from './limits.ts';
import { widgetSlots } from './widgets.ts';
import { parseWorkflow, type UiLink, type UiNode } from './workflow.ts';

/** Node modes in litegraph: 0 always, 2 never (muted), 4 bypass. */
const MODE_MUTED = 2;
const MODE_BYPASS = 4;
/** Frontend-only node types: they shape the graph in the editor but never run. */
const REROUTE = 'Reroute';
const PRIMITIVE = 'PrimitiveNode';
const NOTES = new Set(['Note', 'MarkdownNote']);

export type ConvertResult = { ok: true; prompt: Prompt } | { ok: false; errors: string[] };

type Source = { kind: 'link'; node: string; slot: number } | { kind: 'value'; value: unknown } | null;

/**
 * UI workflow -> API prompt, from node schemas, with ComfyUI's semantics: widgets_values map
 * to widget names in schema order, muted nodes are dropped, bypassed nodes pass an input of the
 * same type through, Reroutes and PrimitiveNodes are resolved away. Never throws.
 */
export function workflowToPrompt(registry: Registry, value: unknown): ConvertResult {
  const uiNodes = (value as { nodes?: unknown } | null)?.nodes;
  const count = Array.isArray(uiNodes) ? uiNodes.length : 0;
  const tooMany = nodeCountError(count, 'workflow');
  if (tooMany) return { ok: false, errors: [tooMany.details] };
  const parsed = parseWorkflow(value);
  if (!parsed.ok) return parsed;
  const nodes = new Map(parsed.workflow.nodes.map((node) => [String(node.id), node]));
  const links = new Map(parsed.links.map((link) => [link.id, link]));

  // Where each link's value comes from, following Reroutes and bypassed nodes iteratively (a chain
  // may be thousands long) and remembering every answer, so each link is followed once.
  const sources = new Map<number, Source>();
  const resolve = (start: number | null | undefined): Source => {
    const path: number[] = [];
    const onPath = new Set<number>();
    let linkId = start;
    let source: Source = null;
    while (linkId !== null && linkId !== undefined) {
      if (sources.has(linkId)) {
        source = sources.get(linkId)!;
        break;
      }
      if (onPath.has(linkId)) break;
      path.push(linkId);
      onPath.add(linkId);
      const link = links.get(linkId);
      const origin = link && nodes.get(link.origin);
      if (!link || !origin || origin.mode === MODE_MUTED) break;
      if (origin.type === REROUTE) linkId = origin.inputs?.[0]?.link;
      else if (origin.mode === MODE_BYPASS) linkId = bypassInput(origin, link)?.link;
      else {
        if (origin.type === PRIMITIVE) source = Array.isArray(origin.widgets_values) ? { kind: 'value', value: origin.widgets_values[0] } : null;
        else source = { kind: 'link', node: link.origin, slot: link.originSlot };
        break;
      }
    }
    for (const id of path) sources.set(id, source);
    return source;
  };

  // Null-prototype records: ids and input names come from the file ("__proto__" included).
  const prompt: Prompt = Object.create(null);
  for (const node of parsed.workflow.nodes) {
    if (node.mode === MODE_MUTED || node.mode === MODE_BYPASS) continue;
    if (node.type === REROUTE || node.type === PRIMITIVE || NOTES.has(node.type)) continue;
    const inputs: PromptNode['inputs'] = Object.assign(Object.create(null), widgetInputs(registry, node));
    for (const input of node.inputs ?? []) {
      const source = resolve(input.link);
      const name = input.widget?.name ?? input.name;
      if (source?.kind === 'link') inputs[name] = [source.node, source.slot];
      else if (source?.kind === 'value') inputs[name] = source.value;
    }
    // Spreading defines own properties, so a plain object comes out even for a "__proto__" key.
    const entry: PromptNode = { class_type: node.type, inputs: { ...inputs } };
    if (node.title) entry._meta = { title: node.title };
    prompt[String(node.id)] = entry;
  }
  return { ok: true, prompt: { ...prompt } };
}

/** The input a bypassed node passes through for the output `link` comes from (ComfyUI's rule). */
function bypassInput(node: UiNode, link: UiLink) {
  const type = node.outputs?.[link.originSlot]?.type ?? link.type;
  const inputs = node.inputs ?? [];
  const sameSlot = inputs[link.originSlot];
  if (sameSlot && sameSlot.type === type && sameSlot.link != null) return sameSlot;
  return inputs.find((input) => input.type === type && input.link != null);
}

/** Widget values by name, in the schema's widget order (seed controls, when saved, skipped). */
function widgetInputs(registry: Registry, node: UiNode): Record<string, unknown> {
  const def = registry.get(node.type);
  const saved = node.widgets_values;
  if (!def || saved === undefined) return {};
  if (!Array.isArray(saved)) {
    return Object.fromEntries(def.widgets.filter((w) => w.name in saved).map((w) => [w.name, saved[w.name]]));
  }
  const values: Record<string, unknown> = Object.create(null);
  for (const slot of widgetSlots(def.widgets, saved)) values[slot.name] = saved[slot.value];
  return values;
}
