import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ARTIFACTS = path.resolve('test-artifacts');

/** Debian's Chromium, headless, with a fresh profile and nothing reaching out to the network. */
export async function launchChromium(): Promise<{ browser: Browser; context: BrowserContext; close(): Promise<void> }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'fewstep-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser: context.browser()!,
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Problems the page reported: console errors and uncaught exceptions. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
  return problems;
}

export interface NodeView {
  id: number;
  type: string;
  title: string;
  pos: [number, number];
  images: string[];
  preview: boolean;
  hasErrors: boolean;
  message?: string;
  inputErrors: string[];
  progress?: number;
  widgets: Record<string, unknown>;
}

/** The editor's graph as plain data, read from the page. */
export function nodes(page: Page): Promise<NodeView[]> {
  return page.evaluate(() => {
    const { graph } = (window as any).fewstep;
    return graph._nodes.map((node: any) => ({
      id: node.id,
      type: node.type,
      title: node.title,
      pos: [node.pos[0], node.pos[1]],
      images: (node.fewstep?.images ?? [])
        .filter((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)
        .map((img: HTMLImageElement) => img.dataset.filename ?? img.src),
      preview: Boolean(node.fewstep?.preview),
      hasErrors: Boolean(node.has_errors),
      message: node.fewstep?.message,
      inputErrors: [...(node.fewstep?.inputErrors?.keys() ?? [])],
      progress: node.progress,
      widgets: Object.fromEntries((node.widgets ?? []).map((w: any) => [w.name, w.value])),
    }));
  });
}

/** Screen position of a node's input or output socket. */
export function socketPosition(page: Page, nodeId: number, kind: 'input' | 'output', slot: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ({ nodeId, kind, slot }) => {
      const { graph, canvas } = (window as any).fewstep;
      canvas.draw(true, true); // hit tests use the bounds of the last draw (see titlePoint)
      const node = graph.getNodeById(nodeId);
      const graphPos = kind === 'input' ? node.getInputPos(slot) : node.getOutputPos(slot);
      const [x, y] = canvas.ds.convertOffsetToCanvas(graphPos);
      const rect = canvas.canvas.getBoundingClientRect();
      return { x: rect.left + x, y: rect.top + y };
    },
    { nodeId, kind, slot },
  );
}

/** Drops a file on the canvas area as a person dragging it from their desktop would. */
export async function dropFile(page: Page, name: string, mime: string, bytes: Buffer): Promise<void> {
  await page.evaluate(
    ({ name, mime, base64 }) => {
      const binary = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([binary], name, { type: mime }));
      const target = document.getElementById('graph-canvas')!;
      const rect = target.getBoundingClientRect();
      const at = { bubbles: true, cancelable: true, dataTransfer: transfer, clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2 };
      target.dispatchEvent(new DragEvent('dragenter', at));
      target.dispatchEvent(new DragEvent('dragover', at));
      target.dispatchEvent(new DragEvent('drop', at));
    },
    { name, mime, base64: bytes.toString('base64') },
  );
}

/** Waits until `ok(probe())`, polling; the error names what was awaited and the last value seen. */
export async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, ms = 15000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await probe();
  }
  return last;
}

export interface EditorSession {
  base: string;
  folders: { input: string; output: string; temp: string };
  page: Page;
  problems: string[];
  server: import('../../server/app.ts').FewstepServer;
  close(): Promise<void>;
}

/**
 * A real server (the shipped nodes, the test-only SlowSteps, the models under models/ and the
 * shipped workflows) with the built editor, and one Chromium page on it, ready and online.
 */
