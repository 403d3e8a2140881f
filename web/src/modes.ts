import type { LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';

/** litegraph node modes: 0 always, 2 never (muted: it and what needs it do not run), 4 bypass (inputs pass through). */
const MODE_ALWAYS = 0;
export const MODE_MUTED = 2;
export const MODE_BYPASS = 4;
/** ComfyUI's colours: a bypassed node is magenta and faint, a muted one faint. */
export const BYPASS_BGCOLOR = '#FF00FF';
const BYPASS_ALPHA = 0.2;
const MUTED_ALPHA = 0.4;

/** Draws bypassed and muted nodes as ComfyUI does, so the difference shows at a glance. */
export function drawModes(canvas: LGraphCanvas): void {
  const drawNode = canvas.drawNode.bind(canvas);
  canvas.drawNode = (node: LGraphNode, ctx: CanvasRenderingContext2D) => {
    if (node.mode !== MODE_BYPASS && node.mode !== MODE_MUTED) return drawNode(node, ctx);
    const alpha = canvas.editor_alpha;
    const bgcolor = node.bgcolor;
    canvas.editor_alpha = node.mode === MODE_BYPASS ? BYPASS_ALPHA : MUTED_ALPHA;
    if (node.mode === MODE_BYPASS) node.bgcolor = BYPASS_BGCOLOR;
    try {
      drawNode(node, ctx);
    } finally {
      canvas.editor_alpha = alpha;
      node.bgcolor = bgcolor;
    }
  };
}

/** Ctrl+B / Ctrl+M: the selected nodes take `mode`, or go back to always when all already have it. */
export function toggleMode(nodes: LGraphNode[], mode: number): boolean {
  if (nodes.length === 0) return false;
  const target = nodes.every((node) => node.mode === mode) ? MODE_ALWAYS : mode;
  // Assigned, not changeMode(): litegraph's changeMode() refuses 4, which it does not know as bypass.
  for (const node of nodes) node.mode = target;
  return true;
}
