import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getJson, imagePrompt, postJson, startTestServer, WsClient, type TestServer } from './helpers.ts';

describe('interrupt and queue control', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('stops a running prompt within a step and runs the next one', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=stopper`);
    const long = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 10000, delayMs: 2 }), client_id: 'stopper' });
    const next = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ prefix: 'next' }), client_id: 'stopper' });
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long.body.prompt_id && m.data.value >= 3);

    const running = (await getJson(`${t.base}/queue`)).body;
    assert.equal(running.queue_running[0][1], long.body.prompt_id);
    assert.equal(running.queue_pending[0][1], next.body.prompt_id);

    // An interrupt naming another prompt leaves the running one alone.
    assert.deepEqual((await postJson(`${t.base}/interrupt`, { prompt_id: 'someone-else' })).body, { interrupted: false });
    const interrupted = await postJson(`${t.base}/interrupt`, {});
    assert.deepEqual(interrupted.body, { interrupted: true });
    const stoppedAt = ws.messages.filter((m) => m.type === 'progress' && m.data.prompt_id === long.body.prompt_id).length;

    await ws.finished(long.body.prompt_id);
    const events = ws.forPrompt(long.body.prompt_id);
    const stop = events.find((m) => m.type === 'execution_interrupted')!;
    assert.equal(stop.data.node_id, '2');
    assert.equal(stop.data.node_type, 'SlowSteps');
    assert.deepEqual(stop.data.executed, ['1']);
    // At most the step in flight when the interrupt arrived reports after it.
    const steps = events.filter((m) => m.type === 'progress').length;
    assert.ok(steps <= stoppedAt + 1, `${steps} steps reported, interrupt came after ${stoppedAt}`);
    assert.ok(!events.some((m) => m.type === 'executed' || m.type === 'execution_success'));

    await ws.finished(next.body.prompt_id);
    const history = (await getJson(`${t.base}/history`)).body;
    assert.equal(history[long.body.prompt_id].status.status_str, 'error');
    assert.ok(history[long.body.prompt_id].status.messages.some(([type]: [string]) => type === 'execution_interrupted'));
    assert.equal(history[next.body.prompt_id].status.status_str, 'success');
    ws.close();
  });

  it('deletes and clears pending prompts', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=clearer`);
    const long = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 10000, delayMs: 2 }), client_id: 'clearer' });
    // Running before the others are queued (a run starts a moment after its POST is answered).
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long.body.prompt_id);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), client_id: 'clearer' })).body.prompt_id);
    assert.equal((await getJson(`${t.base}/prompt`)).body.exec_info.queue_remaining, 4);

    await postJson(`${t.base}/queue`, { delete: [ids[0]] });
    assert.deepEqual(
      (await getJson(`${t.base}/queue`)).body.queue_pending.map((item: unknown[]) => item[1]),
      ids.slice(1),
    );
    await postJson(`${t.base}/queue`, { clear: true });
    assert.deepEqual((await getJson(`${t.base}/queue`)).body.queue_pending, []);
    // Status broadcasts told the client how long the queue was.
    await ws.waitFor((m) => m.type === 'status' && m.data.status.exec_info.queue_remaining === 1);

    await postJson(`${t.base}/interrupt`, { prompt_id: long.body.prompt_id });
    await ws.finished(long.body.prompt_id);
    const history = (await getJson(`${t.base}/history`)).body;
    for (const id of ids) assert.equal(history[id], undefined, 'removed prompts never ran');
    ws.close();
  });

  it('refuses a prompt_id that is already used', async () => {
    const first = await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), prompt_id: 'fixed-id' });
    assert.equal(first.body.prompt_id, 'fixed-id');
    const again = await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), prompt_id: 'fixed-id' });
    assert.equal(again.status, 409);
    await t.server.queue.idle();
  });
});
