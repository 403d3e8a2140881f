import { PNG } from 'pngjs';
import { crc32 } from 'node:zlib';
import type { ImageBatch } from './image-batch.ts';
import { checkPixelLimit, imageHeaderOfBytes } from './image-header.ts';
import { rgbaToBatch, type RgbaImage } from './rgba.ts';

/**
 * PNG encode/decode with text chunks. pngjs does the pixels; the tEXt chunks that carry a
 * workflow (as ComfyUI writes them: keys `prompt` and `workflow`) are spliced in here,
 * since pngjs neither writes nor reads them.
 */

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class PngError extends Error {
  override readonly name = 'PngError';
}

/** Encodes image `index` of a batch (1 or 3 channels, values in [0, 1]) as PNG bytes. */
export function encodePng(batch: ImageBatch, index = 0, text: Record<string, string> = {}): Buffer {
  const { channels, height, width, data } = batch;
  if (channels !== 1 && channels !== 3) throw new PngError(`cannot encode ${channels}-channel images`);
  const png = new PNG({ width, height, colorType: 6 });
  const plane = height * width;
  const base = index * channels * plane;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const value = data[base + (channels === 1 ? 0 : c) * plane + p];
      png.data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
    }
    png.data[p * 4 + 3] = 255;
  }
  const bytes = PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 });
  return insertTextChunks(bytes, text);
}

/** Decodes PNG bytes to a batch of one (grayscale stays 1 channel, colour becomes 3; alpha is dropped). */
export function decodePng(bytes: Buffer, where = 'image'): { image: ImageBatch; text: Record<string, string> } {
  const { text, ...rgba } = decodePngRgba(bytes, where);
  return { image: rgbaToBatch(rgba), text };
}

/**
 * Decodes PNG bytes to 8-bit RGBA. The size in the header (IHDR) is checked against the pixel
 * limit before anything is inflated: a small file can claim a huge image.
 */
export function decodePngRgba(bytes: Buffer, where = 'image'): RgbaImage & { text: Record<string, string> } {
  const text = readTextChunks(bytes, where);
  checkPixelLimit(imageHeaderOfBytes(bytes, where), where);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (error) {
    throw new PngError(`${where}: not a readable PNG (${(error as Error).message})`);
  }
  return { width: png.width, height: png.height, data: png.data, text };
}

/** One PNG chunk: length, type, body, CRC. */
export function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/** Inserts tEXt chunks right after IHDR. Values are written as Latin-1, so JSON is escaped to ASCII first. */
export function insertTextChunks(bytes: Buffer, text: Record<string, string>): Buffer {
  const entries = Object.entries(text);
  if (entries.length === 0) return bytes;
  const ihdrEnd = 8 + 8 + bytes.readUInt32BE(8) + 4;
  const chunks = entries.map(([key, value]) =>
    pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(toAscii(value), 'latin1')])),
  );
  return Buffer.concat([bytes.subarray(0, ihdrEnd), ...chunks, bytes.subarray(ihdrEnd)]);
}

/** Reads tEXt and (uncompressed) iTXt chunks. */
export function readTextChunks(bytes: Buffer, where = 'image'): Record<string, string> {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new PngError(`${where}: not a PNG file`);
  const text: Record<string, string> = {};
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + length));
    if (type === 'tEXt') {
      const nul = body.indexOf(0);
      if (nul > 0) text[body.toString('latin1', 0, nul)] = body.toString('latin1', nul + 1);
    } else if (type === 'iTXt') {
      const nul = body.indexOf(0);
      // iTXt: keyword \0 compressionFlag compressionMethod language \0 translated \0 text
      if (nul > 0 && body[nul + 1] === 0) {
        const langEnd = body.indexOf(0, nul + 3);
        const translatedEnd = langEnd < 0 ? -1 : body.indexOf(0, langEnd + 1);
        if (translatedEnd > 0) text[body.toString('latin1', 0, nul)] = body.toString('utf8', translatedEnd + 1);
      }
    } else if (type === 'IEND') break;
    offset += 12 + length;
  }
  return text;
}

function toAscii(value: string): string {
  return value.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
