import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createFewstepSetup } from '../../server/setup.ts';
import { computeTimesteps, parseNoiseSchedule } from '../../engine/diffusion/index.ts';

const { engine, store } = createFewstepSetup();
after(() => store.dispose());
const folders = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-scheduler-'));
  return { output: dir, temp: dir, input: dir };
};

const learned = {
  format: 'fewstep-learned-schedule/1',
  timesteps: [999, 640.5, 300.25, 90],
  guidance: [1.5, 2.5, 2, 1.2],
  eta: [0, 0.1, 0.2, 0],
  training: { note: 'made by hand for this test' },
};

function prompt(scheduler: Record<string, unknown>) {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'all classes' } },
    '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 4, spacing: 'learned', rho: 7, timesteps: '', learned: '', ...scheduler } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 5, batch_size: 2, cfg: 3, sampler: 'ddim', eta: 0 },
    },
    '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
  };
}

test('a learned schedule round-trips through a saved UI workflow and drives the sampler', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-learned-'));
  const workflow = engine.toWorkflow(prompt({ learned: JSON.stringify(learned) }));
  const file = path.join(dir, 'saved.json');
  writeFileSync(file, JSON.stringify(workflow));
  const reloaded = engine.toPrompt(JSON.parse(readFileSync(file, 'utf8')));
  assert.ok(reloaded.ok);
  const scheduler = (reloaded.prompt as Record<string, { inputs: Record<string, unknown> }>)['3'];
  assert.deepEqual(JSON.parse(scheduler.inputs.learned as string), learned);
  const result = await engine.run(reloaded.prompt, { folders: folders() });
  assert.equal(result.status, 'success', JSON.stringify(result));
  if (result.status !== 'success') return;
  assert.match(result.display['3'].text![0], /learned: t 999, 641, 300, 90; cfg 1.50, 2.50, 2.00, 1.20; eta 0.00, 0.10, 0.20, 0.00/);
  const stats = result.stats['4'] as Record<string, unknown>;
  assert.equal(stats.spacing, 'learned');
  assert.equal(stats.nfe, 4);
  // Guidance is per step and never 1, so every step evaluates cond + uncond.
  assert.equal(stats.model_evaluations_per_image, 8);
});

test('an untrained learned scheduler runs the trailing start and says so', async () => {
  const result = await engine.run(prompt({}), { folders: folders() });
  assert.equal(result.status, 'success');
  if (result.status !== 'success') return;
  const model = await store.load('fmnist');
  const trailing = computeTimesteps({ kind: 'trailing' }, 4, parseNoiseSchedule(model.schedule));
  assert.equal(result.display['3'].text![0], `not trained yet: trailing ${trailing.join(', ')}`);
});

test('a learned schedule that does not fit is a validation error on the learned widget', () => {
  const problems = (learnedText: string, steps = 4) => {
    const validation = engine.validate(prompt({ learned: learnedText, steps }));
    assert.equal(validation.ok, false);
    if (validation.ok) return '';
    return JSON.stringify(validation.nodeErrors['3']);
  };
  assert.match(problems('{not json'), /learned.*is not JSON/);
  assert.match(problems(JSON.stringify(learned), 3), /holds 4 timesteps but steps is 3/);
  assert.match(problems(JSON.stringify({ ...learned, timesteps: [999, 999, 300, 90] })), /strictly descending/);
  assert.match(problems(JSON.stringify({ ...learned, eta: [0, 0, 2, 0] })), /learned/);
  assert.equal(engine.validate(prompt({ learned: JSON.stringify(learned) })).ok, true);
});

test('old workflows without the learned widget still load and run hand-made spacings', () => {
  const file = path.resolve(import.meta.dirname, '../../workflows/four-step.json');
  assert.equal(engine.validate(JSON.parse(readFileSync(file, 'utf8'))).ok, true);
});
