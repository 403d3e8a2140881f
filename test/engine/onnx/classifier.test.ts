import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Classifier, loadFeatureStats } from '../../../engine/onnx/classifier.ts';
import { ModelError } from '../../../engine/onnx/model-error.ts';
import { softmax } from '../../../engine/onnx/tensors.ts';
import { COMMITTED_MODEL_DIR, committedModelMissing, sampleInputs, syntheticModelCopy } from './helpers.ts';

function classifierContract(dir: () => string) {
  let classifier: Classifier;
  before(async () => {
    classifier = await Classifier.load(dir(), { provider: 'cpu' });
  });
  after(() => classifier.dispose());

  it('gives logits [B,10] and features [B,F]; softmax rows sum to 1', async () => {
    const { x } = sampleInputs(3);
    const { logits, features, featureDim } = await classifier.classify(x);
    assert.equal(logits.length, 3 * 10);
    assert.ok(featureDim > 0);
    assert.equal(features.length, 3 * featureDim);
    const probabilities = classifier.probabilities(logits);
    for (let row = 0; row < 3; row++) {
      const sum = probabilities.slice(row * 10, row * 10 + 10).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} sums to ${sum}`);
    }
  });

  it('loads feature statistics of the declared dimension', async () => {
    const stats = await classifier.featureStats();
    const { featureDim } = await classifier.classify(sampleInputs(1).x);
    assert.equal(stats.dim, featureDim);
    assert.equal(stats.mean.length, stats.dim);
    assert.equal(stats.cov.length, stats.dim);
  });

  it('rejects a batch that is not whole images', async () => {
    await assert.rejects(classifier.classify(new Float32Array(100)), (e: unknown) => e instanceof ModelError && e.code === 'bad_input');
  });
}

describe('Classifier on a synthetic model', () => {
  let copy: Awaited<ReturnType<typeof syntheticModelCopy>>;
  before(async () => {
    copy = await syntheticModelCopy();
  });
  after(() => copy.cleanup());
  classifierContract(() => copy.dir);

  it('names the stats file and field when the statistics are malformed', async () => {
    const file = path.join(copy.dir, 'bad-stats.json');
    await writeFile(
      file,
      JSON.stringify({
        dim: 3,
        n: 10,
        mean: [0, 0],
        cov: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
      }),
    );
    await assert.rejects(loadFeatureStats(file), /bad-stats\.json: mean: has 2 entries, dim is 3/);
  });
});

describe('Classifier on the committed fmnist model', { skip: committedModelMissing }, () => {
  classifierContract(() => COMMITTED_MODEL_DIR);
});

describe('softmax', () => {
  it('is stable for large logits', () => {
    const p = softmax(Float32Array.from([1000, 1000, 0, 0]), 2);
    assert.deepEqual([...p], [0.5, 0.5, 0.5, 0.5]);
  });
});
