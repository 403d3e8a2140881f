import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLearnedSchedule } from '../../engine/rl/index.ts';
import { decodePng } from '../../engine/index.ts';
import { createFewstepSetup } from '../../server/setup.ts';
import { getJson, imagePrompt, postJson, startTestServer, WsClient, type TestServer } from './helpers.ts';

const workflows = path.resolve(import.meta.dirname, '../../workflows');
const readWorkflow = (name: string) => JSON.parse(readFileSync(path.join(workflows, name), 'utf8'));
const tiny = { iterations: 2, group: 2, batch: 10, heldOut: 20, evaluateEvery: 1, patience: 0 };

describe('POST /train: learning a schedule from the server', () => {
  const setup = createFewstepSetup();
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ engine: setup.engine, store: setup.store });
  });
  after(async () => {
    await t.close();
    await setup.store.dispose();
  });

  it('trains a UI workflow, streams its reward curve to the submitting client only, and writes the learned workflow', async () => {
    const trainer = await WsClient.connect(`${t.wsBase}/ws?clientId=trainer`);
    const other = await WsClient.connect(`${t.wsBase}/ws?clientId=other`);
    const started = await postJson(`${t.base}/train`, {
      prompt: readWorkflow('learn-schedule.json'),
      client_id: 'trainer',
      settings: tiny,
      name: 'learn-schedule',
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const id = started.body.train_id as string;
    assert.equal(started.body.iterations, 2);
    const done = await trainer.waitFor((m) => m.type === 'training_done' && m.data.train_id === id, 180_000);

    const types = trainer.messages.filter((m) => m.data?.train_id === id).map((m) => m.type);
    assert.deepEqual(types, ['training_start', 'training_progress', 'training_progress', 'training_progress', 'training_done']);
    const progress = trainer.messages.filter((m) => m.type === 'training_progress').map((m) => m.data);
    assert.deepEqual(
      progress.map((p) => p.step),
      [0, 1, 2],
    );
    assert.equal(progress[0].reward, null, 'no reward before the first iteration');
    assert.ok(progress.slice(1).every((p) => Number.isFinite(p.reward) && p.iterations === 2));
    assert.ok(
      progress.every((p) => p.held_out_fd > 0),
      'held-out FD every iteration (evaluateEvery 1)',
    );
    assert.equal(other.messages.filter((m) => m.type.startsWith('training_')).length, 0, 'another client hears nothing of it');

    assert.equal(done.data.status, 'trained');
    assert.equal(done.data.stopped, 'iterations');
    // The learned workflow: a UI workflow (the input's layout kept) whose StepScheduler carries the schedule.
    const learnedWorkflow = done.data.workflow;
    assert.ok(Array.isArray(learnedWorkflow.nodes));
    assert.equal(learnedWorkflow.nodes.length, readWorkflow('learn-schedule.json').nodes.length);
    assert.equal(setup.engine.validate(learnedWorkflow).ok, true);
    const [schedulerId, widgets] = Object.entries(done.data.widgets as Record<string, { learned: string }>)[0];
    const parsed = parseLearnedSchedule(widgets.learned, 4);
    assert.ok(parsed.ok);
    if (parsed.ok) assert.equal((parsed.value.training as Record<string, unknown>).iterations, 2);
    const schedulerNode = learnedWorkflow.nodes.find((n: { id: number }) => String(n.id) === schedulerId);
    assert.ok(schedulerNode.widgets_values.includes(widgets.learned), 'the widget value is in the returned workflow');

    // Both files are on disk and served by /view.
    const { workflow: workflowRef, plot: plotRef } = done.data.files;
    assert.match(workflowRef.filename, /^learn-schedule-learned-[0-9a-f]{8}\.json$/);
    assert.ok(existsSync(path.join(t.folders.output, 'train', workflowRef.filename)));
    const viewed = await fetch(`${t.base}/view?filename=${encodeURIComponent(workflowRef.filename)}&subfolder=train&type=output`);
    assert.equal(viewed.status, 200);
    assert.deepEqual(JSON.parse(await viewed.text()), learnedWorkflow);
    const plot = await fetch(`${t.base}/view?filename=${encodeURIComponent(plotRef.filename)}&subfolder=train&type=output`);
    assert.equal(plot.status, 200);
    assert.ok(decodePng(Buffer.from(await plot.arrayBuffer())).image.width > 100);

    const listed = await getJson(`${t.base}/train`);
    assert.equal(listed.body.running, null);
    assert.equal(listed.body.runs.find((r: { train_id: string }) => r.train_id === id).status, 'trained');
    const one = await getJson(`${t.base}/api/train/${id}`);
    assert.equal(one.body.iteration, 2);
    assert.equal((await getJson(`${t.base}/train/nope`)).status, 404);
    trainer.close();
    other.close();
  });

  it('runs one training at a time (409), stops on interrupt keeping the best schedule so far, and the prompt queue keeps working meanwhile', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=busy`);
    const long = { ...tiny, iterations: 500, evaluateEvery: 100 };
    const first = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), client_id: 'busy', settings: long });
    assert.equal(first.status, 200);
    const id = first.body.train_id;
    const second = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), client_id: 'busy', settings: tiny });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.type, 'training_busy');
    assert.match(second.body.error.message, /POST \/train\/interrupt/);

    // A prompt queued during training runs to the end.
    const queued = await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), client_id: 'busy' });
    assert.equal(queued.status, 200);
    await ws.finished(queued.body.prompt_id, 60_000);
    assert.ok(ws.messages.some((m) => m.type === 'execution_success' && m.data.prompt_id === queued.body.prompt_id));

    await ws.waitFor((m) => m.type === 'training_progress' && m.data.train_id === id && m.data.step >= 1, 120_000);
    assert.equal((await postJson(`${t.base}/train/interrupt`, { train_id: 'someone-else' })).body.interrupted, false);
    assert.equal((await postJson(`${t.base}/train/interrupt`, {})).body.interrupted, true);
    const done = await ws.waitFor((m) => m.type === 'training_done' && m.data.train_id === id, 120_000);
    assert.equal(done.data.status, 'stopped');
    assert.equal(done.data.stopped, 'aborted');
    if (done.data.files) assert.ok(existsSync(path.join(t.folders.output, 'train', done.data.files.workflow.filename)), 'what was learned so far is written');
    assert.ok(done.data.iterations < 500);
    const again = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), settings: { ...tiny, iterations: 1 } });
    assert.equal(again.status, 200, 'a new run may start once the last one stopped');
    await t.server.training!.idle();
    ws.close();
  });

  it('refuses what cannot be trained with a 400 that names the node or setting', async () => {
    const notLearned = await postJson(`${t.base}/train`, { prompt: readWorkflow('four-step.json') });
    assert.equal(notLearned.status, 400);
    assert.equal(notLearned.body.error.type, 'not_trainable');
    assert.match(notLearned.body.error.message, /there is nothing to train/);

    const oddGroup = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), settings: { group: 3 } });
    assert.equal(oddGroup.status, 400);
    assert.match(oddGroup.body.error.message, /settings\.group 3: must be an even number/);

    assert.equal(oddGroup.body.error.type, 'invalid_settings');
    const unknown = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), settings: { iterationz: 3 } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.type, 'invalid_settings');
    assert.match(unknown.body.error.message, /settings\.iterationz: not a training setting/);
    // Names every object has are not settings either (an `in` check would let them through).
    for (const field of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const body = `{"prompt": ${JSON.stringify(readWorkflow('learn-schedule.json'))}, "settings": {"${field}": {"iterations": 1}}}`;
      const response = await fetch(`${t.base}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await response.json()) as { error: { type: string; message: string } };
      assert.equal(response.status, 400, field);
      assert.equal(json.error.type, 'invalid_settings', field);
      assert.match(json.error.message, new RegExp(`^settings\\.${field}: not a training setting`), field);
    }
    const wrongType = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), settings: { learnGuidance: 'yes', maxMinutes: 2 } });
    assert.match(wrongType.body.error.message, /settings\.learnGuidance "yes": must be true or false/);
    const tooLong = await postJson(`${t.base}/train`, { prompt: readWorkflow('learn-schedule.json'), settings: { maxMinutes: 100000 } });
    assert.match(tooLong.body.error.message, /settings\.maxMinutes 100000: must be a number > 0 and <= 1440/);

    const broken = readWorkflow('learn-schedule.json');
    broken.nodes.find((n: { type: string }) => n.type === 'FewStepSampler').widgets_values[3] = -5; // cfg
    const invalid = await postJson(`${t.base}/train`, { prompt: broken });
    assert.equal(invalid.status, 400);
    assert.ok(Object.keys(invalid.body.node_errors).length > 0, 'validation errors land on their nodes');

    assert.equal((await postJson(`${t.base}/train`, {})).status, 400);
    assert.equal((await getJson(`${t.base}/train`)).body.running, null, 'nothing was started');
  });
});
