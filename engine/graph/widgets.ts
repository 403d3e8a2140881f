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
  /** A seed: editors add a control after it (fixed / increment / decrement / randomize). */
  controlAfterGenerate?: boolean;
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

/**
 * The values ComfyUI's editor saves after a seed widget: what to do to the seed after each queue.
 * The server never applies them (a queued prompt carries the seed to use); editors do.
 */
export const SEED_CONTROLS = ['fixed', 'increment', 'decrement', 'randomize'] as const;
export type SeedControl = (typeof SEED_CONTROLS)[number];

export const isSeedControl = (value: unknown): value is SeedControl => typeof value === 'string' && (SEED_CONTROLS as readonly string[]).includes(value);

/** True for an INT widget declared with `controlAfterGenerate: true` (ComfyUI's control_after_generate). */
export function hasControlAfterGenerate(schema: TSchema): boolean {
  return fields(schema).controlAfterGenerate === true && widgetKind(schema) === 'INT';
}

/** Where each widget's value sits in a saved widgets_values array, and its seed control's if saved. */
export interface WidgetSlot {
  name: string;
  value: number;
  control?: number;
}

/**
 * Lays widgets onto a saved widgets_values array, with or without the control values ComfyUI's
 * editor saves after seed widgets: detected by count (more values than widgets) and type (a
 * control word right after a seed). Widgets past the end of the array are left out.
 */
export function widgetSlots(widgets: ReadonlyArray<{ name: string; control: boolean }>, saved: readonly unknown[]): WidgetSlot[] {
  let extra = saved.length - widgets.length;
  const slots: WidgetSlot[] = [];
  let index = 0;
  for (const widget of widgets) {
    if (index >= saved.length) break;
    const slot: WidgetSlot = { name: widget.name, value: index++ };
    if (widget.control && extra > 0 && isSeedControl(saved[index])) {
      slot.control = index++;
      extra--;
    }
    slots.push(slot);
  }
  return slots;
}

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

/** ComfyUI's `[TYPE, options]` input spec for a widget, as /object_info serves it. */
export type WidgetSpecJson =
  | ['INT', { default?: number; tooltip?: string; min?: number; max?: number; step?: number; control_after_generate?: boolean }]
  | ['FLOAT', { default?: number; tooltip?: string; min?: number; max?: number; step?: number; round?: number | false }]
  | ['STRING', { default?: string; tooltip?: string; multiline?: boolean }]
  | ['BOOLEAN', { default?: boolean; tooltip?: string }]
  | [Array<string | number>, { default?: string | number; tooltip?: string; image_upload?: boolean }];

/** ComfyUI's `[TYPE, options]` input spec for a widget. */
export function comfyWidgetSpec(schema: TSchema, lists?: WidgetLists): WidgetSpecJson {
  const s = fields(schema);
  const kind = widgetKind(schema);
  const options: Record<string, unknown> = {};
  if (s.default !== undefined) options.default = s.default;
  if (s.description) options.tooltip = s.description;
  if (kind === 'STRING' && s.image_upload) {
    const files = lists?.inputImages?.() ?? [];
    // The default only where it is one of the files; otherwise the editor picks the first, as ComfyUI's does.
    if (files.length > 0 && !files.includes(String(s.default))) delete options.default;
    return [files, { ...options, image_upload: true }] as WidgetSpecJson;
  }
  if (kind === 'COMBO') return [comboValues(schema)!, options] as WidgetSpecJson;
  if (kind === 'INT' && s.controlAfterGenerate) options.control_after_generate = true;
  if (kind === 'INT' || kind === 'FLOAT') {
    if (s.minimum !== undefined) options.min = s.minimum;
    if (s.maximum !== undefined) options.max = s.maximum;
    options.step = s.step ?? s.multipleOf ?? (kind === 'INT' ? 1 : 0.01);
    if (kind === 'FLOAT') options.round = s.round ?? false;
  }
  if (kind === 'STRING' && s.multiline) options.multiline = true;
  // The schema's own types make the defaults fit their kind.
  return [kind, options] as WidgetSpecJson;
}
