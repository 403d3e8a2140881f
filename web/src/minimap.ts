import type { LGraph, LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';
import { LiteGraph } from '@comfyorg/litegraph';
import { BYPASS_BGCOLOR, MODE_BYPASS, MODE_MUTED } from './modes.ts';

const WIDTH = 200;
const HEIGHT = 130;
const MARGIN = 6;
const STORAGE_KEY = 'fewstep.minimap';

/** Graph <-> minimap coordinates: minimap = (graph - origin) * scale + MARGIN. */
export interface MinimapTransform {
  originX: number;
  originY: number;
  scale: number;
}

/**
 * A small map of the whole graph in the canvas corner: every node as a box, the visible part as a
 * frame. A click or drag on it centres the view there.
 */
export class Minimap {
  readonly element: HTMLCanvasElement;
  transform: MinimapTransform = { originX: 0, originY: 0, scale: 1 };
  private drawn = '';

  constructor(
    private readonly canvas: LGraphCanvas,
    private readonly graph: LGraph,
    host: HTMLElement,
    private readonly toggle: HTMLButtonElement,
  ) {
    this.element = document.createElement('canvas');
    this.element.id = 'minimap';
    this.element.className = 'minimap';
    this.element.width = WIDTH;
    this.element.height = HEIGHT;
    this.element.title = 'Minimap: click or drag to move the view';
    host.append(this.element);
    this.visible = localStorage.getItem(STORAGE_KEY) !== 'hidden';
    toggle.onclick = () => {
      this.visible = !this.visible;
      localStorage.setItem(STORAGE_KEY, this.visible ? 'shown' : 'hidden');
    };
    const centre = (event: PointerEvent) => {
      const rect = this.element.getBoundingClientRect();
      this.centreOn(this.toGraph(event.clientX - rect.left, event.clientY - rect.top));
    };
    this.element.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      this.element.setPointerCapture(event.pointerId);
      centre(event);
    });
    this.element.addEventListener('pointermove', (event) => {
      if (this.element.hasPointerCapture(event.pointerId)) centre(event);
    });
    setInterval(() => this.draw(), 250);
  }

  get visible(): boolean {
    return !this.element.hidden;
  }

  set visible(shown: boolean) {
    this.element.hidden = !shown;
    this.toggle.classList.toggle('on', shown);
    this.drawn = '';
    this.draw();
  }

  toGraph(x: number, y: number): [number, number] {
    const { originX, originY, scale } = this.transform;
    return [(x - MARGIN) / scale + originX, (y - MARGIN) / scale + originY];
  }

  /** Moves the view so graph point `at` is in the middle of the canvas. */
  centreOn([x, y]: [number, number]): void {
    const { ds } = this.canvas;
    const element = this.canvas.canvas;
    ds.offset[0] = element.clientWidth / 2 / ds.scale - x;
    ds.offset[1] = element.clientHeight / 2 / ds.scale - y;
    this.canvas.setDirty(true, true);
    this.draw();
  }

  private viewport(): [number, number, number, number] {
    const { ds } = this.canvas;
    const element = this.canvas.canvas;
    return [-ds.offset[0], -ds.offset[1], element.clientWidth / ds.scale, element.clientHeight / ds.scale];
  }

  draw(): void {
    if (!this.visible) return;
    const nodes = this.graph._nodes as LGraphNode[];
    const view = this.viewport();
    const signature = JSON.stringify([view, nodes.map((n) => [n.id, n.pos[0], n.pos[1], n.size[0], n.size[1], n.mode, n.has_errors, n.is_selected])]);
    if (signature === this.drawn) return;
    this.drawn = signature;
    let [x0, y0, x1, y1] = [view[0], view[1], view[0] + view[2], view[1] + view[3]];
    for (const node of nodes) {
      x0 = Math.min(x0, node.pos[0]);
      y0 = Math.min(y0, node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT);
      x1 = Math.max(x1, node.pos[0] + node.size[0]);
      y1 = Math.max(y1, node.pos[1] + node.size[1]);
    }
    const scale = Math.min((WIDTH - 2 * MARGIN) / Math.max(1, x1 - x0), (HEIGHT - 2 * MARGIN) / Math.max(1, y1 - y0));
    this.transform = { originX: x0, originY: y0, scale };
    const ctx = this.element.getContext('2d')!;
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    ctx.fillStyle = 'rgba(20, 21, 24, 0.85)';
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    const box = (x: number, y: number, w: number, h: number): [number, number, number, number] => [
      MARGIN + (x - x0) * scale,
      MARGIN + (y - y0) * scale,
      Math.max(2, w * scale),
      Math.max(2, h * scale),
    ];
    for (const node of nodes) {
      ctx.fillStyle = node.has_errors
        ? '#f85149'
        : node.mode === MODE_BYPASS
          ? BYPASS_BGCOLOR
          : node.mode === MODE_MUTED
            ? '#44474d'
            : node.is_selected
              ? '#9aa4b2'
              : '#5f6670';
      ctx.fillRect(...box(node.pos[0], node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT, node.size[0], node.size[1] + LiteGraph.NODE_TITLE_HEIGHT));
    }
    ctx.strokeStyle = '#4f8cff';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(...box(...view));
  }
}
