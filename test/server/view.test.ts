import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImageRgba } from '../../engine/image/decode.ts';
import { imageHeaderOfBytes } from '../../engine/image/image-header.ts';
import { encodeRgbaPng } from '../../engine/image/rgba.ts';
import { bombPng } from '../fixtures/images.ts';
import { imagePrompt, postJson, startTestServer, testPng, WsClient, type TestServer } from './helpers.ts';

const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer());

describe('/view', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('serves names that start with dots but stay inside, like ..foo.png', async () => {
    writeFileSync(path.join(t.folders.output, '..foo.png'), testPng());
    const response = await fetch(`${t.base}/view?filename=..foo.png`);
    assert.equal(response.status, 200);
    assert.deepEqual(await bytesOf(response), testPng());
    assert.equal((await fetch(`${t.base}/view?filename=..`)).status, 400);
  });

  it('an image saved under a non-Latin-1 filename_prefix is viewable, its name in Content-Disposition per RFC 5987', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=unicode`);
    const prefix = 'Ünïcødé-写真/猫 «Ω»';
    const queued = await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ prefix }), client_id: 'unicode' });
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    await ws.finished(queued.body.prompt_id);
    ws.close();
    const executed = ws.forPrompt(queued.body.prompt_id).find((m) => m.type === 'executed');
    const image = executed!.data.output.images[0] as { filename: string; subfolder: string; type: string };
    assert.equal(image.filename, '猫 «Ω»_00001_.png');
    const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type });
    const response = await fetch(`${t.base}/view?${query}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    const disposition = response.headers.get('content-disposition') ?? '';
    const encoded = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
    assert.equal(decodeURIComponent(encoded ?? ''), image.filename);
    assert.match(disposition, /^inline; filename="[\x20-\x7e]+"; /, 'an ASCII fallback first');
    assert.equal(imageHeaderOfBytes(await bytesOf(response), 'png').format, 'png');
  });

  it("takes ComfyUI's annotated names: name.png [input] views the input folder", async () => {
    const response = await fetch(`${t.base}/view?filename=${encodeURIComponent('in.png [input]')}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await bytesOf(response), readFileSync(path.join(t.folders.input, 'in.png')));
    assert.equal((await fetch(`${t.base}/view?filename=${encodeURIComponent('in.png [output]')}`)).status, 404);
  });

  it('preview=format;quality answers in a format it can encode: WebP asked, JPEG given; quality honoured', async () => {
    const webp = await fetch(`${t.base}/view?filename=in.png&type=input&preview=webp;90`);
    assert.equal(webp.status, 200);
    assert.equal(webp.headers.get('content-type'), 'image/jpeg');
    const decoded = decodeImageRgba(await bytesOf(webp), 'preview');
    assert.deepEqual([decoded.format, decoded.width, decoded.height], ['jpeg', 8, 8]);
    writeFileSync(path.join(t.folders.input, 'big.png'), testPng(64, 64));
    const low = await bytesOf(await fetch(`${t.base}/view?filename=big.png&type=input&preview=jpeg;20`));
    const high = await bytesOf(await fetch(`${t.base}/view?filename=big.png&type=input&preview=jpeg;95`));
    assert.ok(low.length < high.length, `quality 20: ${low.length} bytes, 95: ${high.length}`);
  });

  it('channel=rgb drops the alpha, channel=a gives the alpha alone; a transparent image previews as PNG', async () => {
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let p = 0; p < 16; p++) rgba.set([200, 100, 50, p * 16], p * 4);
    writeFileSync(path.join(t.folders.input, 'alpha.png'), encodeRgbaPng({ width: 4, height: 4, data: rgba }, true));
    const rgb = decodeImageRgba(await bytesOf(await fetch(`${t.base}/view?filename=alpha.png&type=input&channel=rgb`)), 'rgb');
    assert.deepEqual([...rgb.data.subarray(0, 8)], [200, 100, 50, 255, 200, 100, 50, 255]);
    const alpha = decodeImageRgba(await bytesOf(await fetch(`${t.base}/view?filename=alpha.png&type=input&channel=a`)), 'a');
    assert.deepEqual([...alpha.data.subarray(4, 8)], [0, 0, 0, 16]);
    const untouched = await bytesOf(await fetch(`${t.base}/view?filename=alpha.png&type=input&channel=rgba`));
    assert.deepEqual(untouched, readFileSync(path.join(t.folders.input, 'alpha.png')));
    const preview = await fetch(`${t.base}/view?filename=alpha.png&type=input&preview=webp;80`);
    assert.equal(preview.headers.get('content-type'), 'image/png', 'the alpha matters, so not JPEG');
  });

  it('conversions obey the pixel limit and refuse what is not an image, as 4xx', async () => {
    writeFileSync(path.join(t.folders.output, 'bomb.png'), bombPng(24000, 24000));
    const bomb = await fetch(`${t.base}/view?filename=bomb.png&preview=jpeg;90`);
    assert.equal(bomb.status, 413);
    assert.match(((await bomb.json()) as { error: { message: string } }).error.message, /at most 16,777,216 pixels/);
    writeFileSync(path.join(t.folders.output, 'notes.json'), '{}');
    assert.equal((await fetch(`${t.base}/view?filename=notes.json&channel=rgb`)).status, 415);
  });
});
