import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { WebSocket } from 'ws';
import { createServer } from '../../server/app.ts';
import { jsonBody } from '../../server/json-body.ts';
import { errorHandler } from '../../server/http-error.ts';
import { imagePrompt, postJson, startTestServer, testEngine, WsClient, type TestServer } from './helpers.ts';

/** Writes `text` on a fresh connection and returns the status line (or `closed`). */
function rawRequest(port: number, text: string | Buffer, options: { reset?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(text);
      if (options.reset) socket.resetAndDestroy();
    });
    let received = '';
    // Generous: a request no one answers (a server that died or stalled) fails as `timeout`.
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 30_000);
    const done = () => {
      clearTimeout(timer);
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 'closed');
    };
    socket.on('data', (chunk) => {
      received += chunk;
      if (/^HTTP\/1\.1 \d{3}/.test(received)) {
        socket.destroy();
        done();
      }
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

function upgradeRequest(path: string, headers: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

async function jsonRequest(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: response.status, body: await response.json() };
}

/** ComfyUI's error shape: `{error: {type, message, details, extra_info}, node_errors}`. */
function assertComfyError(body: any, type: string): void {
  assert.equal(body.error.type, type, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.details, 'string');
  assert.equal(typeof body.error.extra_info, 'object');
  assert.equal(typeof body.node_errors, 'object');
}

describe('hardening: nothing a client sends ends the process', () => {
  let t: TestServer;
  let guarded: TestServer;
  before(async () => {
    t = await startTestServer();
    guarded = await startTestServer({ token: 'sesame' });
  });
  after(async () => {
    await t.close();
    await guarded.close();
  });
  const alive = async (server: TestServer) => assert.equal((await fetch(`${server.base}/queue`, { headers: { authorization: 'Bearer sesame' } })).status, 200);

  it('refuses websocket upgrades to odd paths with 403 and stays up', async () => {
    for (const path of ['//', '/%zz', '//a//b', '//ws', '/ws/../ws', '/%', '/ws%zz', '*']) {
      assert.equal(await rawRequest(t.server.address().port, upgradeRequest(path)), '403', path);
      await alive(t);
    }
    // The right path with odd queries still upgrades.
    assert.equal(await rawRequest(t.server.address().port, upgradeRequest('/ws?clientId=%zz&watch=%')), '101');
  });

  it('reads a malformed token cookie or query as no token: 401 or 403, never a crash or a 500', async () => {
    const port = guarded.server.address().port;
    for (const cookie of ['fewstep_token=%', 'fewstep_token=%E0%A4%A', 'fewstep_token=%zz; a=%']) {
      assert.equal(await rawRequest(port, upgradeRequest('/ws', [`Cookie: ${cookie}`])), '403', cookie);
      assert.equal(await rawRequest(port, `GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n\r\n`), '401', cookie);
    }
    assert.equal(await rawRequest(port, upgradeRequest('/ws?token=%')), '403');
    assert.equal(await rawRequest(port, upgradeRequest('/ws?token=sesame')), '101');
    await alive(guarded);
  });

  it('survives clients that reset their connection mid-upgrade', async () => {
    const port = t.server.address().port;
    await Promise.all(Array.from({ length: 40 }, (_, i) => rawRequest(port, upgradeRequest(i % 2 ? '/nope' : '/ws'), { reset: true })));
    await alive(t);
  });

  it('keeps serving after malformed, binary, oversized and bad UTF-8 websocket frames', async () => {
    const watcher = await WsClient.connect(`${t.wsBase}/ws?clientId=watcher`);
    const rude = new WebSocket(`${t.wsBase}/ws?clientId=rude`);
    await new Promise((resolve) => rude.once('open', resolve));
    for (const message of ['{', 'null', '[]', '{"type":"watch","data":null}', '{"type":"watch","data":"x"}', '1e999', '"\\ud800"']) rude.send(message);
    rude.send(Buffer.from([0xff, 0x00]), { binary: true });
    const closed = new Promise<number>((resolve) => rude.once('close', (code) => resolve(code)));
    rude.send('x'.repeat(70 * 1024));
    assert.equal(await closed, 1009, 'a frame over the payload limit closes that socket only');
    const queued = await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), client_id: 'watcher' });
    assert.equal(queued.status, 200);
    await watcher.finished(queued.body.prompt_id);
    watcher.close();
    await alive(t);
  });
});

