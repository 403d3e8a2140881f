import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { createEngine } from '../../../engine/index.ts';
import { computeTimesteps, parseNoiseSchedule } from '../../../engine/diffusion/index.ts';
import { allNodes } from '../../../nodes/index.ts';
import { type Classifier, DEFAULT_MODELS_ROOT, ModelStore, type SegmentedModel } from '../../../engine/onnx/index.ts';
import { generate } from '../../../engine/sampling/generate.ts';
import { maxAbsDifference, sampleInputs } from './helpers.ts';

const INT8_DIR = path.join(DEFAULT_MODELS_ROOT, 'fmnist-int8');
const missing = existsSync(path.join(INT8_DIR, 'model.json')) ? false : 'models/fmnist-int8 is not in this checkout (models/recipe/quantize.py builds it)';

/** Root-mean-square of a - b over the RMS of b. */
function relativeRms(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('the int8 copy of the default model (models/fmnist-int8)', { skip: missing, timeout: 300_000 }, () => {
  let store: ModelStore;
  let fp32: SegmentedModel;
  let int8: SegmentedModel;
  let classifier: Classifier;
  before(async () => {
    store = new ModelStore(DEFAULT_MODELS_ROOT, { provider: 'cpu', workers: 1 });
    [fp32, int8, classifier] = await Promise.all([store.load('fmnist'), store.load('fmnist-int8'), store.classifier('fmnist')]);
  });
  after(() => store.dispose());

  it('is listed by the model catalogue next to fmnist, with the same contract and a record of how it was made', () => {
    assert.ok(store.list().includes('fmnist-int8'));
    assert.deepEqual(int8.classes, fp32.classes);
    assert.equal(int8.blockCount, fp32.blockCount);
    assert.deepEqual(int8.flops, fp32.flops);
    const quantization = int8.manifest.quantization;
    assert.ok(quantization, 'model.json records the quantization');
    assert.equal(quantization.from, 'fmnist');
    assert.equal(quantization.recipe, 'models/recipe/quantize.py');
  });

  it('runs its int8 segments block by block exactly as its full.onnx (so SkipGate works on it)', async () => {
    const { x, t, label } = sampleInputs(4);
    const chain = await int8.forward(x, t, label);
    const full = await int8.forwardFull(x, t, label);
    assert.ok(maxAbsDifference(chain, full) < 1e-4, `max |chain - full| = ${maxAbsDifference(chain, full)}`);
    assert.ok(relativeRms(full, await fp32.forwardFull(x, t, label)) > 0, 'the int8 files differ from the fp32 ones');
  });

  it('samples images close to fp32 on a fixed seed (pixel error and class agreement)', async () => {
    const labels = Array.from({ length: 40 }, (_, i) => i % 10);
    const timesteps = computeTimesteps({ kind: 'trailing' }, 4, parseNoiseSchedule(fp32.schedule));
    const sample = (model: SegmentedModel) =>
      generate({ handle: { name: model.name, model, skip: null }, labels, seed: 1234, cfg: 2, sampler: 'ddim', timesteps });
    const [a, b] = [await sample(fp32), await sample(int8)];
    let sum = 0;
    for (let i = 0; i < a.images.length; i++) sum += Math.abs(a.images[i] - b.images[i]);
    const meanPixelError = sum / a.images.length;
    // Pixels span [-1, 1]; measured 0.017 here (the recipe's check: relative RMS error of v 2.5%).
    assert.ok(meanPixelError < 0.04, `mean |int8 - fp32| pixel error ${meanPixelError.toFixed(4)}`);
    const clamp = (images: Float32Array) => images.map((v) => Math.min(1, Math.max(-1, v)));
    const top = async (images: Float32Array) => {
      const { logits } = await classifier.classify(clamp(images));
      return labels.map((_, i) => {
        const row = logits.subarray(i * 10, (i + 1) * 10);
        return row.indexOf(Math.max(...row));
      });
    };
    const [topA, topB] = [await top(a.images), await top(b.images)];
    const same = topA.filter((c, i) => c === topB[i]).length / labels.length;
    const agreeB = topB.filter((c, i) => c === labels[i]).length / labels.length;
    const agreeA = topA.filter((c, i) => c === labels[i]).length / labels.length;
    assert.ok(same >= 0.9, `classifier gives the same class to ${(same * 100).toFixed(0)}% of image pairs`);
    assert.ok(agreeB >= agreeA - 0.05, `class agreement int8 ${agreeB} vs fp32 ${agreeA}`);
  });

  it('is offered by LoadModel and runs a graph with SkipGate dropping blocks (the block chain)', async () => {
    const engine = createEngine({ nodes: allNodes, models: store });
    const choices = engine.objectInfo().LoadModel.input.required.model_name as [string[], { default: string }];
    assert.ok(choices[0].includes('fmnist-int8'));
    assert.equal(choices[1].default, 'fmnist', 'fp32 stays the default');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-int8-'));
    try {
      const result = await engine.run(
        {
          '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist-int8' } },
          '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
          '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 2, spacing: 'trailing' } },
          '6': { class_type: 'SkipGate', inputs: { model: ['1', 0], mode: 'mask', mask: 'RRRDRRRRDR', uncond_mask: '', uncond_pass: '' } },
          '4': {
            class_type: 'FewStepSampler',
            inputs: { model: ['6', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 5, batch_size: 2, cfg: 2, sampler: 'ddim' },
          },
          '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
        },
        { folders: { output: dir, temp: dir, input: dir } },
      );
      assert.equal(result.status, 'success', JSON.stringify(result));
      if (result.status !== 'success') return;
      const stats = result.stats['4'] as Record<string, unknown>;
      assert.equal(stats.model, 'fmnist-int8');
      // 2 steps x 2 dropped blocks x 4 rows (2 images, guided)
      assert.equal(stats.blocks_dropped, 16);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
