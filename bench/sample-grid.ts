/**
 * Writes a grid of samples, one row per class, for looking at a model:
 * `node --import tsx bench/sample-grid.ts [steps] [sampler] [cfg] [out.png]`.
 */
import { writeFileSync } from 'node:fs';
import { ModelStore } from '../engine/onnx/index.ts';
import { generate } from '../engine/sampling/generate.ts';
import { computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import { encodePng } from '../engine/image/png.ts';
import { fromModelRange, imageBatch, tileBatch } from '../engine/image/image-batch.ts';

const [steps = '4', sampler = 'dpmpp_2m', cfg = '2', out = 'output/grid.png', upscale = '3'] = process.argv.slice(2);
const store = new ModelStore();
const model = await store.load('fmnist');
const perClass = 10;
const labels = Array.from({ length: 10 * perClass }, (_, i) => Math.floor(i / perClass));
const timesteps = computeTimesteps({ kind: 'trailing' }, Number(steps), parseNoiseSchedule(model.schedule));
const result = await generate({ handle: { name: 'fmnist', model, skip: null }, labels, seed: 1000, cfg: Number(cfg), sampler, timesteps });
const { channels, height, width, range } = model.image;
const grid = tileBatch(imageBatch(labels.length, channels, height, width, fromModelRange(result.images, range)), perClass);
const k = Number(upscale);
const big = imageBatch(1, 1, grid.height * k, grid.width * k);
for (let y = 0; y < big.height; y++)
  for (let x = 0; x < big.width; x++) big.data[y * big.width + x] = grid.data[Math.floor(y / k) * grid.width + Math.floor(x / k)];
writeFileSync(out, encodePng(big));
console.log(`${out}: ${steps} steps ${sampler} cfg ${cfg}, ${result.stats.seconds.toFixed(2)} s`);
await store.dispose();
