import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { createEngine, OutputCache, type RunEvent } from '../../../engine/index.ts';
import { makeTestNodes } from '../../fixtures/test-nodes.ts';

const folders = { output: path.join(os.tmpdir(), 'fewstep-test-out'), temp: path.join(os.tmpdir(), 'fewstep-test-temp'), input: os.tmpdir() };

function setup() {
  const { runs, nodes } = makeTestNodes();
  return { runs, engine: createEngine({ nodes }) };
}

const chain = (value = 0.25, mode = 'full') => ({
  '1': { class_type: 'Solid', inputs: { value, count: 2 } },
  '2': { class_type: 'Invert', inputs: { images: ['1', 0], mode } },
  '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  '4': { class_type: 'Invert', inputs: { images: ['1', 0] } },
});

test('runs only what the outputs need, in dependency order, and returns their ui and stats', async () => {
  const { engine, runs } = setup();
  const result = await engine.run(chain(), { folders });
  assert.equal(result.status, 'success');
  if (result.status !== 'success') return;
  assert.deepEqual(runs, ['Solid:1', 'Invert:2', 'Collect:3']);
  assert.deepEqual(result.outputs['3'].text, ['0.75']);
  assert.deepEqual(result.stats['3'], { mean: 0.75 });
});

test('the cache reuses unchanged nodes; a widget change re-runs only what is downstream', async () => {
  const { engine, runs } = setup();
  const cache = new OutputCache();
  await engine.run(chain(), { folders, cache });
  runs.length = 0;
  const again = await engine.run(chain(), { folders, cache });
  assert.deepEqual(runs, []);
  assert.equal(again.status, 'success');
  if (again.status === 'success') {
    assert.deepEqual(again.cached, ['1', '2', '3']);
    assert.deepEqual(again.outputs['3'].text, ['0.75'], 'cached output nodes still report their ui');
  }
  await engine.run(chain(0.25, 'half'), { folders, cache });
  assert.deepEqual(runs, ['Invert:2', 'Collect:3']);
  runs.length = 0;
  await engine.run(chain(0.5, 'half'), { folders, cache });
  assert.deepEqual(runs, ['Solid:1', 'Invert:2', 'Collect:3']);
});

test('non-deterministic nodes are never cached, and neither is anything downstream of them', async () => {
  const { engine, runs } = setup();
  const cache = new OutputCache();
  const prompt = {
    '1': { class_type: 'Noise', inputs: {} },
    '2': { class_type: 'Invert', inputs: { images: ['1', 0] } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  };
  await engine.run(prompt, { folders, cache });
  await engine.run(prompt, { folders, cache });
  assert.deepEqual(runs, ['Noise:1', 'Invert:2', 'Collect:3', 'Noise:1', 'Invert:2', 'Collect:3']);
});

test('events come in order: started, cached, node started/progress/finished, finished', async () => {
  const { engine } = setup();
  const cache = new OutputCache();
  const prompt = {
    '1': { class_type: 'Solid', inputs: {} },
    '2': { class_type: 'Slow', inputs: { images: ['1', 0], steps: 3 } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  };
  await engine.run(prompt, { folders, cache });
  const events: RunEvent[] = [];
  const changed = { ...prompt, '3': { class_type: 'Collect', inputs: { images: ['2', 0], scale: 2 } } };
  const result = await engine.run(changed, { folders, cache, promptId: 'p1', onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'success');
  assert.deepEqual(
    events.map((e) => e.type),
    ['run_started', 'node_cached', 'node_started', 'node_finished', 'run_finished'],
  );
  assert.deepEqual((events[1] as { nodeIds: string[] }).nodeIds, ['1', '2']);
  assert.ok(events.every((e) => e.promptId === 'p1'));

  const fresh: RunEvent[] = [];
  await engine.run(prompt, { folders, onEvent: (e) => fresh.push(e) });
  const progress = fresh.filter((e) => e.type === 'node_progress');
  assert.deepEqual(
    progress.map((e) => [e.value, e.max]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
    ],
  );
  assert.ok(progress[0].type === 'node_progress' && progress[0].preview, 'progress carries the preview');
});

test('an abort mid-node interrupts the run within a step and names the node', async () => {
  const { engine, runs } = setup();
  const controller = new AbortController();
  const events: RunEvent[] = [];
  const prompt = {
    '1': { class_type: 'Solid', inputs: {} },
    '2': { class_type: 'Slow', inputs: { images: ['1', 0], steps: 1000 } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  };
  const result = await engine.run(prompt, {
    folders,
    signal: controller.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'node_progress' && e.value === 3) controller.abort();
    },
  });
  assert.equal(result.status, 'interrupted');
  if (result.status === 'interrupted') assert.equal(result.nodeId, '2');
  assert.equal(events.filter((e) => e.type === 'node_progress').length, 3, 'stops at the next step check');
  assert.ok(!runs.includes('Collect:3'));
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ['run_interrupted', 'run_finished'],
  );
});

test('an abort before the run starts runs nothing', async () => {
  const { engine, runs } = setup();
  const controller = new AbortController();
  controller.abort();
  const result = await engine.run(chain(), { folders, signal: controller.signal });
  assert.equal(result.status, 'interrupted');
  assert.deepEqual(runs, []);
});

test('a failing node fails the run with a node-keyed error; the engine keeps working', async () => {
  const { engine } = setup();
  const cache = new OutputCache();
  const events: RunEvent[] = [];
  const failing = {
    '1': { class_type: 'Solid', inputs: {} },
    '2': { class_type: 'Slow', inputs: { images: ['1', 0], steps: 4, fail_at: 2 } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  };
  const result = await engine.run(failing, { folders, cache, onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'failed');
  if (result.status === 'failed') {
    assert.equal(result.error.nodeId, '2');
    assert.equal(result.error.classType, 'Slow');
    assert.match(result.error.message, /failed on purpose at step 2/);
  }
  assert.ok(events.some((e) => e.type === 'node_failed' && e.nodeId === '2'));
  const next = await engine.run(chain(), { folders, cache });
  assert.equal(next.status, 'success');
});

test('an invalid prompt is reported without running anything', async () => {
  const { engine, runs } = setup();
  const result = await engine.run({ '3': { class_type: 'Collect', inputs: {} } }, { folders });
  assert.equal(result.status, 'invalid');
  assert.deepEqual(runs, []);
});

test('cached outputs are frozen, so one run cannot change what the next run gets', async () => {
  const { engine } = setup();
  const cache = new OutputCache();
  await engine.run(chain(), { folders, cache });
  const entry = [...(cache as unknown as { entries: Map<string, { outputs: object }> }).entries.values()][0];
  assert.ok(Object.isFrozen(entry.outputs));
});
