import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createEngine, decodePng, defineNode } from '../../engine/index.ts';
import { allNodes } from '../../nodes/index.ts';
import { getJson, Gray, postJson, SlowSteps, startTestServer, type TestServer } from './helpers.ts';

/** Not an output node, yet it shows a line on its card (as the sampler shows its figures). */
const Describe = defineNode({
  type: 'Describe',
  displayName: 'Describe',
  category: 'test',
  description: 'Passes images through and shows how many there are.',
  inputs: { images: { type: 'IMAGE' } },
  outputs: { IMAGE: 'IMAGE' },
  run(_ctx, { images }) {
    return { outputs: { IMAGE: images }, ui: { text: [`${images.count} images`] } };
  },
});

type Entry = { kind: 'json'; type: string; data: any } | { kind: 'binary'; frame: Buffer };

/** A websocket client that keeps JSON messages and binary frames in one ordered list. */
class Recorder {
  readonly entries: Entry[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      const buffer = Buffer.from(raw as Buffer);
      this.entries.push(isBinary ? { kind: 'binary', frame: buffer } : { kind: 'json', ...(JSON.parse(String(buffer)) as { type: string; data: any }) });
    });
  }

  static async open(url: string): Promise<Recorder> {
    const socket = new WebSocket(url);
    const recorder = new Recorder(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await recorder.until((e) => e.kind === 'json' && e.type === 'status');
    return recorder;
  }

  json(type?: string): Array<{ type: string; data: any }> {
    return this.entries.filter((e): e is Extract<Entry, { kind: 'json' }> => e.kind === 'json' && (type === undefined || e.type === type));
  }

  frames(): Buffer[] {
    return this.entries.filter((e): e is Extract<Entry, { kind: 'binary' }> => e.kind === 'binary').map((e) => e.frame);
  }

  async until(predicate: (entry: Entry) => boolean, ms = 15000): Promise<Entry> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.entries.find(predicate);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `not received within ${ms} ms; got ${this.json()
            .map((m) => m.type)
            .join(', ')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** ComfyUI's end-of-prompt marker. */
  done(promptId: string): Promise<Entry> {
    return this.until((e) => e.kind === 'json' && e.type === 'executing' && e.data.node === null && e.data.prompt_id === promptId);
  }

  about(promptId: string) {
    return this.json().filter((m) => m.data?.prompt_id === promptId);
  }

  close(): void {
    this.socket.close();
  }
}

const grayPrompt = (value = 0.5, count = 2) => ({
  '1': { class_type: 'Gray', inputs: { value, count } },
  '2': { class_type: 'Describe', inputs: { images: ['1', 0] } },
  '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'gray' } },
});

const slowPrompt = (steps: number, delayMs = 1) => ({
  '1': { class_type: 'Gray', inputs: { value: 0.25, count: 1 } },
  '2': { class_type: 'SlowSteps', inputs: { images: ['1', 0], steps, delay_ms: delayMs } },
  '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'slow' } },
});

describe("ComfyUI's websocket protocol: order, caching, recipients, progress_state, previews, feature flags", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ engine: createEngine({ nodes: [...allNodes, SlowSteps, Gray, Describe] }) });
  });
  after(() => t.close());

  it('writes the reply to POST /prompt before any message about the prompt, cold and cached', async () => {
    const ws = await Recorder.open(`${t.wsBase}/ws?clientId=order`);
    const { port } = t.server.address();
    for (let round = 0; round < 6; round++) {
      // Rounds 1, 3, 5 repeat the round before: everything comes from the cache at once.
      const promptId = randomUUID();
      const arrivals: string[] = [];
      const onMessage = (raw: Buffer, isBinary: boolean) => {
        if (!isBinary && String(raw).includes(promptId)) arrivals.push('ws');
      };
      ws.socket.on('message', onMessage);
      // A raw HTTP request: its bytes are seen as they arrive, with no client library in between.
      const body = JSON.stringify({ prompt: grayPrompt(0.1 * Math.floor(round / 2)), client_id: 'order', prompt_id: promptId });
      const http = net.connect(port, '127.0.0.1');
      let reply = '';
      http.on('data', (chunk) => {
        if (!reply) arrivals.push('reply');
        reply += String(chunk);
      });
      http.write(
        `POST /prompt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      await ws.done(promptId);
      ws.socket.off('message', onMessage);
      http.destroy();
      assert.match(reply, /^HTTP\/1\.1 200/);
      assert.equal(arrivals[0], 'reply', `round ${round}: ${arrivals.slice(0, 3).join(', ')}`);
      assert.ok(arrivals.length > 3);
    }
    // And as the SDKs see it: once fetch has read the reply, nothing about the prompt has arrived yet.
    for (let round = 0; round < 4; round++) {
      const reply = await postJson(`${t.base}/prompt`, { prompt: grayPrompt(0.7), client_id: 'order' });
      assert.equal(ws.about(reply.body.prompt_id).length, 0, `round ${round}: messages about the prompt came before its reply was read`);
      await ws.done(reply.body.prompt_id);
    }
    ws.close();
  });

  it('sends execution_cached always; a cached output node sends executed again; only output nodes send executed', async () => {
    const ws = await Recorder.open(`${t.wsBase}/ws?clientId=cache`);
    const first = (await postJson(`${t.base}/prompt`, { prompt: grayPrompt(0.9), client_id: 'cache' })).body.prompt_id;
    await ws.done(first);
    const cold = ws.about(first);
    assert.deepEqual(cold.find((m) => m.type === 'execution_cached')!.data.nodes, [], 'execution_cached even when nothing is cached');
    assert.deepEqual(
      cold.filter((m) => m.type === 'executed').map((m) => m.data.node),
      ['3'],
      'executed only from the output node',
    );
    const shown = cold.find((m) => m.type === 'fewstep_executed')!;
    assert.deepEqual([shown.data.node, shown.data.output.text], ['2', ['2 images']], "a non-output node's card goes as fewstep_executed");
    const images = cold.find((m) => m.type === 'executed')!.data.output.images;
    assert.equal(images.length, 2);

    const second = (await postJson(`${t.base}/prompt`, { prompt: grayPrompt(0.9), client_id: 'cache' })).body.prompt_id;
    await ws.done(second);
    const warm = ws
      .about(second)
      .filter((m) => m.type !== 'progress_state')
      .map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type));
    assert.deepEqual(warm, ['execution_start', 'execution_cached', 'fewstep_executed', 'executed', 'execution_success', 'executing:null']);
    const again = ws.about(second);
    assert.deepEqual(again.find((m) => m.type === 'execution_cached')!.data.nodes, ['1', '2', '3']);
    assert.deepEqual(again.find((m) => m.type === 'executed')!.data, { node: '3', display_node: '3', output: { images }, prompt_id: second });
    const history = (await getJson(`${t.base}/history/${second}`)).body[second];
    assert.deepEqual(Object.keys(history.outputs), ['3'], 'history lists output nodes');
    assert.deepEqual(history.outputs['3'].images, images);
    ws.close();
  });

  it('reports progress_state as ComfyUI does: running nodes with value/max, then finished', async () => {
    const ws = await Recorder.open(`${t.wsBase}/ws?clientId=states`);
    const id = (await postJson(`${t.base}/prompt`, { prompt: slowPrompt(3), client_id: 'states' })).body.prompt_id;
    await ws.done(id);
    const states = ws.about(id).filter((m) => m.type === 'progress_state');
    const ofNode2 = states
      .map((m) => m.data.nodes['2'])
      .filter(Boolean)
      .map((n) => `${n.state}:${n.value}/${n.max}`);
    // Deduplicate consecutive repeats (a message goes out for every node's change).
    const changes = ofNode2.filter((s, i) => s !== ofNode2[i - 1]);
    assert.deepEqual(changes, ['running:0/1', 'running:1/3', 'running:2/3', 'running:3/3', 'finished:3/3']);
    const last = states.at(-1)!.data;
    assert.deepEqual(Object.keys(last.nodes).sort(), ['1', '2', '3']);
    assert.deepEqual(last.nodes['3'], { value: 1, max: 1, state: 'finished', node_id: '3', prompt_id: id, display_node_id: '3', real_node_id: '3' });
    // The first message comes before the node's `executing`, as ComfyUI's start_progress does.
    const kinds = ws.about(id).map((m) => m.type);
    assert.equal(kinds.indexOf('progress_state') < kinds.indexOf('executing'), true);
    ws.close();
  });

  it('broadcasts a prompt without client_id as ComfyUI does: progress, progress_state and previews to all, the rest to watchers only', async () => {
    const bystander = await Recorder.open(`${t.wsBase}/ws?clientId=bystander`);
    const watcher = await Recorder.open(`${t.wsBase}/ws?clientId=watcher&watch=all`);
    const id = (await postJson(`${t.base}/prompt`, { prompt: slowPrompt(2) })).body.prompt_id;
    await watcher.done(id);
    await bystander.until((e) => e.kind === 'json' && e.type === 'progress_state' && e.data.prompt_id === id && e.data.nodes['3']?.state === 'finished');
    const seen = new Set(bystander.about(id).map((m) => m.type));
    assert.deepEqual([...seen].sort(), ['progress', 'progress_state']);
    assert.equal(bystander.frames().length, 2, 'one preview per step, as type-1 frames');
    for (const frame of bystander.frames()) assert.equal(frame.readUInt32BE(0), 1);
    const watched = new Set(watcher.about(id).map((m) => m.type));
    for (const type of ['execution_start', 'execution_cached', 'executing', 'progress', 'progress_state', 'executed', 'execution_success'])
      assert.ok(watched.has(type), type);

    // Interrupting such a prompt is broadcast too (ComfyUI sends execution_interrupted with broadcast=True).
    const long = (await postJson(`${t.base}/prompt`, { prompt: slowPrompt(10000, 2) })).body.prompt_id;
    await bystander.until((e) => e.kind === 'json' && e.type === 'progress' && e.data.prompt_id === long);
    await postJson(`${t.base}/interrupt`, {});
    await bystander.until((e) => e.kind === 'json' && e.type === 'execution_interrupted' && e.data.prompt_id === long);
    await watcher.done(long);
    bystander.close();
    watcher.close();
  });

  it('answers feature_flags, then sends previews with metadata (type 4) to that client and type 1 to others; bad messages are ignored', async () => {
    const features = (await getJson(`${t.base}/api/features`)).body;
    assert.deepEqual(features, { supports_preview_metadata: true, max_upload_size: 32 * 1024 * 1024 });
    const modern = await Recorder.open(`${t.wsBase}/ws?clientId=modern`);
    for (const junk of ['not json', '[1,2]', '{"type": 5}', 'null']) modern.socket.send(junk);
    modern.socket.send(Buffer.from([1, 2, 3]));
    modern.socket.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true, max_upload_size: 1 } }));
    const answer = await modern.until((e) => e.kind === 'json' && e.type === 'feature_flags');
    assert.deepEqual((answer as { data: unknown }).data, features);
    const odd = await Recorder.open(`${t.wsBase}/ws?clientId=odd`);
    odd.socket.send(JSON.stringify({ type: 'feature_flags', data: 'yes' }));
    await odd.until((e) => e.kind === 'json' && e.type === 'feature_flags');
    const watcher = await Recorder.open(`${t.wsBase}/ws?clientId=legacy&watch=all`);

    const id = (await postJson(`${t.base}/prompt`, { prompt: slowPrompt(2), client_id: 'modern' })).body.prompt_id;
    await modern.done(id);
    await watcher.done(id);
    assert.equal(modern.frames().length, 2);
    for (const [step, frame] of modern.frames().entries()) {
      assert.equal(frame.readUInt32BE(0), 4);
      const length = frame.readUInt32BE(4);
      const metadata = JSON.parse(frame.subarray(8, 8 + length).toString('utf8'));
      assert.deepEqual(
        metadata,
        { node_id: '2', prompt_id: id, display_node_id: '2', parent_node_id: null, real_node_id: '2', image_type: 'image/png' },
        `frame ${step}`,
      );
      const image = decodePng(frame.subarray(8 + length)).image;
      assert.deepEqual([image.width, image.height], [4, 4]);
    }
    assert.equal(watcher.frames().length, 2);
    for (const frame of watcher.frames()) {
      assert.deepEqual([frame.readUInt32BE(0), frame.readUInt32BE(4)], [1, 2]);
      assert.equal(decodePng(frame.subarray(8)).image.width, 4);
    }
    assert.equal(odd.frames().length, 0, "not this client's prompt");
    assert.equal(modern.socket.readyState, WebSocket.OPEN, 'malformed messages left the socket open');
    for (const client of [modern, odd, watcher]) client.close();
  });

  it('SaveImageWebsocket sends each image as a binary PNG frame while it executes, and writes no file', async () => {
    const ws = await Recorder.open(`${t.wsBase}/ws?clientId=wsimages`);
    const prompt = {
      '1': { class_type: 'Gray', inputs: { value: 0.2, count: 3 } },
      save_image_websocket_node: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
    };
    const before = readdirSync(t.folders.output).length;
    for (const round of [1, 2]) {
      const id = (await postJson(`${t.base}/prompt`, { prompt, client_id: 'wsimages' })).body.prompt_id;
      const start = ws.entries.length;
      await ws.done(id);
      // As ComfyUI's websockets_api_example_ws_images.py reads them: frames after `executing` of the node.
      let current = '';
      const images: Buffer[] = [];
      for (const entry of ws.entries.slice(start)) {
        if (entry.kind === 'json' && entry.type === 'executing' && entry.data.prompt_id === id) current = entry.data.node ?? '';
        else if (entry.kind === 'binary' && current === 'save_image_websocket_node') images.push(entry.frame.subarray(8));
      }
      assert.equal(images.length, 3, `round ${round}: every image, also when its input came from the cache`);
      for (const png of images) {
        const image = decodePng(png).image;
        assert.deepEqual([image.width, image.height], [4, 4]);
        assert.ok(image.data.every((v) => Math.abs(v - 0.2) < 1 / 255));
      }
      const history = (await getJson(`${t.base}/history/${id}`)).body[id];
      assert.deepEqual(history.outputs, {});
    }
    assert.equal(readdirSync(t.folders.output).length, before, 'no file written');
    ws.close();
  });
});
