import type { NodeDef, Registry } from './registry.ts';
import type { SocketType } from '../sockets.ts';
import { comfyWidgetSpec, type WidgetLists, type WidgetSpecJson } from './widgets.ts';

/** An input in /object_info: a widget's spec, or a socket `[TYPE, { tooltip }]`. */
export type InputSpecJson = WidgetSpecJson | [SocketType, { tooltip?: string }];

/** One node type in ComfyUI's /object_info shape. */
export interface ObjectInfoEntry {
  input: { required: Record<string, InputSpecJson>; optional?: Record<string, InputSpecJson> };
  input_order: { required: string[]; optional?: string[] };
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  name: string;
  display_name: string;
  description: string;
  python_module: string;
  category: string;
  output_node: boolean;
  output_tooltips: string[];
}

/** ComfyUI's /object_info, from the schemas: links first, then widgets, as the node declares them. */
export function objectInfo(registry: Registry, lists?: WidgetLists): Record<string, ObjectInfoEntry> {
  return Object.fromEntries([...registry.values()].map((def) => [def.type, objectInfoEntry(def, lists)]));
}

export function objectInfoEntry(def: NodeDef, lists?: WidgetLists): ObjectInfoEntry {
  const required: Record<string, InputSpecJson> = {};
  const optional: Record<string, InputSpecJson> = {};
  for (const input of def.inputs) {
    (input.optional ? optional : required)[input.name] = [input.type, input.tooltip ? { tooltip: input.tooltip } : {}];
  }
  for (const widget of def.widgets) required[widget.name] = comfyWidgetSpec(widget.schema, lists);
  const hasOptional = Object.keys(optional).length > 0;
  return {
    input: hasOptional ? { required, optional } : { required },
    input_order: hasOptional ? { required: Object.keys(required), optional: Object.keys(optional) } : { required: Object.keys(required) },
    output: def.outputs.map((o) => o.type),
    output_is_list: def.outputs.map(() => false),
    output_name: def.outputs.map((o) => o.name),
    name: def.type,
    display_name: def.spec.displayName,
    description: def.spec.description,
    python_module: 'fewstep',
    category: def.spec.category,
    output_node: def.outputNode,
    output_tooltips: def.outputs.map(() => ''),
  };
}
