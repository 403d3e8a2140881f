import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionSize,
  decodeSchedule,
  encodeSchedule,
  finalAction,
  gradLogProb,
  groupAdvantages,
  initialState,
  logProb,
  policyGradient,
  train,
  type PolicyTask,
} from '../../../engine/rl/index.ts';
import { computeTimesteps, parseNoiseSchedule } from '../../../engine/diffusion/index.ts';

const schedule = parseNoiseSchedule({ kind: 'cosine', trainSteps: 1000, s: 0.008, minAlphaCumprod: 1e-5, maxAlphaCumprod: 0.99999 });

test('Gaussian log-prob gradients match finite differences', () => {
  const params = { mean: [0.3, -1.2, 2], logStd: [-0.5, 0.1, Math.log(0.3)] };
  const action = [0.9, -1, 1.7];
  const grad = gradLogProb(params, action);
  const h = 1e-6;
  for (const key of ['mean', 'logStd'] as const) {
    for (let i = 0; i < 3; i++) {
      const plus = structuredClone(params);
      const minus = structuredClone(params);
      plus[key][i] += h;
      minus[key][i] -= h;
      const numeric = (logProb(plus, action) - logProb(minus, action)) / (2 * h);
      assert.ok(Math.abs(numeric - grad[key][i]) < 1e-5, `${key}[${i}]: numeric ${numeric}, analytic ${grad[key][i]}`);
    }
  }
  // log N(0 | 0, 1) = -0.5 log(2 pi)
  assert.ok(Math.abs(logProb({ mean: [0], logStd: [0] }, [0]) + 0.5 * Math.log(2 * Math.PI)) < 1e-12);
});

test('the policy-gradient estimate points along the true gradient of the expected reward', () => {
  // reward(a) = w.a: the expected reward's gradient in the mean is w; with many antithetic samples
  // the group-normalised estimate must point the same way.
  const w = [1, -2, 0.5];
  const policy = { mean: [0, 0, 0], logStd: [0, 0, 0] };
  let state = 3;
  const normal = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const u = state / 2 ** 32 + 1e-12;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * state) / 2 ** 32);
  };
  const actions: number[][] = [];
  for (let i = 0; i < 200; i++) {
    const noise = [normal(), normal(), normal()];
    actions.push(
      noise,
      noise.map((v) => -v),
    );
  }
  const rewards = actions.map((a) => a.reduce((sum, v, i) => sum + v * w[i], 0));
  const gradient = policyGradient(policy, actions, groupAdvantages(rewards));
  const cosine = gradient.mean.reduce((s, g, i) => s + g * w[i], 0) / (Math.hypot(...gradient.mean) * Math.hypot(...w));
  assert.ok(cosine > 0.97, `cosine ${cosine}`);
  assert.deepEqual(groupAdvantages([2, 2, 2]), [0, 0, 0]);
});

/** A toy task: reward = -|a - target|^2, held-out = the same distance for the mean. */
function toyTask(target: number[]): PolicyTask & { rollouts: number } {
  const distance = (a: ArrayLike<number>) => target.reduce((s, t, i) => s + (a[i] - t) ** 2, 0);
  const task = {
    rollouts: 0,
    async rollout(actions: readonly Float64Array[]) {
      task.rollouts += actions.length;
      return actions.map((a) => -distance(a));
    },
    async heldOut(mean: Float64Array) {
      return distance(mean);
    },
  };
  return task;
}

test('policy gradient with Adam improves a toy reward and keeps the best mean by held-out score', async () => {
  const task = toyTask([1.5, -0.5, 0.8, 0]);
  const start = initialState([0, 0, 0, 0], 0.3, 1);
  const result = await train(task, start, { iterations: 60, groupSize: 8, learningRate: 0.05, evaluateEvery: 5, patience: 0 });
  const before = task.heldOut!(Float64Array.from(start.policy.mean));
  const after = task.heldOut!(Float64Array.from(finalAction(result)));
  assert.ok((await after) < 0.1 * (await before), `held-out ${await before} -> ${await after}`);
  assert.equal(result.stopped, 'iterations');
  assert.equal(result.iteration, 60);
  const rewards = result.history.filter((h) => h.reward !== null).map((h) => h.reward!);
  assert.ok(rewards.at(-1)! > rewards[0]);
  assert.equal(start.iteration, 0, 'the input state is not modified');
});

