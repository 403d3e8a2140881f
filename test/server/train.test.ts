import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFewstepSetup } from '../../server/setup.ts';
import { learnedOutputPath, trainCommand } from '../../server/cli/train.ts';
import { DEFAULT_TRAIN_SETTINGS, planTraining, resolveTrainSettings, trainPrompt } from '../../server/training.ts';
import { UsageError } from '../../server/cli/load.ts';
import { decodePng } from '../../engine/image/png.ts';
import { parseLearnedSchedule } from '../../engine/rl/index.ts';

const setup = createFewstepSetup();
after(() => setup.store.dispose());
const workflows = path.resolve(import.meta.dirname, '../../workflows');
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
  const scheduler = Object.values(converted.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>).find((node) => node.class_type === 'StepScheduler')!;
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
  const resumed = await quietly(() => trainCommand(outFile, { out: dir, ...tiny, iterations: 3, resume: path.join(dir, 'learn-schedule-learned-state.json') }, setup));
  assert.equal(resumed, 0);
  const again = JSON.parse(readFileSync(path.join(dir, 'learn-schedule-learned-learned-state.json'), 'utf8'));
  assert.equal(again.iteration, 3);
  assert.deepEqual(again.history.slice(0, 3), state.history);
});

test('training reports progress through onProgress: iteration, reward, held-out FD', async () => {
  const workflow = JSON.parse(readFileSync(path.join(workflows, 'learn-schedule.json'), 'utf8'));
  const converted = setup.engine.toPrompt(workflow);
  assert.ok(converted.ok);
  const seen: Array<{ iteration: number; reward: number | null; heldOutFd?: number }> = [];
  const prompt = converted.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  for (const node of Object.values(prompt)) if (node.class_type === 'FewStepSampler') node.inputs.sampler = 'ddim';
  const result = await trainPrompt(setup, prompt as never, { ...tiny, iterations: 1, learningRate: 0.05, std: 0.2, learnGuidance: false, learnEta: true, seed: 1, computePenalty: 0 }, { onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen.map((p) => p.iteration), [0, 1]);
  assert.equal(seen[0].reward, null);
  assert.ok(seen.every((p) => typeof p.heldOutFd === 'number' && p.heldOutFd > 0));
  assert.ok(typeof seen[1].reward === 'number');
  assert.equal(result.learned.guidance, undefined);
  assert.equal(result.learned.eta?.length, 4, 'ddim learns eta when asked');
});

test('a workflow without a learned StepScheduler or without a RewardScorer is refused with one line', async () => {
  const four = JSON.parse(readFileSync(path.join(workflows, 'four-step.json'), 'utf8'));
  const converted = setup.engine.toPrompt(four);
  assert.ok(converted.ok);
  assert.throws(() => planTraining(converted.prompt as never), (error: unknown) => error instanceof UsageError && /nothing to train/.test(error.message));
  const prompt = structuredClone(converted.prompt) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  prompt['3'].inputs.spacing = 'learned';
  assert.throws(() => planTraining(prompt as never), /exactly one RewardScorer/);
  await assert.rejects(trainCommand(path.join(workflows, 'four-step.json'), { out: mkdtempSync(path.join(os.tmpdir(), 'fewstep-train-')), ...tiny }, setup), UsageError);
});

test('training settings are checked against one schema, with messages in the words the user typed', () => {
  assert.deepEqual(resolveTrainSettings({}), DEFAULT_TRAIN_SETTINGS);
  const settings = resolveTrainSettings({ group: 4, maxMinutes: 2.5, out: 'dir', json: true, heldOut: undefined });
  assert.equal(settings.group, 4);
  assert.equal(settings.maxMinutes, 2.5);
  assert.equal(settings.heldOut, DEFAULT_TRAIN_SETTINGS.heldOut, 'undefined keeps the default');
  assert.equal('out' in settings, false, 'CLI options that are not settings are left out');
  assert.throws(() => resolveTrainSettings({ group: 3 }), { name: 'UsageError', message: /^--group 3: must be an even number >= 2 and <= 1024 \(schedules per iteration, drawn in mirrored pairs/ });
  assert.throws(() => resolveTrainSettings({ heldOut: 1.5 }), { message: /^--held-out 1.5: must be a whole number >= 2/ });
  assert.throws(() => resolveTrainSettings({ std: 0 }), { message: /^--std 0: must be a number > 0/ });
  assert.throws(() => resolveTrainSettings({ iterations: Number.NaN }), { message: /^--iterations NaN: must be a whole number >= 1/ });
  assert.throws(() => resolveTrainSettings({ computePenalty: -1 }, (field) => `settings.${field}`), { message: /^settings\.computePenalty -1: must be a number >= 0/ });
  assert.throws(() => resolveTrainSettings({ out: 'x' }, (field) => `settings.${field}`, { strict: true }), { message: /^settings\.out: not a training setting \(settings: iterations, group/ });
});

test('the learned file name never equals the input', () => {
  assert.equal(learnedOutputPath('/a/b/x.json', '/out'), '/out/x-learned.json');
  assert.equal(learnedOutputPath('/out/x-learned.json', '/out'), '/out/x-learned-learned.json');
  assert.notEqual(path.resolve(learnedOutputPath('/o/x.json', '/o')), '/o/x.json');
});

test('with a SkipGate in learned mode, its gates are learned jointly and written back into the workflow', async () => {
  const workflow = JSON.parse(readFileSync(path.join(workflows, 'learn-schedule-skip.json'), 'utf8'));
  const converted = setup.engine.toPrompt(workflow);
  assert.ok(converted.ok);
  const prompt = converted.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  const result = await trainPrompt(setup, prompt as never, { ...tiny, iterations: 1, learningRate: 0.05, std: 0.2, learnGuidance: true, learnEta: false, seed: 2, computePenalty: 50 });
  assert.ok(result.plan.skipGateId);
  assert.ok(result.skipGate);
  assert.equal(result.skipGate!.blocksTotal, 80, '4 steps x 10 blocks x 2 halves');
  const skipGate = result.prompt[result.plan.skipGateId!];
  const params = JSON.parse(skipGate.inputs.learned as string);
  assert.equal(params.logits.length, 4);
  assert.equal(params.logits[0].length, 10);
  assert.equal(params.uncondLogits.length, 4);
  assert.equal(setup.engine.validate(result.prompt).ok, true, 'the trained workflow validates');
  assert.equal(result.state.policy.gateLogits?.length, 80);
});
