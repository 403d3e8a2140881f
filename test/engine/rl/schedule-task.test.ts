import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldOutLoss } from '../../../engine/rl/schedule-task.ts';

test('held-out loss: FD when the reward has no confidence term, else what the reward trades', () => {
  const sharp = { fd: 1.5, meanConfidence: 0.95 };
  const blurry = { fd: 0.9, meanConfidence: 0.9 };
  // FD only: the lower FD wins, whatever the confidence.
  assert.equal(heldOutLoss(sharp, { fd: 1, confidence: 0 }), 1.5);
  assert.ok(heldOutLoss(blurry, { fd: 1, confidence: 0 }) < heldOutLoss(sharp, { fd: 1, confidence: 0 }));
  // With confidence weighted 20: 1.5 - 19 = -17.5 against 0.9 - 18 = -17.1, so the confident one wins.
  assert.ok(Math.abs(heldOutLoss(sharp, { fd: 1, confidence: 20 }) - -17.5) < 1e-12);
  assert.ok(Math.abs(heldOutLoss(blurry, { fd: 1, confidence: 20 }) - -17.1) < 1e-12);
  // Confidence alone: FD no longer counts.
  assert.equal(heldOutLoss(blurry, { fd: 0, confidence: 1 }), -0.9);
});