test('training is seeded and resumable: 3 + 3 iterations through JSON equal 6 in one go', async () => {
  const options = { iterations: 6, groupSize: 4, learningRate: 0.1, evaluateEvery: 2, patience: 0 };
  const start = initialState([0, 0], 0.5, 5);
  const straight = await train(toyTask([1, 1]), start, options);
  const half = await train(toyTask([1, 1]), start, { ...options, iterations: 3 });
  const resumed = await train(toyTask([1, 1]), JSON.parse(JSON.stringify(half)), options);
  assert.deepEqual(resumed.policy, straight.policy);
  assert.deepEqual(resumed.adam, straight.adam);
  assert.deepEqual(
    resumed.history.map((h) => h.reward),
    straight.history.map((h) => h.reward),
  );
  const again = await train(toyTask([1, 1]), start, options);
  assert.deepEqual(again.policy, straight.policy);
});

test('early stopping ends training when the held-out score stops improving', async () => {
  // A held-out score that only gets worse: stop after `patience` evaluations without improvement.
  let calls = 0;
  const task: PolicyTask = { rollout: async (actions) => actions.map(() => Math.random()), heldOut: async () => ++calls };
  const result = await train(task, initialState([0], 0.1, 0), { iterations: 100, evaluateEvery: 1, patience: 2 });
  assert.equal(result.stopped, 'early-stopping');
  assert.equal(result.iteration, 2);
  assert.equal(result.best?.iteration, 0);
});

test('schedule actions decode to valid schedules and encode hand-made ones back', () => {
  const space = { steps: 4, learnGuidance: true, learnEta: true };
  assert.equal(actionSize(space), 12);
  const trailing = computeTimesteps({ kind: 'trailing' }, 4, schedule);
  const action = encodeSchedule({ timesteps: trailing, guidance: 2, eta: 0.3 }, space, schedule);
  const decoded = decodeSchedule(action, space, schedule);
  decoded.timesteps.forEach((t, i) => assert.ok(Math.abs(t - trailing[i]) < 1e-6, `t[${i}] ${t} vs ${trailing[i]}`));
  decoded.guidance!.forEach((g) => assert.ok(Math.abs(g - 2) < 1e-12));
  decoded.eta!.forEach((e) => assert.ok(Math.abs(e - 0.3) < 1e-12));
  // Any vector is a valid schedule: strictly descending, in range.
  for (const values of [
    [10, -10, 0, 3],
    [0, 0, 0, 0],
    [-50, 50, -50, 50],
  ]) {
    const { timesteps } = decodeSchedule([...values, 0, 0, 0, 0, 0, 0, 0, 0], space, schedule);
    assert.equal(timesteps[0], 999);
    for (let i = 1; i < 4; i++) assert.ok(timesteps[i] < timesteps[i - 1] && timesteps[i] >= 0, `${timesteps}`);
  }
  assert.throws(() => decodeSchedule([0, 0], space, schedule), RangeError);
});

test('joint policy: Bernoulli gate gradients match finite differences of the log-probability', async () => {
  const { jointLogProb } = await import('../../../engine/rl/index.ts');
  const policy = { mean: [0.2], logStd: [-0.3], gateLogits: [0.7, -1.1, 2] };
  const action = [0.5, 1, 0, 1];
  const grad = policyGradient(policy, [action], [1]);
  const h = 1e-6;
  for (let j = 0; j < 3; j++) {
    const plus = structuredClone(policy);
    const minus = structuredClone(policy);
    plus.gateLogits[j] += h;
    minus.gateLogits[j] -= h;
    const numeric = (jointLogProb(plus, action) - jointLogProb(minus, action)) / (2 * h);
    assert.ok(Math.abs(numeric - grad.gateLogits[j]) < 1e-6, `gate ${j}: ${numeric} vs ${grad.gateLogits[j]}`);
  }
});

test('joint policy gradient learns which gates to turn off when each costs compute', async () => {
  // Two gates: gate 0 is free to skip (costs only compute), gate 1 hurts the reward when off.
  const task: PolicyTask = {
    rollout: async (actions) => actions.map((a) => -((a[0] - 1) ** 2) - 0.5 * (a[1] + a[2]) - (a[2] === 0 ? 2 : 0)),
    heldOut: async (action) => (action[0] - 1) ** 2 + (action[1] === 1 ? 1 : 0) + (action[2] === 0 ? 5 : 0),
  };
  const result = await train(task, initialState([0], 0.3, 3, [1, 1]), { iterations: 80, groupSize: 8, learningRate: 0.1, evaluateEvery: 10, patience: 0 });
  const [, gateOff, gateOn] = finalAction(result);
  assert.equal(gateOff, 0, 'the free gate is skipped');
  assert.equal(gateOn, 1, 'the useful gate keeps running');
  assert.ok(result.policy.gateLogits![0] < 0 && result.policy.gateLogits![1] > 0);
});
