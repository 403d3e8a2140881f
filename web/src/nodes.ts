import { LGraphCanvas, LGraphNode, LiteGraph, type IWidget } from '@comfyorg/litegraph';
import { api, type InputSpec, type NodeInfo } from './api.ts';
import { toast } from './toast.ts';

/** Socket colours, one per type; links take the colour of their type. */
export const SOCKET_COLOURS: Record<string, string> = {
  MODEL: '#b39ddb',
  CONDITIONING: '#ffa931',
  SCHEDULE: '#4dd0e1',
  LATENT: '#ff9cf9',
  IMAGE: '#64b5f6',
  SCORES: '#ffd54f',
  INT: '#9ccc65',
  FLOAT: '#aed581',
  STRING: '#81c784',
  BOOLEAN: '#e57373',
  COMBO: '#90a4ae',
};

const PRIMITIVES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN']);

/** What a run left on a node: its images, a live preview, and errors to draw. */
export interface NodeRunState {
  images: HTMLImageElement[];
  preview?: HTMLImageElement;
  /** Lines a node reported (ui.text), e.g. the sampler's step and compute figures. */
  text: string[];
  message?: string;
  inputErrors: Map<string, string>;
}

export function runState(node: LGraphNode): NodeRunState {
  const holder = node as LGraphNode & { fewstep?: NodeRunState };
  holder.fewstep ??= { images: [], text: [], inputErrors: new Map() };
  return holder.fewstep;
}

/** Registers one litegraph node type per /object_info entry: widgets from the schemas, sockets from the types. */
export function registerNodeTypes(info: Record<string, NodeInfo>): void {
  for (const [type, colour] of Object.entries(SOCKET_COLOURS)) LGraphCanvas.link_type_colors[type] = colour;
  for (const def of Object.values(info)) registerNodeType(def);
}

function registerNodeType(def: NodeInfo): void {
  class FewstepNode extends LGraphNode {
    static override title = def.display_name || def.name;
    static comfyClass = def.name;
    static nodeData = def;
    static description = def.description;

    constructor(title?: string) {
      super(title ?? def.display_name ?? def.name, def.name);
      this.serialize_widgets = true;
      this.comfyClass = def.name;
      const order = [...def.input_order.required, ...(def.input_order.optional ?? [])];
      for (const name of order) {
        const spec = def.input.required[name] ?? def.input.optional?.[name];
        if (spec) addInputOrWidget(this, name, spec, !def.input.required[name]);
      }
      def.output.forEach((type, index) => {
        const output = this.addOutput(def.output_name[index] ?? type, type);
        output.color_on = SOCKET_COLOURS[type];
      });
      if (def.name === 'LoadImage') addUploadButton(this);
      const [width, height] = this.computeSize();
      this.size = [Math.max(width, 240), height];
    }

    override onDrawBackground(ctx: CanvasRenderingContext2D): void {
      drawImages(this, ctx);
    }

    override onDrawForeground(ctx: CanvasRenderingContext2D): void {
      drawErrors(this, ctx);
    }
  }
  LiteGraph.registerNodeType(def.name, FewstepNode);
  (FewstepNode as unknown as { category: string }).category = def.category || 'fewstep';
}

function addInputOrWidget(node: LGraphNode, name: string, spec: InputSpec, optional: boolean): void {
  const [kind, options = {}] = spec;
  const fallback = options.default;
  const callbackFor = (round: (v: number) => number) => (value: unknown, _canvas?: unknown, _node?: unknown) => {
    const widget = node.widgets?.find((w) => w.name === name);
    if (widget && typeof value === 'number') widget.value = round(value);
    runState(node).inputErrors.delete(name);
  };
  const clearError = () => runState(node).inputErrors.delete(name);
  if (Array.isArray(kind)) {
    node.addWidget('combo', name, (fallback ?? kind[0]) as string | number, clearError, { values: kind });
    return;
  }
  if (!PRIMITIVES.has(kind)) {
    const input = node.addInput(name, kind);
    input.color_on = SOCKET_COLOURS[kind];
    if (optional) input.label = `${name} (optional)`;
    return;
  }
  const min = options.min as number | undefined;
  const max = options.max as number | undefined;
  switch (kind) {
    case 'INT': {
      const step = (options.step as number) || 1;
      node.addWidget('number', name, Number(fallback ?? min ?? 0), callbackFor(Math.round), { min, max, step2: step, step: step * 10, precision: 0 });
      break;
    }
    case 'FLOAT': {
      const step = (options.step as number) || 0.01;
      const precision = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step))));
      const factor = 10 ** precision;
      node.addWidget('number', name, Number(fallback ?? min ?? 0), callbackFor((v) => Math.round(v * factor) / factor), { min, max, step2: step, step: step * 10, precision });
      break;
    }
    case 'BOOLEAN':
      node.addWidget('toggle', name, Boolean(fallback ?? false), clearError, {});
      break;
    default:
      node.addWidget('text', name, String(fallback ?? ''), clearError, {});
  }
}

