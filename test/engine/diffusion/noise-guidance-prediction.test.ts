import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DiffusionError,
  NormalStream,
  addNoise,
  applyClassifierFreeGuidance,
  batchNormalNoise,
  denoisedFromModelOutput,
  doubleBatch,
  guidanceLabels,
  guidanceScaleAt,
  modelOutputFromDenoised,
  needsUnconditional,
} from '../../../engine/diffusion/index.ts';
import { meanAndStd } from './oracles.ts';

test('NormalStream: same seed gives identical values, nearby seeds differ, values are standard normal', () => {
  const draw = (seed: number, n: number) => {
    const out = new Float32Array(n);
    new NormalStream(seed).fill(out);
    return out;
  };
  assert.deepEqual(draw(42, 1000), draw(42, 1000));
  assert.notDeepEqual(draw(42, 16), draw(43, 16));
  assert.notDeepEqual(draw(2 ** 40, 16), draw(2 ** 40 + 2 ** 32, 16));
  const { mean, std } = meanAndStd(draw(7, 200_000));
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(std - 1) < 0.01, `${mean} ${std}`);
  assert.throws(() => new NormalStream(-1), DiffusionError);
  assert.throws(() => new NormalStream(1.5), DiffusionError);
});

test('batchNormalNoise: element i draws from stream seed + i, and later draws continue the stream', () => {
  const noise = batchNormalNoise(100, 3);
  const first = noise(12);
  const second = noise(12);
  for (let i = 0; i < 3; i++) {
    const alone = new Float32Array(8);
    new NormalStream(100 + i).fill(alone);
    assert.deepEqual(first.slice(i * 4, i * 4 + 4), alone.slice(0, 4));
    assert.deepEqual(second.slice(i * 4, i * 4 + 4), alone.slice(4, 8));
  }
  assert.throws(
    () => noise(10),
    (error: unknown) => error instanceof DiffusionError && error.code === 'shape_mismatch',
  );
});

test('guidance: scale 1 returns cond, scale 0 returns uncond, otherwise extrapolates', () => {
  const doubled = new Float32Array([1, 2, 3, 10, 20, 30]); // cond [1, 2, 3]; uncond [10, 20, 30]
  assert.deepEqual(applyClassifierFreeGuidance(doubled, 1), new Float32Array([1, 2, 3]));
  assert.deepEqual(applyClassifierFreeGuidance(doubled, 0), new Float32Array([10, 20, 30]));
  assert.deepEqual(applyClassifierFreeGuidance(doubled, 2), new Float32Array([-8, -16, -24]));
  assert.throws(() => applyClassifierFreeGuidance(new Float32Array(3), 2), DiffusionError);
  assert.equal(needsUnconditional(1), false);
  assert.equal(needsUnconditional(4.5), true);
});

test('guidance helpers build the doubled batch and labels with the null class', () => {
  assert.deepEqual(doubleBatch(new Float32Array([1, 2])), new Float32Array([1, 2, 1, 2]));
  assert.deepEqual(guidanceLabels([3, 7], 10), new Int32Array([3, 7, 10, 10]));
  assert.equal(guidanceScaleAt(4, 2), 4);
  assert.equal(guidanceScaleAt([5, 3, 1], 1), 3);
  assert.throws(() => guidanceScaleAt([5, 3], 2), DiffusionError);
});

test('prediction conversions round-trip for v, eps and x0', () => {
  const alpha = 0.6;
  const sigma = 0.8;
  const x0 = new Float32Array([0.5, -1, 0.25]);
  const eps = new Float32Array([1.5, 0.1, -2]);
  const xt = addNoise(x0, eps, alpha, sigma);
  for (const prediction of ['v', 'eps', 'x0'] as const) {
    const recovered = denoisedFromModelOutput(prediction, xt, modelOutputFromDenoised(prediction, x0, eps, alpha, sigma), alpha, sigma);
    recovered.x0.forEach((value, i) => assert.ok(Math.abs(value - x0[i]) < 1e-6, `${prediction} x0`));
    recovered.eps.forEach((value, i) => assert.ok(Math.abs(value - eps[i]) < 1e-6, `${prediction} eps`));
  }
  // v = alpha eps - sigma x0 (the convention of diffusers' get_velocity)
  assert.ok(Math.abs(modelOutputFromDenoised('v', x0, eps, alpha, sigma)[0] - (0.6 * 1.5 - 0.8 * 0.5)) < 1e-6);
});
