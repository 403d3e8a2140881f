/**
 * Seeded standard-normal noise. Each batch element i owns the stream for seed + i, and both
 * the initial noise and any ancestral step noise come from it, so an image depends only on
 * its own seed, not on the batch it was generated in. sfc32 + Box-Muller: fast, and the
 * same seed gives bit-identical noise on the same platform (Math.log/cos are not
 * guaranteed bit-identical across JS engines).
 */
import { DiffusionError } from './errors.ts';

/** A source of fresh standard-normal values shaped like the sample (length = batch * size). */
export type NormalNoise = (length: number) => Float32Array;

const TWO_POW_32 = 4294967296;

/** splitmix32 step: spreads nearby seeds (s, s + 1) into unrelated sfc32 states. */
function splitmix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** One element's stream of uint32 (sfc32) turned into normals (Box-Muller, pairs cached). */
export class NormalStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new DiffusionError('invalid_options', `seed must be a non-negative safe integer, got ${seed}`, 'seed');
    }
    // Seeds up to 2^53: fold the high word in so seeds differing only above 2^32 differ.
    let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) >>> 0, 0x27d4eb2f);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, output] = splitmix32(mix);
      mix = next;
      words.push(output);
    }
    [this.a, this.b, this.c, this.d] = words as [number, number, number, number];
    for (let i = 0; i < 12; i++) this.nextUint32(); // standard sfc32 warm-up
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextNormal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u1 = (this.nextUint32() + 1) / TWO_POW_32; // (0, 1]: log stays finite
    const u2 = this.nextUint32() / TWO_POW_32;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  fill(target: Float32Array, offset = 0, length = target.length - offset): void {
    for (let i = offset; i < offset + length; i++) target[i] = this.nextNormal();
  }
}

/**
 * Noise for a batch of `batchSize` elements laid out contiguously: element i's chunk of
 * every draw comes from stream (seed + i). Call it for the initial noise, then hand it to
 * the sampler's step for ancestral noise.
 */
export function batchNormalNoise(seed: number, batchSize: number): NormalNoise {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DiffusionError('invalid_options', `batch size must be a positive integer, got ${batchSize}`, 'batchSize');
  }
  const streams = Array.from({ length: batchSize }, (_, i) => new NormalStream(seed + i));
  return (length: number) => {
    if (length % batchSize !== 0) {
      throw new DiffusionError('shape_mismatch', `noise length ${length} is not a multiple of batch size ${batchSize}`, 'length');
    }
    const elementSize = length / batchSize;
    const out = new Float32Array(length);
    streams.forEach((stream, i) => stream.fill(out, i * elementSize, elementSize));
    return out;
  };
}
