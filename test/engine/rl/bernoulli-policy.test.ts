import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateBits, gateLogProb, gradGateLogProb, greedyGateBits } from '../../../engine/rl/index.ts';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('Bernoulli gates: log-probability is exact and its gradient matches finite differences', () => {
  const logits = [2, -1, 0, 0.5, -3, 1];
  const bits = [1, 0, 1, 1, 0, 1];
  const expected = Math.log(sig(2)) + Math.log(1 - sig(-1)) + Math.log(sig(0)) + Math.log(sig(0.5)) + Math.log(1 - sig(-3)) + Math.log(sig(1));
  assert.ok(Math.abs(gateLogProb(logits, bits) - expected) < 1e-12);
  const gradient = gradGateLogProb(logits, bits);
  for (let j = 0; j < logits.length; j++) {
    const bumped = (delta: number) => logits.map((v, i) => (i === j ? v + delta : v));
    const numeric = (gateLogProb(bumped(1e-5), bits) - gateLogProb(bumped(-1e-5), bits)) / 2e-5;
    assert.ok(Math.abs(gradient[j] - numeric) < 1e-6, `gate ${j}: ${gradient[j]} vs ${numeric}`);
  }
  // Stable far out in the tails, where log(1 - sigmoid(x)) would underflow to -Infinity.
  assert.ok(Math.abs(gateLogProb([800], [0]) + 800) < 1e-9);
});

test('Bernoulli gates sample 1 where u < sigmoid(logit); greedy takes the likelier value', () => {
  const logits = [Math.log(3), Math.log(3), 0, -0.1];
  // P(1) = 0.75 for the first two gates.
  assert.deepEqual(gateBits(logits, [0.7, 0.8, 0.49, 0.6]), [1, 0, 1, 0]);
  assert.deepEqual(greedyGateBits(logits), [1, 1, 1, 0]);
});
