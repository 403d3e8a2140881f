import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../engine/index.ts';
import { allNodes } from '../../../nodes/index.ts';
import { makeTestNodes } from '../../fixtures/test-nodes.ts';

const engine = createEngine({ nodes: [...allNodes, ...makeTestNodes().nodes] });

function errorsOf(prompt: unknown) {
  const result = engine.validate(prompt);
  assert.equal(result.ok, false, 'expected the prompt to be invalid');
  if (result.ok) throw new Error('unreachable');
  return result;
}

const valid = {
  '1': { class_type: 'Solid', inputs: { value: 0.25, count: 2 } },
  '2': { class_type: 'Invert', inputs: { images: ['1', 0], mode: 'half' } },
  '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
};

test('a valid prompt gives its graph, ordered, with defaults filled in', () => {
  const result = engine.validate(valid);
  assert.ok(result.ok);
  assert.deepEqual(result.graph.order, ['1', '2', '3']);
  assert.deepEqual(result.graph.outputs, ['3']);
  assert.deepEqual(result.graph.nodes.get('1')!.values, { value: 0.25, count: 2, seed: 0 });
  assert.deepEqual(result.graph.nodes.get('2')!.links.images, { node: '1', output: 'IMAGE', index: 0 });
});

test('only nodes an output needs are validated and ordered', () => {
  const result = engine.validate({ ...valid, '9': { class_type: 'Invert', inputs: {} } });
  assert.ok(result.ok);
  assert.deepEqual(result.graph.order, ['1', '2', '3']);
});

test('invalid_prompt: not an object, a node without class_type, an unknown type', () => {
  assert.equal(errorsOf([1, 2]).error.type, 'invalid_prompt');
  assert.equal(errorsOf('text').error.type, 'invalid_prompt');
  const result = errorsOf({ ...valid, '4': { inputs: {} }, '5': { class_type: 'Nope', inputs: {} } });
  assert.equal(result.nodeErrors['4'].errors[0].type, 'invalid_prompt');
  assert.equal(result.nodeErrors['5'].errors[0].type, 'invalid_prompt');
  assert.equal(result.nodeErrors['5'].class_type, 'Nope');
});

test('a ComfyUI workflow gets one clear error naming its unknown node types', () => {
  const comfy = {
    '3': { class_type: 'KSampler', inputs: { seed: 1, model: ['4', 0], positive: ['6', 0] } },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  };
  const result = errorsOf(comfy);
  assert.equal(result.error.type, 'invalid_prompt');
  for (const name of ['KSampler', 'CheckpointLoaderSimple', 'CLIPTextEncode', 'VAEDecode']) assert.match(result.error.details, new RegExp(name));
  assert.doesNotMatch(result.error.details, /SaveImage/);
});

test('prompt_no_outputs', () => {
  assert.equal(errorsOf({ '1': valid['1'] }).error.type, 'prompt_no_outputs');
  assert.equal(errorsOf({}).error.type, 'prompt_no_outputs');
});

test('required_input_missing for an unconnected link and a widget with no default', () => {
  const result = errorsOf({
    '3': { class_type: 'Collect', inputs: {} },
    '4': { class_type: 'LoadImage', inputs: { image: null } },
    '5': { class_type: 'SaveImage', inputs: { images: ['4', 0] } },
  });
  const entry = result.nodeErrors['3'].errors[0];
  assert.equal(entry.type, 'required_input_missing');
  assert.equal(entry.extra_info.input_name, 'images');
});

test('optional inputs may stay unconnected', () => {
  const result = engine.validate({
    '1': valid['1'],
    '2': { class_type: 'Mix', inputs: { a: ['1', 0] } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  });
  assert.ok(result.ok);
});

test('bad_linked_input: malformed link, missing node, missing output', () => {
  for (const link of [['1'], 'x', ['99', 0], ['1', 5]]) {
    const result = errorsOf({ '1': valid['1'], '3': { class_type: 'Collect', inputs: { images: link } } });
    assert.equal(result.nodeErrors['3'].errors[0].type, 'bad_linked_input', JSON.stringify(link));
    assert.equal(result.nodeErrors['3'].errors[0].extra_info.input_name, 'images');
  }
});

test('return_type_mismatch when a FLOAT output feeds an IMAGE input', () => {
  const result = errorsOf({
    '1': valid['1'],
    '2': { class_type: 'Mix', inputs: { a: ['1', 0] } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 1] } },
  });
  const entry = result.nodeErrors['3'].errors[0];
  assert.equal(entry.type, 'return_type_mismatch');
  assert.match(entry.details, /expects IMAGE.*gives FLOAT/);
});

