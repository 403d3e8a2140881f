import assert from 'node:assert/strict';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { getJson, imagePrompt, postJson, startTestServer, testPng, WsClient, type TestServer } from './helpers.ts';

async function upload(base: string, name: string, bytes: Buffer, fields: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(`${base}/upload/image`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

describe('safety: files stay inside their folders', () => {
  let t: TestServer;
  let secret: string;
  before(async () => {
    t = await startTestServer({ maxUploadBytes: 64 * 1024, maxJsonBytes: 64 * 1024 });
    secret = path.join(t.root, 'secret.png');
    writeFileSync(secret, testPng());
    // Symlinks that lead out of the output folder: a file and a folder.
    symlinkSync(secret, path.join(t.folders.output, 'link.png'));
    symlinkSync(t.root, path.join(t.folders.output, 'escape'));
    symlinkSync(t.root, path.join(t.folders.input, 'escape'));
    writeFileSync(path.join(t.folders.output, 'fine.png'), testPng());
  });
  after(() => t.close());

  it('serves a file inside the folder', async () => {
    assert.equal((await fetch(`${t.base}/view?filename=fine.png`)).status, 200);
    assert.equal((await fetch(`${t.base}/view?filename=in.png&type=input`)).status, 200);
  });

  it('refuses traversal on /view in every form', async () => {
    const attempts = [
      'filename=secret.png&subfolder=..',
      'filename=secret.png&subfolder=%2e%2e',
      'filename=..%2Fsecret.png',
      'filename=..%5Csecret.png',
      `filename=secret.png&subfolder=..%2F..%2F${encodeURIComponent(t.root.slice(1))}`,
      'filename=passwd&subfolder=%2Fetc',
      'filename=passwd&subfolder=/etc',
      'filename=link.png',
      'filename=secret.png&subfolder=escape',
      'filename=secret.png&subfolder=escape/output/..',
      'filename=in.png&type=..',
      'filename=fine.png&subfolder=a%00b',
      'filename=',
    ];
    for (const query of attempts) {
      const response = await fetch(`${t.base}/view?${query}`);
      assert.ok([400, 403].includes(response.status), `${query} -> ${response.status}`);
      const body = (await response.json()) as { error: { type: string } };
      assert.equal(typeof body.error.type, 'string');
    }
    // Percent-encoded dots in the path itself never reach a file either.
    assert.equal((await fetch(`${t.base}/%2e%2e/secret.png`)).status, 404);
  });

  it('stores uploads in the input folder and refuses names and subfolders that leave it', async () => {
    const ok = await upload(t.base, 'up.png', testPng());
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { name: 'up.png', subfolder: '', type: 'input' });
    const same = await upload(t.base, 'up.png', testPng());
    assert.equal(same.body.name, 'up.png', 'the same name with the same bytes is the same file (ComfyUI deduplicates)');
    const again = await upload(t.base, 'up.png', testPng(6, 6));
    assert.equal(again.body.name, 'up (1).png', 'an existing file is never overwritten unless asked');
    const nested = await upload(t.base, 'n.png', testPng(), { subfolder: 'shots' });
    assert.deepEqual(nested.body, { name: 'n.png', subfolder: 'shots', type: 'input' });

    const before = new Set(readdirSync(t.root));
    // A client-side path in the file name is dropped: the file lands in the input folder itself.
    const stripped = await upload(t.base, '../evil.png', testPng());
    assert.deepEqual(stripped.body, { name: 'evil.png', subfolder: '', type: 'input' });
    assert.ok(existsSync(path.join(t.folders.input, 'evil.png')));
    const refused = [
      await upload(t.base, '..', testPng()),
      await upload(t.base, 'evil.png', testPng(), { subfolder: '..' }),
      await upload(t.base, 'evil.png', testPng(), { subfolder: '../../tmp' }),
      await upload(t.base, 'evil.png', testPng(), { subfolder: '/tmp' }),
      await upload(t.base, 'evil.png', testPng(), { subfolder: 'escape' }),
      await upload(t.base, 'evil.png', testPng(), { type: 'elsewhere' }),
    ];
    for (const response of refused) assert.ok([400, 403].includes(response.status), JSON.stringify(response));
    assert.deepEqual(new Set(readdirSync(t.root)), before);
    assert.ok(!existsSync(path.join(t.root, 'evil.png')));
    assert.ok(!existsSync('/tmp/evil.png'));
  });

  it('refuses files that are not PNG, too large, or missing', async () => {
    assert.equal((await upload(t.base, 'x.png', Buffer.from('GIF89a not a png'))).status, 415);
    assert.equal((await upload(t.base, 'big.png', Buffer.concat([testPng(), Buffer.alloc(128 * 1024)]))).status, 413);
    const empty = await fetch(`${t.base}/upload/image`, { method: 'POST', body: new FormData() });
    assert.equal(empty.status, 400);
  });

  it('runs an uploaded image', async () => {
    const saved = await upload(t.base, 'mine.png', testPng(4, 4));
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=up`);
    const queued = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ image: saved.body.name }), client_id: 'up' });
    await ws.finished(queued.body.prompt_id);
    assert.ok(ws.forPrompt(queued.body.prompt_id).some((m) => m.type === 'execution_success'));
    ws.close();
  });

  it('limits JSON bodies', async () => {
    const huge = { prompt: { '1': { class_type: 'LoadImage', inputs: { image: 'x'.repeat(100 * 1024) } } } };
    const response = await postJson(`${t.base}/prompt`, huge);
    assert.equal(response.status, 413);
  });

  it('refuses cross-origin requests and websockets', async () => {
    const response = await fetch(`${t.base}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ prompt: imagePrompt() }),
    });
    assert.equal(response.status, 403);
    const socket = new WebSocket(`${t.wsBase}/ws`, { headers: { origin: 'http://evil.example' } });
    const outcome = await new Promise((resolve) => {
      socket.once('open', () => resolve('open'));
      socket.once('error', () => resolve('refused'));
    });
    assert.equal(outcome, 'refused');
    const same = await fetch(`${t.base}/prompt`, { headers: { origin: t.base } });
    assert.equal(same.status, 200);
  });
});

