import Type from 'typebox';

/**
 * The API ("prompt") format, as ComfyUI's /prompt takes it:
 * `{ "<id>": { class_type, inputs: { name: value | [fromId, outputIndex] }, _meta?: { title } } }`.
 */
export const PromptNodeSchema = Type.Object({
  class_type: Type.String(),
  inputs: Type.Record(Type.String(), Type.Unknown()),
  _meta: Type.Optional(Type.Object({ title: Type.Optional(Type.String()) })),
});

export const PromptSchema = Type.Record(Type.String(), PromptNodeSchema);

export type PromptNode = Type.Static<typeof PromptNodeSchema>;
export type Prompt = Type.Static<typeof PromptSchema>;

/** A link in the prompt format; ComfyUI clients send the node id as a string or a number. */
export function isPromptLink(value: unknown): value is [string | number, number] {
  return Array.isArray(value) && value.length === 2 && (typeof value[0] === 'string' || typeof value[0] === 'number') && Number.isInteger(value[1]);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The engine's own graph: links are objects naming the source node by id and its output by
 * name (and index, for the wire formats), never bare tuples.
 */
export interface GraphLink {
  readonly node: string;
  readonly output: string;
  readonly index: number;
}

export interface GraphNode {
  readonly id: string;
  readonly type: string;
  readonly title?: string;
  /** Link inputs and widgets fed by links, by input name. */
  readonly links: Readonly<Record<string, GraphLink>>;
  /** Widget values, defaults filled in. */
  readonly values: Readonly<Record<string, unknown>>;
}

export interface Graph {
  readonly nodes: ReadonlyMap<string, GraphNode>;
  /** The output nodes, in id order. */
  readonly outputs: readonly string[];
  /** The nodes the outputs need, in an order where every node comes after its inputs. */
  readonly order: readonly string[];
}