test('a widget may be fed by a link of its primitive type, and only that', () => {
  const mixScore = { '1': valid['1'], '2': { class_type: 'Mix', inputs: { a: ['1', 0] } } };
  assert.ok(engine.validate({ ...mixScore, '3': { class_type: 'Collect', inputs: { images: ['1', 0], scale: ['2', 1] } } }).ok);
  const result = errorsOf({ ...mixScore, '3': { class_type: 'Collect', inputs: { images: ['1', 0], scale: ['2', 0] } } });
  assert.equal(result.nodeErrors['3'].errors[0].type, 'return_type_mismatch');
});

test('widget values: type, min, max and list errors, each naming its input', () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ value: 'bright' }, 'invalid_input_type', 'value'],
    [{ value: -1 }, 'value_smaller_than_min', 'value'],
    [{ value: 2 }, 'value_bigger_than_max', 'value'],
    [{ count: 1.5 }, 'invalid_input_type', 'count'],
    [{ count: 9 }, 'value_bigger_than_max', 'count'],
  ];
  for (const [inputs, type, name] of cases) {
    const result = errorsOf({ '1': { class_type: 'Solid', inputs }, '3': { class_type: 'Collect', inputs: { images: ['1', 0] } } });
    assert.equal(result.nodeErrors['1'].errors[0].type, type, JSON.stringify(inputs));
    assert.equal(result.nodeErrors['1'].errors[0].extra_info.input_name, name);
  }
  const list = errorsOf({ ...valid, '2': { class_type: 'Invert', inputs: { images: ['1', 0], mode: 'double' } } });
  assert.equal(list.nodeErrors['2'].errors[0].type, 'value_not_in_list');
});

test('numeric text is accepted for number widgets, as ComfyUI clients send it', () => {
  const result = engine.validate({
    '1': { class_type: 'Solid', inputs: { value: '0.75', count: '3' } },
    '3': { class_type: 'Collect', inputs: { images: ['1', 0] } },
  });
  assert.ok(result.ok);
  assert.equal(result.graph.nodes.get('1')!.values.count, 3);
});

test('a dependency cycle is reported on each node in it', () => {
  const result = errorsOf({
    '1': { class_type: 'Invert', inputs: { images: ['2', 0] } },
    '2': { class_type: 'Invert', inputs: { images: ['1', 0] } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
  });
  assert.equal(result.nodeErrors['1'].errors[0].type, 'dependency_cycle');
  assert.equal(result.nodeErrors['2'].errors[0].type, 'dependency_cycle');
});

test('every problem is reported at once, with the outputs each one blocks', () => {
  const result = errorsOf({
    '1': { class_type: 'Solid', inputs: { value: 5, count: 0 } },
    '2': { class_type: 'Invert', inputs: { images: ['1', 0], mode: 'nope' } },
    '3': { class_type: 'Collect', inputs: { images: ['2', 0] } },
    '4': { class_type: 'Collect', inputs: {} },
  });
  assert.equal(result.error.type, 'prompt_outputs_failed_validation');
  assert.deepEqual(
    result.nodeErrors['1'].errors.map((e) => e.type),
    ['value_bigger_than_max', 'value_smaller_than_min'],
  );
  assert.equal(result.nodeErrors['2'].errors[0].type, 'value_not_in_list');
  assert.equal(result.nodeErrors['4'].errors[0].type, 'required_input_missing');
  assert.deepEqual(result.nodeErrors['1'].dependent_outputs, ['3']);
});
