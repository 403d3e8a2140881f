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
      images: (node.fewstep?.images ?? []).filter((img: HTMLImageElement) => img.complete && img.naturalWidth > 0).map((img: HTMLImageElement) => img.dataset.filename ?? img.src),
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
