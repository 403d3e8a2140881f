import type { LGraphNode } from '@comfyorg/litegraph';
import { api, type InputSpec } from './api.ts';
import { editText } from './dialogs.ts';
import { clearInputError, clearNodeError } from './node-state.ts';
import { socketColour } from './sockets.ts';
import { toast } from './toast.ts';

type IWidget = NonNullable<LGraphNode['widgets']>[number];

const PRIMITIVES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN']);

/** ComfyUI's control_after_generate: what Queue does to a seed after each prompt it sends. */
const SEED_CONTROLS = ['fixed', 'increment', 'decrement', 'randomize'] as const;
type SeedControl = (typeof SEED_CONTROLS)[number];
const CONTROL_WIDGET = 'control_after_generate';
/** INT widgets that get the control even when /object_info does not ask for it (ComfyUI's fallback names). */
const SEED_NAMES = new Set(['seed', 'noise_seed']);
/** ComfyUI's default for a new seed widget: every Queue gets a new seed. */
const DEFAULT_CONTROL: SeedControl = 'randomize';

const isControlValue = (value: unknown): value is SeedControl => typeof value === 'string' && (SEED_CONTROLS as readonly string[]).includes(value);

type ControlledWidget = IWidget & { controls?: IWidget };

/** Adds the socket or the widget for one input of a node type, as /object_info describes it. */
export function addInputOrWidget(node: LGraphNode, name: string, spec: InputSpec, optional: boolean): void {
  const [kind, options = {}] = spec;
  const tooltip = typeof options.tooltip === 'string' ? options.tooltip : undefined;
  const fallback = options.default;
  const changed = () => {
    clearInputError(node, name);
    clearNodeError(node);
  };
  const callbackFor = (round: (v: number) => number) => (value: unknown) => {
    const widget = node.widgets?.find((w) => w.name === name);
    if (widget && typeof value === 'number') widget.value = round(value);
    changed();
  };
  let widget: IWidget | undefined;
  if (Array.isArray(kind)) {
    widget = node.addWidget('combo', name, (fallback ?? kind[0]) as string | number, changed, { values: kind });
  } else if (!PRIMITIVES.has(kind)) {
    const input = node.addInput(name, kind);
    input.color_on = socketColour(kind);
    if (optional) input.label = `${name} (optional)`;
    if (tooltip) (input as { tooltip?: string }).tooltip = tooltip;
    return;
  } else {
    const min = options.min as number | undefined;
    const max = options.max as number | undefined;
    switch (kind) {
      case 'INT': {
        const step = (options.step as number) || 1;
        widget = node.addWidget('number', name, Number(fallback ?? min ?? 0), callbackFor(Math.round), {
          min,
          max,
          step2: step,
          step: step * 10,
          precision: 0,
        });
        if (options.control_after_generate || SEED_NAMES.has(name)) addSeedControl(node, widget!, options.control_after_generate);
        break;
      }
      case 'FLOAT': {
        const step = (options.step as number) || 0.01;
        const precision = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step))));
        const factor = 10 ** precision;
        widget = node.addWidget(
          'number',
          name,
          Number(fallback ?? min ?? 0),
          callbackFor((v) => Math.round(v * factor) / factor),
          { min, max, step2: step, step: step * 10, precision },
        );
        break;
      }
      case 'BOOLEAN':
        widget = node.addWidget('toggle', name, Boolean(fallback ?? false), changed, {});
        break;
      default:
        widget = node.addWidget('text', name, String(fallback ?? ''), changed, { multiline: Boolean(options.multiline) });
        if (options.multiline) editInDialog(node, widget, changed);
    }
  }
  if (widget && tooltip) widget.tooltip = tooltip;
}

