import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLEAN_TIMESTEP,
  DiffusionError,
  alphaAt,
  alphaCumprod,
  karrasSigmaAt,
  logSnr,
  parseNoiseSchedule,
  schedulePoint,
  sigmaAt,
  timestepForLogSnr,
} from '../../../engine/diffusion/index.ts';

const cosine = parseNoiseSchedule({ kind: 'cosine', trainSteps: 1000, s: 0.008, minAlphaCumprod: 1e-5, maxAlphaCumprod: 0.99999 });
const linear = parseNoiseSchedule({ kind: 'linear', trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02 });

const close = (actual: number, expected: number, tolerance: number, label = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label} ${actual} vs ${expected}`);

test('cosine alphaCumprod matches the closed form (values from numpy) and is clipped', () => {
  // reference: cos(((t/1000)+s)/(1+s)*pi/2)^2 / cos(s/(1+s)*pi/2)^2 evaluated in Python
  const expected: Record<number, number> = {
    1: 0.999958715775178,
    250: 0.8470121613269047,
    500: 0.49384359044063775,
    750: 0.1442721023857358,
    900: 0.024091724140085854,
  };
  for (const [t, value] of Object.entries(expected)) close(alphaCumprod(cosine, Number(t)), value, 1e-12, `t=${t}`);
  assert.equal(alphaCumprod(cosine, 0), 0.99999);
  assert.equal(alphaCumprod(cosine, 999), 1e-5);
  assert.equal(alphaCumprod(cosine, 1000), 1e-5);
});

test('linear alphaCumprod matches DDPM cumprod(1 - linspace(1e-4, 0.02, 1000)) at integer t', () => {
  close(alphaCumprod(linear, 0), 0.9999, 1e-12);
  close(alphaCumprod(linear, 499), 0.07858724288177824, 1e-10);
  close(alphaCumprod(linear, 999), 4.035829765375676e-5, 1e-12);
});

test('linear schedule interpolates log-SNR linearly between integer timesteps', () => {
  close(logSnr(linear, 10.25), 0.75 * logSnr(linear, 10) + 0.25 * logSnr(linear, 11), 1e-12);
});

test('alphaCumprod decreases monotonically over t for both kinds', () => {
  for (const schedule of [cosine, linear]) {
    let previous = Infinity;
    for (let t = 0; t < 1000; t += 0.5) {
      const value = alphaCumprod(schedule, t);
      assert.ok(value <= previous, `${schedule.kind} not monotone at t=${t}`);
      previous = value;
    }
    assert.ok(alphaCumprod(schedule, 0) > alphaCumprod(schedule, 500));
    assert.ok(alphaCumprod(schedule, 500) > alphaCumprod(schedule, 990));
  }
});

test('alpha^2 + sigma^2 = 1 and karras sigma = sigma / alpha', () => {
  for (const schedule of [cosine, linear]) {
    for (const t of [0, 3.5, 250, 777.7, 999]) {
      close(alphaAt(schedule, t) ** 2 + sigmaAt(schedule, t) ** 2, 1, 1e-12);
      close(karrasSigmaAt(schedule, t), sigmaAt(schedule, t) / alphaAt(schedule, t), 1e-9 * karrasSigmaAt(schedule, t));
    }
  }
});

test('the clean timestep has alpha 1, sigma 0, infinite log-SNR', () => {
  assert.deepEqual(schedulePoint(cosine, CLEAN_TIMESTEP), { t: -1, alphaCumprod: 1, alpha: 1, sigma: 0, logSnr: Infinity });
  assert.equal(alphaCumprod(linear, CLEAN_TIMESTEP), 1);
});

test('timestepForLogSnr inverts logSnr inside the unclipped range', () => {
  for (const t of [0.5, 1, 10, 123.4, 500, 800, 990]) close(timestepForLogSnr(cosine, logSnr(cosine, t)), t, 1e-6, `cosine t=${t}`);
  for (const t of [0, 0.3, 10, 123.4, 500, 998.9, 999]) close(timestepForLogSnr(linear, logSnr(linear, t)), t, 1e-8, `linear t=${t}`);
});

test('timestepForLogSnr clamps out-of-range log-SNR to the schedule ends', () => {
  close(logSnr(cosine, timestepForLogSnr(cosine, -100)), logSnr(cosine, 999), 1e-9);
  close(logSnr(cosine, timestepForLogSnr(cosine, 100)), logSnr(cosine, 0), 1e-9);
  assert.equal(timestepForLogSnr(linear, 100), 0);
  assert.equal(timestepForLogSnr(linear, -100), 999);
});

test('parseNoiseSchedule fills defaults and rejects bad configs with a code', () => {
  assert.deepEqual(parseNoiseSchedule({ kind: 'cosine' }), cosine);
  assert.throws(
    () => parseNoiseSchedule({ kind: 'cosine', s: -1 }),
    (error: unknown) => error instanceof DiffusionError && error.code === 'invalid_schedule',
  );
  assert.throws(() => parseNoiseSchedule({ kind: 'sigmoid' }), DiffusionError);
  assert.throws(() => parseNoiseSchedule({ kind: 'cosine', minAlphaCumprod: 0.5, maxAlphaCumprod: 0.4 }), /minAlphaCumprod/);
});
