import jpeg from 'jpeg-js';
import type { ImageBatch } from './image-batch.ts';
import { checkPixelLimit, ImageError, imageHeaderOfBytes, maxImagePixels, type ImageFormat } from './image-header.ts';
import { decodePngRgba, PngError } from './png.ts';
import { rgbaToBatch, type RgbaImage } from './rgba.ts';

/**
 * Decodes PNG or JPEG bytes (sniffed, not guessed from a name) to 8-bit RGBA, after checking the
 * size in the header against the pixel limit. Errors name `where`. WebP is stored and served but
 * not decoded: fewstep has no WebP decoder.
 */
export function decodeImageRgba(bytes: Buffer, where = 'image'): RgbaImage & { format: ImageFormat; text: Record<string, string> } {
  const header = imageHeaderOfBytes(bytes, where);
  checkPixelLimit(header, where);
  if (header.format === 'png') {
    try {
      return { format: 'png', ...decodePngRgba(bytes, where) };
    } catch (error) {
      if (error instanceof PngError) throw new ImageError('unreadable_image', error.message);
      throw error;
    }
  }
  if (header.format === 'jpeg') {
    try {
      const limit = maxImagePixels();
      const decoded = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: limit / 1e6,
        maxMemoryUsageInMB: Math.ceil((limit * 16) / 2 ** 20) + 64,
      });
      return { format: 'jpeg', width: decoded.width, height: decoded.height, data: decoded.data, text: {} };
    } catch (error) {
      throw new ImageError('unreadable_image', `${where}: not a readable JPEG (${(error as Error).message})`);
    }
  }
  throw new ImageError('unsupported_image', `${where} is a ${header.format.toUpperCase()} image; fewstep decodes PNG and JPEG (convert it to PNG)`);
}

/** Decodes PNG or JPEG bytes to a batch of one (grey stays 1 channel, colour becomes 3). */
export function decodeImage(bytes: Buffer, where = 'image'): { image: ImageBatch; text: Record<string, string> } {
  const { text, ...rgba } = decodeImageRgba(bytes, where);
  return { image: rgbaToBatch(rgba), text };
}
