import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import type { RunEvent } from '../../engine/index.ts';
import { createFewstepSetup } from '../../server/setup.ts';
import { ModelStore } from '../../engine/onnx/index.ts';
import type { ImageBatch } from '../../engine/image/image-batch.ts';

const { engine, store } = createFewstepSetup();
after(() => store.dispose());
const folders = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-nodes-'));
  return { output: dir, temp: dir, input: dir };
};

function prompt(sampler: Record<string, unknown> = {}, scheduler: Record<string, unknown> = {}, label = 'Sneaker') {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label } },
    '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 2, spacing: 'trailing', ...scheduler } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 5, batch_size: 2, cfg: 2, sampler: 'dpmpp_2m', ...sampler },
    },
    '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
  };
}

/** Runs a prompt; returns its events, result and the sampler's stats. */
async function sample(p: ReturnType<typeof prompt>) {
  const events: RunEvent[] = [];
  const result = await engine.run(p, { folders: folders(), onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') throw new Error('unreachable');
  return { events, result, stats: result.stats['4'] as Record<string, unknown> };
}

test('the default model samples end to end: progress each step with a preview, stats with nfe and flops', async () => {
  const { events, stats, result } = await sample(prompt());
  const progress = events.filter((e): e is Extract<RunEvent, { type: 'node_progress' }> => e.type === 'node_progress');
  assert.deepEqual(
    progress.map((e) => [e.nodeId, e.value, e.max]),
    [
      ['4', 1, 2],
      ['4', 2, 2],
    ],
  );
  const preview = progress[0].preview as ImageBatch;
  assert.equal(preview.count, 1, 'the preview is one tiled image');
  assert.equal(preview.width, 56);
  assert.equal(stats.nfe, 2);
  assert.equal(stats.model_evaluations_per_image, 4, 'cfg doubles the batch');
  assert.ok(typeof stats.flops === 'number' && stats.flops > 0);
  assert.equal(stats.flops, stats.flops_full);
  assert.equal(stats.flops_saved_fraction, 0);
  assert.equal(result.outputs['5'].images!.length, 2);
});

test('same seed, same image; image i of a batch is the image of seed + i alone', async () => {
  const grab = async (p: ReturnType<typeof prompt>) => {
    const events: RunEvent[] = [];
    const result = await engine.run(p, { folders: folders(), onEvent: (e) => events.push(e) });
    assert.equal(result.status, 'success');
    const last = events.filter((e) => e.type === 'node_progress').at(-1) as Extract<RunEvent, { type: 'node_progress' }>;
    return last.preview!.data;
  };
  // batch of two (seed 5, 6) tiled side by side; alone with seed 6 it must match the right half.
  const pair = await grab(prompt({ seed: 5, batch_size: 2 }));
  const again = await grab(prompt({ seed: 5, batch_size: 2 }));
  assert.deepEqual(again, pair);
  const alone = await grab(prompt({ seed: 6, batch_size: 1 }));
  let maxDiff = 0;
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) maxDiff = Math.max(maxDiff, Math.abs(pair[y * 56 + 28 + x] - alone[y * 28 + x]));
  assert.ok(maxDiff < 1e-3, `batch vs alone differ by ${maxDiff}`);
});

test('the same seed gives the same image with the batch split over worker threads or not', async () => {
  const grab = async (setup: ReturnType<typeof createFewstepSetup>) => {
    const events: RunEvent[] = [];
    const result = await setup.engine.run(prompt({ seed: 11, batch_size: 3 }, { steps: 3 }), { folders: folders(), onEvent: (e) => events.push(e) });
    assert.equal(result.status, 'success', JSON.stringify(result));
    const last = events.filter((e) => e.type === 'node_progress').at(-1) as Extract<RunEvent, { type: 'node_progress' }>;
    return last.preview!.data;
  };
  const split = createFewstepSetup(new ModelStore(undefined, { workers: 2, splitAfterSeconds: 0 }));
  const single = createFewstepSetup(new ModelStore(undefined, { workers: 1 }));
  try {
    assert.equal((await split.store.load('fmnist')).threads, 2);
    assert.deepEqual(await grab(split), await grab(single));
  } finally {
    await Promise.all([split.store.dispose(), single.store.dispose()]);
  }
});

test('cfg 1 runs no unconditional pass', async () => {
  const { stats } = await sample(prompt({ cfg: 1 }));
  assert.equal(stats.model_evaluations_per_image, 2);
  assert.equal(stats.uncond_flops, 0);
});

test('every sampler and spacing runs', async () => {
  for (const sampler of ['ddim', 'euler', 'euler_ancestral', 'ddpm']) {
    assert.equal((await sample(prompt({ sampler, batch_size: 1 }))).stats.sampler, sampler);
  }
  for (const spacing of ['leading', 'linspace', 'karras', 'logsnr']) {
    assert.equal((await sample(prompt({ batch_size: 1 }, { spacing }))).stats.spacing, spacing);
  }
  const explicit = await sample(prompt({ batch_size: 1 }, { spacing: 'explicit', timesteps: '900, 300' }));
  assert.equal(explicit.stats.steps, 2);
});

test('bad sampling settings are validation errors on their node and input', () => {
  const result = engine.validate(prompt({ cfg: 50, sampler: 'k_lms' }, { spacing: 'explicit', timesteps: '900, x' }));
  assert.ok(!result.ok);
  if (result.ok) return;
  assert.deepEqual(
    result.nodeErrors['4'].errors.map((e) => [e.type, e.extra_info.input_name]),
    [
      ['value_bigger_than_max', 'cfg'],
      ['value_not_in_list', 'sampler'],
    ],
  );
  assert.deepEqual(
    result.nodeErrors['3'].errors.map((e) => [e.type, e.extra_info.input_name]),
    [['custom_validation_failed', 'timesteps']],
  );
  const count = engine.validate(prompt({}, { spacing: 'explicit', timesteps: '900, 500, 100' }));
  assert.ok(!count.ok && /lists 3 timesteps but steps is 2/.test(count.nodeErrors['3'].errors[0].details));
});

test('"all classes" cycles the classes across the batch', async () => {
  const result = await engine.run(prompt({ batch_size: 3, cfg: 1 }, {}, 'all classes'), { folders: folders() });
  assert.equal(result.status, 'success');
});

test('LoadModel lists the shipped model and names a missing one', async () => {
  const info = engine.objectInfo().LoadModel.input.required.model_name as [string[], { default: string }];
  assert.ok(info[0].includes('fmnist'));
  assert.equal(info[1].default, 'fmnist');
  const missing = engine.validate({ ...prompt(), '1': { class_type: 'LoadModel', inputs: { model_name: 'sd15' } } });
  assert.ok(!missing.ok && missing.nodeErrors['1'].errors[0].type === 'value_not_in_list');
});
