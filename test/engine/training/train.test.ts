import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Prompt } from '../../../engine/graph/prompt.ts';
import { parseLearnedSchedule } from '../../../engine/rl/index.ts';
import { planTraining, TrainingError, trainWorkflow, workflowSampling } from '../../../engine/training/index.ts';
import { createFewstepSetup } from '../../../server/setup.ts';

const setup = createFewstepSetup();
after(() => setup.store.dispose());
const workflows = path.resolve(import.meta.dirname, '../../../workflows');
const readWorkflow = (name: string) => JSON.parse(readFileSync(path.join(workflows, name), 'utf8'));
const tiny = {
  iterations: 1,
  group: 2,
  batch: 10,
  heldOut: 20,
  evaluateEvery: 1,
  patience: 0,
  maxMinutes: 5,
  learningRate: 0.05,
  std: 0.2,
  seed: 1,
  computePenalty: 0,
};
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fewstep-training-'));
const folders = { output: scratch, input: scratch, temp: scratch };

function promptOf(name: string): Prompt {
  const converted = setup.engine.toPrompt(readWorkflow(name));
  assert.ok(converted.ok);
  return structuredClone(converted.prompt) as Prompt;
}

test('training reports progress through onProgress: iteration, reward, held-out FD', async () => {
  const seen: Array<{ iteration: number; reward: number | null; heldOutFd?: number }> = [];
  const prompt = promptOf('learn-schedule.json');
  for (const node of Object.values(prompt)) if (node.class_type === 'FewStepSampler') node.inputs.sampler = 'ddim';
  const result = await trainWorkflow(setup, prompt, { ...tiny, learnGuidance: false, learnEta: true }, { folders, onProgress: (p) => seen.push(p) });
  assert.deepEqual(
    seen.map((p) => p.iteration),
    [0, 1],
  );
  assert.equal(seen[0].reward, null);
  assert.ok(seen.every((p) => typeof p.heldOutFd === 'number' && p.heldOutFd > 0));
  assert.ok(typeof seen[1].reward === 'number');
  assert.equal(result.learned.guidance, undefined);
  assert.equal(result.learned.eta?.length, 4, 'ddim learns eta when asked');
  // The learned schedule is written into the schedule node's widget, and named in `widgets`.
  assert.deepEqual(Object.keys(result.widgets), [result.plan.schedule.id]);
  assert.equal(result.prompt[result.plan.schedule.id].inputs.learned, JSON.stringify(result.learned));
  assert.equal(result.workflow, result.prompt, 'no UI workflow given: the prompt is the workflow');
});

test('eta is learned only for samplers whose options take it', async () => {
  const result = await trainWorkflow(
    setup,
    promptOf('learn-schedule.json'),
    { ...tiny, iterations: 1, evaluateEvery: 100, learnGuidance: false, learnEta: true },
    { folders },
  );
  assert.equal(result.learned.space?.learnEta, false, 'dpmpp_2m has no eta');
  assert.equal(result.learned.eta, undefined);
});

test('a workflow without a learnable schedule, a sampler it feeds or a reward is refused with one line', () => {
  const notTrainable = (prompt: Prompt, pattern: RegExp) =>
    assert.throws(
      () => planTraining(setup.engine, prompt),
      (error: unknown) => error instanceof TrainingError && error.code === 'not_trainable' && pattern.test(error.message),
    );
  const four = promptOf('four-step.json');
  notTrainable(four, /there is nothing to train/);
  four['3'].inputs.spacing = 'learned';
  notTrainable(four, /exactly one reward node/);
  const two = promptOf('learn-schedule.json');
  two['99'] = structuredClone(two['3']);
  two['98'] = { class_type: 'FewStepSampler', inputs: { ...two['4'].inputs, schedule: ['99', 0] } };
  two['97'] = { class_type: 'PreviewImage', inputs: { images: ['98', 0] } };
  notTrainable(two, /2 nodes learn a schedule \(nodes 3, 99\)/);
  const invalid = promptOf('learn-schedule.json');
  invalid['4'].inputs.cfg = -5;
  assert.throws(() => planTraining(setup.engine, invalid), { name: 'TrainingError', code: 'invalid_workflow' });
});

