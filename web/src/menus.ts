import type { LGraph, LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';
import { MODE_BYPASS, MODE_MUTED, toggleMode } from './modes.ts';

type MenuEntry = { content?: string; callback?: (...args: never[]) => unknown } | null | string;

/**
 * litegraph offers "Convert to Subgraph", but the server runs flat graphs only: a converted node
 * would fail the next Queue. The entry is taken out of the node and canvas menus.
 */
const unsupported = (entry: MenuEntry) => typeof entry === 'object' && entry !== null && typeof entry.content === 'string' && /subgraph/i.test(entry.content);

function removeUnsupported(options: MenuEntry[]): void {
  for (let i = options.length - 1; i >= 0; i--) if (unsupported(options[i])) options.splice(i, 1);
}

/** Node and canvas menus: no subgraphs; Bypass and Mute with their shortcuts on every node. */
export function adjustMenus(graph: LGraph, canvas: LGraphCanvas, edited: () => void): void {
  const selected = (node: LGraphNode) => {
    const nodes = Object.values(canvas.selected_nodes) as LGraphNode[];
    return nodes.includes(node) ? nodes : [node];
  };
  (graph as unknown as { onGetNodeMenuOptions: (options: MenuEntry[], node: LGraphNode) => void }).onGetNodeMenuOptions = (options, node) => {
    removeUnsupported(options);
    const at = Math.max(
      0,
      options.findIndex((entry) => typeof entry === 'object' && entry?.content === 'Mode'),
    );
    options.splice(
      at + 1,
      0,
      {
        content: node.mode === MODE_BYPASS ? 'Remove bypass (Ctrl+B)' : 'Bypass (Ctrl+B)',
        callback: () => {
          toggleMode(selected(node), MODE_BYPASS);
          edited();
        },
      },
      {
        content: node.mode === MODE_MUTED ? 'Unmute (Ctrl+M)' : 'Mute (Ctrl+M)',
        callback: () => {
          toggleMode(selected(node), MODE_MUTED);
          edited();
        },
      },
    );
  };
  (canvas as unknown as { getExtraMenuOptions: (canvas: LGraphCanvas, options: MenuEntry[]) => MenuEntry[] }).getExtraMenuOptions = (_canvas, options) => {
    removeUnsupported(options);
    return [];
  };
}
