import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createEngine } from '../../../engine/index.ts';
import { syncWidgetValues } from '../../../engine/graph/sync-widgets.ts';
import { widgetSlots } from '../../../engine/graph/widgets.ts';
import { allNodes } from '../../../nodes/index.ts';

const engine = createEngine({ nodes: allNodes, models: { list: () => ['fmnist'], load: async () => ({}) } });
const workflowsDir = path.resolve(import.meta.dirname, '../../../workflows');
const readWorkflow = (name: string) => JSON.parse(readFileSync(path.join(workflowsDir, name), 'utf8'));
const samplerOf = (workflow: { nodes: Array<{ type: string; widgets_values: unknown[] }> }) => workflow.nodes.find((n) => n.type === 'FewStepSampler')!;

test('object_info declares control_after_generate on the seed, as ComfyUI does, and on nothing else', () => {
  const required = engine.objectInfo().FewStepSampler.input.required;
  assert.deepEqual(required.seed, [
    'INT',
    { default: 0, tooltip: 'Image i of the batch uses noise seed + i.', control_after_generate: true, min: 0, max: 2 ** 32 - 1, step: 1 },
  ]);
  const flagged = Object.entries(engine.objectInfo()).flatMap(([type, entry]) =>
    Object.entries(entry.input.required)
      .filter(([, spec]) => (spec[1] as Record<string, unknown>)?.control_after_generate)
      .map(([name]) => `${type}.${name}`),
  );
  assert.deepEqual(flagged, ['FewStepSampler.seed']);
});

test('every shipped workflow carries a control after its seed and a batch of 4', () => {
  for (const file of [
    'four-step.json',
    'four-step-skip.json',
    'four-step-learned.json',
    'four-step-learned-skip.json',
    'two-step-learned.json',
    'baseline-100-step.json',
    'learn-schedule.json',
    'learn-schedule-two-step.json',
    'learn-schedule-skip.json',
    'learn-schedule-with-skips.json',
  ]) {
    const values = samplerOf(readWorkflow(file)).widgets_values;
    assert.equal(values[1], 'randomize', file);
    assert.equal(values[2], 4, `${file}: batch_size`);
    const converted = engine.toPrompt(readWorkflow(file));
    assert.ok(converted.ok, file);
    const sampler = Object.values(converted.prompt).find((n) => n.class_type === 'FewStepSampler')!;
    assert.equal(sampler.inputs.seed, 0, file);
    assert.equal(sampler.inputs.batch_size, 4, file);
  }
});

test('UI -> prompt reads workflows with and without the control value the same way, whatever the control says', () => {
  const withControl = readWorkflow('four-step.json');
  const expected = engine.toPrompt(withControl);
  assert.ok(expected.ok);
  const sampler = Object.values(expected.prompt).find((n) => n.class_type === 'FewStepSampler')!;
  assert.deepEqual(
    { ...sampler.inputs, model: undefined, conditioning: undefined, schedule: undefined },
    { seed: 0, batch_size: 4, cfg: 1.5, sampler: 'dpmpp_2m', eta: 0, model: undefined, conditioning: undefined, schedule: undefined },
  );

  const without = readWorkflow('four-step.json');
  samplerOf(without).widgets_values.splice(1, 1);
  assert.deepEqual(samplerOf(without).widgets_values, [0, 4, 1.5, 'dpmpp_2m', 0]);
  assert.deepEqual(engine.toPrompt(without), expected);

  for (const control of ['randomize', 'increment', 'decrement']) {
    const other = readWorkflow('four-step.json');
    samplerOf(other).widgets_values[1] = control;
    assert.deepEqual(engine.toPrompt(other), expected, `${control} is the editor's business: the prompt keeps the saved seed`);
  }
});

test('the control is detected by count and type: a word after the seed is a control only when a value is extra', () => {
  const widgets = [
    { name: 'seed', control: true },
    { name: 'mode', control: false },
  ];
  // A combo whose value happens to read "fixed" is a value, not a control, when nothing is extra.
  assert.deepEqual(widgetSlots(widgets, [5, 'fixed']), [
    { name: 'seed', value: 0 },
    { name: 'mode', value: 1 },
  ]);
  assert.deepEqual(widgetSlots(widgets, [5, 'randomize', 'fixed']), [
    { name: 'seed', value: 0, control: 1 },
    { name: 'mode', value: 2 },
  ]);
  // Extra values that are not a control word are not taken for one.
  assert.deepEqual(widgetSlots(widgets, [5, 'half', 'x']), [
    { name: 'seed', value: 0 },
    { name: 'mode', value: 1 },
  ]);
});

test('prompt -> UI writes "fixed" after the seed, so ComfyUI\'s editor lines the widgets up; back again is the same prompt', () => {
  const converted = engine.toPrompt(readWorkflow('four-step.json'));
  assert.ok(converted.ok);
  const ui = engine.toWorkflow(converted.prompt);
  assert.deepEqual(samplerOf(ui as never).widgets_values, [0, 'fixed', 4, 1.5, 'dpmpp_2m', 0]);
  const back = engine.toPrompt(JSON.parse(JSON.stringify(ui)));
  assert.ok(back.ok);
  const samplerInputs = (prompt: Record<string, { class_type: string; inputs: unknown }>) =>
    Object.values(prompt).find((n) => n.class_type === 'FewStepSampler')!.inputs;
  assert.deepEqual(samplerInputs(back.prompt), samplerInputs(converted.prompt));
});

test('--set values written back into a workflow keep its control as it was (a headless run applies none)', () => {
  const workflow = readWorkflow('four-step.json');
  samplerOf(workflow).widgets_values[1] = 'randomize';
  const converted = engine.toPrompt(workflow);
  assert.ok(converted.ok);
  const prompt = structuredClone(converted.prompt) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  const samplerId = Object.keys(prompt).find((id) => prompt[id].class_type === 'FewStepSampler')!;
  prompt[samplerId].inputs.seed = 7;
  const synced = syncWidgetValues(engine.registry, workflow, prompt) as typeof workflow;
  assert.deepEqual(samplerOf(synced).widgets_values, [7, 'randomize', 4, 1.5, 'dpmpp_2m', 0]);
  const without = readWorkflow('four-step.json');
  samplerOf(without).widgets_values.splice(1, 1);
  assert.deepEqual(samplerOf(syncWidgetValues(engine.registry, without, prompt) as typeof without).widgets_values, [7, 4, 1.5, 'dpmpp_2m', 0]);
});
