import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFewstepSetup } from '../../../server/setup.ts';
import { learnedOutputPath, trainCommand } from '../../../server/cli/train.ts';
import { UsageError } from '../../../server/cli/load.ts';
import { decodePng } from '../../../engine/image/png.ts';
import { parseLearnedSchedule } from '../../../engine/rl/index.ts';

const setup = createFewstepSetup();
after(() => setup.store.dispose());
const workflows = path.resolve(import.meta.dirname, '../../../workflows');
const tiny = { iterations: 2, group: 2, batch: 10, heldOut: 20, evaluateEvery: 1, patience: 0, maxMinutes: 5 };

/** Silences the command's table while it runs. */
async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await body();
  } finally {
    console.log = log;
  }
}

test('fewstep train writes a new learned workflow (never the input), the reward curve PNG and a resumable state', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-train-'));
  const input = path.join(dir, 'learn-schedule.json');
  copyFileSync(path.join(workflows, 'learn-schedule.json'), input);
  const before = readFileSync(input, 'utf8');
  const code = await quietly(() => trainCommand(input, { out: dir, ...tiny }, setup));
  assert.equal(code, 0);
  assert.equal(readFileSync(input, 'utf8'), before, 'the input is untouched');
  const outFile = path.join(dir, 'learn-schedule-learned.json');
  assert.ok(existsSync(outFile));
  const trained = JSON.parse(readFileSync(outFile, 'utf8'));
  assert.equal(setup.engine.validate(trained).ok, true);
  const converted = setup.engine.toPrompt(trained);
  assert.ok(converted.ok);
  const scheduler = Object.values(converted.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>).find(
    (node) => node.class_type === 'StepScheduler',
  )!;
  const learned = parseLearnedSchedule(scheduler.inputs.learned as string, 4);
  assert.ok(learned.ok);
  if (!learned.ok) return;
  assert.equal(learned.value.timesteps[0], 999);
  assert.equal(learned.value.guidance?.length, 4);
  assert.equal((learned.value.training as Record<string, unknown>).iterations, 2);
  const plot = decodePng(readFileSync(path.join(dir, 'learn-schedule-learned-reward.png')));
  assert.ok(plot.image.width > 100);
  const state = JSON.parse(readFileSync(path.join(dir, 'learn-schedule-learned-state.json'), 'utf8'));
  assert.equal(state.iteration, 2);
  // Resuming to 3 iterations continues from the saved state; training again from the learned
  // workflow starts where it ended.
  const resumed = await quietly(() =>
    trainCommand(outFile, { out: dir, ...tiny, iterations: 3, resume: path.join(dir, 'learn-schedule-learned-state.json') }, setup),
  );
  assert.equal(resumed, 0);
  const again = JSON.parse(readFileSync(path.join(dir, 'learn-schedule-learned-learned-state.json'), 'utf8'));
  assert.equal(again.iteration, 3);
  assert.deepEqual(again.history.slice(0, 3), state.history);
});

test('fewstep train refuses what it cannot train, and bad settings, with one line (exit code 2)', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'fewstep-train-'));
  await assert.rejects(
    trainCommand(path.join(workflows, 'four-step.json'), { out, ...tiny }, setup),
    (error: unknown) => error instanceof UsageError && error.exitCode === 2 && /nothing to train/.test(error.message),
  );
  await assert.rejects(
    trainCommand(path.join(workflows, 'learn-schedule.json'), { out, ...tiny, group: 3 }, setup),
    (error: unknown) => error instanceof UsageError && /^--group 3: must be an even number/.test(error.message),
  );
});

test('the learned file name never equals the input', () => {
  assert.equal(learnedOutputPath('/a/b/x.json', '/out'), '/out/x-learned.json');
  assert.equal(learnedOutputPath('/out/x-learned.json', '/out'), '/out/x-learned-learned.json');
  assert.notEqual(path.resolve(learnedOutputPath('/o/x.json', '/o')), '/o/x.json');
});