describe('hardening: JSON bodies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ maxJsonBytes: 256 * 1024 });
  });
  after(() => t.close());

  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('refuses a body nested deeper than 64 levels with a 400, and /history stays readable', async () => {
    const prompt = JSON.stringify(imagePrompt());
    // The body object, extra_data, then `levels` arrays: 2 + levels deep.
    const body = (levels: number) => `{"prompt":${prompt},"extra_data":{"deep":${nested(levels)}}}`;
    const deep = await jsonRequest(`${t.base}/prompt`, body(30_000));
    assert.equal(deep.status, 400);
    assertComfyError(deep.body, 'json_too_deep');
    assert.match(deep.body.error.message, /64 levels/);
    assert.equal((await jsonRequest(`${t.base}/prompt`, body(63))).status, 400, '65 levels in all');
    const ok = await jsonRequest(`${t.base}/prompt`, body(62));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const history = await fetch(`${t.base}/history`);
    assert.equal(history.status, 200);
    await history.json();
  });

  it('refuses deep JSON in a workflow file sent to /workflow/parse', async () => {
    const response = await fetch(`${t.base}/workflow/parse?name=deep.json`, { method: 'POST', body: `{"nodes":[],"links":[],"extra":${nested(5000)}}` });
    assert.equal(response.status, 400);
    const body = (await response.json()) as any;
    assertComfyError(body, 'not_a_workflow');
    assert.match(body.error.message, /deep\.json: JSON nests deeper than 64 levels/);
  });

  it('answers every malformed body with a 4xx in ComfyUI shape', async () => {
    const cases: Array<[string | Buffer, Record<string, string>, number, string]> = [
      ['{"prompt": ', {}, 400, 'entity.parse.failed'],
      [`{"prompt":"${'x'.repeat(300 * 1024)}"}`, {}, 413, 'entity.too.large'],
      ['{}', { 'content-type': 'application/json; charset=utf-16le' }, 415, 'charset.unsupported'],
      ['{}', { 'content-encoding': 'x-nope' }, 415, 'encoding.unsupported'],
      [Buffer.from('not gzip'), { 'content-encoding': 'gzip' }, 400, 'bad_request'],
      ['true', {}, 400, 'invalid_body'],
    ];
    for (const [body, headers, status, type] of cases) {
      const response = await jsonRequest(`${t.base}/prompt`, body, headers);
      assert.equal(response.status, status, `${String(body).slice(0, 30)} ${JSON.stringify(headers)}`);
      assertComfyError(response.body, type);
    }
    for (const [path, status] of [
      ['/history/%zz', 400],
      ['/object_info/%E0%A4%A', 400],
      ['/nothing/here', 404],
    ] as const) {
      const response = await fetch(`${t.base}${path}`);
      assert.equal(response.status, status, path);
      assertComfyError(await response.json(), status === 404 ? 'not_found' : 'bad_request');
    }
  });

  it('parses bare JSON values at the top, for routes that take them', async () => {
    const app = express();
    app.use(jsonBody(1024));
    app.post('/echo', (req, res) => void res.json({ body: req.body === undefined ? 'none' : req.body }));
    app.use(errorHandler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      for (const value of ['true', 'false', 'null', '3', '"text"', '[1]', '{"a":1}', '\ufeff{"bom":true}']) {
        const response = await jsonRequest(`${base}/echo`, value, { 'content-type': 'text/plain' });
        assert.equal(response.status, 200, value);
        assert.deepEqual(response.body.body, JSON.parse(value.replace('\ufeff', '')));
      }
      assert.deepEqual((await jsonRequest(`${base}/echo`, '')).body.body, {}, 'an empty body is {}, as body-parser has it');
    } finally {
      server.close();
    }
  });
});

