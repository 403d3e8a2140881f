import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Classifier, ModelStore } from '../../../engine/onnx/index.ts';
import { evaluate, frechetReferenceFor } from '../../../engine/sampling/evaluate.ts';

const store = new ModelStore();
after(() => store.dispose());

test('evaluate: balanced classes on fixed seeds, the same figures whatever the batch size, cached on disk', async () => {
  const model = await store.load('fmnist');
  const classifier = await store.classifier('fmnist');
  const reference = await frechetReferenceFor(classifier);
  const handle = { name: 'fmnist', model, skip: null };
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-eval-'));
  const config = { handle, classifier, reference, samples: 12, seedBase: 77, timesteps: [999, 500], cfg: 1, sampler: 'ddim', chunkSize: 6 };
  const first = await evaluate({ ...config, batchSize: 5, cacheDir });
  assert.equal(first.cached, false);
  assert.equal(first.samples, 12);
  assert.equal(first.nfe, 2);
  assert.equal(first.modelEvaluationsPerImage, 2, 'cfg 1: no unconditional pass');
  assert.ok(first.fd > 0 && first.chunkFd > 0);
  assert.ok(first.agreement >= 0 && first.agreement <= 1);
  const otherBatch = await evaluate({ ...config, batchSize: 12 });
  assert.ok(Math.abs(otherBatch.fd - first.fd) < 1e-6 * first.fd, 'image j uses seed base + j in any batch');
  const again = await evaluate({ ...config, batchSize: 3, cacheDir, chunkSize: 4 });
  assert.equal(again.cached, true);
  assert.equal(again.fd, first.fd);
  assert.equal(again.chunkSize, 4);
  assert.notEqual(again.chunkFd, first.chunkFd, 'chunk FD is recomputed from the cached features');
  assert.equal(readdirSync(cacheDir).length, 1);
  const otherSeeds = await evaluate({ ...config, seedBase: 78, cacheDir });
  assert.equal(otherSeeds.cached, false);
  assert.notEqual(otherSeeds.fd, first.fd);
});

test('evaluate: other classifiers score the same images; a cache entry without them is recomputed and extended', async () => {
  const model = await store.load('fmnist');
  const classifier = await store.classifier('fmnist');
  const reference = await frechetReferenceFor(classifier);
  // A second session of the same network: its figures must equal the primary ones exactly.
  const twin = await Classifier.load(classifier.dir, { provider: 'cpu' });
  after(() => twin.dispose());
  const handle = { name: 'fmnist', model, skip: null };
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-eval-'));
  const config = { handle, classifier, reference, samples: 10, seedBase: 91, timesteps: [999, 400], cfg: 1.5, sampler: 'ddim', chunkSize: 5, cacheDir };
  const plain = await evaluate(config);
  assert.deepEqual(plain.alsoScored, []);
  const scorers = [{ classifier: twin, reference }];
  const extended = await evaluate({ ...config, alsoScoreWith: scorers });
  assert.equal(extended.cached, false, 'the entry had no features of the other classifier');
  assert.equal(extended.alsoScored.length, 1);
  const [other] = extended.alsoScored;
  assert.ok(Math.abs(other.fd - plain.fd) < 1e-9 * plain.fd);
  assert.ok(Math.abs(other.chunkFd - plain.chunkFd) < 1e-9 * plain.chunkFd);
  assert.equal(other.agreement, plain.agreement);
  assert.ok(Math.abs(other.meanConfidence - plain.meanConfidence) < 1e-12);
  const again = await evaluate({ ...config, alsoScoreWith: scorers, chunkSize: 2 });
  assert.equal(again.cached, true);
  assert.ok(Math.abs(again.alsoScored[0].fd - other.fd) < 1e-9 * other.fd);
  assert.notEqual(again.alsoScored[0].chunkFd, other.chunkFd, 'chunk FD is recomputed from the cached features');
  assert.equal((await evaluate(config)).cached, true, 'the extended entry still serves the primary figures');
  assert.equal(readdirSync(cacheDir).length, 1);
});
