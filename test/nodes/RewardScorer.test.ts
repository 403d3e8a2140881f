import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createFewstepSetup } from '../../server/setup.ts';
import { encodePng } from '../../engine/image/png.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';
import { encodeModel } from '../engine/onnx/fixtures/onnx-writer.ts';

const { engine, store } = createFewstepSetup();
// Scorer files live inside the models folder (a workflow's onnx_path cannot leave it): a hidden
// folder there, removed afterwards, that no model listing shows.
const scorerDir = path.join(store.root, `.test-scorers-${process.pid}`);
mkdirSync(scorerDir, { recursive: true });
const inModels = (file: string) => path.relative(store.root, file);
after(async () => {
  rmSync(scorerDir, { recursive: true, force: true });
  await store.dispose();
});
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
    '4': {
      class_type: 'FewStepSampler',
      inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 1, batch_size: batch, cfg: 2, sampler: 'ddim', eta: 0 },
    },
    '5': {
      class_type: 'RewardScorer',
      inputs: { images: ['4', 0], conditioning: ['2', 0], ...(withModel ? { model: ['1', 0] } : {}), ...scorerWidgets, ...scorer },
    },
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
  const dir = scorerDir;
  const missing = engine.validate(sampled({ onnx_weight: 1, onnx_path: inModels(path.join(dir, 'missing.onnx')) }));
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(JSON.stringify(missing.nodeErrors['5']), /onnx_path.*does not exist/);
  const file = path.join(dir, 'scorer64.onnx');
  writeFileSync(
    file,
    encodeModel({
      name: 'scorer',
      inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 3, 64, 64] }],
      outputs: [{ name: 'score', type: 'float32', dims: ['N', 1] }],
      initializers: [],
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
        { op: 'ReduceMean', inputs: ['pooled'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
      ],
    }),
  );
  const unfit = engine.validate(sampled({ onnx_weight: 1, onnx_path: inModels(file), onnx_input_size: 28 }));
  assert.equal(unfit.ok, false);
  if (!unfit.ok) assert.match(JSON.stringify(unfit.nodeErrors['5']), /64x64, but input_size is 28/);
  assert.equal(engine.validate(sampled({ onnx_weight: 1, onnx_path: inModels(file), onnx_input_size: 64 })).ok, true);
});

test('an ONNX scorer that fits scores the images (resized, grey repeated to RGB)', async () => {
  const dir = scorerDir;
  const file = path.join(dir, 'mean.onnx');
  writeFileSync(
    file,
    encodeModel({
      name: 'mean',
      inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 3, 32, 32] }],
      outputs: [{ name: 'score', type: 'float32', dims: ['N'] }],
      initializers: [],
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
        { op: 'ReduceMean', inputs: ['pooled'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
      ],
    }),
  );
  const result = await engine.run(sampled({ confidence_weight: 0, onnx_weight: 1, onnx_path: inModels(file), onnx_input_size: 32 }, true, 2), {
    folders: workspace(),
  });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') return;
  const stats = result.stats['5'] as Record<string, any>;
  assert.ok(stats.onnx > 0 && stats.onnx < 1, `mean brightness ${stats.onnx}`);
});

function meanScorer(file: string): void {
  writeFileSync(
    file,
    encodeModel({
      name: 'mean',
      inputs: [{ name: 'pixels', type: 'float32', dims: ['N', 1, 28, 28] }],
      outputs: [{ name: 'score', type: 'float32', dims: ['N'] }],
      initializers: [],
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'] },
        { op: 'ReduceMean', inputs: ['pooled'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
      ],
    }),
  );
}

test('onnx_path stays inside the models folder: every path outside gets one error, whether or not a file is there', () => {
  const outside = mkdtempSync(path.join(os.tmpdir(), 'fewstep-outside-'));
  const goodOutside = path.join(outside, 'good.onnx');
  meanScorer(goodOutside);
  const links = path.join(scorerDir, 'links');
  mkdirSync(links, { recursive: true });
  symlinkSync(goodOutside, path.join(links, 'to-good.onnx'));
  symlinkSync(path.join(outside, 'none.onnx'), path.join(links, 'to-none.onnx'));
  symlinkSync(outside, path.join(links, 'dir-out'));
  meanScorer(path.join(scorerDir, 'inside.onnx'));
  const paths = [
    '/etc/passwd',
    '/etc/shadow',
    '/no/such/scorer.onnx',
    goodOutside, // a scorer that fits, outside
    path.join(scorerDir, 'inside.onnx'), // absolute, even into the folder
    path.relative(store.root, goodOutside),
    '../../../../../../../../etc/passwd',
    inModels(path.join(links, 'to-good.onnx')),
    inModels(path.join(links, 'to-none.onnx')),
    inModels(path.join(links, 'dir-out', 'good.onnx')),
    inModels(path.join(links, 'dir-out', 'none.onnx')),
  ];
  const messages = new Set<string>();
  for (const onnx_path of paths) {
    const result = engine.validate(sampled({ onnx_weight: 1, onnx_path }));
    assert.equal(result.ok, false, onnx_path);
    if (result.ok) continue;
    const details = result.nodeErrors['5'].errors.map((e) => e.details).join('; ');
    messages.add(details.replace(JSON.stringify(onnx_path), '<path>'));
  }
  assert.deepEqual([...messages], ['onnx_path: <path> is not inside the models folder; give a path relative to it (e.g. scorers/aesthetic.onnx)']);
  assert.equal(engine.validate(sampled({ onnx_weight: 1, onnx_path: inModels(path.join(scorerDir, 'inside.onnx')) })).ok, true);
});

test('onnx_path inside the models folder: missing, a folder, not ONNX, each said naming the path relative to it', () => {
  writeFileSync(path.join(scorerDir, 'junk.onnx'), 'not a model');
  mkdirSync(path.join(scorerDir, 'folder.onnx'), { recursive: true });
  const said = (file: string) => {
    const result = engine.validate(sampled({ onnx_weight: 1, onnx_path: inModels(path.join(scorerDir, file)) }));
    assert.equal(result.ok, false);
    const text = result.ok ? '' : result.nodeErrors['5'].errors[0].details;
    assert.ok(!text.includes(store.root), `${text} shows the models folder's path`);
    return text;
  };
  const relative = inModels(scorerDir);
  assert.equal(said('none.onnx'), `onnx_path: scorer file ${relative}/none.onnx does not exist`);
  assert.equal(said('folder.onnx'), `onnx_path: ${relative}/folder.onnx is not a file`);
  assert.match(said('junk.onnx'), new RegExp(`^onnx_path: ${relative.replace(/\./g, '\\.')}/junk\\.onnx is not a readable ONNX model`));
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