export async function openEditor(options: { emptyStart?: boolean } = {}): Promise<EditorSession> {
  const { createServer } = await import('../../server/app.ts');
  const { createEngine } = await import('../../engine/index.ts');
  const { allNodes } = await import('../../nodes/index.ts');
  const { ModelStore } = await import('../../engine/onnx/model-store.ts');
  const { EDITOR_DIST, ensureEditorBuilt } = await import('../../server/web-build.ts');
  const { SlowSteps, testPng } = await import('../server/helpers.ts');
  const { writeFileSync } = await import('node:fs');
  await ensureEditorBuilt();
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-editor-'));
  const folders = { input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folders.input, 'example.png'), testPng(32, 32));
  const store = new ModelStore();
  const engine = createEngine({ nodes: [...allNodes, SlowSteps], models: store });
  const server = createServer({ engine, store, folders, webDir: EDITOR_DIST, workflowsDir: path.resolve('workflows') });
  const { port } = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  const chrome = await launchChromium();
  const page = await chrome.context.newPage();
  const problems = watchConsole(page);
  // An empty graph to start from: no last session, and the first-load example replaced.
  await page.goto(base);
  await page.waitForFunction(() => (window as any).app?.graph);
  if (options.emptyStart !== false) await page.evaluate(() => (window as any).app.loadGraphData({ nodes: [], links: [] }, 'test'));
  await page.locator('#connection.online').waitFor();
  return {
    base,
    folders,
    page,
    problems,
    server,
    async close() {
      await chrome.close();
      await server.close();
      await store.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Adds nodes through the page's graph API (a string, so no transpiler helpers leak in); returns their ids. */
export function addNodes(page: Page, types: string[], spacing = 340): Promise<number[]> {
  return page.evaluate(`(() => {
    const { graph, LiteGraph } = window.app;
    return ${JSON.stringify(types)}.map((type, i) => {
      const node = LiteGraph.createNode(type);
      node.pos = [40 + i * ${spacing}, 120];
      graph.add(node);
      return node.id;
    });
  })()`) as Promise<number[]>;
}

/** Adds a node the way a person does: double-click the canvas, type in the search box, press Enter. */
export async function addNode(page: Page, x: number, y: number, search: string, type: string): Promise<void> {
  const input = page.locator('.node-search input');
  // litegraph tells a double-click by the time between the clicks as it handles them; on a
  // loaded machine the second can be handled too late to count, so a person would click again.
  for (let attempt = 1; ; attempt++) {
    await page.mouse.dblclick(x, y);
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (error) {
      if (attempt === 4) throw error;
    }
  }
  await input.pressSequentially(search, { delay: 10 });
  await page.locator(`.node-search li[data-type="${type}"]`).click();
}

/** Screen position of the middle of a node's title bar (where a person grabs or right-clicks it). */
export function titlePoint(page: Page, nodeId: number): Promise<{ x: number; y: number }> {
  return page.evaluate((nodeId) => {
    const { graph, canvas, LiteGraph } = (window as any).app;
    // Drawn first: litegraph hit-tests nodes by the bounds its last draw gave them, so a click on a
    // node that has not been drawn since it was added or the view changed would miss it.
    canvas.draw(true, true);
    const node = graph.getNodeById(nodeId);
    const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0] + Math.min(80, node.size[0] / 2), node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT / 2]);
    const rect = canvas.canvas.getBoundingClientRect();
    return { x: rect.left + x, y: rect.top + y };
  }, nodeId);
}

/** Screen position of a point on a widget's row: `at` 0 is its left end, 1 its right end. */
export function widgetPoint(page: Page, nodeId: number, widgetName: string, at = 0.5): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ({ nodeId, widgetName, at }) => {
      const { graph, canvas, LiteGraph } = (window as any).app;
      canvas.draw(true, true);
      const node = graph.getNodeById(nodeId);
      const widget = node.widgets.find((w: any) => w.name === widgetName);
      const x = node.pos[0] + 20 + (node.size[0] - 40) * at;
      const [cx, cy] = canvas.ds.convertOffsetToCanvas([x, node.pos[1] + widget.y + LiteGraph.NODE_WIDGET_HEIGHT / 2]);
      const rect = canvas.canvas.getBoundingClientRect();
      return { x: rect.left + cx, y: rect.top + cy };
    },
    { nodeId, widgetName, at },
  );
}

/** The graph's shape: node types with widget values, and links by type, ignoring ids and positions. */
export function graphShape(page: Page): Promise<{ nodes: string[]; links: string[] }> {
  return page.evaluate(() => {
    const workflow = (window as any).app.graph.serialize();
    const types = new Map(workflow.nodes.map((n: any) => [n.id, n.type]));
    return {
      nodes: workflow.nodes.map((n: any) => `${n.type}:${JSON.stringify(n.widgets_values ?? [])}`).sort(),
      links: workflow.links.map((l: any[]) => `${types.get(l[1])}[${l[2]}]->${types.get(l[3])}[${l[4]}]:${l[5]}`).sort(),
    };
  });
}

/** Loads a shipped example through the Examples menu and waits for its nodes (new node objects). */
export async function loadExample(page: Page, name: string): Promise<void> {
  await page.evaluate(() => (window as any).app.graph._nodes.forEach((node: any) => (node.replacedByLoad = true)));
  await page.selectOption('#examples', name);
  await page.waitForFunction(() => {
    const nodes = (window as any).app.graph._nodes;
    return nodes.length > 0 && nodes.every((node: any) => !node.replacedByLoad);
  });
}
