import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadManifest } from '../../../engine/onnx/manifest.ts';
import { ModelError } from '../../../engine/onnx/model-error.ts';
import { COMMITTED_MODEL_DIR, committedModelMissing, editManifest, syntheticModelCopy } from './helpers.ts';

/** Asserts `promise` rejects with a ModelError of `code` whose message names model.json and `field`. */
async function rejectsNaming(promise: Promise<unknown>, code: string, field: string | undefined, text: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ModelError, `expected ModelError, got ${error}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    assert.match(error.file, /model\.json$/);
    assert.match(error.message, /model\.json: /);
    if (field) assert.ok(error.message.includes(`: ${field}: `), error.message);
    assert.match(error.message, text);
    return true;
  });
}

describe('loadManifest', () => {
  let model: Awaited<ReturnType<typeof syntheticModelCopy>>;
  before(async () => {
    model = await syntheticModelCopy();
  });
  after(() => model.cleanup());
  const fresh = async (edit: (manifest: any) => void) => {
    const copy = await syntheticModelCopy();
    await editManifest(copy.dir, edit);
    return copy;
  };

  it('reads a valid manifest', async () => {
    const manifest = await loadManifest(model.dir);
    assert.equal(manifest.format, 'fewstep-segmented/1');
    assert.equal(manifest.segments.length, 6);
    assert.equal(manifest.prediction, 'v');
  });

  it('reads the committed fmnist manifest', { skip: committedModelMissing }, async () => {
    const manifest = await loadManifest(COMMITTED_MODEL_DIR);
    assert.equal(manifest.name, 'fmnist');
    assert.deepEqual(manifest.image, { channels: 1, height: 28, width: 28, range: [-1, 1] });
    assert.equal(manifest.classes.length, 10);
  });

  it('names the field of a bad value, and lists the allowed ones', async () => {
    const copy = await fresh((m) => {
      m.prediction = 'noise';
    });
    await rejectsNaming(loadManifest(copy.dir), 'manifest_invalid', 'prediction', /must be one of "v", "eps", "x0"/);
    await copy.cleanup();
  });

  it('names a nested field and a missing required one', async () => {
    const nested = await fresh((m) => {
      m.segments[2].flops = -5;
    });
    await rejectsNaming(loadManifest(nested.dir), 'manifest_invalid', 'segments/2/flops', /must be >= 0/);
    const missing = await fresh((m) => {
      delete m.image.height;
    });
    await rejectsNaming(loadManifest(missing.dir), 'manifest_invalid', 'image/height', /is required/);
    await Promise.all([nested.cleanup(), missing.cleanup()]);
  });

  it('names a segment file that does not exist', async () => {
    const copy = await syntheticModelCopy();
    await rm(path.join(copy.dir, 'block_02.onnx'));
    await rejectsNaming(loadManifest(copy.dir), 'file_missing', 'segments/3/file', /segments\/3\/file: block_02\.onnx does not exist/);
    await copy.cleanup();
  });

  it('reports corrupt JSON and a missing model.json', async () => {
    const copy = await syntheticModelCopy();
    await writeFile(path.join(copy.dir, 'model.json'), '{"format": "fewstep-segmented/1", ');
    await rejectsNaming(loadManifest(copy.dir), 'manifest_unreadable', undefined, /is not valid JSON/);
    await rm(path.join(copy.dir, 'model.json'));
    await rejectsNaming(loadManifest(copy.dir), 'model_not_found', undefined, /does not exist/);
    await copy.cleanup();
  });

  it('checks segment order and segment input/output names', async () => {
    const order = await fresh((m) => {
      m.segments.reverse();
    });
    await rejectsNaming(loadManifest(order.dir), 'manifest_invalid', 'segments/0/kind', /is "head", expected "embed"/);
    const io = await fresh((m) => {
      m.segments[1].inputs = ['h', 'emb', 'x'];
    });
    await rejectsNaming(loadManifest(io.dir), 'manifest_invalid', 'segments/1/inputs', /block inputs must be \[h, emb\]/);
    const noBlocks = await fresh((m) => {
      m.segments = [m.segments[0], m.segments.at(-1)];
    });
    await rejectsNaming(loadManifest(noBlocks.dir), 'manifest_invalid', 'segments', /fewer than 3/);
    await Promise.all([order.cleanup(), io.cleanup(), noBlocks.cleanup()]);
  });

  it('refuses file names that leave the model folder', async () => {
    const copy = await fresh((m) => {
      m.segments[1].file = '../elsewhere.onnx';
    });
    await rejectsNaming(loadManifest(copy.dir), 'manifest_invalid', 'segments/1/file', /must match pattern/);
    await copy.cleanup();
  });
});
