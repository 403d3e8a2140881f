import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentedModel } from '../../../engine/onnx/index.ts';
import { ModelRunner, createSkipSettings, type SkipConfig } from '../../../engine/skip/index.ts';
import { maxAbsDifference, sampleInputs, syntheticModelCopy } from '../onnx/helpers.ts';

// The synthetic fixture: 4 residual blocks, fmnist shapes.
let model: SegmentedModel;
let cleanup: () => Promise<void>;
before(async () => {
  const copy = await syntheticModelCopy();
  cleanup = copy.cleanup;
  model = await SegmentedModel.load(copy.dir, { provider: 'cpu' });
});
after(async () => {
  await model.dispose();
  await cleanup();
});

const settings = (config: SkipConfig) => createSkipSettings(config, model.blockCount);
const inputs = (batch: number) => {
  const { x, t, label } = sampleInputs(batch);
  return { x, t: t.fill(500), labels: Int32Array.from(label.map((l) => l % 10)) };
};

/** The chain by hand, with some blocks left out. */
async function chainWithout(x: Float32Array, t: Float32Array, labels: Int32Array, dropped: Set<number>) {
  const { h: h0, emb } = await model.embed({ x, t, label: labels });
  let h = h0;
  for (let b = 0; b < model.blockCount; b++) if (!dropped.has(b)) h = await model.block(b, { h, emb });
  return model.head({ h, emb, x });
}

test('reusing a residual equals running the block when its input is unchanged', async () => {
  const { x, t, labels } = inputs(3);
  const runner = new ModelRunner(model, settings({ policy: { kind: 'mask', rows: ['RRRR', 'RCCR', 'CCCC'] } }));
  const ran = await runner.evaluate(x, t, labels, { step: 0, steps: 3, uncondFrom: 3 });
  const reused = await runner.evaluate(x, t, labels, { step: 1, steps: 3, uncondFrom: 3 });
  const allReused = await runner.evaluate(x, t, labels, { step: 2, steps: 3, uncondFrom: 3 });
  assert.ok(maxAbsDifference(ran, reused) < 1e-5, `differ by ${maxAbsDifference(ran, reused)}`);
  assert.ok(maxAbsDifference(ran, allReused) < 1e-5);
  assert.ok(maxAbsDifference(ran, await model.forward(x, t, labels)) < 1e-5, 'the gated path equals the plain forward when all run');
  const s = runner.account.summary();
  assert.deepEqual([s.blocks_run, s.blocks_reused, s.blocks_dropped], [12 + 6, 6 + 12, 0]);
});

test('dropping a block is the chain without it, element by element in a mixed batch', async () => {
  const { x, t, labels } = inputs(4);
  // Conditional elements 0-1 drop block 1; unconditional elements 2-3 drop blocks 0 and 3.
  const runner = new ModelRunner(model, settings({ policy: { kind: 'mask', rows: ['RDRR'] }, guidance: { uncondRows: ['DRRD'] } }));
  const out = await runner.evaluate(x, t, labels, { step: 0, steps: 1, uncondFrom: 2 });
  const size = 784;
  const condOnly = await chainWithout(x.slice(0, 2 * size), t.slice(0, 2), labels.slice(0, 2), new Set([1]));
  const uncondOnly = await chainWithout(x.slice(2 * size), t.slice(2), labels.slice(2), new Set([0, 3]));
  assert.ok(maxAbsDifference(out.subarray(0, 2 * size), condOnly) < 1e-5);
  assert.ok(maxAbsDifference(out.subarray(2 * size), uncondOnly) < 1e-5);
  const s = runner.account.summary();
  const { embed, head, blocks } = model.flops;
  assert.equal(s.flops, 4 * (embed + head) + 2 * (3 * blocks[0]) + 2 * (2 * blocks[0]));
  assert.equal(s.uncond_flops, 2 * (embed + head + 2 * blocks[0]));
});