describe('hardening: node count', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('refuses a 20,000-node prompt, UI workflow or parsed file with a 400 naming the cap', async () => {
    const prompt: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) prompt[i] = { class_type: 'SaveImage', inputs: { images: ['0', 0] } };
    const nodes = Array.from({ length: 20_000 }, (_, i) => ({ id: i + 1, type: 'SaveImage', mode: 0 }));
    for (const graph of [prompt, { nodes, links: [], version: 0.4 }]) {
      const response = await postJson(`${t.base}/prompt`, { prompt: graph });
      assert.equal(response.status, 400);
      assertComfyError(response.body, 'invalid_prompt');
      assert.equal(response.body.error.message, 'Too many nodes');
      assert.match(response.body.error.details, /at most 10000 nodes/);
      assert.equal(response.body.error.extra_info.max_nodes, 10_000);
    }
    for (const file of [prompt, { nodes, links: [], version: 0.4 }]) {
      const parsed = await fetch(`${t.base}/workflow/parse?name=big.json`, { method: 'POST', body: JSON.stringify(file) });
      assert.equal(parsed.status, 400);
      assert.match(((await parsed.json()) as any).error.message, /big\.json: .*at most 10000 nodes/);
    }
  });

  it('the CLI refuses the same graph with exit code 2 and a message naming the cap', async () => {
    const prompt: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) prompt[i] = { class_type: 'SaveImage', inputs: { images: ['0', 0] } };
    const file = path.join(t.root, 'big.json');
    writeFileSync(file, JSON.stringify(prompt));
    const bin = path.resolve(import.meta.dirname, '../../bin/fewstep.mjs');
    const fewstep = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { cwd: t.root, timeout: 180_000 }, (error, _stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stderr }),
        );
      });
    for (const result of await Promise.all([fewstep(['validate', file]), fewstep(['run', file])])) {
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /Too many nodes: this prompt has 20000 nodes; fewstep takes at most 10000 nodes per prompt/);
    }
  });
});

describe('hardening: DNS rebinding', () => {
  let loopback: TestServer;
  let allowing: TestServer;
  before(async () => {
    loopback = await startTestServer();
    allowing = await startTestServer({ allowedHosts: ['My-Box.local:8188', '.example.com'] });
  });
  after(async () => {
    await loopback.close();
    await allowing.close();
  });

  const status = (server: TestServer, host: string, extra: string[] = []) =>
    rawRequest(server.server.address().port, [`GET /queue HTTP/1.1`, `Host: ${host}`, ...extra, '', ''].join('\r\n'));
  const upgradeStatus = (server: TestServer, host: string) =>
    rawRequest(server.server.address().port, upgradeRequest('/ws').replace('Host: 127.0.0.1', `Host: ${host}`));

  it('bound to loopback, serves loopback host names only, over HTTP and websockets', async () => {
    const port = loopback.server.address().port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', `app.localhost:${port}`, `LOCALHOST.:${port}`]) {
      assert.equal(await status(loopback, host), '200', host);
    }
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `localhost.attacker.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `192.168.1.5:${port}`,
      '',
    ]) {
      assert.equal(await status(loopback, host, [`Origin: http://${host}`]), '403', host);
      assert.equal(await upgradeStatus(loopback, host), '403', `ws ${host}`);
    }
    assert.equal(await upgradeStatus(loopback, `localhost:${port}`), '101');
    const body = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /history HTTP/1.1\r\nHost: attacker.example:${port}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('close', () => resolve(text.slice(text.indexOf('\r\n\r\n') + 4)));
    });
    const parsed = JSON.parse(body);
    assert.equal(parsed.error.type, 'host_not_allowed');
    assert.match(parsed.error.message, /--allow-host attacker\.example/);
  });

  it('serves the names given to --allow-host, and subdomains of a leading-dot name', async () => {
    for (const host of ['my-box.local:8188', 'MY-BOX.LOCAL', 'example.com', 'a.b.example.com:1', 'localhost'])
      assert.equal(await status(allowing, host), '200', host);
    for (const host of ['other-box.local', 'example.com.evil', 'notexample.com']) assert.equal(await status(allowing, host), '403', host);
    assert.equal(await upgradeStatus(allowing, 'my-box.local'), '101');
  });

  it('bound beyond loopback, leaves the guard to the token unless --allow-host narrows the names', async () => {
    const folders = loopback.folders;
    const open = createServer({ engine: testEngine(), folders, token: 'sesame' });
    const narrowed = createServer({ engine: testEngine(), folders, token: 'sesame', allowedHosts: ['my-box.local'] });
    try {
      const openPort = (await open.listen(0, '0.0.0.0')).port;
      const narrowedPort = (await narrowed.listen(0, '0.0.0.0')).port;
      const get = (port: number, host: string, token?: string) =>
        rawRequest(port, [`GET /queue HTTP/1.1`, `Host: ${host}`, ...(token ? [`Authorization: Bearer ${token}`] : []), '', ''].join('\r\n'));
      assert.equal(await get(openPort, 'box.lan:8188', 'sesame'), '200');
      assert.equal(await get(openPort, 'box.lan:8188'), '401');
      assert.equal(await get(narrowedPort, 'box.lan', 'sesame'), '403');
      assert.equal(await get(narrowedPort, 'my-box.local', 'sesame'), '200');
      assert.equal(await get(narrowedPort, '192.168.1.5:8188', 'sesame'), '200');
    } finally {
      await open.close();
      await narrowed.close();
    }
  });
});
