import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  changePolicy,
  createSkipSettings,
  greedyGateMask,
  maskPolicy,
  parseMaskRows,
  rowForStep,
  skipConfigIssues,
  type BlockQuery,
  type ChangePolicyConfig,
  type LearnedGateParams,
} from '../../../engine/skip/index.ts';

/** A query over `batch` elements of `size` values each; elements >= uncondFrom are unconditional. */
function query(step: number, steps: number, block: number, data: number[][], uncondFrom = data.length): BlockQuery {
  return {
    step,
    steps,
    block,
    blocks: 4,
    input: { data: Float32Array.from(data.flat()), dims: [data.length, data[0].length] },
    isUncond: (e) => e >= uncondFrom,
  };
}

test('a mask decides per step and block; reuse before a block ever ran falls back to run', () => {
  const run = maskPolicy(parseMaskRows(['RRRR', 'RCDR'])).start(4, 1);
  assert.deepEqual(
    [0, 1, 2, 3].map((b) => run.decide(query(0, 2, b, [[1]]), 0, false)),
    ['run', 'run', 'run', 'run'],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((b) => run.decide(query(1, 2, b, [[1]]), 0, true)),
    ['run', 'reuse', 'drop', 'run'],
  );
  assert.equal(run.decide(query(1, 2, 1, [[1]]), 0, false), 'run');
  assert.deepEqual(
    [0, 1, 2, 3].map((b) => run.needsResidual(b)),
    [false, true, false, false],
  );
  assert.equal(
    maskPolicy(parseMaskRows(['RDRR']))
      .start(4, 1)
      .needsResidual(1),
    false,
  );
});

test('rows stretch over runs with another step count', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((s) => rowForStep(s, 8, 4)),
    [0, 0, 1, 1, 2, 2, 3, 3],
  );
  assert.deepEqual(
    [0, 1].map((s) => rowForStep(s, 2, 4)),
    [0, 2],
  );
  assert.deepEqual(
    [0, 1, 2].map((s) => rowForStep(s, 3, 3)),
    [0, 1, 2],
  );
});

const change: ChangePolicyConfig = { kind: 'change', threshold: 0.1, start: 0.25, end: 1, maxConsecutive: 2, blocks: [1, 2], action: 'reuse' };

test('the change rule skips a block while its input barely changed since it last ran, within the window, up to the cap', () => {
  const run = changePolicy(change).start(4, 2);
  const first = [
    [1, 1],
    [1, 1],
  ];
  // Step 0 of 4 is before start 0.25: runs, and remembers its inputs.
  assert.equal(run.decide(query(0, 4, 1, first), 0, false), 'run');
  run.ran!(1, 0, Float32Array.of(1, 1));
  run.ran!(1, 1, Float32Array.of(1, 1));
  // Element 0 changed by 5% (skip), element 1 by 50% (run).
  const second = [
    [1.05, 1.05],
    [1.5, 1.5],
  ];
  assert.equal(run.decide(query(1, 4, 1, second), 0, true), 'reuse');
  assert.equal(run.decide(query(1, 4, 1, second), 1, true), 'run');
  // No residual to reuse yet: run.
  assert.equal(run.decide(query(1, 4, 1, second), 0, false), 'run');
  // The cap: after two skips in a row, element 0 runs even though its input is unchanged.
  const fresh = changePolicy(change).start(4, 1);
  fresh.ran!(1, 0, Float32Array.of(1, 1));
  assert.deepEqual(
    [1, 2, 3].map((step) => fresh.decide(query(step, 4, 1, [[1, 1]]), 0, true)),
    ['reuse', 'reuse', 'run'],
  );
  // Blocks not listed always run.
  fresh.ran!(3, 0, Float32Array.of(1, 1));
  assert.equal(fresh.decide(query(2, 4, 3, [[1, 1]]), 0, true), 'run');
  // Outside [start, end): run.
  const windowed = changePolicy({ ...change, end: 0.5 }).start(4, 1);
  windowed.ran!(1, 0, Float32Array.of(1, 1));
  assert.equal(windowed.decide(query(1, 4, 1, [[1, 1]]), 0, true), 'reuse');
  assert.equal(windowed.decide(query(2, 4, 1, [[1, 1]]), 0, true), 'run');
});

test('the change rule with drop needs no residual, and the runner keeps none', () => {
  const run = changePolicy({ ...change, action: 'drop' }).start(4, 1);
  assert.equal(run.needsResidual(2), false);
  run.ran!(2, 0, Float32Array.of(2, 2));
  assert.equal(run.decide(query(1, 4, 2, [[2, 2]]), 0, false), 'drop');
});