test("the plan is found by the roles nodes declare: schedule, the sampler it feeds, the reward, gates on the sampler's model", () => {
  const prompt = promptOf('learn-schedule-skip.json');
  const plan = planTraining(setup.engine, prompt);
  const type = (id: string | undefined) => (id ? plan.graph.nodes.get(id)!.type : undefined);
  assert.deepEqual(
    [type(plan.schedule.id), type(plan.sampler.id), type(plan.reward.id), type(plan.gates?.id)],
    ['StepScheduler', 'FewStepSampler', 'RewardScorer', 'SkipGate'],
  );
  const widgets = (id: string) => prompt[id].inputs;
  assert.deepEqual(plan.sampler.role, {
    kind: 'sampler',
    sampler: widgets(plan.sampler.id).sampler,
    cfg: widgets(plan.sampler.id).cfg,
    eta: widgets(plan.sampler.id).eta,
  });
  const scorer = widgets(plan.reward.id);
  assert.deepEqual(plan.reward.role.weights, {
    confidence: scorer.confidence_weight,
    fd: scorer.fd_weight,
    jpeg: scorer.jpeg_weight,
    onnx: scorer.onnx_weight,
  });
  assert.equal(plan.gates?.role.skipAction, widgets(plan.gates!.id).action);
  assert.deepEqual(plan.gates?.role.learned.logits, JSON.parse(widgets(plan.gates!.id).learned as string).logits);
  // A SkipGate not in learned mode learns nothing.
  assert.equal(planTraining(setup.engine, promptOf('learn-schedule-with-skips.json')).gates, undefined);
});

test("with learnable gates on the sampler's model, they are learned jointly and written back into the workflow", async () => {
  const result = await trainWorkflow(
    setup,
    promptOf('learn-schedule-skip.json'),
    { ...tiny, learnGuidance: true, learnEta: false, seed: 2, computePenalty: 50 },
    { folders, workflow: readWorkflow('learn-schedule-skip.json') },
  );
  assert.ok(result.plan.gates);
  assert.ok(result.gates);
  assert.equal(result.gates!.blocksTotal, 80, '4 steps x 10 blocks x 2 halves');
  const gatesId = result.plan.gates!.id;
  const params = JSON.parse(result.prompt[gatesId].inputs.learned as string);
  assert.equal(params.logits.length, 4);
  assert.equal(params.logits[0].length, 10);
  assert.equal(params.uncondLogits.length, 4);
  assert.deepEqual(result.widgets[gatesId], { learned: result.prompt[gatesId].inputs.learned });
  assert.equal(setup.engine.validate(result.prompt).ok, true, 'the trained workflow validates');
  assert.equal(result.state.policy.gateLogits?.length, 80);
  // The UI workflow given comes back with both learned widgets in place.
  const workflow = result.workflow as { nodes: Array<{ id: number; widgets_values: unknown[] }> };
  assert.ok(Array.isArray(workflow.nodes));
  for (const [id, values] of Object.entries(result.widgets)) {
    assert.ok(workflow.nodes.find((node) => String(node.id) === id)!.widgets_values.includes(values.learned), `node ${id}`);
  }
});

test('workflowSampling: what the sampler samples with, as the graph makes it (learned guidance, SkipGate settings)', async () => {
  const learned = await workflowSampling(setup.engine, readWorkflow('four-step-learned.json'), { folders });
  const saved = learned.learned!;
  assert.ok(parseLearnedSchedule(JSON.stringify(saved), 4).ok);
  assert.deepEqual(learned.timesteps, saved.timesteps);
  assert.deepEqual(learned.cfg, saved.guidance ?? learned.choice.cfg);
  assert.equal(learned.handle.skip, null);
  assert.ok(learned.reward && learned.reward.weights.fd > 0, 'the reward it was trained for');
  const skip = await workflowSampling(setup.engine, readWorkflow('four-step-skip.json'), { folders });
  assert.ok(skip.handle.skip, 'the SkipGate feeding the sampler is in the MODEL it gets');
  assert.equal(skip.learned, undefined);
  assert.equal(skip.timesteps.length, 4);
  const ddim = readWorkflow('four-step.json');
  const sampler = ddim.nodes.find((node: { type: string }) => node.type === 'FewStepSampler');
  sampler.widgets_values[4] = 'ddim'; // [seed, control_after_generate, steps, cfg, sampler, eta]
  sampler.widgets_values[5] = 0.4;
  assert.deepEqual((await workflowSampling(setup.engine, ddim, { folders })).samplerOptions, { eta: 0.4 });
});
