import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DiffusionError,
  SAMPLER_NAMES,
  batchNormalNoise,
  computeTimesteps,
  currentTimestep,
  ddimSampler,
  ddpmSampler,
  eulerSampler,
  getSampler,
  isFinished,
  parseNoiseSchedule,
  resolveSamplerOptions,
  samplerTakesEta,
  samplers,
} from '../../../engine/diffusion/index.ts';
import { gaussianOracle, pointMassOracle, sampleSync } from './oracles.ts';

const cosine = parseNoiseSchedule({ kind: 'cosine' });
const timesteps = computeTimesteps({ kind: 'trailing' }, 4, cosine);
const oracle = gaussianOracle(cosine, 'v', -0.4, 0.7);
const isDiffusionError = (code: string) => (error: unknown) => error instanceof DiffusionError && error.code === code;

function runWith(sampler: typeof ddimSampler | typeof eulerSampler | typeof ddpmSampler, options: Record<string, unknown>, seed = 5): Float32Array {
  const noise = batchNormalNoise(seed, 8);
  return sampleSync(sampler, { noise: noise(8 * 3), timesteps, schedule: cosine, prediction: 'v', options }, oracle, noise);
}

const maxDifference = (a: Float32Array, b: Float32Array) => a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);

test('Euler on the probability-flow ODE equals DDIM with eta = 0', () => {
  assert.ok(maxDifference(runWith(eulerSampler, {}), runWith(ddimSampler, { eta: 0 })) < 1e-5);
});

test('DDPM ancestral equals DDIM with eta = 1 for the same noise', () => {
  assert.ok(maxDifference(runWith(ddpmSampler, {}), runWith(ddimSampler, { eta: 1 })) < 1e-5);
});

test('etaPerStep overrides eta step by step, and its length is checked', () => {
  const perStep = runWith(ddimSampler, { eta: 0, etaPerStep: [1, 1, 1, 1] });
  assert.ok(maxDifference(perStep, runWith(ddimSampler, { eta: 1 })) < 1e-6);
  assert.ok(maxDifference(runWith(ddimSampler, { eta: 1, etaPerStep: [0, 0, 0, 0] }), runWith(ddimSampler, { eta: 0 })) < 1e-6);
  assert.throws(() => runWith(ddimSampler, { etaPerStep: [1, 1] }), isDiffusionError('invalid_options'));
});

test('deterministic samplers draw no noise; step is pure (does not change its input state)', () => {
  for (const name of ['dpmpp_2m', 'ddim', 'euler'] as const) {
    const sampler = samplers[name];
    const noiseSource = () => assert.fail(`${name} drew noise`);
    const state = sampler.init({ noise: new Float32Array([0.5, -1, 2]), timesteps, schedule: cosine, prediction: 'v', options: {} });
    const before = Float32Array.from(state.x);
    const output = oracle(state.x, currentTimestep(state));
    const first = sampler.step(state, output, noiseSource);
    const second = sampler.step(state, output, noiseSource);
    assert.deepEqual(state.x, before);
    assert.equal(state.step, 0);
    assert.deepEqual(first.state.x, second.state.x);
    assert.equal(first.state.step, 1);
  }
});

test('the state walks the timesteps, then reports finished', () => {
  for (const name of SAMPLER_NAMES) {
    const sampler = samplers[name];
    const noise = batchNormalNoise(1, 1);
    let state = sampler.init({ noise: noise(2), timesteps, schedule: cosine, prediction: 'v', options: {} });
    const seen: number[] = [];
    while (!isFinished(state)) {
      seen.push(currentTimestep(state));
      state = sampler.step(state, pointMassOracle(cosine, 'v', 0.2)(state.x, currentTimestep(state)), noise).state;
    }
    assert.deepEqual(seen, timesteps);
    assert.throws(() => sampler.step(state, new Float32Array(2), noise), isDiffusionError('sampler_finished'));
  }
});

test('init and step reject bad input with a code', () => {
  const init = (steps: number[]) => ddimSampler.init({ noise: new Float32Array(2), timesteps: steps, schedule: cosine, prediction: 'v', options: {} });
  assert.throws(() => init([]), isDiffusionError('invalid_timesteps'));
  assert.throws(() => init([10, 20]), isDiffusionError('invalid_timesteps'));
  assert.throws(() => init([10, -5]), isDiffusionError('invalid_timesteps'));
  assert.throws(() => ddimSampler.step(init([10, 5]), new Float32Array(3), batchNormalNoise(0, 1)), isDiffusionError('shape_mismatch'));
});

test('registry: every name resolves, options get defaults, bad options and names are rejected', () => {
  for (const name of SAMPLER_NAMES) assert.equal(getSampler(name).name, name);
  assert.deepEqual(resolveSamplerOptions('ddim', {}), { eta: 0 });
  assert.deepEqual(resolveSamplerOptions('euler_ancestral'), { eta: 1, noiseScale: 1 });
  assert.throws(
    () => resolveSamplerOptions('ddim', { eta: 2 }),
    (error: unknown) => error instanceof DiffusionError && error.code === 'invalid_options' && error.field === 'options.eta',
  );
  assert.throws(() => getSampler('heun'), isDiffusionError('unknown_sampler'));
});

test('the samplers that take eta are the ones whose options schema has it', () => {
  assert.deepEqual(SAMPLER_NAMES.filter(samplerTakesEta), ['ddim', 'euler_ancestral']);
});
