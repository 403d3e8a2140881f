import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createFewstepSetup } from '../../server/setup.ts';
import { encodePng } from '../../engine/image/png.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';
import { encodeModel } from '../engine/onnx/fixtures/onnx-writer.ts';

const { engine, store } = createFewstepSetup();
after(() => store.dispose());
const workspace = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-scorer-node-'));
  return { output: dir, temp: dir, input: dir };
};

const scorerWidgets = { confidence_weight: 1, fd_weight: 0, jpeg_weight: 0, onnx_weight: 0, onnx_path: '', onnx_input_size: 28 };

function sampled(scorer: Record<string, unknown>, withModel = true, batch = 4) {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'all classes' } },
    '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 2, spacing: 'trailing' } },
    '4': { class_type: 'FewStepSampler', inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 1, batch_size: batch, cfg: 2, sampler: 'ddim', eta: 0 } },
    '5': { class_type: 'RewardScorer', inputs: { images: ['4', 0], conditioning: ['2', 0], ...(withModel ? { model: ['1', 0] } : {}), ...scorerWidgets, ...scorer } },
  };
}

test('RewardScorer scores per image and the mean, shows it on the node and in stats', async () => {
  const result = await engine.run(sampled({ confidence_weight: 2, fd_weight: 0.5 }), { folders: workspace() });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') return;
  const stats = result.stats['5'] as Record<string, any>;
  assert.equal(stats.per_image.length, 4);
  assert.ok(stats.confidence >= 0 && stats.confidence <= 1);
  assert.ok(stats.fd > 0);
  // reward_i = 2 * confidence_i - 0.5 * FD; the mean of those is 2 * mean confidence - 0.5 * FD
  assert.ok(Math.abs(stats.reward - (2 * stats.confidence - 0.5 * stats.fd)) < 1e-9);
  assert.match(result.outputs['5'].text![0], /^reward -?\d+\.\d{4} \(mean of 4\); confidence/);
});

test('without a model, JPEG compressibility still scores; confidence asks for a model', async () => {
  const dir = workspace();
  writeFileSync(path.join(dir.input, 'flat.png'), encodePng(imageBatch(1, 1, 28, 28, new Float32Array(784).fill(0.5))));
  const jpeg = {
    '1': { class_type: 'LoadImage', inputs: { image: 'flat.png' } },
    '2': { class_type: 'RewardScorer', inputs: { images: ['1', 0], ...scorerWidgets, confidence_weight: 0, jpeg_weight: 1 } },
  };
  const result = await engine.run(jpeg, { folders: dir });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') return;
  const stats = result.stats['2'] as Record<string, any>;
  assert.ok(stats.jpeg_kb > 0.3 && stats.jpeg_kb < 2, `${stats.jpeg_kb} kB`);
  assert.equal(stats.reward, -stats.jpeg_kb);
  const noModel = await engine.run(sampled({}, false, 2), { folders: workspace() });
  assert.equal(noModel.status, 'failed');
  if (noModel.status === 'failed') assert.match(noModel.error.message, /need a model connected/);
});

test('a missing ONNX scorer or one whose input does not fit is a validation error, not a crash', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-onnx-scorer-'));
  const missing = engine.validate(sampled({ onnx_weight: 1, onnx_path: path.join(dir, 'missing.onnx') }));
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(JSON.stringify(missing.nodeErrors['5']), /onnx_path.*does not exist/);
  const file = path.join(dir, 'scorer64.onnx');
  writeFileSync(file, encodeModel({
    name: 'scorer',
    inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 3, 64, 64] }],
    outputs: [{ name: 'score', type: 'float32', dims: ['N', 1] }],
    initializers: [],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
      { op: 'ReduceMean', inputs: ['pooled'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
    ],
  }));
  const unfit = engine.validate(sampled({ onnx_weight: 1, onnx_path: file, onnx_input_size: 28 }));
  assert.equal(unfit.ok, false);
  if (!unfit.ok) assert.match(JSON.stringify(unfit.nodeErrors['5']), /64x64, but input_size is 28/);
  assert.equal(engine.validate(sampled({ onnx_weight: 1, onnx_path: file, onnx_input_size: 64 })).ok, true);
});

test('an ONNX scorer that fits scores the images (resized, grey repeated to RGB)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-onnx-scorer-'));
  const file = path.join(dir, 'mean.onnx');
  writeFileSync(file, encodeModel({
    name: 'mean',
    inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 3, 32, 32] }],
    outputs: [{ name: 'score', type: 'float32', dims: ['N'] }],
    initializers: [],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
      { op: 'ReduceMean', inputs: ['pooled'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
    ],
  }));
  const result = await engine.run(sampled({ confidence_weight: 0, onnx_weight: 1, onnx_path: file, onnx_input_size: 32 }, true, 2), { folders: workspace() });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') return;
  const stats = result.stats['5'] as Record<string, any>;
  assert.ok(stats.onnx > 0 && stats.onnx < 1, `mean brightness ${stats.onnx}`);
});

test('a batch figure is not shown as per-image values: FD alone is labelled as one batch reward', async () => {
  const fdOnly = await engine.run(sampled({ confidence_weight: 0, fd_weight: 1 }), { folders: workspace() });
  assert.equal(fdOnly.status, 'success', JSON.stringify(fdOnly));
  if (fdOnly.status !== 'success') return;
  const stats = fdOnly.stats['5'] as Record<string, any>;
  // Every image gets the same value, minus the batch FD: it is a batch figure.
  assert.equal(new Set(stats.per_image).size, 1);
  assert.ok(Math.abs(stats.per_image[0] + stats.fd) < 1e-9);
  assert.equal(fdOnly.outputs['5'].text![1], `batch reward ${(-stats.fd).toFixed(3)}, the same for all 4 images (FD scores the batch, not each image)`);

  const mixed = await engine.run(sampled({ confidence_weight: 1, fd_weight: 0.5 }), { folders: workspace() });
  assert.equal(mixed.status, 'success');
  if (mixed.status !== 'success') return;
  const mixedStats = mixed.stats['5'] as Record<string, any>;
  const line = mixed.outputs['5'].text![1];
  assert.match(line, /^per image: (-?\d+\.\d{3}, ){3}-?\d+\.\d{3} \(each includes the batch FD term -\d+\.\d{3}\)$/);
  assert.ok(line.endsWith(`term ${(-0.5 * mixedStats.fd).toFixed(3)})`), line);
});
