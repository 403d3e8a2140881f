import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getJson, imagePrompt, postJson, startTestServer, WsClient, type TestServer } from './helpers.ts';

describe('many clients', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('runs 50 prompts from 5 clients in order, none lost, each client seeing only its own', async () => {
    const clients = await Promise.all([0, 1, 2, 3, 4].map((i) => WsClient.connect(`${t.wsBase}/ws?clientId=client${i}`)));
    const watcher = await WsClient.connect(`${t.wsBase}/ws?clientId=watcher&watch=all`);
    const byClient = new Map<number, string[]>();
    const numbers: Array<[number, string]> = [];
    await Promise.all(
      clients.map(async (_client, i) => {
        const ids: string[] = [];
        for (let n = 0; n < 10; n++) {
          const { status, body } = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 2, prefix: `c${i}` }), client_id: `client${i}` });
          assert.equal(status, 200);
          ids.push(body.prompt_id);
          numbers.push([body.number, body.prompt_id]);
        }
        byClient.set(i, ids);
      }),
    );
    await t.server.queue.idle();
    for (const [i, client] of clients.entries()) {
      const mine = new Set(byClient.get(i));
      for (const id of mine) await client.finished(id);
      const seen = new Set(client.messages.map((m) => m.data?.prompt_id).filter(Boolean));
      assert.deepEqual([...seen].sort(), [...mine].sort(), `client${i} sees exactly its own prompts`);
      const successes = client.messages.filter((m) => m.type === 'execution_success').length;
      assert.equal(successes, 10);
      assert.equal(client.frames.length, 20, 'two previews per prompt, to its client only');
    }
    for (const [, id] of numbers) await watcher.finished(id);
    assert.equal(watcher.messages.filter((m) => m.type === 'execution_success').length, 50);

    // Prompts ran in the order they were numbered.
    const started = watcher.messages.filter((m) => m.type === 'execution_start').map((m) => m.data.prompt_id);
    assert.deepEqual(
      started,
      numbers.sort((a, b) => a[0] - b[0]).map(([, id]) => id),
    );

    const history = (await getJson(`${t.base}/history`)).body;
    assert.equal(Object.keys(history).length, 50);
    for (const entry of Object.values(history) as Array<{ status: { status_str: string }; outputs: Record<string, { images: unknown[] }> }>) {
      assert.equal(entry.status.status_str, 'success');
      assert.equal(entry.outputs['3'].images.length, 1);
    }
    for (const client of [...clients, watcher]) client.close();
  });
});
