import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng, encodePng, readTextChunks } from '../../../engine/image/png.ts';
import { imageBatch, tileBatch } from '../../../engine/image/image-batch.ts';
import { readWorkflowSource } from '../../../engine/graph/source.ts';

test('grayscale images round-trip through PNG to within one grey level', () => {
  const batch = imageBatch(
    2,
    1,
    3,
    5,
    Float32Array.from({ length: 30 }, (_, i) => i / 29),
  );
  const { image } = decodePng(encodePng(batch, 1));
  assert.equal(image.channels, 1);
  assert.deepEqual([image.height, image.width], [3, 5]);
  image.data.forEach((v, i) => assert.ok(Math.abs(v - batch.data[15 + i]) <= 0.5 / 255 + 1e-6));
});

test('tEXt chunks carry the prompt and workflow, unicode included, and PNGs read back as workflows', () => {
  const workflow = { nodes: [{ id: 1, type: 'SaveImage', title: 'Sandale – été' }], links: [], version: 0.4 };
  const prompt = { '1': { class_type: 'SaveImage', inputs: {} } };
  const bytes = encodePng(imageBatch(1, 1, 2, 2), 0, { prompt: JSON.stringify(prompt), workflow: JSON.stringify(workflow) });
  const text = readTextChunks(bytes);
  assert.deepEqual(JSON.parse(text.workflow), workflow);
  const source = readWorkflowSource(bytes, 'x.png');
  assert.ok(source.ok && source.kind === 'workflow');
  if (source.ok && source.kind === 'workflow') {
    assert.deepEqual(source.workflow, workflow);
    assert.deepEqual(source.prompt, prompt);
  }
});

test('a PNG without a workflow, garbage bytes and bad JSON give messages naming the file', () => {
  const plain = readWorkflowSource(encodePng(imageBatch(1, 1, 2, 2)), 'plain.png');
  assert.ok(!plain.ok && /plain\.png: this PNG carries no workflow/.test(plain.message));
  const json = readWorkflowSource(Buffer.from('{ nope'), 'bad.json');
  assert.ok(!json.ok && /bad\.json: not JSON/.test(json.message));
  const truncated = readWorkflowSource(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2]), 'cut.png');
  assert.ok(!truncated.ok && /cut\.png/.test(truncated.message));
});

test('tileBatch lays a batch out as a grid', () => {
  const batch = imageBatch(4, 1, 1, 1, Float32Array.from([1, 2, 3, 4]));
  const grid = tileBatch(batch);
  assert.deepEqual([grid.height, grid.width], [2, 2]);
  assert.deepEqual([...grid.data], [1, 2, 3, 4]);
});
