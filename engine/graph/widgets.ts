import type { TSchema } from 'typebox';

/** The primitive kind of a widget, read off its TypeBox schema. */
export type WidgetKind = 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO';

interface SchemaFields {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: SchemaFields[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  description?: string;
  multiline?: boolean;
  step?: number;
  round?: number;
  image_upload?: boolean;
}

/**
 * Lists read when /object_info is asked for. A string widget declared with `image_upload: true`
 * (LoadImage's image) is shown as ComfyUI shows it: a combo of the input folder's images, with
 * the upload button; validation still takes any name (a file in a subfolder, `name.png [output]`).
 */
export interface WidgetLists {
  inputImages?: () => string[];
}

const fields = (schema: TSchema) => schema as unknown as SchemaFields;

/** The allowed values of an enum-like schema (Type.Enum or a union of literals), else undefined. */
export function comboValues(schema: TSchema): Array<string | number> | undefined {
  const s = fields(schema);
  if (Array.isArray(s.enum)) return s.enum as Array<string | number>;
  if (Array.isArray(s.anyOf) && s.anyOf.length > 0 && s.anyOf.every((member) => 'const' in member)) {
    return s.anyOf.map((member) => member.const as string | number);
  }
  return undefined;
}

export function widgetKind(schema: TSchema): WidgetKind {
  if (comboValues(schema)) return 'COMBO';
  switch (fields(schema).type) {
    case 'integer':
      return 'INT';
    case 'number':
      return 'FLOAT';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      return 'STRING';
    default:
      throw new Error(`widget schema ${JSON.stringify(schema)} is not an integer, number, boolean, string or enum`);
  }
}

export function widgetDefault(schema: TSchema): unknown {
  const s = fields(schema);
  if (s.default !== undefined) return s.default;
  const values = comboValues(schema);
  return values ? values[0] : undefined;
}

/** ComfyUI's `[TYPE, options]` input spec for a widget. */
export function comfyWidgetSpec(schema: TSchema, lists?: WidgetLists): [string | Array<string | number>, Record<string, unknown>] {
  const s = fields(schema);
  const kind = widgetKind(schema);
  const options: Record<string, unknown> = {};
  if (s.default !== undefined) options.default = s.default;
  if (s.description) options.tooltip = s.description;
  if (kind === 'STRING' && s.image_upload) {
    const files = lists?.inputImages?.() ?? [];
    // The default only where it is one of the files; otherwise the editor picks the first, as ComfyUI's does.
    if (files.length > 0 && !files.includes(String(s.default))) delete options.default;
    return [files, { ...options, image_upload: true }];
  }
  if (kind === 'COMBO') return [comboValues(schema)!, options];
  if (kind === 'INT' || kind === 'FLOAT') {
    if (s.minimum !== undefined) options.min = s.minimum;
    if (s.maximum !== undefined) options.max = s.maximum;
    options.step = s.step ?? s.multipleOf ?? (kind === 'INT' ? 1 : 0.01);
    if (kind === 'FLOAT') options.round = s.round ?? false;
  }
  if (kind === 'STRING' && s.multiline) options.multiline = true;
  return [kind, options];
}
