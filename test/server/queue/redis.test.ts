import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, spawnFewstep, spawnServer, startRedis, type Child, type RedisServer } from '../../../bench/lib/processes.ts';
import { connectRedis, RedisKeys, redisFileNumbering } from '../../../server/queue/redis-store.ts';
import { getJson, postJson, testPng, WsClient } from '../helpers.ts';
import { folderFiles, historyFiles, redisMissing, samplePrompt, waitForHistory } from './cluster.ts';

describe('Redis queue: real redis-server, API servers and workers, killed with SIGKILL', { skip: redisMissing }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-redis-queue-'));
  const output = path.join(root, 'output');
  const env = { FEWSTEP_ORT_WORKERS: '1' };
  const children: Child[] = [];
  let redis: RedisServer;
  let server: { child: Child; base: string; wsBase: string };
  let workerCount = 0;

  const startServer = async (folder = output) => {
    const started = await spawnServer(['--redis', redis.url, '--output', folder, '--input', path.join(root, 'input')], { env });
    children.push(started.child);
    return started;
  };
  const startWorker = async (extra: string[] = [], cwd?: string) => {
    const name = `w${++workerCount}`;
    const args = [
      'worker',
      '--redis',
      redis.url,
      '--output',
      path.join(root, name, 'output'),
      '--input',
      path.join(root, 'input'),
      '--lock-ms',
      '3000',
      '--stalled-ms',
      '1000',
      '--name',
      name,
      ...extra,
    ];
    const worker = spawnFewstep(args, { env, cwd, label: name });
    children.push(worker);
    await worker.waitForLine(/waiting for prompts/, 60000);
    return worker;
  };
  const submit = async (base: string, prompt: Record<string, unknown>, clientId = 'r') => {
    const reply = await postJson(`${base}/prompt`, { prompt, client_id: clientId });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.prompt_id as string;
  };
  const startedOn = (worker: Child, promptId: string) => worker.lines.filter((line) => line.endsWith(`${promptId} started`)).length;

  before(async () => {
    redis = await startRedis(path.join(root, 'redis'));
    server = await startServer();
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('kill -9 of a worker mid-prompt: the prompt runs on the other worker, one entry, one set of files', { timeout: 90000 }, async () => {
    const workers = [await startWorker(), await startWorker()];
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=r`);
    const ids: string[] = [];
    for (let seed = 1; seed <= 4; seed++) ids.push(await submit(server.base, samplePrompt({ seed, steps: seed === 1 ? 120 : 40 })));
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === ids[0] && m.data.value >= 5, 60000);
    const holder = workers.find((worker) => startedOn(worker, ids[0]) === 1)!;
    const other = workers.find((worker) => worker !== holder)!;
    await holder.kill('SIGKILL');

    const history = await waitForHistory(server.base, ids, 60000);
    for (const id of ids) assert.equal(history[id].status.status_str, 'success', id);
    assert.equal(startedOn(other, ids[0]), 1, 'the lost prompt ran again on the surviving worker');
    // One history entry and one file per prompt, numbered without gaps, in the API server's folder.
    assert.deepEqual(folderFiles(output), ['queued_00001_.png', 'queued_00002_.png', 'queued_00003_.png', 'queued_00004_.png']);
    assert.deepEqual(historyFiles(history), folderFiles(output));
    for (const id of ids) await ws.finished(id, 10000);
    for (const id of ids) assert.equal(ws.forPrompt(id).filter((m) => m.type === 'execution_success').length, 1, id);
    assert.equal(ws.forPrompt(ids[0]).filter((m) => m.type === 'execution_start').length, 2, 'the client saw the prompt start again');
    // Previews travelled as ComfyUI binary frames.
    assert.ok(ws.frames.length > 0 && ws.frames.every((frame) => frame.readUInt32BE(0) === 1 && frame.readUInt32BE(4) === 2));
    ws.close();
  });

  it('interrupt and queue delete reach the worker that holds the prompt', { timeout: 60000 }, async () => {
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=i`);
    // One worker is left from the test before; it takes the long prompt, the others wait.
    const long = await submit(server.base, samplePrompt({ seed: 20, steps: 1000 }), 'i');
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long && m.data.value >= 2, 30000);
    const waiting = [await submit(server.base, samplePrompt({ seed: 21 }), 'i'), await submit(server.base, samplePrompt({ seed: 22 }), 'i')];
    assert.deepEqual(
      (await getJson(`${server.base}/queue`)).body.queue_running.map((entry: unknown[]) => entry[1]),
      [long],
    );
    await postJson(`${server.base}/queue`, { delete: [waiting[0]] });
    assert.deepEqual(
      (await getJson(`${server.base}/queue`)).body.queue_pending.map((entry: unknown[]) => entry[1]),
      [waiting[1]],
    );
    assert.deepEqual((await postJson(`${server.base}/interrupt`, { prompt_id: waiting[1] })).body, { interrupted: false });
    assert.deepEqual((await postJson(`${server.base}/interrupt`, { prompt_id: long })).body, { interrupted: true });
    const history = await waitForHistory(server.base, [long, waiting[1]], 30000);
    assert.equal(history[long].status.status_str, 'error');
    assert.ok(history[long].status.messages.some(([type]: [string]) => type === 'execution_interrupted'));
    assert.equal(history[waiting[1]].status.status_str, 'success');
    assert.equal(history[waiting[0]], undefined, 'a deleted prompt never runs');
    await ws.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === long);
    ws.close();
  });

  it('an API server restart keeps history; a second server on the same Redis sees the same prompts', { timeout: 60000 }, async () => {
    const before = (await getJson(`${server.base}/history`)).body;
    await server.child.kill('SIGKILL');
    server = await startServer();
    assert.deepEqual((await getJson(`${server.base}/history`)).body, before);

    const secondOutput = path.join(root, 'second-output');
    const second = await startServer(secondOutput);
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=s`);
    const id = await submit(second.base, samplePrompt({ seed: 30 }), 's');
    const executed = await ws.waitFor((m) => m.type === 'executed' && m.data.prompt_id === id && m.data.node === '5', 30000);
    const [image] = executed.data.output.images;
    assert.equal(image.filename, 'queued_00006_.png', 'numbered on from the files of every earlier prompt');
    // Every API server writes the files into its own output folder, before telling its clients.
    const view = await fetch(`${server.base}/view?${new URLSearchParams(image)}`);
    assert.equal(view.status, 200);
    assert.ok(folderFiles(secondOutput).includes(image.filename));
    assert.equal((await getJson(`${second.base}/history/${id}`)).body[id].status.status_str, 'success');
    await second.child.kill('SIGKILL');
    ws.close();
  });

  it('an uploaded image travels to the worker with the prompt that reads it', { timeout: 30000 }, async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(testPng(8, 8))], { type: 'image/png' }), 'upload.png');
    const uploaded = await fetch(`${server.base}/upload/image`, { method: 'POST', body: form });
    assert.equal(uploaded.status, 200);
    const prompt = {
      '1': { class_type: 'LoadImage', inputs: { image: 'upload.png' } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'uploaded' } },
    };
    const id = await submit(server.base, prompt);
    const entry = (await waitForHistory(server.base, [id], 20000))[id];
    assert.equal(entry.status.status_str, 'success', JSON.stringify(entry.status.messages));
    assert.deepEqual(entry.outputs['2'].images, [{ filename: 'uploaded_00001_.png', subfolder: '', type: 'output' }]);
    assert.ok(folderFiles(output).includes('uploaded_00001_.png'));
  });

  it('kill -9 of Redis (append-only file on) loses no accepted prompt', { timeout: 60000 }, async () => {
    await Promise.all(children.filter((child) => child.label.startsWith('w')).map((worker) => worker.kill('SIGKILL')));
    const ids = [await submit(server.base, samplePrompt({ seed: 40 })), await submit(server.base, samplePrompt({ seed: 41 }))];
    const historyBefore = Object.keys((await getJson(`${server.base}/history`)).body);
    await redis.restart();
    await startWorker();
    const history = await waitForHistory(server.base, ids, 45000);
    for (const id of ids) assert.equal(history[id].status.status_str, 'success');
    for (const id of historyBefore) assert.ok(history[id], 'history from before the restart is there');
  });

  it('a worker that cannot load the model fails the prompt with a clear error, and does not retry it', { timeout: 60000 }, async () => {
    await Promise.all(children.filter((child) => child.label.startsWith('w')).map((worker) => worker.kill('SIGKILL')));
    // A model folder whose manifest is there but whose ONNX files are not: the API server lists the model, this worker cannot load it.
    mkdirSync(path.join(root, 'broken-models', 'fmnist'), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, 'models', 'fmnist', 'model.json'), path.join(root, 'broken-models', 'fmnist', 'model.json'));
    const worker = await startWorker(['--models', 'broken-models'], root);
    const id = await submit(server.base, samplePrompt({ seed: 50 }));
    const entry = (await waitForHistory(server.base, [id], 30000))[id];
    assert.equal(entry.status.status_str, 'error');
    const error = entry.status.messages.find(([type]: [string]) => type === 'execution_error')[1];
    assert.equal(error.node_type, 'LoadModel');
    assert.match(error.exception_message, /fmnist/);
    assert.doesNotMatch(error.exception_message, new RegExp(root.replaceAll('\\', '\\\\')), 'no absolute path of the machine');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(startedOn(worker, id), 1, 'run once, not retried');
    assert.deepEqual((await getJson(`${server.base}/queue`)).body, { queue_running: [], queue_pending: [] });
  });

  it('a prompt that loses its worker twice is recorded as failed, with the reason', { timeout: 60000 }, async () => {
    await Promise.all(children.filter((child) => child.label.startsWith('w')).map((worker) => worker.kill('SIGKILL')));
    const ws = await WsClient.connect(`${server.wsBase}/ws?clientId=l`);
    const id = await submit(server.base, samplePrompt({ seed: 60, steps: 1000 }), 'l');
    for (let loss = 1; loss <= 2; loss++) {
      const worker = await startWorker();
      await worker.waitForLine(new RegExp(`${id} started$`), 30000);
      await worker.kill('SIGKILL');
    }
    await startWorker();
    const entry = (await waitForHistory(server.base, [id], 30000))[id];
    assert.equal(entry.status.status_str, 'error');
    const [type, data] = entry.status.messages.at(-1);
    assert.equal(type, 'execution_error');
    assert.equal(data.exception_type, 'WorkerLost');
    assert.match(data.exception_message, /lost \(killed or crashed\) twice/);
    // The client hears it as ComfyUI's error and end of prompt.
    await ws.finished(id, 10000);
    assert.ok(ws.forPrompt(id).some((m) => m.type === 'execution_error' && /twice/.test(m.data.exception_message)));
    assert.deepEqual((await getJson(`${server.base}/queue`)).body, { queue_running: [], queue_pending: [] });
    ws.close();
  });

  it('file numbers are reserved per prompt and node in Redis: a rerun gets the same ones', async () => {
    const connection = connectRedis(redis.url);
    const numbering = redisFileNumbering(connection, new RedisKeys('numbering-test'));
    const request = { promptId: 'p1', nodeId: '5', key: 'output/shoe', count: 2, floor: 7 };
    assert.deepEqual(await numbering.reserve(request), { first: 8, reused: false });
    assert.deepEqual(await numbering.reserve(request), { first: 8, reused: true });
    assert.deepEqual(await numbering.reserve({ ...request, promptId: 'p2', floor: 0 }), { first: 10, reused: false });
    assert.deepEqual(await numbering.reserve({ ...request, replace: true }), { first: 12, reused: false }, 'numbers found taken are replaced');
    connection.disconnect();
  });
});
