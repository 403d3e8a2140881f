import { closeSync, openSync, readSync } from 'node:fs';

/**
 * What an image file is and how big it says it is, read from its first bytes without decoding
 * (so a decompression bomb, a tiny file claiming 24000 x 24000 pixels, is refused before any
 * pixel is inflated). The format is sniffed from the bytes, never taken from the file name.
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/**
 * The most pixels an image may have: 4096 x 4096 (16.8 Mpixel). fewstep's models work at 28 x 28
 * and its largest image input (RewardScorer's onnx_input_size) is 4096; a decoded image costs 16
 * bytes a pixel (RGBA bytes while decoding, then float32 planes), so this is ~270 MB at most,
 * where Pillow's 89.5 Mpixel default would allow 1.4 GB per image. FEWSTEP_MAX_IMAGE_PIXELS
 * changes it.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096;

export function maxImagePixels(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.FEWSTEP_MAX_IMAGE_PIXELS);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_IMAGE_PIXELS;
}

export type ImageErrorCode = 'unsupported_image' | 'unreadable_image' | 'image_too_large';

export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format of an image from its first 12 bytes, or undefined. */
export function sniffImageFormat(head: Uint8Array): ImageFormat | undefined {
  if (head.length >= 8 && PNG_SIGNATURE.every((byte, i) => head[i] === byte)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  return undefined;
}

/** Reads `length` bytes at `offset` (fewer at the end of the data). */
export type ByteReader = (offset: number, length: number) => Uint8Array;

/** The header of image bytes; throws ImageError naming `where` when it is not an image fewstep knows. */
export function readImageHeader(read: ByteReader, where: string): ImageHeader {
  const head = read(0, 32);
  const format = sniffImageFormat(head);
  if (!format) throw new ImageError('unsupported_image', `${where} is not a PNG, JPEG or WebP image`);
  const size = format === 'png' ? pngSize(head) : format === 'jpeg' ? jpegSize(read) : webpSize(head);
  if (!size || size.width <= 0 || size.height <= 0)
    throw new ImageError('unreadable_image', `${where}: its ${format.toUpperCase()} header is damaged (no image size)`);
  return { format, ...size };
}

export function imageHeaderOfBytes(bytes: Uint8Array, where: string): ImageHeader {
  return readImageHeader((offset, length) => bytes.subarray(offset, offset + length), where);
}

export function imageHeaderOfFile(file: string, where: string): ImageHeader {
  const fd = openSync(file, 'r');
  try {
    return readImageHeader((offset, length) => {
      const buffer = Buffer.alloc(length);
      const got = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, got);
    }, where);
  } finally {
    closeSync(fd);
  }
}

/** Throws when the image has more pixels than the limit, naming the image, its size and the limit. */
export function checkPixelLimit(header: ImageHeader, where: string, limit = maxImagePixels()): void {
  const pixels = header.width * header.height;
  if (pixels > limit) {
    throw new ImageError(
      'image_too_large',
      `${where} is ${header.width} x ${header.height} pixels (${megapixels(pixels)} Mpixel); fewstep reads images of at most ${limit.toLocaleString('en-US')} pixels (${megapixels(limit)} Mpixel, FEWSTEP_MAX_IMAGE_PIXELS)`,
    );
  }
}

const megapixels = (pixels: number) => (pixels / 1e6).toFixed(1);

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

const u16be = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32be = (b: Uint8Array, o: number) => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
const u24le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);

/** IHDR is the first chunk: length, "IHDR", width, height. */
function pngSize(head: Uint8Array): { width: number; height: number } | undefined {
  if (head.length < 24 || ascii(head, 12, 4) !== 'IHDR') return undefined;
  return { width: u32be(head, 16), height: u32be(head, 20) };
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the JPEG's segments up to its frame header (SOFn): precision, height, width. */
function jpegSize(read: ByteReader): { width: number; height: number } | undefined {
  let offset = 2;
  for (let segments = 0; segments < 4096; segments++) {
    const marker = read(offset, 2);
    if (marker.length < 2 || marker[0] !== 0xff) return undefined;
    if (marker[1] === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const type = marker[1];
    if (type === 0xd8 || type === 0x01 || (type >= 0xd0 && type <= 0xd7)) {
      offset += 2; // no length
      continue;
    }
    if (type === 0xd9 || type === 0xda) return undefined; // end of image or scan data before any frame header
    const segment = read(offset + 2, 7);
    if (segment.length < 2) return undefined;
    if (SOF_MARKERS.has(type)) return segment.length < 7 ? undefined : { height: u16be(segment, 3), width: u16be(segment, 5) };
    offset += 2 + u16be(segment, 0);
  }
  return undefined;
}

/** RIFF/WEBP with a VP8X (extended), VP8L (lossless) or "VP8 " (lossy) first chunk. */
function webpSize(head: Uint8Array): { width: number; height: number } | undefined {
  const chunk = ascii(head, 12, 4);
  if (chunk === 'VP8L' ? head.length < 25 : head.length < 30) return undefined;
  if (chunk === 'VP8X') return { width: u24le(head, 24) + 1, height: u24le(head, 27) + 1 };
  if (chunk === 'VP8L' && head[20] === 0x2f) {
    const bits = head[21] | (head[22] << 8) | (head[23] << 16) | (head[24] << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ' && head[23] === 0x9d && head[24] === 0x01 && head[25] === 0x2a) {
    return { width: (head[26] | (head[27] << 8)) & 0x3fff, height: (head[28] | (head[29] << 8)) & 0x3fff };
  }
  return undefined;
}
