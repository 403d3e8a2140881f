import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImageRgba } from '../../engine/image/decode.ts';
import { encodePng, readTextChunks } from '../../engine/image/png.ts';
import { encodeRgbaPng } from '../../engine/image/rgba.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';
import { bombPng, gradientJpeg, tinyWebp } from '../fixtures/images.ts';
import { getJson, startTestServer, testPng, type TestServer } from './helpers.ts';

export async function upload(
  base: string,
  name: string,
  bytes: Buffer,
  fields: Record<string, string> = {},
  route = 'upload/image',
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }), name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(`${base}/${route}`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

/** Sends a raw body as it is (malformed forms), answering status and parsed JSON. */
function rawPost(base: string, route: string, contentType: string, body: Buffer): Promise<{ status: number; body: any }> {
  const url = new URL(`${base}/${route}`);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const stagingFiles = (folder: string) => readdirSync(folder).filter((name) => name.startsWith('.fewstep-upload-'));

describe('uploads', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ maxUploadBytes: 4 * 1024 * 1024 });
    mkdirSync(path.join(t.folders.input, 'a-folder'));
  });
  after(() => t.close());

  it('streams an upload to disk as it arrives: a staging file in the folder grows before the body ends', async () => {
    const boundary = 'fewstepboundary';
    const png = Buffer.concat([testPng(64, 64), Buffer.alloc(0)]);
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="slow.png"\r\nContent-Type: image/png\r\n\r\n`);
    const filler = Buffer.alloc(256 * 1024, 0); // after IEND: still a PNG as far as its header goes
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${t.base}/upload/image`);
    const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.concat([head, png, filler]));
      // Half the body is sent: the bytes must already be on disk, not held in memory.
      const deadline = Date.now() + 20_000;
      const poll = () => {
        const staged = stagingFiles(t.folders.input);
        const size = staged.length === 1 ? statSync(path.join(t.folders.input, staged[0])).size : 0;
        if (size >= png.length + filler.length) req.end(Buffer.concat([filler, tail]));
        else if (Date.now() > deadline) {
          req.destroy();
          reject(
            new Error(
              `no staging file holding the first ${png.length + filler.length} bytes appeared in the input folder (found ${staged.join(', ') || 'none'}, ${size} bytes)`,
            ),
          );
        } else setTimeout(poll, 10);
      };
      poll();
    });
    const { status, body } = await answer;
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, { name: 'slow.png', subfolder: '', type: 'input' });
    assert.equal(statSync(path.join(t.folders.input, 'slow.png')).size, png.length + 2 * filler.length);
    assert.deepEqual(stagingFiles(t.folders.input), [], 'the staging file is gone');
  });

  it('decodes upload names as UTF-8: 中.png is stored as 中.png and viewable', async () => {
    const saved = await upload(t.base, '中文 café.png', testPng());
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.name, '中文 café.png');
    assert.ok(existsSync(path.join(t.folders.input, '中文 café.png')));
    const view = await fetch(`${t.base}/view?type=input&filename=${encodeURIComponent('中文 café.png')}`);
    assert.equal(view.status, 200);
    assert.match(view.headers.get('content-disposition') ?? '', /filename\*=UTF-8''%E4%B8%AD%E6%96%87%20caf%C3%A9\.png/);
  });

  it("malformed forms, overlong names and wrong fields are 4xx in ComfyUI's error shape, never 500", async () => {
    const type = 'multipart/form-data; boundary=B';
    const part = (headers: string, body = 'x') => `--B\r\n${headers}\r\n\r\n${body}\r\n`;
    const cases: Array<[string, Promise<{ status: number; body: any }>]> = [
      ['malformed part header', rawPost(t.base, 'upload/image', type, Buffer.from(`--B\r\nthis is not a header\r\n\r\nx\r\n--B--\r\n`))],
      [
        'unexpected end of form',
        rawPost(
          t.base,
          'upload/image',
          type,
          Buffer.from(part('Content-Disposition: form-data; name="image"; filename="a.png"', testPng().toString('latin1')).slice(0, -10)),
        ),
      ],
      ['no boundary', rawPost(t.base, 'upload/image', 'multipart/form-data', Buffer.from('--B\r\n'))],
      [
        'a file under another field',
        upload(t.base, 'a.png', testPng()).then(() =>
          rawPost(t.base, 'upload/image', type, Buffer.from(`${part('Content-Disposition: form-data; name="other"; filename="a.png"')}--B--\r\n`)),
        ),
      ],
      [
        'two files',
        rawPost(
          t.base,
          'upload/image',
          type,
          Buffer.from(
            `${part('Content-Disposition: form-data; name="image"; filename="a.png"')}${part('Content-Disposition: form-data; name="image"; filename="b.png"')}--B--\r\n`,
          ),
        ),
      ],
      ['a name of 256 bytes', upload(t.base, `${'n'.repeat(252)}.png`, testPng())],
      ['a name of 84 three-byte characters and .png (256 bytes)', upload(t.base, `${'中'.repeat(84)}.png`, testPng())],
      ['a subfolder name of 300 bytes', upload(t.base, 'ok.png', testPng(), { subfolder: 's'.repeat(300) })],
      ['a subfolder through a file', upload(t.base, 'ok.png', testPng(), { subfolder: 'in.png/deeper' })],
      ['a subfolder of 2000 bytes', upload(t.base, 'ok.png', testPng(), { subfolder: Array.from({ length: 20 }, () => 'd'.repeat(99)).join('/') })],
      ['overwriting a folder', upload(t.base, 'a-folder', testPng(), { overwrite: 'true' })],
      ['no file', rawPost(t.base, 'upload/image', type, Buffer.from('--B--\r\n'))],
      ['not multipart', rawPost(t.base, 'upload/image', 'application/json', Buffer.from('{}'))],
    ];
    for (const [what, pending] of cases) {
      const { status, body } = await pending;
      assert.ok(status >= 400 && status < 500, `${what}: ${status} ${JSON.stringify(body)}`);
      assert.equal(typeof body?.error?.type, 'string', what);
      assert.equal(typeof body?.error?.message, 'string', what);
    }
    // 255 bytes is still a name.
    const longest = await upload(t.base, `${'n'.repeat(251)}.png`, testPng());
    assert.equal(longest.status, 200, JSON.stringify(longest.body));
    assert.deepEqual(stagingFiles(t.folders.input), []);
  });

  it('stores what ComfyUI accepts, by its bytes: PNG, JPEG, WebP; anything else is a 415', async () => {
    for (const [name, bytes] of [
      ['photo.jpg', gradientJpeg(8, 8)],
      ['anim.webp', tinyWebp],
      ['jpeg-named.png', gradientJpeg(4, 4)],
    ] as const) {
      const saved = await upload(t.base, name, bytes);
      assert.equal(saved.status, 200, `${name}: ${JSON.stringify(saved.body)}`);
      assert.deepEqual(readFileSync(path.join(t.folders.input, saved.body.name)), bytes);
    }
    const text = await upload(t.base, 'notes.png', Buffer.from('just some text, not an image'));
    assert.equal(text.status, 415);
    assert.equal(text.body.error.type, 'unsupported_image');
    assert.ok(!existsSync(path.join(t.folders.input, 'notes.png')));
  });

  it('a decompression bomb is refused from its header with 413 naming the pixel limit; nothing is kept', async () => {
    const bomb = bombPng(24000, 24000);
    const refused = await upload(t.base, 'bomb.png', bomb);
    assert.equal(refused.status, 413, JSON.stringify(refused.body));
    assert.equal(refused.body.error.type, 'image_too_large');
    assert.match(refused.body.error.message, /bomb\.png" is 24000 x 24000 pixels .*at most 16,777,216 pixels/);
    assert.ok(!existsSync(path.join(t.folders.input, 'bomb.png')));
    assert.deepEqual(stagingFiles(t.folders.input), []);
  });

  it('deduplicates as ComfyUI does: same name and bytes is the same file, other bytes get (1), overwrite replaces', async () => {
    const first = testPng(5, 5);
    const second = testPng(6, 6);
    assert.equal((await upload(t.base, 'dup.png', first)).body.name, 'dup.png');
    assert.equal((await upload(t.base, 'dup.png', first)).body.name, 'dup.png');
    assert.equal((await upload(t.base, 'dup.png', second)).body.name, 'dup (1).png');
    assert.equal((await upload(t.base, 'dup.png', second)).body.name, 'dup (1).png', 'the same bytes again: the file already stored under a numbered name');
    assert.equal((await upload(t.base, 'dup.png', testPng(7, 7))).body.name, 'dup (2).png');
    assert.deepEqual(readFileSync(path.join(t.folders.input, 'dup.png')), first);
    const replaced = await upload(t.base, 'dup.png', second, { overwrite: 'true' });
    assert.equal(replaced.body.name, 'dup.png');
    assert.deepEqual(readFileSync(path.join(t.folders.input, 'dup.png')), second);
    assert.deepEqual(
      readdirSync(t.folders.input)
        .filter((n) => n.startsWith('dup'))
        .sort(),
      ['dup (1).png', 'dup (2).png', 'dup.png'],
    );
  });

  it("/upload/mask applies the mask's alpha to the original (original_ref) and keeps its metadata", async () => {
    const original = encodePng(
      imageBatch(
        1,
        3,
        4,
        4,
        Float32Array.from({ length: 48 }, (_, i) => (i % 16) / 15),
      ),
      0,
      { workflow: '{"nodes":[]}' },
    );
    writeFileSync(path.join(t.folders.output, 'orig.png'), original);
    const alpha = Uint8Array.from({ length: 16 }, (_, p) => (p % 2 === 0 ? 0 : 200));
    const maskRgba = new Uint8Array(64);
    for (let p = 0; p < 16; p++) maskRgba.set([0, 0, 0, alpha[p]], p * 4);
    const mask = encodeRgbaPng({ width: 4, height: 4, data: maskRgba }, true);
    const ref = JSON.stringify({ filename: 'orig.png', subfolder: '', type: 'output' });
    const saved = await upload(t.base, 'clipspace-mask.png', mask, { original_ref: ref, type: 'input', subfolder: 'clipspace' }, 'upload/mask');
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.deepEqual(saved.body, { name: 'clipspace-mask.png', subfolder: 'clipspace', type: 'input' });
    const stored = readFileSync(path.join(t.folders.input, 'clipspace', 'clipspace-mask.png'));
    const composed = decodeImageRgba(stored, 'stored');
    const source = decodeImageRgba(original, 'original');
    for (let p = 0; p < 16; p++) {
      assert.deepEqual([...composed.data.subarray(p * 4, p * 4 + 3)], [...source.data.subarray(p * 4, p * 4 + 3)], `pixel ${p} keeps its colour`);
      assert.equal(composed.data[p * 4 + 3], alpha[p], `pixel ${p} takes the mask's alpha`);
    }
    assert.equal(readTextChunks(stored).workflow, '{"nodes":[]}');

    const small = encodeRgbaPng({ width: 2, height: 2, data: new Uint8Array(16) }, true);
    assert.equal((await upload(t.base, 'm.png', small, { original_ref: ref }, 'upload/mask')).status, 400, 'a mask of another size');
    assert.equal((await upload(t.base, 'm.png', mask, { original_ref: JSON.stringify({ filename: 'none.png' }) }, 'upload/mask')).status, 404);
    assert.equal((await upload(t.base, 'm.png', mask, { original_ref: 'not json' }, 'upload/mask')).status, 400);
    const outside = await upload(
      t.base,
      'm.png',
      mask,
      { original_ref: JSON.stringify({ filename: 'in.png', subfolder: '../input', type: 'output' }) },
      'upload/mask',
    );
    assert.ok([400, 403].includes(outside.status), `${outside.status}`);
  });

  it("/object_info offers the input folder's images to LoadImage, read at each request, with image_upload", async () => {
    await upload(t.base, 'listed.png', testPng(3, 3));
    const info = await getJson(`${t.base}/object_info/LoadImage`);
    const [choices, options] = info.body.LoadImage.input.required.image;
    assert.ok(Array.isArray(choices) && choices.includes('listed.png') && choices.includes('in.png'), JSON.stringify(choices));
    assert.ok(!choices.some((name: string) => name.startsWith('.')));
    assert.equal(options.image_upload, true);
  });
});
