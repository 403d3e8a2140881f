/**
 * A batch of images as the graph passes them around: planar float32 in [0, 1],
 * laid out [count, channels, height, width]. Immutable by convention once a node returns it.
 */
export interface ImageBatch {
  readonly count: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

export function imageBatch(count: number, channels: number, height: number, width: number, data?: Float32Array): ImageBatch {
  const size = count * channels * height * width;
  if (data && data.length !== size) {
    throw new RangeError(`image data has ${data.length} values, expected ${count}x${channels}x${height}x${width} = ${size}`);
  }
  return { count, channels, height, width, data: data ?? new Float32Array(size) };
}

/** One image of a batch, as a batch of one (a view, not a copy). */
export function imageAt(batch: ImageBatch, index: number): ImageBatch {
  const size = batch.channels * batch.height * batch.width;
  return imageBatch(1, batch.channels, batch.height, batch.width, batch.data.subarray(index * size, (index + 1) * size));
}

/** Maps model-space pixels in [lo, hi] to [0, 1], clamping. */
export function fromModelRange(values: Float32Array, range: readonly [number, number]): Float32Array {
  const [lo, hi] = range;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(1, Math.max(0, (values[i] - lo) / (hi - lo)));
  return out;
}

/** Lays a batch out as a grid of `columns` tiles, for previews. */
export function tileBatch(batch: ImageBatch, columns = Math.ceil(Math.sqrt(batch.count))): ImageBatch {
  const rows = Math.ceil(batch.count / columns);
  const { channels, height, width } = batch;
  const out = imageBatch(1, channels, rows * height, columns * width);
  for (let n = 0; n < batch.count; n++) {
    const row = Math.floor(n / columns),
      col = n % columns;
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        const src = ((n * channels + c) * height + y) * width;
        const dst = (c * rows * height + row * height + y) * columns * width + col * width;
        out.data.set(batch.data.subarray(src, src + width), dst);
      }
    }
  }
  return out;
}
