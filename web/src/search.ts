import Fuse from 'fuse.js';
import { LiteGraph, type LGraph, type LGraphCanvas, type LGraphNode } from '@comfyorg/litegraph';
import type { NodeInfo } from './api.ts';
import { nodeDefinitions } from './nodes.ts';

/** What litegraph passes when a search starts from a released link (either spelling it uses). */
interface LinkContext {
  node_from?: LGraphNode;
  slot_from?: unknown;
  node_to?: LGraphNode;
  slot_to?: unknown;
  type_filter_in?: string | false;
  type_filter_out?: string | false;
}

const MAX_RESULTS = 30;

function inputTypes(def: NodeInfo): string[] {
  return [...Object.values(def.input.required), ...Object.values(def.input.optional ?? {})].map(([kind]) => (Array.isArray(kind) ? 'COMBO' : kind));
}

/**
 * The node search box (double-click the canvas, or "Search" after releasing a link on empty
 * canvas): fuzzy over names, categories and descriptions with fuse.js, arrow keys and Enter to
 * pick, Escape or a click elsewhere to close, kept inside the window. From a link it lists only
 * nodes that can take the link, and connects the one picked.
 */
export class NodeSearch {
  private element: HTMLElement | undefined;
  private fuse: Fuse<NodeInfo> | undefined;

  constructor(
    private readonly canvas: LGraphCanvas,
    private readonly graph: LGraph,
    private readonly added: (node: LGraphNode) => void,
  ) {
    // Litegraph calls this unbound from its link menu, so it must not rely on `this` being the canvas.
    (canvas as unknown as { showSearchBox: (event: MouseEvent, context?: LinkContext) => void }).showSearchBox = (event, context) => this.open(event, context);
  }

  get isOpen(): boolean {
    return this.element !== undefined;
  }

  private search(query: string, candidates: NodeInfo[]): NodeInfo[] {
    if (!query.trim()) return [...candidates].sort((a, b) => a.category.localeCompare(b.category) || a.display_name.localeCompare(b.display_name));
    this.fuse ??= new Fuse([...nodeDefinitions.values()], {
      keys: [
        { name: 'display_name', weight: 3 },
        { name: 'name', weight: 3 },
        { name: 'category', weight: 1 },
        { name: 'description', weight: 1 },
      ],
      threshold: 0.4,
      ignoreLocation: true,
    });
    const allowed = new Set(candidates);
    return this.fuse
      .search(query)
      .map((result) => result.item)
      .filter((def) => allowed.has(def));
  }

  open(event: MouseEvent | undefined, context: LinkContext = {}): void {
    this.close();
    const from = context.node_from;
    const to = context.node_to;
    const wanted = from ? context.type_filter_in : to ? context.type_filter_out : undefined;
    const candidates = [...nodeDefinitions.values()].filter((def) => {
      if (!wanted) return true;
      return from ? inputTypes(def).includes(wanted) : def.output.includes(wanted);
    });
    const rect = this.canvas.canvas.getBoundingClientRect();
    const clientX = event?.clientX ?? rect.left + rect.width / 2;
    const clientY = event?.clientY ?? rect.top + rect.height / 2;
    const converted = this.canvas.ds.convertCanvasToOffset([clientX - rect.left, clientY - rect.top]);
    const graphPos: [number, number] = [converted[0], converted[1]];

    const box = document.createElement('div');
    box.className = 'node-search';
    box.setAttribute('role', 'dialog');
    const input = document.createElement('input');
    input.type = 'search';
    input.placeholder = wanted ? `Search nodes that take ${wanted}…` : 'Search nodes…';
    input.setAttribute('aria-label', 'Search nodes');
    const list = document.createElement('ul');
    list.setAttribute('role', 'listbox');
    box.append(input, list);
    document.body.append(box);
    this.element = box;

    let results: NodeInfo[] = [];
    let active = 0;
    const highlight = () => {
      [...list.children].forEach((item, index) => item.classList.toggle('active', index === active));
      list.children[active]?.scrollIntoView({ block: 'nearest' });
    };
    const render = () => {
      results = this.search(input.value, candidates).slice(0, MAX_RESULTS);
      active = 0;
      list.replaceChildren(
        ...results.map((def, index) => {
          const item = document.createElement('li');
          item.setAttribute('role', 'option');
          item.dataset.type = def.name;
          const name = document.createElement('span');
          name.className = 'name';
          name.textContent = def.display_name || def.name;
          const category = document.createElement('span');
          category.className = 'category';
          category.textContent = def.category;
          const description = document.createElement('div');
          description.className = 'description';
          description.textContent = def.description;
          item.append(name, category, description);
          item.onpointerenter = () => {
            active = index;
            highlight();
          };
          item.onclick = () => this.pick(def, graphPos, context);
          return item;
        }),
      );
      if (results.length === 0) {
        const empty = document.createElement('li');
        empty.className = 'empty';
        empty.textContent = 'No node matches';
        list.append(empty);
      }
      highlight();
    };
    input.oninput = render;
    input.onkeydown = (key) => {
      key.stopPropagation();
      if (key.key === 'ArrowDown' || key.key === 'ArrowUp') {
        key.preventDefault();
        if (results.length === 0) return;
        active = (active + (key.key === 'ArrowDown' ? 1 : results.length - 1)) % results.length;
        highlight();
      } else if (key.key === 'Enter') {
        key.preventDefault();
        if (results[active]) this.pick(results[active], graphPos, context);
      } else if (key.key === 'Escape') {
        key.preventDefault();
        this.close();
      }
    };
    render();
    // Inside the window whatever the pointer's place: shifted left and up when it would overflow.
    const width = box.offsetWidth;
    const height = box.offsetHeight;
    box.style.left = `${Math.max(8, Math.min(clientX, window.innerWidth - width - 8))}px`;
    box.style.top = `${Math.max(8, Math.min(clientY, window.innerHeight - height - 8))}px`;
    input.focus();
    setTimeout(() => document.addEventListener('pointerdown', this.outside, true));
  }

  private readonly outside = (event: PointerEvent) => {
    if (this.element && !this.element.contains(event.target as Node)) this.close();
  };

  close(): void {
    document.removeEventListener('pointerdown', this.outside, true);
    this.element?.remove();
    this.element = undefined;
  }

  private pick(def: NodeInfo, at: [number, number], context: LinkContext): void {
    this.close();
    const node = LiteGraph.createNode(def.name);
    if (!node) return;
    const from = context.node_from;
    const to = context.node_to;
    node.pos = [at[0] - (to ? node.size[0] : 0), at[1]];
    this.graph.add(node);
    if (from) {
      const slot = slotIndex(from.outputs, context.slot_from);
      if (slot >= 0) from.connectByType(slot, node, String(context.type_filter_in));
    } else if (to) {
      const slot = slotIndex(to.inputs, context.slot_to ?? context.slot_from);
      if (slot >= 0) to.connectByTypeOutput(slot, node, String(context.type_filter_out));
    }
    this.canvas.selectNode(node);
    this.canvas.canvas.focus();
    this.canvas.setDirty(true, true);
    this.added(node);
  }
}

function slotIndex(slots: Array<{ name: string }> | undefined, slot: unknown): number {
  if (typeof slot === 'number') return slot;
  if (!slots || !slot || typeof slot !== 'object') return -1;
  const byIdentity = slots.indexOf(slot as { name: string });
  return byIdentity >= 0 ? byIdentity : slots.findIndex((s) => s.name === (slot as { name: string }).name);
}