test('learned gates: greedy = run iff logit >= 0, per half', () => {
  const params: LearnedGateParams = { kind: 'learned', logits: [[2, -1, 0, 0.5]], uncondLogits: [[-3, 1, 1, 1]], skipAction: 'drop' };
  const greedy = greedyGateMask(params);
  assert.deepEqual(greedy.cond, [['run', 'drop', 'run', 'run']]);
  assert.deepEqual(greedy.uncond, [['drop', 'run', 'run', 'run']]);
  assert.equal(greedyGateMask({ ...params, uncondLogits: undefined, skipAction: 'reuse' }).uncond, undefined);
  assert.deepEqual(greedyGateMask({ ...params, skipAction: 'reuse' }).cond[0][1], 'reuse');
});

test('config issues: wrong mask shape, a block the model lacks, empty window, ragged logits, bad schema', () => {
  const fields = (config: unknown) => skipConfigIssues(config, 4).map((i) => i.field);
  assert.deepEqual(fields({ policy: { kind: 'mask', rows: ['RRRR', 'RRRRR'] } }), ['policy/rows']);
  assert.match(skipConfigIssues({ policy: { kind: 'mask', rows: ['RRR'] } }, 4)[0].message, /3 entries, but the model has 4 blocks/);
  assert.deepEqual(fields({ policy: { ...change, blocks: [1, 4] } }), ['policy/blocks']);
  assert.match(skipConfigIssues({ policy: { ...change, blocks: [7] } }, 4)[0].message, /names block 7, but the model has 4 blocks \(0\.\.3\)/);
  assert.deepEqual(fields({ policy: { ...change, start: 0.5, end: 0.5 } }), ['policy/start']);
  assert.deepEqual(
    fields({
      policy: {
        kind: 'learned',
        logits: [
          [0, 0, 0, 0],
          [0, 0],
        ],
        skipAction: 'drop',
      },
    }),
    ['policy/logits'],
  );
  assert.deepEqual(fields({ policy: { kind: 'none' }, guidance: { uncondRows: ['RRRRRR'] } }), ['guidance/uncondRows']);
  assert.ok(fields({ policy: { kind: 'mask', rows: ['RXRR'] } }).length > 0);
  assert.ok(fields({ policy: { kind: 'nope' } }).length > 0);
  assert.deepEqual(fields({ policy: { kind: 'mask', rows: ['RRRR', 'DDCC'] }, guidance: { uncondRows: ['DDDD'], uncondPass: 'RSC' } }), []);
  assert.throws(() => createSkipSettings({ policy: { kind: 'mask', rows: ['RRR'] } }, 4), /does not fit a 4-block model/);
});

test('no skipping at all builds no policy; the guidance lever applies to the unconditional half only', () => {
  assert.equal(createSkipSettings({ policy: { kind: 'none' } }, 4), null);
  assert.equal(createSkipSettings({ policy: { kind: 'none' }, guidance: { uncondPass: 'RRRR' } }, 4), null);
  const settings = createSkipSettings({ policy: { kind: 'mask', rows: ['RDRR'] }, guidance: { uncondRows: ['DDDD'], uncondPass: 'RS' } }, 4)!;
  const run = settings.policy.start(4, 2);
  // Element 0 conditional, element 1 unconditional.
  const q = (block: number) => query(0, 4, block, [[1], [1]], 1);
  assert.deepEqual(
    [0, 1, 2, 3].map((b) => run.decide(q(b), 0, false)),
    ['run', 'drop', 'run', 'run'],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((b) => run.decide(q(b), 1, false)),
    ['drop', 'drop', 'drop', 'drop'],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((s) => run.uncondPass!(s, 4)),
    ['run', 'run', 'skip', 'skip'],
  );
  assert.match(settings.description, /mask RDRR; uncond mask DDDD; uncond pass RS/);
});

test('a learned setting describes its greedy masks, so caches keyed by the description tell settings apart', () => {
  const a = createSkipSettings({ policy: { kind: 'learned', logits: [[1, -1, 1, 1]], skipAction: 'drop' } }, 4)!;
  const b = createSkipSettings({ policy: { kind: 'learned', logits: [[1, 1, -1, 1]], skipAction: 'drop' } }, 4)!;
  assert.notEqual(a.description, b.description);
});