test('a skipped unconditional pass: S uses the conditional output, C reuses the last guidance direction', async () => {
  const { x: half, t: tHalf, labels: condLabels } = inputs(2);
  const x = new Float32Array(4 * 784);
  x.set(half, 0);
  x.set(half, 2 * 784);
  const t = new Float32Array(4).fill(tHalf[0]);
  const labels = Int32Array.of(condLabels[0], condLabels[1], 10, 10);
  const runner = new ModelRunner(model, settings({ policy: { kind: 'none' }, guidance: { uncondPass: 'RSC' } }));
  const first = await runner.evaluate(x, t, labels, { step: 0, steps: 3, uncondFrom: 2 });
  const skipped = await runner.evaluate(x, t, labels, { step: 1, steps: 3, uncondFrom: 2 });
  const reused = await runner.evaluate(x, t, labels, { step: 2, steps: 3, uncondFrom: 2 });
  const n = 2 * 784;
  assert.ok(maxAbsDifference(skipped.subarray(n), skipped.subarray(0, n)) === 0, 'S: uncond half = cond half');
  // Same inputs every step, so reusing the direction gives back step 0's uncond output.
  assert.ok(maxAbsDifference(reused.subarray(n), first.subarray(n)) < 1e-5);
  const s = runner.account.summary();
  assert.equal(s.uncond_passes_skipped, 4);
  assert.equal(s.flops, 4 * model.flops.total + 2 * 2 * model.flops.total);
  assert.equal(s.flops_saved_uncond_fraction, 4 / 12);
  assert.deepEqual(
    s.per_step.map((p) => p.uncond_skipped),
    [0, 2, 2],
  );
});

test('a run keeps its residuals to itself: a new runner on the same settings starts empty', async () => {
  const skip = settings({ policy: { kind: 'mask', rows: ['RRRR', 'CCCC'] } });
  const { x, t, labels } = inputs(2);
  const other = inputs(2);
  other.x.reverse();
  const warm = new ModelRunner(model, skip);
  await warm.evaluate(other.x, t, labels, { step: 0, steps: 2, uncondFrom: 2 });
  // A fresh run's step 1 would reuse residuals of warm's step 0 if settings carried them: they must not.
  const fresh = new ModelRunner(model, skip);
  const out = await fresh.evaluate(x, t, labels, { step: 1, steps: 2, uncondFrom: 2 });
  assert.ok(maxAbsDifference(out, await model.forward(x, t, labels)) < 1e-5, 'no residual existed, so every block ran');
  assert.equal(fresh.account.summary().blocks_reused, 0);
});

test("share: an unconditional element takes its conditional partner's residual at that block and step", async () => {
  const { x: half, t: tHalf, labels: condLabels } = inputs(2);
  const x = new Float32Array(4 * 784);
  x.set(half, 0);
  x.set(half, 2 * 784);
  const t = new Float32Array(4).fill(tHalf[0]);
  // With the same labels in both halves, the partner's residual is exactly what the block would give.
  const same = Int32Array.of(condLabels[0], condLabels[1], condLabels[0], condLabels[1]);
  const sharing = new ModelRunner(model, settings({ policy: { kind: 'none' }, guidance: { uncondRows: ['RSSD'] } }));
  const out = await sharing.evaluate(x, t, same, { step: 0, steps: 1, uncondFrom: 2 });
  const expected = await chainWithout(x.slice(0, 2 * 784), t.slice(0, 2), same.slice(0, 2), new Set([3]));
  assert.ok(maxAbsDifference(out.subarray(2 * 784), expected) < 1e-5);
  const s = sharing.account.summary();
  assert.deepEqual([s.blocks_run, s.blocks_shared, s.blocks_dropped], [2 * 4 + 2, 4, 2]);
  assert.equal(s.uncond_flops, 2 * (model.flops.embed + model.flops.head + model.flops.blocks[0]));
});

