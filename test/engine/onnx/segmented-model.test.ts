import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../../engine/onnx/model-error.ts';
import { SegmentedModel } from '../../../engine/onnx/segmented-model.ts';
import { splitWorkersFromEnv } from '../../../engine/onnx/executors.ts';
import { COMMITTED_MODEL_DIR, committedModelMissing, maxAbsDifference, sampleInputs, syntheticModelCopy } from './helpers.ts';

/** Runs embed, every block and the head one call at a time, as a block-skipping sampler would. */
async function blockByBlock(model: SegmentedModel, x: Float32Array, t: Float32Array, label: number[]) {
  const { h, emb } = await model.embed({ x, t, label });
  let current = h;
  for (let i = 0; i < model.blockCount; i++) current = await model.block(i, { h: current, emb });
  return model.head({ h: current, emb, x });
}

/** The checks every segmented model must pass; run on the synthetic model and on models/fmnist. */
function chainContract(load: () => Promise<SegmentedModel>) {
  let model: SegmentedModel;
  before(async () => {
    model = await load();
  });
  after(() => model.dispose());

  it('forward (block chain) equals full.onnx', async () => {
    for (const batch of [1, 5]) {
      const { x, t, label } = sampleInputs(batch);
      const chain = await model.forward(x, t, label);
      const full = await model.forwardFull(x, t, label);
      assert.equal(chain.length, batch * 784);
      assert.ok(
        chain.some((v) => v !== 0),
        'output is not all zeros',
      );
      assert.ok(maxAbsDifference(chain, full) < 1e-4, `batch ${batch}: max |chain - full| = ${maxAbsDifference(chain, full)}`);
    }
  });

  it('forwardAll runs full.onnx when there is one (the unskipped fast path), the chain when preferFull is off', async () => {
    const { x, t, label } = sampleInputs(3);
    assert.equal(model.preferFull, process.env.FEWSTEP_BLOCK_CHAIN !== '1');
    const saved = model.preferFull;
    try {
      model.preferFull = true;
      assert.deepEqual(await model.forwardAll(x, t, label), await model.forwardFull(x, t, label));
      model.preferFull = false;
      assert.deepEqual(await model.forwardAll(x, t, label), await model.forward(x, t, label));
    } finally {
      model.preferFull = saved;
    }
  });

  it('block-by-block execution equals forward', async () => {
    const { x, t, label } = sampleInputs(3);
    const stepwise = await blockByBlock(model, x, t, label);
    assert.ok(maxAbsDifference(stepwise, await model.forward(x, t, label)) < 1e-6);
  });

  it('is batch-agnostic: a sample gives the same output alone or in a batch', async () => {
    const { x, t, label } = sampleInputs(4);
    const batched = await model.forward(x, t, label);
    const alone = await model.forward(x.slice(2 * 784, 3 * 784), t.slice(2, 3), label.slice(2, 3));
    assert.ok(maxAbsDifference(alone, batched.slice(2 * 784, 3 * 784)) < 1e-4);
  });

  it('exposes a residual stream that blocks add to', async () => {
    const { x, t, label } = sampleInputs(2);
    const { h, emb } = await model.embed({ x, t, label });
    assert.equal(h.dims.length, 4);
    assert.equal(h.dims[0], 2);
    assert.deepEqual(emb.dims.slice(0, 1), [2]);
    const next = await model.block(0, { h, emb });
    assert.deepEqual(next.dims, h.dims);
    assert.notEqual(next.data, h.data, 'the block returns a new tensor, the input is untouched');
  });

  it('reports manifest facts', () => {
    const flops = model.flops;
    assert.equal(flops.blocks.length, model.blockCount);
    assert.equal(flops.total, flops.embed + flops.head + flops.blocks.reduce((a, b) => a + b, 0));
    assert.equal(model.classes.length, 10);
    assert.deepEqual(model.image, { channels: 1, height: 28, width: 28, range: [-1, 1] });
    assert.equal(model.prediction, 'v');
    assert.equal(typeof (model.schedule as { kind: string }).kind, 'string');
    assert.equal(model.provider, 'cpu');
  });

  it('rejects inputs of the wrong size, naming the model and the segment', async () => {
    const { x, t, label } = sampleInputs(2);
    await assert.rejects(
      model.forward(x.subarray(0, 700), t, label),
      (e: unknown) => e instanceof ModelError && e.code === 'bad_input' && /x has 700 values/.test(e.message),
    );
    await assert.rejects(model.forward(x, t, [1]), /label has 1 entries, t has 2/);
    await assert.rejects(
      model.block(model.blockCount, { h: { data: new Float32Array(1), dims: [1] }, emb: { data: new Float32Array(1), dims: [1] } }),
      /outside 0\.\./,
    );
  });
}

