/**
 * Any ONNX model as a reward: one float32 input [N, C, S, S] (C = 1 or 3, S = the given input
 * size, images in [0, 1]), one output with one score per image ([N] or [N, 1]). Images are
 * resized (bilinear) to S x S and grey is repeated to 3 channels when the scorer wants colour.
 */
import { existsSync, statSync } from 'node:fs';
import { PathError, resolveInside } from '../files.ts';
import ort from 'onnxruntime-node';
import { OnnxInfoError, readOnnxGraphInfo, type OnnxGraphInfo } from './onnx-info.ts';

export interface ImagesLike {
  count: number;
  channels: number;
  height: number;
  width: number;
  data: ArrayLike<number>;
}

export interface ScorerShape {
  inputName: string;
  outputName: string;
  channels: 1 | 3;
}

/**
 * The file a workflow's scorer path names, inside the models folder (`root`), real path checked,
 * before anything is opened. Every path that leaves the folder gets the same message, so the
 * answer never tells whether something exists outside it.
 */
export function scorerFileInside(root: string | undefined, relative: string): { ok: true; file: string } | { ok: false; message: string } {
  if (!relative) return { ok: false, message: 'no scorer file is given (a path inside the models folder)' };
  if (!root) return { ok: false, message: 'no models folder is configured, so no ONNX scorer can be loaded' };
  try {
    return { ok: true, file: resolveInside(root, relative, 'models') };
  } catch (error) {
    if (error instanceof PathError) return { ok: false, message: `${error.message}; give a path relative to it (e.g. scorers/aesthetic.onnx)` };
    throw error;
  }
}

/**
 * Checks a scorer file against an input size without loading it. Returns the shape to feed,
 * or a message a person can act on (missing file, not ONNX, input that does not fit), naming the
 * file as `shown` (a workflow's path, relative to the models folder).
 */
export function inspectOnnxScorer(file: string, inputSize: number, shown = file): { ok: true; shape: ScorerShape } | { ok: false; message: string } {
  if (!file) return { ok: false, message: 'no scorer file is given' };
  if (!existsSync(file)) return { ok: false, message: `scorer file ${shown} does not exist` };
  if (!statSync(file).isFile()) return { ok: false, message: `${shown} is not a file` };
  let info: OnnxGraphInfo;
  try {
    info = readOnnxGraphInfo(file);
  } catch (error) {
    const why = error instanceof OnnxInfoError ? error.message : (error as Error).message;
    return { ok: false, message: `${shown} is not a readable ONNX model (${why})` };
  }
  if (info.inputs.length !== 1) return { ok: false, message: `${shown} has ${info.inputs.length} inputs; a scorer takes exactly one image input` };
  if (info.outputs.length < 1) return { ok: false, message: `${shown} has no outputs` };
  const [input] = info.inputs;
  if (input.elemType !== 1) return { ok: false, message: `${shown}: input "${input.name}" is not float32` };
  if (input.dims.length !== 4)
    return { ok: false, message: `${shown}: input "${input.name}" has shape [${input.dims.join(', ')}]; expected [N, C, ${inputSize}, ${inputSize}]` };
  const [, channels, height, width] = input.dims;
  const fits = (dim: number | string | null) => typeof dim !== 'number' || dim === inputSize;
  if (!fits(height) || !fits(width)) {
    return { ok: false, message: `${shown}: input "${input.name}" is ${height}x${width}, but input_size is ${inputSize}` };
  }
  if (typeof channels === 'number' && channels !== 1 && channels !== 3) {
    return { ok: false, message: `${shown}: input "${input.name}" has ${channels} channels; scorers take 1 or 3` };
  }
  const [output] = info.outputs;
  const perImage = output.dims.slice(1).reduce<number>((size, dim) => size * (typeof dim === 'number' ? dim : 1), 1);
  if (output.dims.length > 2 || perImage !== 1) {
    return {
      ok: false,
      message: `${shown}: output "${output.name}" has shape [${output.dims.join(', ')}]; a scorer gives one score per image ([N] or [N, 1])`,
    };
  }
  return { ok: true, shape: { inputName: input.name, outputName: output.name, channels: channels === 3 ? 3 : 1 } };
}

/** Bilinear resize of planar images to size x size, with channels adapted (grey <-> RGB). */
export function resizeImages(images: ImagesLike, size: number, channels: 1 | 3): Float32Array {
  const { count, height, width, data } = images;
  const out = new Float32Array(count * channels * size * size);
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < channels; c++) {
      // grey -> RGB repeats the plane; RGB -> grey averages the three.
      const sample = (y: number, x: number) => {
        const base = n * images.channels * plane + y * width + x;
        if (images.channels === channels) return data[base + c * plane];
        if (images.channels === 1) return data[base];
        return (data[base] + data[base + plane] + data[base + 2 * plane]) / 3;
      };
      for (let y = 0; y < size; y++) {
        const sy = Math.min(height - 1, Math.max(0, ((y + 0.5) * height) / size - 0.5));
        const y0 = Math.floor(sy),
          y1 = Math.min(height - 1, y0 + 1),
          wy = sy - y0;
        for (let x = 0; x < size; x++) {
          const sx = Math.min(width - 1, Math.max(0, ((x + 0.5) * width) / size - 0.5));
          const x0 = Math.floor(sx),
            x1 = Math.min(width - 1, x0 + 1),
            wx = sx - x0;
          const top = sample(y0, x0) * (1 - wx) + sample(y0, x1) * wx;
          const bottom = sample(y1, x0) * (1 - wx) + sample(y1, x1) * wx;
          out[((n * channels + c) * size + y) * size + x] = top * (1 - wy) + bottom * wy;
        }
      }
    }
  }
  return out;
}

export class OnnxScorerError extends Error {
  override readonly name = 'OnnxScorerError';
}

/** A loaded scorer; sessions are cached per file and size by the caller (RewardScorer keeps one per path). */
export class OnnxScorer {
  private constructor(
    readonly file: string,
    /** The file as errors name it (relative to the models folder). */
    readonly shown: string,
    readonly inputSize: number,
    readonly shape: ScorerShape,
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(file: string, inputSize: number, shown = file): Promise<OnnxScorer> {
    const inspected = inspectOnnxScorer(file, inputSize, shown);
    if (!inspected.ok) throw new OnnxScorerError(inspected.message);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
    } catch (error) {
      throw new OnnxScorerError(
        `${shown}: onnxruntime cannot load it (${String((error as Error).message)
          .split('\n')[0]
          .replace(file, shown)})`,
      );
    }
    return new OnnxScorer(file, shown, inputSize, inspected.shape, session);
  }

  async score(images: ImagesLike): Promise<Float64Array> {
    const input = resizeImages(images, this.inputSize, this.shape.channels);
    const tensor = new ort.Tensor('float32', input, [images.count, this.shape.channels, this.inputSize, this.inputSize]);
    const out = await this.session.run({ [this.shape.inputName]: tensor });
    const scores = out[this.shape.outputName].data as Float32Array;
    if (scores.length !== images.count) throw new OnnxScorerError(`${this.shown} gave ${scores.length} scores for ${images.count} images`);
    return Float64Array.from(scores);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
