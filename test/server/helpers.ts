import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Type from 'typebox';
import { WebSocket } from 'ws';
import { createEngine, defineNode, encodePng, type Engine } from '../../engine/index.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';
import { allNodes } from '../../nodes/index.ts';
import { createServer, type FewstepServer, type ServerOptions } from '../../server/app.ts';

/**
 * A test-only node standing in for the sampler: reports progress (with a preview) per step and
 * stops at the next step when the run is interrupted.
 */
export const SlowSteps = defineNode({
  type: 'SlowSteps',
  displayName: 'Slow Steps',
  category: 'test',
  description: 'Passes images through after `steps` steps of `delay_ms` each.',
  inputs: { images: { type: 'IMAGE' } },
  widgets: {
    steps: Type.Integer({ default: 4, minimum: 1, maximum: 10000 }),
    delay_ms: Type.Integer({ default: 1, minimum: 0, maximum: 1000 }),
    fail_at_step: Type.Integer({ default: 0, minimum: 0, maximum: 10000, description: 'Throws at this step (0: never): a prompt that fails while running.' }),
  },
  outputs: { IMAGE: 'IMAGE' },
  deterministic: false,
  async run(ctx, { images, steps, delay_ms, fail_at_step }) {
    for (let step = 1; step <= steps; step++) {
      if (step === fail_at_step) throw new Error(`failing on purpose at step ${step}`);
      ctx.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, delay_ms));
      ctx.throwIfAborted();
      ctx.progress(step, steps, images);
    }
    return { outputs: { IMAGE: images } };
  },
});

/** A deterministic test source (so a second identical run is all cached): `count` flat images of `value`. */
export const Gray = defineNode({
  type: 'Gray',
  displayName: 'Gray',
  category: 'test',
  description: 'Flat grey images.',
  widgets: { value: Type.Number({ default: 0.5, minimum: 0, maximum: 1 }), count: Type.Integer({ default: 1, minimum: 1, maximum: 8 }) },
  outputs: { IMAGE: 'IMAGE' },
  run(_ctx, { value, count }) {
    return { outputs: { IMAGE: imageBatch(count, 3, 4, 4, new Float32Array(count * 48).fill(value)) } };
  },
});

export function testEngine(): Engine {
  return createEngine({ nodes: [...allNodes, SlowSteps, Gray] });
}

/** A small gradient PNG. */
export function testPng(width = 8, height = 8): Buffer {
  const image = imageBatch(1, 3, height, width);
  for (let i = 0; i < width * height; i++) {
    image.data[i] = (i % width) / width;
    image.data[width * height + i] = Math.floor(i / width) / height;
    image.data[2 * width * height + i] = 0.5;
  }
  return encodePng(image, 0);
}

export interface TestServer {
  server: FewstepServer;
  base: string;
  wsBase: string;
  root: string;
  folders: { input: string; output: string; temp: string };
  close(): Promise<void>;
}

/** A real server on an ephemeral port, with its own folders and `input/in.png`. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-server-'));
  const folders = { input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folders.input, 'in.png'), testPng());
  const server = createServer({ engine: testEngine(), folders, workflowsDir: path.join(root, 'workflows'), ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    root,
    folders,
    async close() {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** LoadImage -> [SlowSteps] -> SaveImage, as an API prompt. */
export function imagePrompt(options: { steps?: number; delayMs?: number; failAtStep?: number; prefix?: string; image?: string } = {}): Record<string, unknown> {
  const prompt: Record<string, unknown> = {
    '1': { class_type: 'LoadImage', inputs: { image: options.image ?? 'in.png' } },
    '3': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: options.prefix ?? 'test' } },
  };
  if (options.steps !== undefined) {
    prompt['2'] = {
      class_type: 'SlowSteps',
      inputs: { images: ['1', 0], steps: options.steps, delay_ms: options.delayMs ?? 1, fail_at_step: options.failAtStep ?? 0 },
    };
    prompt['3'] = { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: options.prefix ?? 'test' } };
  }
  return prompt;
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export interface Message {
  type: string;
  data: any;
}

/** A websocket client that records every JSON message and binary frame. */
export class WsClient {
  readonly messages: Message[] = [];
  readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      if (isBinary) this.frames.push(Buffer.from(raw as Buffer));
      else this.messages.push(JSON.parse(String(raw)) as Message);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string): Promise<WsClient> {
    const socket = new WebSocket(url);
    const client = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Waits for a message matching `predicate` (already received or arriving), failing after `ms`. */
  async waitFor(predicate: (message: Message) => boolean, ms = 10000): Promise<Message> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${ms} ms; got ${this.messages.map((m) => m.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for ComfyUI's end-of-prompt marker: `executing` with node null. */
  finished(promptId: string, ms?: number): Promise<Message> {
    return this.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId, ms);
  }

  forPrompt(promptId: string): Message[] {
    return this.messages.filter((m) => m.data?.prompt_id === promptId);
  }

  close(): void {
    this.socket.close();
  }
}