describe('SegmentedModel on a synthetic model', () => {
  let copy: Awaited<ReturnType<typeof syntheticModelCopy>>;
  before(async () => {
    copy = await syntheticModelCopy();
  });
  after(() => copy.cleanup());
  describe('sessions in this thread', () => chainContract(() => SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 1 })));
  describe('batch split over 2 worker threads', () =>
    chainContract(() => SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 })));

  it('names the file whose inputs differ from the manifest', async () => {
    const broken = await syntheticModelCopy();
    await copyFile(path.join(broken.dir, 'head.onnx'), path.join(broken.dir, 'block_01.onnx'));
    await assert.rejects(SegmentedModel.load(broken.dir, { provider: 'cpu' }), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'io_mismatch');
      assert.match(error.file, /block_01\.onnx$/);
      assert.equal(error.field, 'segments/2');
      assert.match(error.message, /inputs are \[h, emb, x\], manifest segments\/2 expects \[h, emb\]/);
      return true;
    });
    await broken.cleanup();
  });

  it('names an ONNX file onnxruntime cannot parse', async () => {
    const broken = await syntheticModelCopy();
    await copyFile(path.join(broken.dir, 'model.json'), path.join(broken.dir, 'head.onnx'));
    await assert.rejects(
      SegmentedModel.load(broken.dir, { provider: 'cpu' }),
      (e: unknown) => e instanceof ModelError && e.code === 'session_failed' && /head\.onnx: onnxruntime cannot load it/.test(e.message),
    );
    await broken.cleanup();
  });

  it('names a broken full.onnx when worker threads are asked for, too', async () => {
    const broken = await syntheticModelCopy();
    await copyFile(path.join(broken.dir, 'model.json'), path.join(broken.dir, 'full.onnx'));
    await assert.rejects(
      SegmentedModel.load(broken.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 }),
      (e: unknown) =>
        e instanceof ModelError && e.code === 'session_failed' && e.field === undefined && /full\.onnx: onnxruntime cannot load it/.test(e.message),
    );
    await broken.cleanup();
  });

  it('refuses calls after dispose', async () => {
    for (const workers of [1, 2]) {
      const model = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers });
      await model.dispose();
      const { x, t, label } = sampleInputs(1);
      await assert.rejects(model.forward(x, t, label), (e: unknown) => e instanceof ModelError && e.code === 'disposed');
    }
  });

  it('a failing call in a worker thread rejects that call only; the model keeps working', async () => {
    const model = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 });
    try {
      const { x, t, label } = sampleInputs(2);
      // A class index past the embedding table passes the shape checks and fails inside onnxruntime, in one worker.
      await assert.rejects(model.forwardFull(x, t, [99, 1]), (e: unknown) => e instanceof Error && !(e instanceof ModelError) && e.message.length > 0);
      assert.ok(maxAbsDifference(await model.forward(x, t, label), await model.forwardFull(x, t, label)) < 1e-4);
    } finally {
      await model.dispose();
    }
  });

  it('starts its worker threads only after some whole-model work in this thread, and gives the same outputs before and after', async () => {
    const model = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 1e-6 });
    try {
      assert.equal(model.threads, 1, 'nothing started at load');
      const { x, t, label } = sampleInputs(4);
      const before = await model.forwardFull(x, t, label);
      await model.startSplit();
      assert.equal(model.threads, 2);
      assert.ok(maxAbsDifference(await model.forwardFull(x, t, label), before) < 1e-5);
    } finally {
      await model.dispose();
    }
    const never = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 1 });
    await never.startSplit();
    assert.equal(never.threads, 1, 'workers: 1 never splits');
    await never.dispose();
  });

  it('when a worker thread dies, the call in flight and every later one run in this thread, said once', async () => {
    const lines: string[] = [];
    const model = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 0, log: (line) => lines.push(line) });
    const { x, t, label } = sampleInputs(4);
    const expected = await model.forwardFull(x, t, label);
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker) {
      Worker.prototype.postMessage = post;
      void this.terminate();
    };
    try {
      assert.deepEqual(await model.forwardFull(x, t, label), expected);
      assert.equal(model.threads, 1);
      assert.deepEqual(await model.forwardFull(x, t, label), expected);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /a worker thread exited/);
    } finally {
      Worker.prototype.postMessage = post;
      await model.dispose();
    }
  });

  it('concurrent calls on a split model each get their own rows back', async () => {
    const model = await SegmentedModel.load(copy.dir, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 });
    try {
      const inputs = [1, 2, 3, 5].map((batch) => sampleInputs(batch));
      const alone: Float32Array[] = [];
      for (const { x, t, label } of inputs) alone.push(await model.forwardFull(x, t, label));
      const together = await Promise.all(inputs.map(({ x, t, label }) => model.forwardFull(x, t, label)));
      together.forEach((out, i) => assert.deepEqual(out, alone[i], `call ${i}`));
    } finally {
      await model.dispose();
    }
  });

  it('FEWSTEP_ORT_WORKERS must be a whole number >= 1', () => {
    assert.equal(splitWorkersFromEnv({ FEWSTEP_ORT_WORKERS: '3' }), 3);
    assert.equal(splitWorkersFromEnv({}), os.availableParallelism());
    assert.throws(() => splitWorkersFromEnv({ FEWSTEP_ORT_WORKERS: 'two' }), /FEWSTEP_ORT_WORKERS: "two" is not a whole number >= 1/);
    assert.throws(() => splitWorkersFromEnv({ FEWSTEP_ORT_WORKERS: '0' }), /not a whole number >= 1/);
  });
});

