import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../engine/index.ts';
import { nodeInputs } from '../../../engine/run/node-inputs.ts';
import { makeTestNodes } from '../../fixtures/test-nodes.ts';

const folders = { output: '/nonexistent', temp: '/nonexistent', input: '/nonexistent' };

test('nodeInputs runs only what one node needs, not the node, and hands back the values it would get', async () => {
  const { runs, nodes } = makeTestNodes();
  const engine = createEngine({ nodes });
  const prompt = {
    '1': { class_type: 'Solid', inputs: { value: 0.25, count: 2 } },
    '2': { class_type: 'Invert', inputs: { images: ['1', 0] } },
    '3': { class_type: 'Solid', inputs: { value: 1 } },
    '4': { class_type: 'Mix', inputs: { a: ['2', 0] } },
    '5': { class_type: 'Collect', inputs: { images: ['4', 0], scale: 3 } },
    '6': { class_type: 'Collect', inputs: { images: ['3', 0] } },
  };
  const validation = engine.validate(prompt);
  assert.ok(validation.ok);
  if (!validation.ok) return;
  const result = await nodeInputs(engine.registry, engine.models, validation.graph, prompt, '5', { folders });
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.deepEqual(runs, ['Solid:1', 'Invert:2', 'Mix:4'], 'the ancestors in order; not node 5 itself, not the unrelated branch');
  assert.equal(result.inputs.scale, 3, 'widgets as validated');
  const images = result.inputs.images as { count: number; data: Float32Array };
  assert.equal(images.count, 2);
  assert.ok(Math.abs(images.data[0] - 0.75) < 1e-6, 'the value Mix gave it');

  const failing = { ...prompt, '2': { class_type: 'Slow', inputs: { images: ['1', 0], steps: 1, fail_at: 0 } } };
  const failed = engine.validate(failing);
  assert.ok(failed.ok);
  if (!failed.ok) return;
  const run = await nodeInputs(engine.registry, engine.models, failed.graph, failing, '5', { folders });
  assert.equal(run.ok, false);
  if (!run.ok) assert.equal(run.result.status, 'failed');
});
