import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, decodeImageRgba } from '../../../engine/image/decode.ts';
import { DEFAULT_MAX_IMAGE_PIXELS, ImageError, imageHeaderOfBytes } from '../../../engine/image/image-header.ts';
import { decodePng, encodePng } from '../../../engine/image/png.ts';
import { imageBatch } from '../../../engine/image/image-batch.ts';
import { bombPng, gradientJpeg, jpegHeaderOnly, tinyWebp, webpHeaderOnly } from '../../fixtures/images.ts';

test('image headers: format sniffed from the bytes, size read without decoding', () => {
  assert.deepEqual(imageHeaderOfBytes(encodePng(imageBatch(1, 3, 5, 7)), 'a'), { format: 'png', width: 7, height: 5 });
  assert.deepEqual(imageHeaderOfBytes(gradientJpeg(9, 4), 'b'), { format: 'jpeg', width: 9, height: 4 });
  assert.deepEqual(imageHeaderOfBytes(jpegHeaderOnly(30000, 20000), 'c'), { format: 'jpeg', width: 30000, height: 20000 });
  assert.deepEqual(imageHeaderOfBytes(tinyWebp, 'd'), { format: 'webp', width: 1, height: 1 });
  assert.deepEqual(imageHeaderOfBytes(webpHeaderOnly(16000, 9000), 'e'), { format: 'webp', width: 16000, height: 9000 });
  assert.throws(() => imageHeaderOfBytes(Buffer.from('GIF89a.......'), 'x.png'), /x\.png is not a PNG, JPEG or WebP image/);
  assert.throws(() => imageHeaderOfBytes(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'y.jpg'), /y\.jpg: its JPEG header is damaged/);
});

test('a PNG decompression bomb is refused from its header, naming the pixel limit, before anything is inflated', { timeout: 30_000 }, () => {
  // 24000 x 24000 1-bit: ~70 KB on disk, 576 Mpixel (over 9 GB as the float planes LoadImage makes).
  const bomb = bombPng(24000, 24000);
  assert.ok(bomb.length < 200_000, `${bomb.length} bytes`);
  const started = process.cpuUsage();
  assert.throws(
    () => decodePng(bomb, 'bomb.png'),
    (error: unknown) => {
      assert.ok(error instanceof ImageError && error.code === 'image_too_large', String(error));
      assert.match(error.message, /bomb\.png is 24000 x 24000 pixels \(576\.0 Mpixel\); fewstep reads images of at most 16,777,216 pixels \(16\.8 Mpixel/);
      return true;
    },
  );
  const cpu = process.cpuUsage(started);
  // Refused from 24 bytes of header: far less CPU than inflating 72 MB (a generous bound, not a timing).
  assert.ok(cpu.user + cpu.system < 5_000_000, `${cpu.user + cpu.system} us of CPU`);
  assert.throws(() => decodeImage(jpegHeaderOnly(5000, 5000), 'big.jpg'), /big\.jpg is 5000 x 5000 pixels .* at most 16,777,216 pixels/);
  assert.equal(DEFAULT_MAX_IMAGE_PIXELS, 4096 * 4096);
});

test('FEWSTEP_MAX_IMAGE_PIXELS moves the limit: at it an image decodes, one pixel over it does not', () => {
  process.env.FEWSTEP_MAX_IMAGE_PIXELS = '10000';
  try {
    assert.equal(decodePng(bombPng(100, 100), 'edge.png').image.width, 100);
    assert.throws(() => decodePng(bombPng(101, 100), 'over.png'), /over\.png is 101 x 100 pixels .* at most 10,000 pixels/);
    assert.throws(() => decodeImage(gradientJpeg(101, 100), 'over.jpg'), /at most 10,000 pixels/);
  } finally {
    delete process.env.FEWSTEP_MAX_IMAGE_PIXELS;
  }
});

test('JPEG decodes to the same layout as PNG; WebP is a clear error', () => {
  const { image } = decodeImage(gradientJpeg(16, 8), 'g.jpg');
  assert.deepEqual([image.count, image.channels, image.height, image.width], [1, 3, 8, 16]);
  assert.ok(image.data[0] < 0.05 && image.data[15] > 0.95, 'red rises left to right');
  assert.equal(decodeImageRgba(gradientJpeg(4, 4), 'g').format, 'jpeg');
  assert.throws(() => decodeImage(tinyWebp, 'w.webp'), /w\.webp is a WEBP image; fewstep decodes PNG and JPEG/);
});
