import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasJudge, JUDGE_STATS_FILE, loadJudge, type Judge } from '../../../bench/lib/judge.ts';
import { Classifier } from '../../../engine/onnx/index.ts';
import { classAgreement } from '../../../engine/rewards/classifier-scores.ts';
import { featureMoments } from '../../../engine/rewards/frechet.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const modelDir = path.join(root, 'models', 'fmnist');
const FIXTURE = path.join(root, 'test', 'fixtures', 'fmnist-test-images.bin');
const PIXELS = 28 * 28;

/** The fixture: 5 test-split images of each class (uint8 pixels, then uint8 labels), written by models/recipe/judge.py. */
function fixtureImages(): { images: Float32Array; labels: number[] } {
  const bytes = readFileSync(FIXTURE);
  const count = bytes.length / (PIXELS + 1);
  assert.ok(Number.isInteger(count), 'fixture is whole images plus one label each');
  const images = Float32Array.from(bytes.subarray(0, count * PIXELS), (v) => v / 127.5 - 1);
  return { images, labels: [...bytes.subarray(count * PIXELS)] };
}

describe('the independent judge (models/fmnist/judge.onnx)', { skip: hasJudge(modelDir) ? false : 'models/fmnist has no judge' }, () => {
  let judge: Judge;
  let classifier: Classifier;
  before(async () => {
    judge = await loadJudge(modelDir, { provider: 'cpu' });
    classifier = await Classifier.load(modelDir, { provider: 'cpu' });
  });
  after(async () => {
    await judge?.classifier.dispose();
    await classifier?.dispose();
  });

  it('has statistics of its own feature size over the whole test split, a falling FD floor, and a test accuracy', async () => {
    const { info } = judge;
    const { featureDim } = await judge.classifier.classify(new Float32Array(PIXELS));
    assert.equal(info.dim, featureDim);
    assert.equal(info.n, 10000);
    assert.ok(info.testAccuracy! >= 0.9 && info.testAccuracy! <= 1, `test accuracy ${info.testAccuracy}`);
    const floors = [256, 1000, 2000, 5000].map((n) => info.fdFloor![String(n)]);
    floors.slice(1).forEach((floor, i) => assert.ok(floor < floors[i], `FD floor falls with n: ${floors.join(', ')}`));
    const stats = await judge.classifier.featureStats();
    for (let i = 0; i < stats.dim; i += 17)
      assert.ok(Math.abs(stats.cov[i][(i * 7) % stats.dim] - stats.cov[(i * 7) % stats.dim][i]) < 1e-5, 'covariance is symmetric');
  });

  it("classifies real test images as the dataset labels them, and mostly as the model's classifier does", async () => {
    const { images, labels } = fixtureImages();
    assert.equal(labels.length, 50);
    assert.deepEqual(
      [...new Set(labels)].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const judged = await judge.classifier.classify(images);
    const model = await classifier.classify(images);
    const accuracyOf = (logits: Float32Array, wanted: readonly number[]) => classAgreement(logits, 10, wanted).reduce((a, b) => a + b, 0) / wanted.length;
    // Measured: 43 of 50 for each network (these first five of each class are harder than the
    // split as a whole: 92.0% and 92.4% test accuracy), and the two pick the same class for 42.
    const judgeAccuracy = accuracyOf(judged.logits, labels);
    assert.ok(judgeAccuracy >= 0.8, `judge accuracy on the fixture ${judgeAccuracy}`);
    assert.ok(Math.abs(judgeAccuracy - accuracyOf(model.logits, labels)) <= 0.1, "about as accurate as the model's classifier");
    const judgedClasses = labels.map((_, row) => argmax(judged.logits.subarray(row * 10, row * 10 + 10)));
    const sameClass = accuracyOf(model.logits, judgedClasses);
    assert.ok(sameClass >= 0.8, `the two classifiers agree on ${sameClass} of the fixture`);
  });

  it('puts real images far closer to the test statistics than noise', async () => {
    const { images } = fixtureImages();
    const noise = Float32Array.from(images, (_, i) => Math.sin(i * 12.9898) * 0.9);
    const real = judge.reference.distance(featureMoments((await judge.classifier.classify(images)).features, judge.info.dim));
    const fake = judge.reference.distance(featureMoments((await judge.classifier.classify(noise)).features, judge.info.dim));
    assert.ok(real * 3 < fake, `FD of 50 real images ${real.toFixed(2)}, of 50 noise images ${fake.toFixed(2)}`);
  });
});

describe('loadJudge errors', () => {
  it("names the judge file and the field, never the machine's paths", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-judge-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(path.join(modelDir, 'model.json'), path.join(dir, 'model.json'));
    await assert.rejects(loadJudge(dir), (error: Error) => error.message.startsWith(`${JUDGE_STATS_FILE}: missing`) && !error.message.includes(dir));
    writeFileSync(path.join(dir, JUDGE_STATS_FILE), '{"file": ');
    await assert.rejects(
      loadJudge(dir),
      (error: Error) => error.message.startsWith(`${JUDGE_STATS_FILE}: not readable JSON (`) && !error.message.includes(dir),
    );
    writeFileSync(path.join(dir, JUDGE_STATS_FILE), JSON.stringify({ file: 'judge.onnx', input: 'image', logits: 'logits', network: 'x', dim: 4, n: 10 }));
    await assert.rejects(loadJudge(dir), /^Error: judge-stats\.json: .*features/);
  });
});

describe('no reward, search, selection or node can reach the judge', () => {
  /** Every source file under the folders that make up the product (the judge is for bench/ only). */
  const productFolders = ['nodes', 'engine', 'server', 'web/src', 'bin', 'workflows'];
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? sources(full) : /\.(ts|mts|js|mjs|json)$/.test(name) ? [full] : [];
    });

  it('names the judge nowhere outside bench/ and models/recipe/', () => {
    const files = productFolders.filter((folder) => existsSync(path.join(root, folder))).flatMap((folder) => sources(path.join(root, folder)));
    assert.ok(
      files.some((file) => file.includes(`${path.sep}rewards${path.sep}`)),
      'the scan covers engine/rewards',
    );
    assert.ok(
      files.some((file) => file.includes(`${path.sep}nodes${path.sep}`)),
      'the scan covers nodes',
    );
    const naming = files.filter((file) => /judge/i.test(readFileSync(file, 'utf8'))).map((file) => path.relative(root, file));
    assert.deepEqual(naming, []);
  });

  it('no product module imports from bench/, where the judge loader lives', () => {
    const files = productFolders.filter((folder) => existsSync(path.join(root, folder))).flatMap((folder) => sources(path.join(root, folder)));
    const importing = files.filter((file) => /from\s+['"][./]*bench\//.test(readFileSync(file, 'utf8'))).map((file) => path.relative(root, file));
    assert.deepEqual(importing, []);
  });

  it('the model manifest does not list the judge, so the model store never loads it', () => {
    const manifest = readFileSync(path.join(modelDir, 'model.json'), 'utf8');
    assert.doesNotMatch(manifest, /judge/i);
  });
});

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