test('X reuses the guidance direction rescaled to clean-image units (by the ratio of x0 per output then and now)', async () => {
  const { x: half, t: tHalf, labels: condLabels } = inputs(2);
  const x = new Float32Array(4 * 784);
  x.set(half, 0);
  x.set(half, 2 * 784);
  const t = new Float32Array(4).fill(tHalf[0]);
  const labels = Int32Array.of(condLabels[0], condLabels[1], 10, 10);
  const runner = new ModelRunner(model, settings({ policy: { kind: 'none' }, guidance: { uncondPass: 'RX' } }));
  const first = await runner.evaluate(x, t, labels, { step: 0, steps: 2, uncondFrom: 2, x0PerOutput: -0.5 });
  const second = await runner.evaluate(x, t, labels, { step: 1, steps: 2, uncondFrom: 2, x0PerOutput: -1 });
  const n = 2 * 784;
  let worst = 0;
  for (let k = 0; k < n; k++) worst = Math.max(worst, Math.abs(second[n + k] - (second[k] - 0.5 * (first[k] - first[n + k]))));
  assert.ok(worst < 1e-5, `off by ${worst}`);
});

/** Records the model's whole-model and embed calls (as "all:<batch>", "embed:<batch>") while `body` runs. */
async function spying(calls: string[], body: () => Promise<unknown>): Promise<void> {
  const { forwardAll, embed } = SegmentedModel.prototype;
  const target = model as { forwardAll: typeof forwardAll; embed: typeof embed };
  target.forwardAll = function (this: SegmentedModel, ...args) {
    calls.push(`all:${args[1].length}`);
    return forwardAll.apply(this, args);
  };
  target.embed = function (this: SegmentedModel, ...args) {
    calls.push(`embed:${args[0].t.length}`);
    return embed.apply(this, args);
  };
  try {
    await body();
  } finally {
    delete (target as Partial<typeof target>).forwardAll;
    delete (target as Partial<typeof target>).embed;
  }
}

test('a step where the mask runs every block and keeps nothing runs the whole model in one call; the others run block by block', async () => {
  const { x, t, labels } = inputs(4);
  // Step 0: all run for both halves -> full.onnx. Step 1: the uncond half drops block 2 -> chain.
  // Step 2: the uncond pass is skipped and the cond half runs everything -> full.onnx on half the batch.
  const config: SkipConfig = {
    policy: { kind: 'mask', rows: ['RRRR', 'RRRR', 'RSRR'] },
    guidance: { uncondRows: ['RRRR', 'RRDR', 'RRRR'], uncondPass: 'RRS' },
  };
  const calls: string[] = [];
  const runner = new ModelRunner(model, settings(config));
  const outs: Float32Array[] = [];
  await spying(calls, async () => {
    for (let step = 0; step < 3; step++) outs.push(await runner.evaluate(x, t, labels, { step, steps: 3, uncondFrom: 2 }));
  });
  assert.deepEqual(calls, ['all:4', 'embed:4', 'all:2']);
  // The same steps block by block (FEWSTEP_BLOCK_CHAIN=1) agree to float rounding.
  const saved = model.preferFull;
  model.preferFull = false;
  try {
    const chained = new ModelRunner(model, settings(config));
    for (let step = 0; step < 3; step++) {
      const out = await chained.evaluate(x, t, labels, { step, steps: 3, uncondFrom: 2 });
      assert.ok(maxAbsDifference(out, outs[step]) < 1e-4, `step ${step}: ${maxAbsDifference(out, outs[step])}`);
    }
    // The same compute accounted either way (times aside).
    const counted = (r: ModelRunner) => JSON.stringify(r.account.summary(), (key, value) => (key === 'seconds' || key === 'model_seconds' ? undefined : value));
    assert.equal(counted(chained), counted(runner));
  } finally {
    model.preferFull = saved;
  }
});

test('a mask that reuses residuals, or a policy that looks at inputs, always runs block by block', async () => {
  const { x, t, labels } = inputs(2);
  for (const config of [
    { policy: { kind: 'mask', rows: ['RRRR', 'RCRR'] } },
    { policy: { kind: 'change', threshold: 0.1, blocks: [1, 2], start: 0, end: 1, action: 'reuse', maxConsecutive: 1 } },
  ] as SkipConfig[]) {
    const calls: string[] = [];
    const runner = new ModelRunner(model, settings(config));
    await spying(calls, () => runner.evaluate(x, t, labels, { step: 0, steps: 2, uncondFrom: 2 }));
    assert.deepEqual(calls, ['embed:2'], JSON.stringify(config.policy));
  }
});
