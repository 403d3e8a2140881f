/**
 * Socket colours. The types themselves come from /object_info (each node's inputs and outputs);
 * this file only picks a colour per type name: ComfyUI's for the names ComfyUI shares, a stable
 * hue from the name for any other, so a type the engine adds is coloured without a change here.
 */
const KNOWN_COLOURS: Record<string, string> = {
  MODEL: '#b39ddb',
  CONDITIONING: '#ffa931',
  IMAGE: '#64b5f6',
  INT: '#9ccc65',
  FLOAT: '#aed581',
  STRING: '#81c784',
  BOOLEAN: '#e57373',
  COMBO: '#90a4ae',
};

/** The colour of sockets and links of `type`. */
export function socketColour(type: string): string {
  const known = KNOWN_COLOURS[type];
  if (known) return known;
  let hash = 0;
  for (const char of type) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 65%, 65%)`;
}

/** Every socket type the node definitions use, inputs and outputs. */
export function socketTypes(
  definitions: Iterable<{ input: { required: Record<string, unknown>; optional?: Record<string, unknown> }; output: readonly string[] }>,
): Set<string> {
  const types = new Set<string>();
  for (const def of definitions) {
    for (const spec of [...Object.values(def.input.required), ...Object.values(def.input.optional ?? {})]) {
      const kind = Array.isArray(spec) ? spec[0] : undefined;
      if (typeof kind === 'string') types.add(kind);
    }
    for (const type of def.output) types.add(type);
  }
  return types;
}
