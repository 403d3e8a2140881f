import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePng, type RunEvent } from '../../../engine/index.ts';
import { imageBatch } from '../../../engine/image/image-batch.ts';
import { decodeEvent, encodeEvent } from '../../../server/queue/wire.ts';

test('a preview sent through Redis encodes to the same PNG as the one it came from', () => {
  const data = Float32Array.from({ length: 2 * 3 * 5 * 7 }, (_, i) => ((i * 37) % 101) / 100 - 0.005);
  data[0] = -0.3; // out of range values clamp the same way
  data[1] = 1.7;
  const event: RunEvent = { type: 'node_progress', promptId: 'p', nodeId: '4', value: 2, max: 4, preview: imageBatch(2, 3, 5, 7, data), detail: { flops: 3 } };
  const sent = JSON.parse(JSON.stringify(encodeEvent(event)));
  const received = decodeEvent(sent);
  assert.equal(received.type, 'node_progress');
  if (received.type !== 'node_progress' || event.type !== 'node_progress') return;
  assert.deepEqual({ ...received, preview: undefined }, { ...event, preview: undefined });
  for (const index of [0, 1]) assert.deepEqual(encodePng(received.preview!, index), encodePng(event.preview!, index));
});

test('events without previews pass unchanged', () => {
  const event: RunEvent = {
    type: 'node_finished',
    promptId: 'p',
    nodeId: '5',
    classType: 'SaveImage',
    outputNode: true,
    ui: { images: [{ filename: 'a_00001_.png', subfolder: '', type: 'output' }] },
  };
  assert.deepEqual(decodeEvent(JSON.parse(JSON.stringify(encodeEvent(event)))), event);
});
