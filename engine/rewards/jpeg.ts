/**
 * JPEG compressibility (DDPO's reward): the byte size of a real baseline JPEG encode at
 * quality 95. Fewer bytes = simpler image. jpeg-js is a pure-JavaScript encoder, so the figure
 * is the same on every platform.
 */
import jpeg from 'jpeg-js';

export const JPEG_QUALITY = 95;

/**
 * Bytes of each image's JPEG encode. images: planar [count, channels (1 or 3), height, width]
 * in [0, 1] (the graph's IMAGE layout).
 */
export function jpegSizes(
  images: { count: number; channels: number; height: number; width: number; data: ArrayLike<number> },
  quality = JPEG_QUALITY,
): Float64Array {
  const { count, channels, height, width, data } = images;
  if (channels !== 1 && channels !== 3) throw new RangeError(`JPEG needs 1 or 3 channels, got ${channels}`);
  const plane = height * width;
  const sizes = new Float64Array(count);
  const rgba = Buffer.alloc(plane * 4);
  for (let n = 0; n < count; n++) {
    const base = n * channels * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const value = data[base + (channels === 1 ? 0 : c) * plane + p];
        rgba[p * 4 + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
      rgba[p * 4 + 3] = 255;
    }
    sizes[n] = jpeg.encode({ data: rgba, width, height }, quality).data.length;
  }
  return sizes;
}

/** DDPO's compressibility reward: minus the JPEG size in kilobytes, per image. */
export function jpegCompressibility(images: Parameters<typeof jpegSizes>[0], quality = JPEG_QUALITY): Float64Array {
  return jpegSizes(images, quality).map((bytes) => -bytes / 1000);
}
