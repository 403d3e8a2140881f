import Type from 'typebox';
import Value from 'typebox/value';

/**
 * The litegraph UI format, as ComfyUI saves it: version 0.4 with link tuples
 * `[id, fromNode, fromSlot, toNode, toSlot, type]`, and version 1 with link objects.
 * Extra fields are allowed and kept, since real files carry plenty.
 */
const NodeId = Type.Union([Type.Integer(), Type.String()]);

export const UiInputSchema = Type.Object({
  name: Type.String(),
  type: Type.Unknown(),
  link: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  widget: Type.Optional(Type.Object({ name: Type.String() })),
});

export const UiOutputSchema = Type.Object({
  name: Type.String(),
  type: Type.Unknown(),
  links: Type.Optional(Type.Union([Type.Array(Type.Integer()), Type.Null()])),
  slot_index: Type.Optional(Type.Integer()),
});

export const UiNodeSchema = Type.Object({
  id: NodeId,
  type: Type.String(),
  pos: Type.Optional(Type.Unknown()),
  size: Type.Optional(Type.Unknown()),
  flags: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  order: Type.Optional(Type.Number()),
  /** 0 always, 2 never (muted), 4 bypass. */
  mode: Type.Optional(Type.Integer()),
  title: Type.Optional(Type.String()),
  inputs: Type.Optional(Type.Array(UiInputSchema)),
  outputs: Type.Optional(Type.Array(UiOutputSchema)),
  properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  widgets_values: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())])),
});

export const LinkTupleSchema = Type.Tuple([Type.Integer(), NodeId, Type.Integer(), NodeId, Type.Integer(), Type.Unknown()]);

export const LinkObjectSchema = Type.Object({
  id: Type.Integer(),
  origin_id: NodeId,
  origin_slot: Type.Integer(),
  target_id: NodeId,
  target_slot: Type.Integer(),
  type: Type.Unknown(),
});

export const WorkflowV04Schema = Type.Object({
  last_node_id: Type.Optional(Type.Number()),
  last_link_id: Type.Optional(Type.Number()),
  nodes: Type.Array(UiNodeSchema),
  links: Type.Array(LinkTupleSchema),
  groups: Type.Optional(Type.Array(Type.Unknown())),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  extra: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  version: Type.Number(),
});

export const WorkflowV1Schema = Type.Object({
  version: Type.Literal(1),
  state: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  nodes: Type.Array(UiNodeSchema),
  links: Type.Array(LinkObjectSchema),
  groups: Type.Optional(Type.Array(Type.Unknown())),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  extra: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export type UiNode = Type.Static<typeof UiNodeSchema>;
export type WorkflowV04 = Type.Static<typeof WorkflowV04Schema>;
export type WorkflowV1 = Type.Static<typeof WorkflowV1Schema>;
export type Workflow = WorkflowV04 | WorkflowV1;

/** A link with its ends named, whatever version it came from. */
export interface UiLink {
  id: number;
  origin: string;
  originSlot: number;
  target: string;
  targetSlot: number;
  type: unknown;
}

/** True when a JSON value looks like a UI workflow rather than an API prompt. */
export function looksLikeWorkflow(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Array.isArray((value as { nodes?: unknown }).nodes) && 'links' in value;
}

export type ParsedWorkflow = { ok: true; workflow: Workflow; links: UiLink[] } | { ok: false; errors: string[] };

/** Checks a UI workflow's shape; errors name the JSON path of each problem. */
export function parseWorkflow(value: unknown): ParsedWorkflow {
  const schema = (value as { version?: unknown })?.version === 1 ? WorkflowV1Schema : WorkflowV04Schema;
  if (!Value.Check(schema, value)) {
    const errors = Value.Errors(schema, value)
      .slice(0, 10)
      .map((e) => `workflow${e.instancePath || ''}: ${e.message}`);
    return { ok: false, errors: errors.length > 0 ? errors : ['not a workflow'] };
  }
  const links: UiLink[] = (value.links as unknown[]).map((raw) =>
    Array.isArray(raw)
      ? { id: raw[0], origin: String(raw[1]), originSlot: raw[2], target: String(raw[3]), targetSlot: raw[4], type: raw[5] }
      : (({ id, origin_id, origin_slot, target_id, target_slot, type }) => ({
          id,
          origin: String(origin_id),
          originSlot: origin_slot,
          target: String(target_id),
          targetSlot: target_slot,
          type,
        }))(raw as Type.Static<typeof LinkObjectSchema>),
  );
  return { ok: true, workflow: value as Workflow, links };
}
