/**
 * The shape a UI workflow must have before it may replace the graph. litegraph trusts what it is
 * given: a file with `"nodes": "x"` or a node without a type would wipe the graph or half-load it,
 * so a file is checked first and refused with a message that names the field.
 */

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown) => (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value !== '');
const isPoint = (value: unknown) => {
  if (Array.isArray(value)) return value.length >= 2 && value.slice(0, 2).every((v) => typeof v === 'number' && Number.isFinite(v));
  if (isObject(value)) return typeof value[0] === 'number' && typeof value[1] === 'number';
  return false;
};
const describe = (value: unknown) =>
  Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 40);

/** The first problem that keeps `value` from loading as a UI workflow, or undefined when it can load. */
export function workflowProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `a workflow is a JSON object, not ${describe(value)}`;
  if (!Array.isArray(value.nodes)) return `"nodes" must be a list of nodes, not ${describe(value.nodes)}`;
  const ids = new Set<string>();
  for (const [index, node] of value.nodes.entries()) {
    if (!isObject(node)) return `nodes[${index}] must be a node object, not ${describe(node)}`;
    const where = `node ${isId(node.id) ? String(node.id) : `#${index}`}${typeof node.type === 'string' ? ` (${node.type})` : ''}`;
    if (!isId(node.id)) return `nodes[${index}] has no id`;
    if (ids.has(String(node.id))) return `${where}: the id is used twice`;
    ids.add(String(node.id));
    if (typeof node.type !== 'string' || node.type === '') return `${where}: "type" must be a node type name`;
    if (node.pos !== undefined && !isPoint(node.pos)) return `${where}: "pos" must be [x, y]`;
    if (node.size !== undefined && !isPoint(node.size)) return `${where}: "size" must be [width, height]`;
    if (node.widgets_values !== undefined && node.widgets_values !== null && typeof node.widgets_values !== 'object')
      return `${where}: "widgets_values" must be a list`;
    for (const side of ['inputs', 'outputs'] as const) {
      const slots = node[side];
      if (slots === undefined) continue;
      if (!Array.isArray(slots) || !slots.every(isObject)) return `${where}: "${side}" must be a list of slots`;
    }
    if (node.mode !== undefined && typeof node.mode !== 'number') return `${where}: "mode" must be a number`;
  }
  if (value.links !== undefined && value.links !== null) {
    if (!Array.isArray(value.links)) return `"links" must be a list, not ${describe(value.links)}`;
    for (const [index, link] of value.links.entries()) {
      const ok = Array.isArray(link)
        ? link.length >= 5 && link.slice(0, 5).every((v) => isId(v) || v === -1)
        : isObject(link) && isId(link.id) && isId(link.origin_id) && isId(link.target_id);
      if (!ok) return `links[${index}] must be [id, from node, from slot, to node, to slot, type]`;
    }
  }
  if (value.groups !== undefined && (!Array.isArray(value.groups) || !value.groups.every(isObject))) return '"groups" must be a list of groups';
  return undefined;
}

/**
 * The first problem with an API prompt as a source of nodes: every entry names its class_type.
 * A JSON object that has "nodes" is meant as a UI workflow, and is checked as one.
 */
export function promptProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `an API prompt is a JSON object, not ${describe(value)}`;
  if ('nodes' in value && !isObject(value.nodes)) return workflowProblem(value);
  const entries = Object.entries(value);
  if (entries.length === 0) return 'it has no nodes';
  for (const [id, entry] of entries) {
    if (!isObject(entry) || typeof entry.class_type !== 'string') return `"${id}" is not a node: an API prompt maps node ids to {class_type, inputs}`;
  }
  return undefined;
}
