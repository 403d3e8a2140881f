import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createEngine, OutputCache, type RunEvent } from '../../engine/index.ts';
import { ModelStore } from '../../engine/onnx/index.ts';
import { allNodes } from '../../nodes/index.ts';
import { syntheticModelCopy } from '../engine/onnx/helpers.ts';
import { createFewstepSetup } from '../../server/setup.ts';
import type { ImageBatch } from '../../engine/image/image-batch.ts';
import { DEFAULT_MASK, DEFAULT_UNCOND_MASK, DEFAULT_UNCOND_PASS, parseBlockList } from '../../nodes/SkipGate.ts';

const { engine, store } = createFewstepSetup();
after(() => store.dispose());
const folders = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-skipgate-'));
  return { output: dir, temp: dir, input: dir };
};
const ALL = 'RRRRRRRRRR';

function prompt(gate: Record<string, unknown>, sampler: Record<string, unknown> = {}) {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
    '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 3, spacing: 'trailing' } },
    '6': { class_type: 'SkipGate', inputs: { model: ['1', 0], ...gate } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { model: ['6', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 5, batch_size: 2, cfg: 2, sampler: 'dpmpp_2m', ...sampler },
    },
    '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
  };
}

async function sample(p: unknown, cache?: OutputCache) {
  const events: RunEvent[] = [];
  const result = await engine.run(p, { folders: folders(), cache, onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') throw new Error('unreachable');
  const last = events.filter((e): e is Extract<RunEvent, { type: 'node_progress' }> => e.type === 'node_progress').at(-1)!;
  return { events, result, stats: result.stats['4'] as Record<string, any>, image: (last.preview as ImageBatch).data };
}

function errorsOf(p: unknown) {
  const result = engine.validate(p);
  assert.ok(!result.ok, 'expected validation errors');
  if (result.ok) return [];
  return (result.nodeErrors['6']?.errors ?? []).map((e): [string, string] => [String(e.extra_info.input_name), e.details]);
}

test('a mask of the wrong shape is a validation error on the SkipGate node, before anything runs', () => {
  const errors = errorsOf(prompt({ mode: 'mask', mask: `${ALL}/RRRRRRRRRRR/RRRRRRRRR` }));
  assert.equal(errors.length, 2);
  assert.equal(errors[0][0], 'mask');
  assert.match(errors[0][1], /row 2 \("RRRRRRRRRRR"\) has 11 entries, but the model has 10 blocks/);
  assert.match(errors[1][1], /row 3 .* has 9 entries/);
  assert.match(errorsOf(prompt({ mode: 'mask', mask: 'RRRRRXRRRR' }))[0][1], /has "X": use R \(run\), C \(reuse cached residual\), D \(drop\) or S/);
  assert.deepEqual(
    errorsOf(prompt({ mode: 'mask', mask: ALL, uncond_mask: 'DDDD' })).map((e) => e[0]),
    ['uncond_mask'],
  );
});

test('a setting naming a block the model lacks is a validation error on its input', () => {
  const errors = errorsOf(prompt({ mode: 'change', blocks: '3-10' }));
  assert.deepEqual(
    errors.map((e) => e[0]),
    ['blocks'],
  );
  assert.match(errors[0][1], /names block 10, but the model has 10 blocks \(0\.\.9\)/);
  assert.deepEqual(
    errorsOf(prompt({ mode: 'change', blocks: '2-x' })).map((e) => e[0]),
    ['blocks'],
  );
  assert.deepEqual(
    errorsOf(prompt({ mode: 'change', start: 0.8, end: 0.5 })).map((e) => e[0]),
    ['start'],
  );
  assert.deepEqual(
    errorsOf(prompt({ mode: 'learned', learned: '{"logits": [[1, 2]]}' })).map((e) => e[0]),
    ['learned'],
  );
  assert.deepEqual(
    errorsOf(prompt({ mode: 'learned', learned: 'not json' })).map((e) => e[0]),
    ['learned'],
  );
  assert.deepEqual(
    errorsOf(prompt({ mode: 'off', uncond_pass: 'RRQ' })).map((e) => e[0]),
    ['uncond_pass'],
  );
  assert.ok(engine.validate(prompt({ mode: 'change', blocks: '2-7' })).ok);
  const logits = JSON.stringify({ logits: [[1, 1, 1, -1, 1, 1, 1, 1, 1, 1]], uncondLogits: [[1, -1, -1, 1, 1, 1, 1, 1, 1, 1]] });
  assert.ok(engine.validate(prompt({ mode: 'learned', learned: logits, action: 'drop' })).ok);
});

test('block lists: ranges, lists, empty for all', () => {
  assert.deepEqual(parseBlockList('2-4, 7', 10), [2, 3, 4, 7]);
  assert.deepEqual(parseBlockList('', 3), [0, 1, 2]);
  assert.match(parseBlockList('5-2', 10) as string, /backwards/);
});

test('the sampler runs a gated model unchanged and reports what was run, reused and dropped', async () => {
  const { stats, result, events } = await sample(prompt({ mode: 'mask', mask: `${ALL}/RRRDDRRRRR/RRCCRRRRRR`, uncond_mask: '', uncond_pass: 'RRS' }));
  // Progress events carry each step's compute as it ends, and the running total.
  const progress = events.filter((e): e is Extract<RunEvent, { type: 'node_progress' }> => e.type === 'node_progress' && e.nodeId === '4');
  const compute = progress.map((e) => (e.detail as { compute: { step: { drop: number; uncond_skipped: number }; flops_saved_fraction: number } }).compute);
  assert.deepEqual(
    compute.map((c) => [c.step.drop, c.step.uncond_skipped]),
    [
      [0, 0],
      [8, 0],
      [0, 2],
    ],
  );
  assert.equal(compute[0].flops_saved_fraction, 0);
  assert.equal(compute[2].flops_saved_fraction, stats.flops_saved_fraction);
  // 2 images, cfg: 4 elements at steps 0-1, 2 at step 2 (uncond pass skipped).
  assert.deepEqual(
    stats.per_step.map((s: any) => [s.run, s.reuse, s.drop, s.uncond_skipped]),
    [
      [40, 0, 0, 0],
      [32, 0, 8, 0],
      [16, 4, 0, 2],
    ],
  );
  const { embed, head, blocks } = { embed: 7840768, head: 16189440, blocks: 45021184 };
  const full = embed + head + 10 * blocks;
  assert.equal(stats.flops_full, 12 * full);
  assert.equal(stats.flops, 4 * full + 4 * (embed + head + 8 * blocks) + 2 * (embed + head + 8 * blocks));
  assert.equal(stats.uncond_passes_skipped, 2);
  assert.ok(stats.flops_saved_fraction > 0.2);
  assert.ok(stats.per_step.every((s: any) => typeof s.seconds === 'number'));
  assert.match(String(stats.skip), /mask/);
  assert.match(result.display['6']?.text?.[0] ?? '', /RRRDDRRRRR/);
  assert.match(result.display['4']?.text?.[1] ?? '', /blocks: 88 run, 4 reused, 8 dropped, 0 shared; 2 unconditional passes skipped/);
});

test('a gated model held in the output cache carries no residuals into the next run', async () => {
  const cache = new OutputCache();
  // C everywhere after step 0: a leaked residual would change every later step.
  const gate = { mode: 'mask', mask: `${ALL}/CCCCCCCCCC/CCCCCCCCCC` };
  await sample(prompt(gate, { seed: 11 }), cache);
  const second = await sample(prompt(gate, { seed: 5 }), cache);
  const cachedIds = second.events.filter((e): e is Extract<RunEvent, { type: 'node_cached' }> => e.type === 'node_cached').flatMap((e) => e.nodeIds);
  assert.ok(cachedIds.includes('6'), 'the SkipGate output came from the cache');
  const fresh = await sample(prompt(gate, { seed: 5 }));
  assert.deepEqual(second.image, fresh.image, 'same images as a run with nothing cached');
  assert.equal(second.stats.blocks_reused, fresh.stats.blocks_reused);
});

test('mode off runs every block; the shipped skip workflow validates', () => {
  assert.ok(engine.validate(prompt({ mode: 'off' })).ok);
  const workflow = JSON.parse(readFileSync(new URL('../../workflows/four-step-skip.json', import.meta.url), 'utf8'));
  const result = engine.validate(workflow);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
});

test('the default SkipGate is the best measured setting, and the shipped workflow carries it', () => {
  const workflow = JSON.parse(readFileSync(new URL('../../workflows/four-step-skip.json', import.meta.url), 'utf8'));
  const gate = workflow.nodes.find((n: { type: string }) => n.type === 'SkipGate');
  assert.deepEqual(gate.widgets_values.slice(0, 2), ['mask', DEFAULT_MASK]);
  assert.deepEqual(gate.widgets_values.slice(9), [DEFAULT_UNCOND_MASK, DEFAULT_UNCOND_PASS]);
});

test('masks are checked against the block counts the model catalogue reads, wherever its root is', async () => {
  const copy = await syntheticModelCopy('tiny');
  const tinyStore = new ModelStore(copy.root, { provider: 'cpu' });
  try {
    const tinyEngine = createEngine({ nodes: allNodes, models: tinyStore });
    const gated = (mask: string) => ({
      '1': { class_type: 'LoadModel', inputs: { model_name: 'tiny' } },
      '6': { class_type: 'SkipGate', inputs: { model: ['1', 0], mode: 'mask', mask, uncond_mask: '', uncond_pass: '' } },
      '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
      '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 2, spacing: 'trailing' } },
      '4': { class_type: 'FewStepSampler', inputs: { model: ['6', 0], conditioning: ['2', 0], schedule: ['3', 0] } },
      '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
    });
    assert.ok(tinyEngine.validate(gated('RRDR/RRRR')).ok, 'the synthetic model has 4 blocks');
    const result = tinyEngine.validate(gated(`${ALL}/${ALL}`));
    assert.ok(!result.ok);
    if (!result.ok)
      assert.match(result.nodeErrors['6'].errors[0].details, /has 10 entries, but the model has 4 blocks \(one character per block\) \(model tiny\)/);
  } finally {
    await tinyStore.dispose();
    await copy.cleanup();
  }
});