describe('SegmentedModel on the committed fmnist model', { skip: committedModelMissing }, () => {
  describe('sessions in this thread', () => chainContract(() => SegmentedModel.load(COMMITTED_MODEL_DIR, { provider: 'cpu', workers: 1 })));
  describe('batch split over 2 worker threads', () =>
    chainContract(() => SegmentedModel.load(COMMITTED_MODEL_DIR, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 })));

  it('full.onnx with its batch split gives exactly what one thread gives, at every batch size', async () => {
    const local = await SegmentedModel.load(COMMITTED_MODEL_DIR, { provider: 'cpu', workers: 1 });
    const split = await SegmentedModel.load(COMMITTED_MODEL_DIR, { provider: 'cpu', workers: 2, splitAfterSeconds: 0 });
    try {
      assert.equal(local.threads, 1);
      assert.equal(split.threads, 2);
      for (const batch of [1, 2, 3, 8]) {
        const { x, t, label } = sampleInputs(batch);
        // Exactly: the split starts part-way through a run, and the same seed must give the same image.
        assert.deepEqual(await split.forwardFull(x, t, label), await local.forwardFull(x, t, label), `full, batch ${batch}`);
        assert.ok(maxAbsDifference(await split.forward(x, t, label), await split.forwardFull(x, t, label)) < 1e-4, `chain vs split full, batch ${batch}`);
      }
    } finally {
      await Promise.all([local.dispose(), split.dispose()]);
    }
  });
});