describe('safety: access token', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ token: 'sesame' });
  });
  after(() => t.close());

  it('requires the token on every route and on the websocket', async () => {
    assert.equal((await fetch(`${t.base}/object_info`)).status, 401);
    assert.equal((await fetch(`${t.base}/object_info`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${t.base}/object_info`, { headers: { authorization: 'Bearer sesame' } })).status, 200);
    const visit = await fetch(`${t.base}/system_stats?token=sesame`);
    assert.equal(visit.status, 200);
    const cookie = visit.headers.get('set-cookie')!;
    assert.match(cookie, /fewstep_token=sesame/);
    assert.match(cookie, /HttpOnly/);
    assert.equal((await fetch(`${t.base}/queue`, { headers: { cookie: cookie.split(';')[0] } })).status, 200);

    const refused = new WebSocket(`${t.wsBase}/ws`);
    assert.equal(
      await new Promise((resolve) => {
        refused.once('open', () => resolve('open'));
        refused.once('error', () => resolve('refused'));
      }),
      'refused',
    );
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=k&token=sesame`);
    await ws.waitFor((m) => m.type === 'status');
    ws.close();
  });

  it('will not start beyond loopback without a token', async () => {
    const { startServer, ServeError } = await import('../../server/serve.ts');
    const saved = process.env.FEWSTEP_TOKEN;
    delete process.env.FEWSTEP_TOKEN;
    try {
      await assert.rejects(startServer({ host: '0.0.0.0', port: 0 }), ServeError);
    } finally {
      if (saved !== undefined) process.env.FEWSTEP_TOKEN = saved;
    }
    assert.equal((await getJson(`${t.base}/prompt?token=sesame`)).status, 200);
  });
});