function addSeedControl(node: LGraphNode, seed: IWidget, declared: unknown): void {
  const initial = isControlValue(declared) ? declared : DEFAULT_CONTROL;
  const control = node.addWidget('combo', CONTROL_WIDGET, initial, () => {}, { values: [...SEED_CONTROLS] });
  control.tooltip = `What Queue does to ${seed.name} after each prompt it sends: keep it, add or subtract one, or pick a random one.`;
  (seed as ControlledWidget).controls = control;
}

/**
 * widgets_values as this editor's widgets expect them: a workflow saved without the seed's
 * control value (older fewstep, or written by hand) gets the default inserted after the seed,
 * so the values after it keep their places.
 */
export function withSeedControls(node: LGraphNode, saved: unknown[]): unknown[] {
  const widgets = (node.widgets ?? []).filter((w) => w.serialize !== false);
  if (!widgets.some((w) => w.name === CONTROL_WIDGET)) return saved;
  const values: unknown[] = [];
  let index = 0;
  for (const widget of widgets) {
    if (index >= saved.length) break;
    if (widget.name === CONTROL_WIDGET) values.push(isControlValue(saved[index]) ? saved[index++] : widget.value);
    else values.push(saved[index++]);
  }
  return values;
}

/** After a prompt is queued: each seed moves as its control says (ComfyUI's "after" mode). */
export function applySeedControls(nodes: readonly LGraphNode[], random: () => number = Math.random): number {
  let changed = 0;
  for (const node of nodes) {
    for (const widget of (node.widgets ?? []) as ControlledWidget[]) {
      const control = widget.controls?.value;
      if (!widget.controls || control === 'fixed' || typeof widget.value !== 'number') continue;
      const options = widget.options as { min?: number; max?: number; step2?: number };
      const min = options.min ?? 0;
      const max = Math.min(options.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      const step = options.step2 ?? 1;
      let value = widget.value;
      if (control === 'increment') value += step;
      else if (control === 'decrement') value -= step;
      else if (control === 'randomize') value = min + Math.floor(random() * ((max - min) / step + 1)) * step;
      widget.value = Math.min(max, Math.max(min, value));
      changed++;
    }
  }
  return changed;
}

/** A multi-line string (the learned schedule's JSON) is edited in a dialog, not a one-line prompt. */
function editInDialog(node: LGraphNode, widget: IWidget, changed: () => void): void {
  widget.onPointerDown = (pointer) => {
    pointer.onClick = () => {
      void editText(`${node.title}: ${widget.name}`, String(widget.value ?? '')).then((value) => {
        if (value === null || value === widget.value) return;
        widget.value = value;
        changed();
        node.setDirtyCanvas(true, true);
        document.dispatchEvent(new CustomEvent('fewstep:graph-edited'));
      });
    };
    return true;
  };
}

/** LoadImage gets a button that uploads an image (PNG, JPEG, WebP) into the input folder and selects it. */
export function addUploadButton(node: LGraphNode): void {
  const button = node.addWidget(
    'button',
    'upload image…',
    '',
    () => {
      const picker = document.createElement('input');
      picker.type = 'file';
      picker.accept = 'image/png,image/jpeg,image/webp';
      picker.onchange = async () => {
        const file = picker.files?.[0];
        if (!file) return;
        try {
          const saved = await api.upload(file);
          const widget = node.widgets?.find((w) => w.name === 'image');
          const name = saved.subfolder ? `${saved.subfolder}/${saved.name}` : saved.name;
          if (widget) {
            // The image widget is a combo of the input folder's files: the new file becomes one of them.
            const values = (widget.options as { values?: unknown }).values;
            if (Array.isArray(values) && !values.includes(name)) values.push(name);
            widget.value = name;
          }
          clearInputError(node, 'image');
          node.setDirtyCanvas(true, true);
          document.dispatchEvent(new CustomEvent('fewstep:graph-edited'));
        } catch (error) {
          toast(`Upload failed: ${(error as Error).message}`, 'error');
        }
      };
      picker.click();
    },
    {},
  );
  button.serialize = false;
}
