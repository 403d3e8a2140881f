import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getJson, imagePrompt, postJson, startTestServer, WsClient, type TestServer } from './helpers.ts';

const workflowsDir = path.resolve(import.meta.dirname, '../../workflows');
const enc = encodeURIComponent;

describe("the routes ComfyUI's frontend reads: jobs, settings, userdata, templates and the rest", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    mkdirSync(path.join(t.root, 'workflows'));
    for (const file of ['four-step.json', 'four-step-skip.json']) copyFileSync(path.join(workflowsDir, file), path.join(t.root, 'workflows', file));
  });
  after(() => t.close());

  it('lists jobs with status filter, sorting and pagination, and shows one job with its outputs and workflow', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=jobs`);
    const workflow = { id: 'wf-1', nodes: [] };
    const ok = (await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 2 }), client_id: 'jobs', extra_data: { extra_pnginfo: { workflow } } })).body
      .prompt_id;
    await ws.finished(ok);
    // Fails while running (a missing image would be refused at validation, with no job).
    const failing = (await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 2, failAtStep: 1 }), client_id: 'jobs' })).body.prompt_id;
    await ws.finished(failing);
    const stopped = (await postJson(`${t.base}/prompt`, { prompt: imagePrompt({ steps: 10000, delayMs: 5 }), client_id: 'jobs' })).body.prompt_id;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === stopped);
    const waiting = (await postJson(`${t.base}/prompt`, { prompt: imagePrompt(), client_id: 'jobs' })).body.prompt_id;

    const queued = (await getJson(`${t.base}/api/jobs?status=in_progress,pending&limit=200&offset=0`)).body;
    assert.deepEqual(
      queued.jobs.map((j: { id: string; status: string }) => [j.id, j.status]),
      [
        [waiting, 'pending'],
        [stopped, 'in_progress'],
      ],
    );
    const running = (await getJson(`${t.base}/api/jobs/${stopped}`)).body;
    assert.equal(running.status, 'in_progress');
    assert.equal(running.workflow.prompt['2'].class_type, 'SlowSteps');

    assert.deepEqual((await postJson(`${t.base}/api/jobs/${waiting}/cancel`, {})).body, { cancelled: true });
    assert.deepEqual((await postJson(`${t.base}/api/jobs/cancel`, { job_ids: [stopped, 'unknown'] })).body, { cancelled: true });
    await ws.finished(stopped);
    assert.deepEqual((await postJson(`${t.base}/api/jobs/${stopped}/cancel`, {})).body, { cancelled: false }, 'a finished job: a no-op');

    const all = (await getJson(`${t.base}/api/jobs`)).body;
    assert.deepEqual(
      all.jobs.map((j: { id: string; status: string }) => [j.id, j.status]),
      [
        [stopped, 'cancelled'],
        [failing, 'failed'],
        [ok, 'completed'],
      ],
      'newest first',
    );
    assert.deepEqual(all.pagination, { offset: 0, limit: 3, total: 3, has_more: false });
    const done = all.jobs.find((j: { id: string }) => j.id === ok);
    assert.equal(done.workflow_id, 'wf-1');
    assert.equal(done.outputs_count, 1);
    assert.equal(done.previewable_outputs_count, 1);
    assert.deepEqual(done.preview_output, { filename: 'test_00001_.png', subfolder: '', type: 'output', nodeId: '3', mediaType: 'images' });
    assert.ok(done.create_time <= done.execution_start_time && done.execution_start_time <= done.execution_end_time);
    const failed = all.jobs.find((j: { id: string }) => j.id === failing);
    assert.equal(failed.execution_error.node_id, '2');
    assert.equal(failed.execution_error.node_type, 'SlowSteps');
    assert.match(failed.execution_error.exception_message, /failing on purpose at step 1/);
    assert.deepEqual(failed.execution_error.traceback, []);

    const page = (await getJson(`${t.base}/api/jobs?status=completed,failed,cancelled&limit=2&offset=1&sort_order=asc`)).body;
    assert.deepEqual(
      page.jobs.map((j: { id: string }) => j.id),
      [failing, stopped],
    );
    assert.deepEqual(page.pagination, { offset: 1, limit: 2, total: 3, has_more: false });
    const first = (await getJson(`${t.base}/api/jobs?status=completed,failed,cancelled&limit=1`)).body;
    assert.equal(first.pagination.has_more, true);
    assert.deepEqual(
      (await getJson(`${t.base}/api/jobs?status=failed`)).body.jobs.map((j: { id: string }) => j.id),
      [failing],
    );
    assert.deepEqual(
      (await getJson(`${t.base}/api/jobs?workflow_id=wf-1`)).body.jobs.map((j: { id: string }) => j.id),
      [ok],
    );

    const detail = (await getJson(`${t.base}/api/jobs/${ok}`)).body;
    assert.equal(detail.status, 'completed');
    assert.deepEqual(detail.outputs['3'].images, [{ filename: 'test_00001_.png', subfolder: '', type: 'output' }]);
    assert.deepEqual(detail.workflow.extra_data.extra_pnginfo.workflow, workflow, "the editor's workflow, to load the job again");
    assert.equal(detail.workflow.prompt['3'].class_type, 'SaveImage');
    assert.equal(detail.execution_status.status_str, 'success');

    for (const bad of ['status=done', 'limit=0', 'limit=x', 'sort_by=name', 'sort_order=up', 'offset=x']) {
      const response = await getJson(`${t.base}/api/jobs?${bad}`);
      assert.equal(response.status, 400, bad);
      assert.equal(typeof response.body.error.message, 'string');
    }
    assert.equal((await getJson(`${t.base}/api/jobs/nope`)).status, 404);
    assert.equal((await postJson(`${t.base}/api/jobs/cancel`, { job_ids: 'x' })).status, 400);

    // /history paging as ComfyUI: oldest first, offset skips, max_items caps (alone: the newest).
    assert.deepEqual(Object.keys((await getJson(`${t.base}/history?max_items=1`)).body), [stopped]);
    assert.deepEqual(Object.keys((await getJson(`${t.base}/history?offset=1&max_items=1`)).body), [failing]);
    assert.deepEqual(Object.keys((await getJson(`${t.base}/api/history?offset=1`)).body), [failing, stopped]);
    assert.equal((await getJson(`${t.base}/history?offset=-1`)).status, 400);
    ws.close();
  });

  it('keeps settings in user/default/comfy.settings.json: all, one, set one (bare JSON values), merge many', async () => {
    assert.deepEqual((await getJson(`${t.base}/api/settings`)).body, {});
    assert.equal((await getJson(`${t.base}/api/settings/Comfy.TutorialCompleted`)).body, null);
    // As the frontend posts it: the bare value, no content type (fetch sends text/plain).
    const set = await fetch(`${t.base}/api/settings/Comfy.TutorialCompleted`, { method: 'POST', body: JSON.stringify(true) });
    assert.equal(set.status, 200);
    assert.equal((await getJson(`${t.base}/api/settings/Comfy.TutorialCompleted`)).body, true);
    await fetch(`${t.base}/api/settings`, { method: 'POST', body: JSON.stringify({ 'Comfy.Locale': 'en', 'Comfy.Workflow.Sort': { by: 'name' } }) });
    await fetch(`${t.base}/api/settings/Comfy.Count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '3' });
    const expected = { 'Comfy.TutorialCompleted': true, 'Comfy.Locale': 'en', 'Comfy.Workflow.Sort': { by: 'name' }, 'Comfy.Count': 3 };
    assert.deepEqual((await getJson(`${t.base}/settings`)).body, expected);
    const file = path.join(t.root, 'user', 'default', 'comfy.settings.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), expected);
    assert.equal(readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
    assert.equal((await fetch(`${t.base}/api/settings/X`, { method: 'POST', body: '{not json' })).status, 400);
    assert.equal((await fetch(`${t.base}/api/settings`, { method: 'POST', body: '[1]' })).status, 400);
    // Bodies too deep to store and serve back are refused as every JSON body is (found by bench/fuzz.ts as a 500).
    for (const deep of ['['.repeat(60000), `${'['.repeat(100)}${']'.repeat(100)}`]) {
      const answer = await fetch(`${t.base}/api/settings/Deep`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: deep });
      assert.equal(answer.status, 400);
      assert.equal(((await answer.json()) as { error: { type: string } }).error.type, 'json_too_deep');
    }
    assert.equal((await getJson(`${t.base}/api/settings/Deep`)).body, null);
    assert.deepEqual((await getJson(`${t.base}/api/users`)).body, { storage: 'server', migrated: true });
  });

  it('stores userdata byte for byte: write (overwrite, full_info), list, read, move, delete; never outside the user folder', async () => {
    const text = '{\n  "last_node_id": 1,   "nodes": []\n}\n';
    const url = (name: string, query = '') => `${t.base}/api/userdata/${enc(name)}${query}`;
    const written = await fetch(url('workflows/my flow.json', '?overwrite=false&full_info=true'), { method: 'POST', body: text });
    assert.equal(written.status, 200);
    const info = await written.json();
    assert.equal(info.path, 'workflows/my flow.json');
    assert.equal(info.size, Buffer.byteLength(text));
    assert.ok(Number.isInteger(info.modified) && info.modified > 1_600_000_000_000, 'milliseconds');
    assert.equal(readFileSync(path.join(t.root, 'user', 'default', 'workflows', 'my flow.json'), 'utf8'), text);
    assert.equal((await fetch(url('workflows/my flow.json', '?overwrite=false'), { method: 'POST', body: 'x' })).status, 409);
    // The frontend may send overwrite=undefined: anything but "false" overwrites, as ComfyUI.
    const plain = await fetch(url('workflows/other.json', '?overwrite=undefined&full_info=false'), { method: 'POST', body: 'not json at all' });
    assert.deepEqual(await plain.json(), 'workflows/other.json');

    const listed = (await getJson(`${t.base}/api/userdata?dir=workflows&recurse=true&split=false&full_info=true`)).body;
    assert.deepEqual(
      listed.map((f: { path: string }) => f.path),
      ['my flow.json', 'other.json'],
    );
    assert.deepEqual((await getJson(`${t.base}/userdata?dir=workflows`)).body, ['my flow.json', 'other.json']);
    assert.deepEqual((await getJson(`${t.base}/userdata?dir=workflows&split=true`)).body, [
      ['my flow.json', 'my flow.json'],
      ['other.json', 'other.json'],
    ]);
    const v2 = (await getJson(`${t.base}/api/v2/userdata?path=workflows`)).body;
    assert.deepEqual(
      v2.map((e: { path: string; type: string }) => `${e.type}:${e.path}`),
      ['file:workflows/my flow.json', 'file:workflows/other.json'],
    );
    assert.equal(v2[0].size, Buffer.byteLength(text));
    assert.ok(v2[0].modified > 1_600_000_000 && v2[0].modified < 1e11, 'seconds, as ComfyUI');
    assert.ok((await getJson(`${t.base}/api/v2/userdata`)).body.some((e: { path: string; type: string }) => e.path === 'workflows' && e.type === 'directory'));
    assert.equal((await getJson(`${t.base}/api/v2/userdata?path=nothing`)).status, 404);
    assert.equal((await getJson(`${t.base}/api/v2/userdata?path=..%2F..`)).status, 403);
    assert.equal((await getJson(`${t.base}/api/userdata?dir=nothing`)).status, 404);
    assert.equal((await getJson(`${t.base}/api/userdata`)).status, 400);

    const read = await fetch(url('workflows/my flow.json'));
    assert.equal(await read.text(), text);
    assert.equal(read.headers.get('content-disposition'), 'attachment');
    assert.equal(read.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(url('workflows/none.json'))).status, 404);

    const moved = await fetch(`${url('workflows/other.json')}/move/${enc('workflows/sub/renamed.json')}?overwrite=false&full_info=true`, { method: 'POST' });
    assert.equal((await moved.json()).path, 'workflows/sub/renamed.json');
    assert.equal((await fetch(`${url('workflows/my flow.json')}/move/${enc('workflows/sub/renamed.json')}?overwrite=false`, { method: 'POST' })).status, 409);
    assert.equal((await fetch(`${url('workflows/gone.json')}/move/${enc('workflows/x.json')}`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(url('workflows/my flow.json/inside.json'), { method: 'POST', body: 'x' })).status, 409, 'a file where a folder must be');
    assert.equal((await fetch(`${url('workflows/my flow.json')}/move/${enc('workflows')}`, { method: 'POST' })).status, 409, 'onto a folder');
    assert.equal((await fetch(url('workflows/sub/renamed.json'), { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(url('workflows/sub/renamed.json'), { method: 'DELETE' })).status, 404);

    // Leaving the folder: by .., by an absolute path, by a second encoding, through a symlink.
    const outside = path.join(t.root, 'secret.txt');
    writeFileSync(outside, 'secret');
    symlinkSync(t.root, path.join(t.root, 'user', 'default', 'escape'));
    for (const name of ['../../secret.txt', '/etc/passwd', '%2E%2E%2F%2E%2E%2Fsecret.txt', 'escape/secret.txt']) {
      const got = await fetch(url(name));
      assert.equal(got.status, 403, `read ${name}`);
      const body = await got.text();
      assert.ok(!body.includes(t.root), 'no absolute path in the error');
      assert.equal((await fetch(url(name), { method: 'POST', body: 'x' })).status, 403, `write ${name}`);
    }
    assert.equal((await fetch(`${url('workflows/my flow.json')}/move/${enc('../../moved.json')}`, { method: 'POST' })).status, 403);
    assert.equal(readFileSync(outside, 'utf8'), 'secret');
    assert.equal(existsSync(path.join(t.root, 'moved.json')), false);
  });

  it("serves workflows/ as templates, and the frontend's other asks with the shapes it expects", async () => {
    assert.deepEqual((await getJson(`${t.base}/api/workflow_templates`)).body, { fewstep: ['four-step-skip', 'four-step'] });
    const template = await getJson(`${t.base}/api/workflow_templates/fewstep/four-step.json`);
    assert.deepEqual(template.body, JSON.parse(readFileSync(path.join(workflowsDir, 'four-step.json'), 'utf8')));
    const index = (await getJson(`${t.base}/templates/index.json`)).body;
    assert.equal(index.length, 1);
    assert.equal(index[0].moduleName, 'default');
    assert.deepEqual(
      index[0].templates.map((x: { name: string }) => x.name),
      ['four-step-skip', 'four-step'],
    );
    assert.equal(index[0].templates[0].mediaType, 'image');
    assert.match(index[0].templates[0].description, /FewStepSampler/);
    assert.equal((await getJson(`${t.base}/templates/four-step.json`)).body.nodes.length, 5);
    assert.equal((await getJson(`${t.base}/templates/nope.json`)).status, 404);
    assert.equal((await getJson(`${t.base}/api/workflow_templates/fewstep/..%2F..%2Fpackage.json`)).status, 404);

    assert.deepEqual((await getJson(`${t.base}/api/i18n`)).body, {});
    assert.deepEqual((await getJson(`${t.base}/api/global_subgraphs`)).body, {});
    assert.equal((await getJson(`${t.base}/api/global_subgraphs/x`)).status, 404);
    assert.deepEqual((await getJson(`${t.base}/api/experiment/models`)).body, [{ name: 'fewstep', folders: ['models'] }]);
    assert.deepEqual((await getJson(`${t.base}/api/experiment/models/fewstep`)).body, []);
    assert.equal((await getJson(`${t.base}/api/experiment/models/checkpoints`)).status, 404);
    assert.deepEqual((await getJson(`${t.base}/api/models`)).body, ['fewstep']);
    assert.deepEqual((await getJson(`${t.base}/api/embeddings`)).body, []);

    const stats = (await getJson(`${t.base}/api/system_stats`)).body;
    for (const key of ['os', 'python_version', 'comfyui_version', 'pytorch_version', 'embedded_python', 'argv', 'ram_total', 'ram_free'])
      assert.ok(key in stats.system, key);
    assert.match(stats.system.comfyui_version, /^\d+\.\d+\.\d+-fewstep$/);
    assert.deepEqual(Object.keys(stats.devices[0]).sort(), ['index', 'name', 'torch_vram_free', 'torch_vram_total', 'type', 'vram_free', 'vram_total']);
    assert.ok(!JSON.stringify(stats.system.argv).includes(`${path.sep}node_modules`), "argv without the machine's paths");
  });

  it('POST /free drops cached node outputs, so the next identical prompt runs again', async () => {
    const ws = await WsClient.connect(`${t.wsBase}/ws?clientId=free`);
    const prompt = {
      '1': { class_type: 'Gray', inputs: { value: 0.3, count: 1 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'free' } },
    };
    const cached = async () => {
      const id = (await postJson(`${t.base}/prompt`, { prompt, client_id: 'free' })).body.prompt_id;
      await ws.finished(id);
      return ws.forPrompt(id).find((m) => m.type === 'execution_cached')!.data.nodes;
    };
    assert.deepEqual(await cached(), []);
    assert.deepEqual(await cached(), ['1', '2']);
    const response = await postJson(`${t.base}/api/free`, { unload_models: true, free_memory: true });
    assert.equal(response.status, 200);
    assert.equal(response.body.cache_cleared, true);
    assert.deepEqual(await cached(), [], 'runs again after /free');
    assert.equal((await postJson(`${t.base}/free`, { free_memory: 'yes' })).status, 400);
    ws.close();
  });
});

describe('--front-end-root: another frontend build in place of the editor', () => {
  it('serves its index.html and files at /, with the API beside them', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-frontend-'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>another frontend</title>');
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    const t = await startTestServer({ webDir: root });
    try {
      assert.match(await (await fetch(`${t.base}/`)).text(), /another frontend/);
      assert.equal(await (await fetch(`${t.base}/assets/app.js`)).text(), 'console.log(1)');
      assert.equal((await getJson(`${t.base}/api/queue`)).status, 200);
    } finally {
      await t.close();
    }
  });

  it('refuses a folder without index.html in one line, exit 2', async () => {
    const bin = path.resolve(import.meta.dirname, '../../bin/fewstep.mjs');
    const empty = mkdtempSync(path.join(os.tmpdir(), 'fewstep-nofrontend-'));
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, 'serve', '--port', '0', '--front-end-root', empty], { timeout: 60_000 }, (error, _stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stderr });
      });
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--front-end-root .*not a folder with an index\.html/);
  });
});
