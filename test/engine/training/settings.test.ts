import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRAIN_SETTINGS, resolveTrainSettings, TrainingError } from '../../../engine/training/index.ts';

test('training settings are checked against one schema, with messages in the words the user typed', () => {
  assert.deepEqual(resolveTrainSettings({}), DEFAULT_TRAIN_SETTINGS);
  const settings = resolveTrainSettings({ group: 4, maxMinutes: 2.5, out: 'dir', json: true, heldOut: undefined });
  assert.equal(settings.group, 4);
  assert.equal(settings.maxMinutes, 2.5);
  assert.equal(settings.heldOut, DEFAULT_TRAIN_SETTINGS.heldOut, 'undefined keeps the default');
  assert.equal('out' in settings, false, 'CLI options that are not settings are left out');
  assert.throws(() => resolveTrainSettings({ group: 3 }), {
    name: 'TrainingError',
    code: 'invalid_settings',
    message: /^--group 3: must be an even number >= 2 and <= 1024 \(schedules per iteration, drawn in mirrored pairs/,
  });
  assert.throws(() => resolveTrainSettings({ heldOut: 1.5 }), { message: /^--held-out 1.5: must be a whole number >= 2/ });
  assert.throws(() => resolveTrainSettings({ std: 0 }), { message: /^--std 0: must be a number > 0/ });
  assert.throws(() => resolveTrainSettings({ iterations: Number.NaN }), { message: /^--iterations NaN: must be a whole number >= 1/ });
  assert.throws(() => resolveTrainSettings({ computePenalty: -1 }, (field) => `settings.${field}`), {
    message: /^settings\.computePenalty -1: must be a number >= 0/,
  });
  assert.throws(() => resolveTrainSettings({ out: 'x' }, (field) => `settings.${field}`, { strict: true }), {
    message: /^settings\.out: not a training setting \(settings: iterations, group/,
  });
});

test('names every object has (constructor, toString, __proto__) are not settings', () => {
  // JSON.parse makes "__proto__" an own property, as a request body would.
  for (const body of ['{"constructor": 1}', '{"toString": 1}', '{"__proto__": {"iterations": 1}}', '{"hasOwnProperty": 1}']) {
    const partial = JSON.parse(body) as object;
    const field = Object.keys(partial)[0];
    assert.throws(
      () => resolveTrainSettings(partial, (name) => `settings.${name}`, { strict: true }),
      (error: unknown) =>
        error instanceof TrainingError && error.code === 'invalid_settings' && error.message.startsWith(`settings.${field}: not a training setting`),
      field,
    );
    const lenient = resolveTrainSettings(partial);
    assert.deepEqual(lenient, DEFAULT_TRAIN_SETTINGS, `${field} is ignored outside strict mode`);
    assert.equal(Object.getPrototypeOf(lenient), Object.prototype);
  }
});
