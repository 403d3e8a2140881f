import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeAccount, parseMaskRows } from '../../../engine/skip/index.ts';

// Small round numbers: embed 1, blocks 10/20/30, head 2 -> 63 per sample.
const flops = { embed: 1, blocks: [10, 20, 30], head: 2 };

test('a known mask gives exact counts and FLOPs, per step and in total', () => {
  const account = new ComputeAccount(flops);
  const mask = parseMaskRows(['RRR', 'RCD']);
  // Batch of 2 unguided elements, same mask for both; transpose to [block][element].
  mask.forEach((row, step) => account.record({ step, actions: row.map((action) => [action, action]), elements: 2, uncondFrom: 2, seconds: 0.5 }));
  const summary = account.summary();
  assert.equal(summary.flops_full, 4 * 63);
  // step 0: 2 * 63; step 1: 2 * (1 + 2 + 10) = 26.
  assert.equal(summary.flops, 126 + 26);
  assert.equal(summary.flops_saved_fraction, 1 - 152 / 252);
  assert.ok(Math.abs(summary.flops_saved_cond_fraction - (1 - 152 / 252)) < 1e-15);
  assert.equal(summary.flops_saved_uncond_fraction, 0);
  assert.deepEqual([summary.blocks_run, summary.blocks_reused, summary.blocks_dropped], [8, 2, 2]);
  assert.equal(summary.model_seconds, 1);
  assert.deepEqual(
    summary.per_step.map((s) => [s.step, s.run, s.reuse, s.drop, s.flops, s.flops_full, s.seconds]),
    [
      [0, 6, 0, 0, 126, 126, 0.5],
      [1, 2, 2, 2, 26, 126, 0.5],
    ],
  );
  assert.equal(summary.per_step[1].flops_saved_fraction, 1 - 26 / 126);
});

test('the unconditional half is counted on its own; a skipped unconditional pass costs nothing', () => {
  const account = new ComputeAccount(flops);
  // Guided batch of 1 image: element 0 cond runs all, element 1 uncond drops block 2.
  account.record({
    step: 0,
    actions: [
      ['run', 'run'],
      ['run', 'run'],
      ['run', 'drop'],
    ],
    elements: 2,
    uncondFrom: 1,
  });
  // Next step: the uncond pass is skipped; only the cond element went through the model.
  account.record({ step: 1, actions: [['run'], ['run'], ['run']], elements: 1, uncondFrom: 1, uncondSkipped: 1 });
  const s = account.summary();
  assert.equal(s.flops_full, 4 * 63);
  assert.equal(s.flops, 63 + 33 + 63);
  assert.equal(s.uncond_flops_full, 2 * 63);
  assert.equal(s.uncond_flops, 33);
  assert.equal(s.uncond_passes_skipped, 1);
  assert.equal(s.flops_saved_uncond_fraction, (126 - 33) / 252);
  assert.equal(s.flops_saved_cond_fraction, 0);
  assert.ok(Math.abs(s.flops_saved_cond_fraction + s.flops_saved_uncond_fraction - s.flops_saved_fraction) < 1e-15);
  assert.deepEqual(
    s.per_step.map((p) => p.uncond_skipped),
    [0, 1],
  );
});
