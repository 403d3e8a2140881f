import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  classAgreement,
  classConfidence,
  combineRewards,
  inspectOnnxScorer,
  jpegSizes,
  OnnxScorer,
  OnnxScorerError,
  resizeImages,
  scoreImages,
} from '../../../engine/rewards/index.ts';
import { encodeModel } from '../onnx/fixtures/onnx-writer.ts';

const image = (count: number, fill: (i: number) => number, size = 28) => ({
  count,
  channels: 1,
  height: size,
  width: size,
  data: Float32Array.from({ length: count * size * size }, (_, i) => fill(i)),
});

test('class confidence is the softmax probability of the requested class; agreement its argmax', () => {
  const logits = [0, Math.log(3), 0, /* row 2 */ 5, 0, 0];
  const confidence = classConfidence(logits, 3, [1, 2]);
  assert.ok(Math.abs(confidence[0] - 0.6) < 1e-12);
  assert.ok(Math.abs(confidence[1] - 1 / (Math.exp(5) + 2)) < 1e-12);
  assert.deepEqual([...classAgreement(logits, 3, [1, 2])], [1, 0]);
  assert.throws(() => classConfidence(logits, 3, [3, 0]), RangeError);
});

test('JPEG: noise compresses worse than a flat image, and a smooth gradient lies between', () => {
  let state = 1;
  const noise = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const flat = jpegSizes(image(1, () => 0.5))[0];
  const gradient = jpegSizes(image(1, (i) => (i % 28) / 27))[0];
  const noisy = jpegSizes(image(1, noise))[0];
  assert.ok(flat < gradient && gradient < noisy, `flat ${flat}, gradient ${gradient}, noise ${noisy}`);
  const two = jpegSizes(image(2, (i) => (i < 784 ? 0.5 : noise())));
  assert.equal(two[0], flat);
  assert.ok(two[1] > flat);
});

test('weighted sums: per-image terms add, the batch FD is subtracted from every image', () => {
  const scores = combineRewards(
    2,
    { confidence: Float64Array.from([0.5, 1]), fd: 10, jpegKb: Float64Array.from([2, 4]) },
    { confidence: 2, fd: 0.1, jpeg: 0.5, onnx: 0 },
  );
  assert.deepEqual(scores.perImage, [2 * 0.5 - 1 - 1, 2 * 1 - 1 - 2]);
  assert.equal(scores.mean, (-1 + -1) / 2);
  assert.deepEqual(scores.terms, { confidence: 0.75, jpeg_kb: 3, fd: 10 });
});

test('scoreImages refuses a weighted term it cannot compute', async () => {
  await assert.rejects(scoreImages({ images: image(2, () => 0), weights: { confidence: 1, fd: 0, jpeg: 0, onnx: 0 } }), /classifier/);
  const jpegOnly = await scoreImages({ images: image(2, () => 0), weights: { confidence: 0, fd: 0, jpeg: 1, onnx: 0 } });
  assert.ok(jpegOnly.mean < 0);
});

test('ONNX scorer: missing file, wrong input size and bad output are messages; a fitting scorer scores', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fewstep-scorer-'));
  try {
    const missing = inspectOnnxScorer(path.join(dir, 'nope.onnx'), 28);
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.message : '', /does not exist/);
    const junk = path.join(dir, 'junk.onnx');
    await writeFile(junk, 'not a model at all');
    assert.match((inspectOnnxScorer(junk, 28) as { message: string }).message, /not a readable ONNX model|no graph/);
    // A scorer built from a simple graph: GlobalAveragePool -> Flatten gives [N, C] = [N, 1].
    const file = path.join(dir, 'scorer.onnx');
    await writeFile(
      file,
      encodeModel({
        name: 'scorer',
        inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 1, 32, 32] }],
        outputs: [{ name: 'score', type: 'float32', dims: ['N', 1] }],
        initializers: [],
        nodes: [
          { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
          { op: 'Flatten', inputs: ['pooled'], outputs: ['score'], attributes: { axis: 1 } },
        ],
      }),
    );
    const wrongSize = inspectOnnxScorer(file, 28);
    assert.equal(wrongSize.ok, false);
    assert.match((wrongSize as { message: string }).message, /32x32, but input_size is 28/);
    await assert.rejects(OnnxScorer.load(file, 28), OnnxScorerError);
    const scorer = await OnnxScorer.load(file, 32);
    const scores = await scorer.score(image(2, (i) => (i < 784 ? 0.25 : 0.75)));
    assert.ok(Math.abs(scores[0] - 0.25) < 1e-5 && Math.abs(scores[1] - 0.75) < 1e-5, `${[...scores]}`);
    await scorer.dispose();
    const multi = path.join(dir, 'multi.onnx');
    await writeFile(
      multi,
      encodeModel({
        name: 'multi',
        inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 1, 28, 28] }],
        outputs: [{ name: 'pooled', type: 'float32', dims: ['N', 1, 1, 1] }],
        initializers: [],
        nodes: [{ op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] }],
      }),
    );
    assert.match((inspectOnnxScorer(multi, 28) as { message: string }).message, /one score per image/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resizeImages keeps a constant image constant and adapts channels', () => {
  const resized = resizeImages(
    image(1, () => 0.3),
    64,
    3,
  );
  assert.equal(resized.length, 3 * 64 * 64);
  assert.ok(resized.every((v) => Math.abs(v - 0.3) < 1e-6));
});
