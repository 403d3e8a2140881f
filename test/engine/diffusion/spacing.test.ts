import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DiffusionError,
  SPACING_NAMES,
  SpacingSchema,
  computeTimesteps,
  karrasSigmaAt,
  logSnr,
  parseNoiseSchedule,
  roundHalfToEven,
  type Spacing,
} from '../../../engine/diffusion/index.ts';
import Value from 'typebox/value';

const cosine = parseNoiseSchedule({ kind: 'cosine' });
const linear = parseNoiseSchedule({ kind: 'linear', trainSteps: 1000, betaStart: 0.00085, betaEnd: 0.012 });
const generated: Spacing[] = [{ kind: 'trailing' }, { kind: 'leading' }, { kind: 'linspace' }, { kind: 'karras' }, { kind: 'logsnr' }];

test('every generated spacing: right length, strictly descending, inside [0, trainSteps)', () => {
  for (const schedule of [cosine, linear]) {
    for (const spacing of generated) {
      for (const steps of [1, 2, 4, 10, 50, 1000]) {
        const timesteps = computeTimesteps(spacing, steps, schedule);
        assert.equal(timesteps.length, steps, `${spacing.kind} ${steps}`);
        timesteps.forEach((t, i) => {
          assert.ok(t >= 0 && t < 1000, `${spacing.kind} ${steps}: ${t} out of range`);
          if (i > 0) assert.ok(t < timesteps[i - 1], `${spacing.kind} ${steps}: not descending at ${i}`);
        });
      }
    }
  }
});

test('trailing, leading, linspace match diffusers for 1000 train steps', () => {
  const at = (kind: 'trailing' | 'leading' | 'linspace', steps: number) => computeTimesteps({ kind }, steps, cosine);
  assert.deepEqual(at('trailing', 4), [999, 749, 499, 249]);
  assert.deepEqual(at('trailing', 10), [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
  assert.deepEqual(at('leading', 4), [750, 500, 250, 0]);
  assert.deepEqual(at('leading', 10), [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
  assert.deepEqual(at('linspace', 4), [999, 666, 333, 0]);
  assert.deepEqual(at('linspace', 10), [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
  // np.round is half-to-even: 937.5 -> 938, 812.5 -> 812 (then - 1)
  assert.deepEqual(at('trailing', 16).slice(0, 4), [999, 937, 874, 811]);
  assert.deepEqual(computeTimesteps({ kind: 'leading', stepsOffset: 1 }, 4, cosine), [751, 501, 251, 1]);
});

test('roundHalfToEven behaves like numpy round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 812.5, 937.5, 2.4, 2.6].map(roundHalfToEven), [0, 2, 2, 812, 938, 2, 3]);
});

test('karras spacing is rho-spaced in VE sigma between the schedule ends', () => {
  const steps = 10;
  const rho = 7;
  const timesteps = computeTimesteps({ kind: 'karras', rho }, steps, linear);
  const roots = timesteps.map((t) => karrasSigmaAt(linear, t) ** (1 / rho));
  const gaps = roots.slice(1).map((root, i) => root - roots[i]);
  for (const gap of gaps) assert.ok(Math.abs(gap - gaps[0]) < 1e-9, `sigma^(1/rho) gaps not uniform: ${gaps}`);
  assert.ok(Math.abs(karrasSigmaAt(linear, timesteps[0]) - karrasSigmaAt(linear, 999)) < 1e-9 * karrasSigmaAt(linear, 999));
  assert.ok(Math.abs(timesteps[steps - 1]) < 1e-9);
  // custom range is honoured
  const narrow = computeTimesteps({ kind: 'karras', sigmaMin: 0.1, sigmaMax: 10 }, 4, cosine);
  assert.ok(Math.abs(karrasSigmaAt(cosine, narrow[0]) - 10) < 1e-9 && Math.abs(karrasSigmaAt(cosine, narrow[3]) - 0.1) < 1e-9);
});

test('logsnr spacing is uniform in log-SNR', () => {
  for (const schedule of [cosine, linear]) {
    const lambdas = computeTimesteps({ kind: 'logsnr' }, 8, schedule).map((t) => logSnr(schedule, t));
    const gaps = lambdas.slice(1).map((lambda, i) => lambda - lambdas[i]);
    for (const gap of gaps) assert.ok(gap > 0 && Math.abs(gap - gaps[0]) < 1e-6, `${schedule.kind}: ${gaps}`);
  }
  const custom = computeTimesteps({ kind: 'logsnr', logSnrMin: -4, logSnrMax: 4 }, 3, cosine).map((t) => logSnr(cosine, t));
  custom.forEach((lambda, i) => assert.ok(Math.abs(lambda - [-4, 0, 4][i]) < 1e-9));
});

test('explicit spacing returns the list, and names the problem when it is wrong', () => {
  assert.deepEqual(computeTimesteps({ kind: 'explicit', timesteps: [999, 600.5, 10] }, 3, cosine), [999, 600.5, 10]);
  const fails = (timesteps: number[], steps: number, code: string) =>
    assert.throws(
      () => computeTimesteps({ kind: 'explicit', timesteps }, steps, cosine),
      (error: unknown) => error instanceof DiffusionError && error.code === code,
    );
  fails([999, 500], 3, 'spacing_length_mismatch');
  fails([999, 999, 10], 3, 'spacing_not_descending');
  fails([10, 500, 999], 3, 'spacing_not_descending');
  fails([1000, 500, 10], 3, 'spacing_out_of_range');
  fails([999, 500, -1], 3, 'spacing_out_of_range');
  fails([999, Number.NaN, 10], 3, 'spacing_out_of_range');
});

test('bad step counts and out-of-range offsets are rejected', () => {
  for (const steps of [0, -1, 2.5, 1001]) {
    assert.throws(
      () => computeTimesteps({ kind: 'trailing' }, steps, cosine),
      (error: unknown) => error instanceof DiffusionError && error.code === 'invalid_steps',
    );
  }
  assert.throws(() => computeTimesteps({ kind: 'leading', stepsOffset: 300 }, 4, cosine), /outside/);
});

test('SpacingSchema accepts every spacing config and SPACING_NAMES lists every kind', () => {
  for (const spacing of [...generated, { kind: 'explicit', timesteps: [1] }]) assert.ok(Value.Check(SpacingSchema, spacing));
  assert.ok(!Value.Check(SpacingSchema, { kind: 'karras', rho: -1 }));
  assert.deepEqual([...SPACING_NAMES].sort(), ['explicit', 'karras', 'leading', 'linspace', 'logsnr', 'trailing']);
});
