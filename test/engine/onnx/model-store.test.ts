import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../../engine/onnx/model-error.ts';
import { DEFAULT_MODELS_ROOT, ModelStore } from '../../../engine/onnx/model-store.ts';
import { committedModelMissing, syntheticModelCopy } from './helpers.ts';

describe('ModelStore', () => {
  let copy: Awaited<ReturnType<typeof syntheticModelCopy>>;
  let store: ModelStore;
  before(async () => {
    copy = await syntheticModelCopy('tiny');
    await mkdir(path.join(copy.root, 'not-a-model'));
    store = new ModelStore(copy.root, { provider: 'cpu' });
  });
  after(async () => {
    await store.dispose();
    await copy.cleanup();
  });

  it('lists folders that hold a model.json', async () => {
    assert.deepEqual(await store.list(), ['tiny']);
    assert.deepEqual(await new ModelStore(path.join(copy.root, 'nowhere')).list(), []);
  });

  it('lists the committed model in the default root', { skip: committedModelMissing }, async () => {
    assert.equal(new ModelStore().root, DEFAULT_MODELS_ROOT);
    assert.ok((await new ModelStore().list()).includes('fmnist'));
  });

  it('creates sessions once: loads, sequential or concurrent, share one model', async () => {
    const [a, b] = await Promise.all([store.load('tiny'), store.load('tiny')]);
    assert.equal(a, b);
    assert.equal(await store.load('tiny'), a);
    assert.equal(await store.classifier('tiny'), await store.classifier('tiny'));
  });

  it('names the model and lists known ones when a model is unknown', async () => {
    await assert.rejects(
      store.load('nope'),
      (e: unknown) =>
        e instanceof ModelError && e.code === 'model_not_found' && /nope[/\\]model\.json: model "nope" does not exist \(models here: tiny\)/.test(e.message),
    );
    await assert.rejects(store.load('../tiny'), (e: unknown) => e instanceof ModelError && /is not a model name/.test(e.message));
  });

  it('a model folder that is a symlink out of the models folder is refused before anything is read, naming no machine path', async () => {
    const outside = await syntheticModelCopy('elsewhere');
    try {
      await symlink(path.join(outside.root, 'elsewhere'), path.join(copy.root, 'linked'));
      await assert.rejects(store.load('linked'), (e: unknown) => {
        assert.ok(e instanceof ModelError && e.code === 'model_not_found', String(e));
        assert.equal(e.message, 'models: "linked" is not inside the models folder');
        return true;
      });
      await assert.rejects(store.load('nope'), (e: unknown) => e instanceof Error && !e.message.includes(copy.root));
    } finally {
      await outside.cleanup();
    }
  });

  it('does not cache a failed load: fixing the files makes the next load work', async () => {
    const fixable = path.join(copy.root, 'fixable');
    await mkdir(fixable);
    await writeFile(path.join(fixable, 'model.json'), '{ not json');
    await assert.rejects(store.load('fixable'), /fixable[/\\]model\.json: is not valid JSON/);
    await cp(copy.dir, fixable, { recursive: true }); // the fix: a valid model in its place
    const model = await store.load('fixable');
    assert.equal(model.blockCount, 4);
    await rm(fixable, { recursive: true });
  });

  it('describes a model from its manifest without loading it, and reads the manifest again when it changes', async () => {
    assert.deepEqual(store.info('tiny'), { blocks: 4 });
    assert.equal(store.info('nope'), undefined);
    assert.equal(store.info('../tiny'), undefined);
    const other = path.join(copy.root, 'described');
    await cp(copy.dir, other, { recursive: true });
    assert.deepEqual(store.info('described'), { blocks: 4 });
    const manifest = JSON.parse(await readFile(path.join(other, 'model.json'), 'utf8'));
    manifest.segments = manifest.segments.filter((segment: { kind: string }, index: number) => segment.kind !== 'block' || index <= 2);
    await writeFile(path.join(other, 'model.json'), JSON.stringify(manifest));
    await utimes(path.join(other, 'model.json'), new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(store.info('described'), { blocks: 2 });
    await writeFile(path.join(other, 'model.json'), '{ not json');
    await utimes(path.join(other, 'model.json'), new Date(), new Date(Date.now() + 10000));
    assert.equal(store.info('described'), undefined);
    await rm(other, { recursive: true });
  });

  it('dispose releases models; the store can load again afterwards', async () => {
    const first = await store.load('tiny');
    await store.dispose();
    const second = await store.load('tiny');
    assert.notEqual(first, second);
    assert.equal(second.blockCount, 4);
  });
});