/** LoadImage gets a button that uploads an image (PNG, JPEG, WebP) into the input folder and selects it. */
function addUploadButton(node: LGraphNode): void {
  const button = node.addWidget('button', 'upload image…', '', () => {
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
        node.setDirtyCanvas(true, true);
      } catch (error) {
        toast(`Upload failed: ${(error as Error).message}`, 'error');
      }
    };
    picker.click();
  }, {}) as IWidget;
  button.serialize = false;
}

/** Where a node's body ends and its image area begins, in node coordinates. */
function contentBottom(node: LGraphNode): number {
  const widgets = node.widgets ?? [];
  const last = widgets[widgets.length - 1];
  if (last && typeof last.y === 'number' && last.y > 0) return last.y + LiteGraph.NODE_WIDGET_HEIGHT + 6;
  const slots = Math.max(node.inputs?.length ?? 0, node.outputs?.length ?? 0);
  return slots * LiteGraph.NODE_SLOT_HEIGHT + 10;
}

/** Grows a node so its image area can show a picture. */
export function makeRoomForImages(node: LGraphNode): void {
  const top = contentBottom(node) + runState(node).text.length * 15;
  if (node.size[1] - top < 200) node.setSize([Math.max(node.size[0], 240), top + 220]);
}

function drawImages(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
  if (node.flags.collapsed) return;
  const state = runState(node);
  let top = contentBottom(node);
  if (state.text.length > 0) {
    ctx.save();
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillStyle = '#b8bcc4';
    for (const line of state.text.flatMap((t) => wrap(t, Math.max(20, Math.floor(node.size[0] / 7))))) {
      top += 15;
      ctx.fillText(line, 10, top - 3);
    }
    ctx.restore();
    top += 4;
  }
  const shown = state.preview ? [state.preview] : state.images;
  const ready = shown.filter((img) => img.complete && img.naturalWidth > 0);
  if (ready.length === 0) return;
  const width = node.size[0] - 16;
  const height = node.size[1] - top - 8;
  if (height < 20) return;
  // Several images share the area as a grid of equal cells.
  const columns = Math.ceil(Math.sqrt(ready.length));
  const rows = Math.ceil(ready.length / columns);
  const cellW = width / columns;
  const cellH = height / rows;
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ready.forEach((img, index) => {
    const gap = ready.length > 1 ? 4 : 0;
    const scale = Math.min((cellW - gap) / img.naturalWidth, (cellH - gap) / img.naturalHeight);
    const w = img.naturalWidth * scale;
    const h = img.naturalHeight * scale;
    const x = 8 + (index % columns) * cellW + (cellW - w) / 2;
    const y = top + Math.floor(index / columns) * cellH + (cellH - h) / 2;
    ctx.drawImage(img, x, y, w, h);
  });
  ctx.restore();
}

function drawErrors(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
  const state = runState(node);
  if (!state.message && state.inputErrors.size === 0) return;
  ctx.save();
  ctx.strokeStyle = '#f85149';
  ctx.lineWidth = 2;
  for (const widget of node.widgets ?? []) {
    if (state.inputErrors.has(widget.name) && typeof widget.y === 'number') {
      ctx.strokeRect(10, widget.y, node.size[0] - 20, LiteGraph.NODE_WIDGET_HEIGHT);
    }
  }
  node.inputs?.forEach((input, slot) => {
    if (!state.inputErrors.has(input.name)) return;
    const y = (slot + 0.7) * LiteGraph.NODE_SLOT_HEIGHT;
    ctx.beginPath();
    ctx.arc(LiteGraph.NODE_SLOT_HEIGHT * 0.5, y - LiteGraph.NODE_SLOT_HEIGHT * 0.2, 7, 0, Math.PI * 2);
    ctx.stroke();
  });
  const lines = [
    ...(state.message ? wrap(state.message, 64) : []),
    ...[...state.inputErrors].flatMap(([input, message]) => wrap(message.startsWith(input) ? message : `${input}: ${message}`, 64)),
  ].slice(0, 8);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#ff7b72';
  lines.forEach((line, i) => ctx.fillText(line, 4, node.size[1] + 18 + i * 15));
  ctx.restore();
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
