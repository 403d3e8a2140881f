import { LiteGraph, type LGraph, type LGraphCanvas, type LGraphNode } from '@comfyorg/litegraph';
import { nodeDefinitions } from './nodes.ts';

/** How long the pointer rests on something before its tooltip shows (ComfyUI waits about as long). */
const DELAY_MS = 500;

/** The description under the pointer: a node's (on its title), an input's or a widget's (from /object_info). */
function describeAt(graph: LGraph, x: number, y: number): string | undefined {
  const node = graph.getNodeOnPos(x, y) as LGraphNode | null;
  if (!node) return undefined;
  const localY = y - node.pos[1];
  if (localY < 0) return nodeDefinitions.get(node.type ?? '')?.description || undefined;
  const widget = node.getWidgetOnPos(x, y);
  if (widget) return widget.tooltip || undefined;
  // An input's row: its socket and its label, on the left half of the node.
  if (x > node.pos[0] + node.size[0] / 2) return undefined;
  const input = node.inputs?.find((_, slot) => Math.abs(node.getInputPos(slot)[1] - y) < LiteGraph.NODE_SLOT_HEIGHT / 2);
  return (input as { tooltip?: string } | undefined)?.tooltip || undefined;
}

/** A tooltip element that follows the canvas pointer. */
export function attachTooltips(canvas: LGraphCanvas, graph: LGraph): void {
  const tip = document.createElement('div');
  tip.id = 'tooltip';
  tip.className = 'tooltip';
  tip.hidden = true;
  document.body.append(tip);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hide = () => {
    clearTimeout(timer);
    tip.hidden = true;
  };
  const element = canvas.canvas;
  element.addEventListener('pointermove', (event) => {
    hide();
    if (event.buttons !== 0) return;
    timer = setTimeout(() => {
      const rect = element.getBoundingClientRect();
      const [x, y] = canvas.ds.convertCanvasToOffset([event.clientX - rect.left, event.clientY - rect.top]);
      const text = describeAt(graph, x, y);
      if (!text) return;
      tip.textContent = text;
      tip.hidden = false;
      const width = tip.offsetWidth;
      const height = tip.offsetHeight;
      tip.style.left = `${Math.max(4, Math.min(event.clientX + 12, window.innerWidth - width - 4))}px`;
      tip.style.top = `${Math.max(4, Math.min(event.clientY + 16, window.innerHeight - height - 4))}px`;
    }, DELAY_MS);
  });
  for (const type of ['pointerleave', 'pointerdown', 'wheel'] as const) element.addEventListener(type, hide);
}
