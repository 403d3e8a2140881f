import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnFewstep, spawnServer, startRedis, type Child, type RedisServer } from '../../../bench/lib/processes.ts';
import { decodePng } from '../../../engine/index.ts';
import { connectRedis, RedisKeys } from '../../../server/queue/redis-store.ts';
import { getJson, postJson, WsClient } from '../helpers.ts';
import { redisMissing } from './cluster.ts';

const workflows = path.resolve(import.meta.dirname, '../../../workflows');
const learnSchedule = () => JSON.parse(readFileSync(path.join(workflows, 'learn-schedule.json'), 'utf8'));
const tiny = { iterations: 2, group: 2, batch: 10, heldOut: 20, evaluateEvery: 1, patience: 0 };
const long = { ...tiny, iterations: 500, evaluateEvery: 100 };

describe('POST /train with serve --redis: training runs on a worker, messages and files come back through Redis', { skip: redisMissing }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-redis-train-'));
  const output = path.join(root, 'output');
  const env = { FEWSTEP_ORT_WORKERS: '1' };
  const children: Child[] = [];
  let redis: RedisServer;
  let server: { child: Child; base: string; wsBase: string };
  let workerCount = 0;

  const startServer = async (folder: string) => {
    const started = await spawnServer(['--redis', redis.url, '--output', folder, '--input', path.join(root, 'input')], { env });
    children.push(started.child);
    return started;
  };
  const startWorker = async (sharedOutput = false) => {
    const name = `t${++workerCount}`;
    const folder = sharedOutput ? ['--output', output, '--shared-output'] : ['--output', path.join(root, name, 'output')];
    const args = ['worker', '--redis', redis.url, ...folder, '--input', path.join(root, name, 'input')];
    const worker = spawnFewstep([...args, '--lock-ms', '3000', '--stalled-ms', '1000', '--name', name], { env, label: name });
    children.push(worker);
    await worker.waitForLine(/waiting for prompts and training runs/, 60000);
    return worker;
  };
  const train = async (base: string, settings: Record<string, unknown>, clientId: string) => {
    const reply = await postJson(`${base}/train`, { prompt: learnSchedule(), client_id: clientId, settings, name: 'learn-schedule' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.train_id as string;
  };
  const view = (base: string, filename: string) => fetch(`${base}/view?filename=${encodeURIComponent(filename)}&subfolder=train&type=output`);

  before(async () => {
    redis = await startRedis(path.join(root, 'redis'));
    server = await startServer(output);
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('validates on the API server, trains on the worker, streams progress to the submitting client only, lands the files in the API server', {
    timeout: 240_000,
  }, async () => {
    const broken = learnSchedule();
    broken.nodes.find((n: { type: string }) => n.type === 'FewStepSampler').widgets_values[3] = -5; // cfg
    const invalid = await postJson(`${server.base}/train`, { prompt: broken });
    assert.equal(invalid.status, 400);
    assert.ok(Object.keys(invalid.body.node_errors).length > 0, 'validation errors land on their nodes');
    const oddGroup = await postJson(`${server.base}/train`, { prompt: learnSchedule(), settings: { group: 3 } });
    assert.equal(oddGroup.status, 400);
    assert.equal(oddGroup.body.error.type, 'invalid_settings');

    const worker = await startWorker();
    const trainer = await WsClient.connect(`${server.wsBase}/ws?clientId=trainer`);
    const other = await WsClient.connect(`${server.wsBase}/ws?clientId=other`);
    const id = await train(server.base, tiny, 'trainer');
    const done = await trainer.waitFor((m) => m.type === 'training_done' && m.data.train_id === id, 180_000);
    assert.ok(
      worker.lines.some((line) => line.endsWith(`training ${id} started`)),
      'the worker ran it',
    );

    const types = trainer.messages.filter((m) => m.data?.train_id === id).map((m) => m.type);
    assert.deepEqual(types, ['training_start', 'training_progress', 'training_progress', 'training_progress', 'training_done']);
    const progress = trainer.messages.filter((m) => m.type === 'training_progress').map((m) => m.data);
    assert.deepEqual(
      progress.map((p) => p.step),
      [0, 1, 2],
    );
    assert.ok(progress.slice(1).every((p) => Number.isFinite(p.reward) && p.iterations === 2));
    assert.ok(progress.every((p) => p.held_out_fd > 0));
    assert.equal(other.messages.filter((m) => m.type.startsWith('training_')).length, 0, 'another client hears nothing of it');
    assert.equal(done.data.status, 'trained');
    assert.equal(done.data.stopped, 'iterations');

    // Both files are in the API server's output/train/ (sent through Redis) and served by /view.
    const { workflow: workflowRef, plot: plotRef } = done.data.files;
    assert.match(workflowRef.filename, /^learn-schedule-learned-[0-9a-f]{8}\.json$/);
    assert.ok(existsSync(path.join(output, 'train', workflowRef.filename)));
    assert.ok(existsSync(path.join(output, 'train', plotRef.filename)));
    const viewed = await view(server.base, workflowRef.filename);
    assert.equal(viewed.status, 200);
    assert.deepEqual(JSON.parse(await viewed.text()), done.data.workflow);
    const plot = await view(server.base, plotRef.filename);
    assert.equal(plot.status, 200);
    assert.ok(decodePng(Buffer.from(await plot.arrayBuffer())).image.width > 100);

    // The record, kept in Redis by the worker.
    const listed = await getJson(`${server.base}/train`);
    assert.equal(listed.body.running, null);
    assert.equal(listed.body.runs.find((r: { train_id: string }) => r.train_id === id).status, 'trained');
    const one = await getJson(`${server.base}/api/train/${id}`);
    assert.equal(one.body.iteration, 2);
    assert.deepEqual(one.body.files, done.data.files);
    assert.equal((await getJson(`${server.base}/train/nope`)).status, 404);
    trainer.close();
    other.close();
  });

  it('one run at a time across API servers (409), and interrupt reaches the worker, which keeps what it learned', { timeout: 240_000 }, async () => {
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=busy`);
    const id = await train(server.base, long, 'busy');
    const second = await startServer(path.join(root, 'second-output'));
    const refused = await postJson(`${second.base}/train`, { prompt: learnSchedule(), settings: tiny });
    assert.equal(refused.status, 409, 'the other API server on the same Redis refuses too');
    assert.equal(refused.body.error.type, 'training_busy');
    assert.match(refused.body.error.message, new RegExp(`training ${id} is running.*POST /train/interrupt`));
    assert.equal((await getJson(`${second.base}/train`)).body.running.train_id, id);
    await second.child.kill('SIGKILL');

    await ws.waitFor((m) => m.type === 'training_progress' && m.data.train_id === id && m.data.step >= 1, 120_000);
    assert.equal((await postJson(`${server.base}/train/interrupt`, { train_id: 'someone-else' })).body.interrupted, false);
    assert.equal((await postJson(`${server.base}/train/interrupt`, {})).body.interrupted, true);
    const done = await ws.waitFor((m) => m.type === 'training_done' && m.data.train_id === id, 120_000);
    assert.equal(done.data.status, 'stopped');
    assert.equal(done.data.stopped, 'aborted');
    assert.ok(done.data.iterations < 500);
    if (done.data.files) assert.equal((await view(server.base, done.data.files.workflow.filename)).status, 200, 'what was learned so far is served');
    const worker = children.find((child) => child.label === 't1')!;
    await worker.waitForLine(new RegExp(`training ${id} stopped$`), 10_000);
    assert.equal((await getJson(`${server.base}/train/${id}`)).body.status, 'stopped');
    ws.close();
  });

  it('kill -9 of the worker mid-training: the run is failed with the reason, not rerun, and a new run may start (--shared-output)', {
    timeout: 240_000,
  }, async () => {
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=lost`);
    const id = await train(server.base, long, 'lost');
    const holder = children.find((child) => child.label === 't1')!;
    await holder.waitForLine(new RegExp(`training ${id} started$`), 60_000);
    await ws.waitFor((m) => m.type === 'training_progress' && m.data.train_id === id, 120_000);
    await holder.kill('SIGKILL');
    // Another worker's stalled-job check finds the run whose lock lapsed; this one writes into the API server's folder itself.
    const next = await startWorker(true);
    const error = await ws.waitFor((m) => m.type === 'training_error' && m.data.train_id === id, 60_000);
    assert.match(error.data.message, /worker running this training was lost \(killed or crashed\); training is not rerun/);
    const record = (await getJson(`${server.base}/train/${id}`)).body;
    assert.equal(record.status, 'failed');
    assert.match(record.message, /lost/);
    assert.ok(!next.lines.some((line) => line.includes(`training ${id} started`)), 'not run again');

    const again = await train(server.base, { ...tiny, iterations: 1 }, 'lost');
    const done = await ws.waitFor((m) => m.type === 'training_done' && m.data.train_id === again, 120_000);
    assert.equal(done.data.status, 'trained');
    assert.equal((await view(server.base, done.data.files.plot.filename)).status, 200);
    const connection = connectRedis(redis.url);
    assert.equal(await connection.exists(new RedisKeys().files(`train-${again}`)), 0, 'with --shared-output no bytes travel through Redis');
    connection.disconnect();
    ws.close();
  });
});
