import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageBatch, type ImageBatch } from './image-batch.ts';

/** An image as 8-bit RGBA bytes, row by row: what decoders give and encoders take. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** RGBA to a batch of one: grey stays 1 channel, colour becomes 3 planes in [0, 1]; alpha is dropped. */
export function rgbaToBatch({ width, height, data }: RgbaImage): ImageBatch {
  const plane = width * height;
  let gray = true;
  for (let p = 0; p < plane && gray; p++) gray = data[p * 4] === data[p * 4 + 1] && data[p * 4] === data[p * 4 + 2];
  const channels = gray ? 1 : 3;
  const image = imageBatch(1, channels, height, width);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) image.data[c * plane + p] = data[p * 4 + c] / 255;
  }
  return image;
}

/** PNG bytes of an RGBA image: with its alpha channel, or as RGB without it. */
export function encodeRgbaPng(image: RgbaImage, withAlpha: boolean): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: 6 });
  png.data.set(image.data);
  // Without alpha the colour is kept as it is (pngjs would blend it over white).
  if (!withAlpha) for (let p = 3; p < png.data.length; p += 4) png.data[p] = 255;
  return PNG.sync.write(png, { colorType: withAlpha ? 6 : 2 });
}

/** Baseline JPEG bytes of an RGBA image (alpha dropped), quality 1-100. */
export function encodeRgbaJpeg(image: RgbaImage, quality: number): Buffer {
  return jpeg.encode({ width: image.width, height: image.height, data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength) }, quality)
    .data;
}
