import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodePng, readWorkflowSource } from '../../engine/index.ts';
import { getJson, imagePrompt, postJson, startTestServer, testEngine, testPng, WsClient, type TestServer } from './helpers.ts';

describe('prompt -> websocket events -> history -> view', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('runs a prompt and reports ComfyUI messages in order to the submitting client', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=alice`);
    const status = await ws.waitFor((m) => m.type === 'status');
    assert.equal(status.data.sid, 'alice');
    assert.equal(status.data.status.exec_info.queue_remaining, 0);

    const queued = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 3 }), client_id: 'alice' });
    assert.equal(queued.status, 200);
    assert.equal(typeof queued.body.prompt_id, 'string');
    assert.equal(typeof queued.body.number, 'number');
    assert.deepEqual(queued.body.node_errors, {});
    const promptId = queued.body.prompt_id;
    await ws.finished(promptId);

    // progress_state is checked in comfy-protocol.test.ts.
    const sequence = ws
      .forPrompt(promptId)
      .filter((m) => m.type !== 'progress_state')
      .map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type));
    assert.deepEqual(sequence, [
      'execution_start',
      'execution_cached',
      'executing:1',
      'executing:2',
      'progress',
      'progress',
      'progress',
      'executing:3',
      'executed',
      'execution_success',
      'executing:null',
    ]);
    const progress = ws.forPrompt(promptId).filter((m) => m.type === 'progress');
    assert.deepEqual(
      progress.map((m) => [m.data.value, m.data.max, m.data.node]),
      [
        [1, 3, '2'],
        [2, 3, '2'],
        [3, 3, '2'],
      ],
    );

    // One binary preview frame per step: uint32 type 1, uint32 format 2 (PNG), then a PNG.
    assert.equal(ws.frames.length, 3);
    for (const frame of ws.frames) {
      assert.equal(frame.readUInt32BE(0), 1);
      assert.equal(frame.readUInt32BE(4), 2);
      assert.equal(decodePng(frame.subarray(8)).image.width, 8);
    }

    const executed = ws.forPrompt(promptId).find((m) => m.type === 'executed')!;
    assert.equal(executed.data.node, '3');
    const [image] = executed.data.output.images;
    assert.deepEqual(image, { filename: 'test_00001_.png', subfolder: '', type: 'output' });

    const history = await getJson(`${t.base}/history/${promptId}`);
    const entry = history.body[promptId];
    assert.equal(entry.status.status_str, 'success');
    assert.equal(entry.status.completed, true);
    assert.deepEqual(entry.outputs['3'].images, [image]);
    assert.equal(entry.prompt[1], promptId);
    assert.equal(entry.prompt[2]['3'].class_type, 'SaveImage');

    const view = await fetch(`${t.base}/view?${new URLSearchParams(image)}`);
    assert.equal(view.status, 200);
    assert.equal(view.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await view.arrayBuffer());
    assert.equal(decodePng(bytes).image.height, 8);
    // The saved image carries the prompt, so it can be dropped back into the editor.
    const source = readWorkflowSource(bytes, 'saved.png');
    assert.ok(source.ok && source.kind === 'prompt');
    ws.close();
  });

  it("works as ComfyUI's websocket API example does, under /api as well", async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=example`);
    // As the example does with urllib: JSON bytes under the default form content type, and its own prompt_id.
    const response = await fetch(`${t.base}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ prompt: imagePrompt({ prefix: 'example' }), client_id: 'example', prompt_id: 'example-1' }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { prompt_id: string };
    assert.equal(body.prompt_id, 'example-1');
    await ws.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === body.prompt_id);
    const history = (await getJson(`${t.base}/api/history/${body.prompt_id}`)).body[body.prompt_id];
    let fetched = 0;
    for (const output of Object.values(history.outputs) as Array<{ images?: Array<Record<string, string>> }>) {
      for (const image of output.images ?? []) {
        const response = await fetch(`${t.base}/api/view?${new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type })}`);
        assert.equal(response.status, 200);
        fetched++;
      }
    }
    assert.equal(fetched, 1);
    ws.close();
  });

  it('accepts a UI workflow as the prompt and embeds it in saved images', async () => {
    const workflow = testEngine().toWorkflow(imagePrompt({ prefix: 'ui' }));
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=ui`);
    const queued = await postJson(`${t.base}/prompt`, { prompt: workflow, client_id: 'ui' });
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    await ws.finished(queued.body.prompt_id);
    const image = (await getJson(`${t.base}/history/${queued.body.prompt_id}`)).body[queued.body.prompt_id].outputs['3'].images[0];
    const bytes = Buffer.from(await (await fetch(`${t.base}/view?${new URLSearchParams(image)}`)).arrayBuffer());
    const source = readWorkflowSource(bytes, 'ui.png');
    assert.ok(source.ok && source.kind === 'workflow');
    assert.equal((source.workflow as { nodes: unknown[] }).nodes.length, 2);

    // /workflow/parse gives the editor that workflow back from the PNG's bytes.
    const parsed = await fetch(`${t.base}/workflow/parse?name=ui.png`, {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(parsed.status, 200);
    const parsedBody = (await parsed.json()) as { kind: string; workflow: { nodes: unknown[] } };
    assert.equal(parsedBody.kind, 'workflow');
    assert.deepEqual(parsedBody.workflow, source.workflow);
    ws.close();
  });

  it('rejects an invalid prompt with 400 and node_errors keyed by node and input', async () => {
    const prompt = imagePrompt({ steps: 99999 });
    (prompt['3'] as { inputs: Record<string, unknown> }).inputs.filename_prefix = '';
    prompt['9'] = { class_type: 'NoSuchNode', inputs: {} };
    const response = await postJson(`${t.base}/prompt`, { prompt });
    assert.equal(response.status, 400);
    assert.equal(typeof response.body.error.message, 'string');
    assert.ok(response.body.node_errors['9'], 'the unknown node is reported');
    const noType = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 99999 }) });
    assert.equal(noType.status, 400);
    const stepsError = noType.body.node_errors['2'].errors[0];
    assert.equal(stepsError.type, 'value_bigger_than_max');
    assert.equal(stepsError.extra_info.input_name, 'steps');
    assert.equal((await getJson(`${t.base}/queue`)).body.queue_pending.length, 0);
  });

  it('answers malformed requests with 4xx JSON, never 500', async () => {
    const notJson = await fetch(`${t.base}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: { type: string } }).error.type, 'entity.parse.failed');
    assert.equal((await postJson(`${t.base}/prompt`, { prompt: 'text' })).status, 400);
    assert.equal((await postJson(`${t.base}/prompt`, [])).status, 400);
    assert.equal((await postJson(`${t.base}/queue`, { delete: 'x' })).status, 400);
    assert.equal((await getJson(`${t.base}/history?max_items=-1`)).status, 400);
    const missing = await getJson(`${t.base}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.type, 'not_found');
    const parse = await fetch(`${t.base}/workflow/parse?name=x.txt`, { method: 'POST', body: 'not json' });
    assert.equal(parse.status, 400);
  });

  it('keeps running the queue after a failing prompt and records the failure', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=bob`);
    // A missing image is refused at POST /prompt (400, as ComfyUI does); one whose pixels are broken fails when it runs.
    assert.equal((await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ image: 'missing.png' }), client_id: 'bob' })).status, 400);
    writeFileSync(path.join(t.folders.input, 'broken.png'), Buffer.concat([testPng().subarray(0, 33), Buffer.from('no pixels here')]));
    const failing = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ image: 'broken.png' }), client_id: 'bob' });
    const fine = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ prefix: 'after' }), client_id: 'bob' });
    await ws.finished(fine.body.prompt_id);
    const error = ws.forPrompt(failing.body.prompt_id).find((m) => m.type === 'execution_error')!;
    assert.equal(error.data.node_id, '1');
    assert.equal(error.data.node_type, 'LoadImage');
    assert.match(error.data.exception_message, /broken\.png/);
    const history = (await getJson(`${t.base}/history`)).body;
    assert.equal(history[failing.body.prompt_id].status.status_str, 'error');
    assert.equal(history[fine.body.prompt_id].status.status_str, 'success');
    ws.close();
  });

  it('lists the queue and history and clears them', async () => {
    assert.deepEqual((await getJson(`${t.base}/prompt`)).body, { exec_info: { queue_remaining: 0 } });
    assert.deepEqual((await getJson(`${t.base}/queue`)).body, { queue_running: [], queue_pending: [] });
    const all = (await getJson(`${t.base}/history`)).body;
    const ids = Object.keys(all);
    assert.ok(ids.length >= 4);
    assert.equal(Object.keys((await getJson(`${t.base}/history?max_items=2`)).body).length, 2);
    assert.equal((await postJson(`${t.base}/history`, { delete: [ids[0]] })).status, 200);
    assert.deepEqual((await getJson(`${t.base}/history/${ids[0]}`)).body, {});
    await postJson(`${t.base}/history`, { clear: true });
    assert.deepEqual((await getJson(`${t.base}/history`)).body, {});
  });

  it('serves object_info, system_stats and the shipped workflows', async () => {
    const info = (await getJson(`${t.base}/object_info`)).body;
    assert.deepEqual(info.SlowSteps.input.required.steps, ['INT', { default: 4, min: 1, max: 10000, step: 1 }]);
    assert.deepEqual(Object.keys((await getJson(`${t.base}/api/object_info/SaveImage`)).body), ['SaveImage']);
    assert.deepEqual((await getJson(`${t.base}/object_info/Nope`)).body, {});
    const stats = (await getJson(`${t.base}/system_stats`)).body;
    assert.equal(typeof stats.system.ram_total, 'number');
    assert.ok(Array.isArray(stats.devices));
    assert.ok(Array.isArray(stats.models));
    assert.ok(stats.execution_providers);
    assert.deepEqual((await getJson(`${t.base}/workflows`)).body, []);
  });
});
