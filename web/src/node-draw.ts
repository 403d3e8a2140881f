import { LiteGraph, type LGraphNode } from '@comfyorg/litegraph';
import { runState } from './node-state.ts';

const TEXT_FONT = '12px system-ui, sans-serif';
const LINE_HEIGHT = 15;
const PADDING = 10;
/** Room an image area asks for below the widgets and text. */
const IMAGE_AREA = 220;

let measuring: CanvasRenderingContext2D | undefined;
function measureContext(): CanvasRenderingContext2D {
  measuring ??= document.createElement('canvas').getContext('2d')!;
  measuring.font = TEXT_FONT;
  return measuring;
}

/** Splits text into lines no wider than `width` pixels; a word longer than a line is broken. */
function wrapText(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const candidate = line ? `${line} ${word}` : word;
      if (ctx.measureText(candidate).width <= width) {
        line = candidate;
        continue;
      }
      if (line) lines.push(line);
      line = '';
      // A word wider than the line (a long number list, a path) is cut into pieces that fit.
      let rest = word;
      while (ctx.measureText(rest).width > width && rest.length > 1) {
        let cut = rest.length - 1;
        while (cut > 1 && ctx.measureText(rest.slice(0, cut)).width > width) cut--;
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      line = rest;
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** Where a node's body ends and its text and image area begin, in node coordinates. */
function contentBottom(node: LGraphNode): number {
  const widgets = node.widgets ?? [];
  const last = widgets[widgets.length - 1];
  if (last && typeof last.y === 'number' && last.y > 0) return last.y + LiteGraph.NODE_WIDGET_HEIGHT + 6;
  const slots = Math.max(node.inputs?.length ?? 0, node.outputs?.length ?? 0);
  return slots * LiteGraph.NODE_SLOT_HEIGHT + 10;
}

function textLines(node: LGraphNode, ctx: CanvasRenderingContext2D): string[] {
  return runState(node).text.flatMap((t) => wrapText(ctx, t, node.size[0] - 2 * PADDING));
}

/** Grows a node so its text fits inside it and, when it has pictures, an image area below. */
export function makeRoomForContent(node: LGraphNode): void {
  const state = runState(node);
  const textHeight = textLines(node, measureContext()).length * LINE_HEIGHT;
  const images = state.preview || state.images.length > 0 ? IMAGE_AREA : 8;
  const needed = contentBottom(node) + textHeight + images;
  if (node.size[1] < needed) node.setSize([Math.max(node.size[0], 240), needed]);
}

export function drawContent(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
  if (node.flags.collapsed) return;
  const state = runState(node);
  let top = contentBottom(node);
  ctx.save();
  // Nothing a run left is drawn outside the node.
  ctx.beginPath();
  ctx.rect(0, 0, node.size[0], node.size[1]);
  ctx.clip();
  if (state.text.length > 0) {
    ctx.font = TEXT_FONT;
    ctx.fillStyle = '#b8bcc4';
    const lines = textLines(node, ctx);
    let widest = 0;
    for (const line of lines) {
      top += LINE_HEIGHT;
      ctx.fillText(line, PADDING, top - 3);
      widest = Math.max(widest, ctx.measureText(line).width);
    }
    top += 4;
    state.textLayout = { lines, widest, bottom: top };
    // Text that outgrew the node (it was narrowed, or the report got longer) makes it taller.
    if (top + 4 > node.size[1]) queueMicrotask(() => makeRoomForContent(node));
  } else state.textLayout = undefined;
  drawImages(node, ctx, top);
  ctx.restore();
}

function drawImages(node: LGraphNode, ctx: CanvasRenderingContext2D, top: number): void {
  const state = runState(node);
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
}

/** Error marks: a red outline on each failing widget, a ring on each failing socket, the messages under the node. */
export function drawErrors(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
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
  ctx.font = TEXT_FONT;
  const width = Math.max(node.size[0], 320);
  const lines = [
    ...(state.message ? wrapText(ctx, state.message, width) : []),
    ...[...state.inputErrors].flatMap(([input, message]) => wrapText(ctx, message.startsWith(input) ? message : `${input}: ${message}`, width)),
  ].slice(0, 8);
  ctx.fillStyle = '#ff7b72';
  lines.forEach((line, i) => ctx.fillText(line, 4, node.size[1] + 18 + i * LINE_HEIGHT));
  ctx.restore();
}
