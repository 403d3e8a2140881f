import type { Registry } from './registry.ts';
import { compareIds, topologicalOrder } from './order.ts';
import { isPlainObject, isPromptLink } from './prompt.ts';
import { widgetDefault } from './widgets.ts';
import type { UiNode, WorkflowV04 } from './workflow.ts';

const COLUMN_WIDTH = 380;
const NODE_WIDTH = 320;
const ROW_HEIGHT = 24;
const MARGIN = 40;

/**
 * API prompt -> UI workflow (version 0.4) with an automatic layout: each node in a column by
 * its depth in the graph, so API files open in the editor readably. Nodes of unknown type keep
 * their links (typed "*") and their literal inputs as widgets_values. Never throws.
 */
export function promptToWorkflow(registry: Registry, prompt: unknown): WorkflowV04 {
  const entries = isPlainObject(prompt)
    ? Object.entries(prompt).filter(
        (e): e is [string, { class_type: string; inputs?: Record<string, unknown>; _meta?: { title?: string } }] =>
          isPlainObject(e[1]) && typeof e[1].class_type === 'string',
      )
    : [];
  const byId = new Map(entries);
  const idMap = new Map(entries.map(([id], index) => [id, /^\d+$/.test(id) ? Number(id) : 100000 + index]));
  const inputsOf = (id: string) => (isPlainObject(byId.get(id)!.inputs) ? byId.get(id)!.inputs! : {});
  const deps = new Map(
    entries.map(([id]) => [
      id,
      Object.values(inputsOf(id))
        .filter(isPromptLink)
        .map((l) => String(l[0])),
    ]),
  );

  // Depth = longest path from a source, so every link runs left to right.
  const { order, cyclic } = topologicalOrder(byId.keys(), deps);
  const position = new Map([...order, ...cyclic].map((id, index) => [id, index]));
  const depth = new Map<string, number>();
  for (const id of [...order, ...cyclic]) {
    let deepest = 0;
    for (const dep of deps.get(id)!) deepest = Math.max(deepest, (depth.get(dep) ?? -1) + 1);
    depth.set(id, deepest);
  }

  const links: WorkflowV04['links'] = [];
  const nodes: UiNode[] = [];
  const outputLinks = new Map<string, number[][]>();
  const columnY = new Map<number, number>();
  for (const id of [...byId.keys()].sort(compareIds)) {
    const entry = byId.get(id)!;
    const def = registry.get(entry.class_type);
    const raw = inputsOf(id);
    const inputs: NonNullable<UiNode['inputs']> = [];
    const widgetsValues: unknown[] = [];
    const addLink = (name: string, value: [string | number, number], type: unknown, widget?: string) => {
      const from = String(value[0]);
      if (!byId.has(from)) return inputs.push({ name, type, link: null, ...(widget ? { widget: { name: widget } } : {}) });
      const linkId = links.length + 1;
      links.push([linkId, idMap.get(from)!, value[1], idMap.get(id)!, inputs.length, type]);
      const slots = outputLinks.get(from) ?? [];
      (slots[value[1]] ??= []).push(linkId);
      outputLinks.set(from, slots);
      inputs.push({ name, type, link: linkId, ...(widget ? { widget: { name: widget } } : {}) });
    };
    if (def) {
      for (const socket of def.inputs) {
        const value = raw[socket.name];
        if (isPromptLink(value)) addLink(socket.name, value, socket.type);
        else inputs.push({ name: socket.name, type: socket.type, link: null });
      }
      for (const widget of def.widgets) {
        const value = raw[widget.name];
        if (isPromptLink(value)) {
          addLink(widget.name, value, widget.kind, widget.name);
          widgetsValues.push(widgetDefault(widget.schema));
        } else widgetsValues.push(value ?? widgetDefault(widget.schema));
        // A seed's control, as ComfyUI's editor saves it: "fixed" keeps the prompt's seed.
        if (widget.control) widgetsValues.push('fixed');
      }
    } else {
      for (const [name, value] of Object.entries(raw)) {
        if (isPromptLink(value)) addLink(name, value, '*');
        else widgetsValues.push(value);
      }
    }
    const column = depth.get(id) ?? 0;
    const outputCount = def ? def.outputs.length : 1;
    const height = 40 + ROW_HEIGHT * (Math.max(inputs.filter((i) => !i.widget).length, outputCount) + widgetsValues.length);
    const y = columnY.get(column) ?? MARGIN;
    columnY.set(column, y + height + MARGIN);
    nodes.push({
      id: idMap.get(id)!,
      type: entry.class_type,
      pos: [MARGIN + column * COLUMN_WIDTH, y],
      size: [NODE_WIDTH, height],
      flags: {},
      order: position.get(id)!,
      mode: 0,
      ...(entry._meta?.title ? { title: entry._meta.title } : {}),
      inputs,
      outputs: [],
      properties: { 'Node name for S&R': entry.class_type },
      widgets_values: widgetsValues,
    });
  }
  const promptIdOf = new Map([...idMap].map(([promptId, uiId]) => [uiId, promptId]));
  for (const node of nodes) {
    const id = promptIdOf.get(node.id as number)!;
    const def = registry.get(node.type);
    const slots = outputLinks.get(id) ?? [];
    const outputs = def ? def.outputs : slots.map((_, index) => ({ name: `output_${index}`, type: '*' }));
    node.outputs = outputs.map((output, index) => ({ name: output.name, type: output.type, links: slots[index] ?? [], slot_index: index }));
  }
  return {
    last_node_id: nodes.reduce((last, n) => Math.max(last, Number(n.id)), 0),
    last_link_id: links.length,
    nodes,
    links,
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
}
