import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnServer, type Child } from '../../../bench/lib/processes.ts';
import { getJson, postJson, WsClient } from '../helpers.ts';
import { folderFiles, historyFiles, samplePrompt, waitForHistory } from './cluster.ts';

describe('SQLite queue: kill -9 of the server', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-sqlite-kill-'));
  const output = path.join(root, 'output');
  const args = ['--output', output, '--input', path.join(root, 'input')];
  const env = { FEWSTEP_ORT_WORKERS: '1' };
  const children: Child[] = [];
  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    rmSync(root, { recursive: true, force: true });
  });

  it('runs every pending prompt and the one cut short, once each, keeping the history', { timeout: 120000 }, async () => {
    const first = await spawnServer(args, { env });
    children.push(first.child);
    const done = await postJson(`${first.base}/prompt`, { prompt: samplePrompt({ seed: 1 }), client_id: 'k' });
    await waitForHistory(first.base, [done.body.prompt_id]);

    const ws = await WsClient.connect(`${first.wsBase}/ws?clientId=k`);
    const ids: string[] = [];
    for (let seed = 2; seed <= 5; seed++)
      ids.push((await postJson(`${first.base}/prompt`, { prompt: samplePrompt({ seed, steps: 60 }), client_id: 'k' })).body.prompt_id);
    // Killed while the first of them samples; the rest are waiting.
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === ids[0] && m.data.value >= 5, 60000);
    const queue = (await getJson(`${first.base}/queue`)).body;
    assert.equal(queue.queue_running[0][1], ids[0]);
    assert.deepEqual(
      queue.queue_pending.map((entry: unknown[]) => entry[1]),
      ids.slice(1),
    );
    await first.child.kill('SIGKILL');
    ws.close();

    const second = await spawnServer(args, { env });
    children.push(second.child);
    const watcher = await WsClient.connect(`${second.wsBase}/ws?clientId=k`);
    const history = await waitForHistory(second.base, [done.body.prompt_id, ...ids]);
    assert.deepEqual(Object.keys(history), [done.body.prompt_id, ...ids], 'history before the kill is kept, and the rest ran in order');
    for (const id of ids) assert.equal(history[id].status.status_str, 'success');
    assert.match(second.child.lines.join('\n'), /1 prompt\(s\) were running when fewstep last stopped; they run again/);

    // One file per prompt, numbered without gaps or duplicates, each named by its history entry.
    const files = folderFiles(output);
    assert.deepEqual(files, ['queued_00001_.png', 'queued_00002_.png', 'queued_00003_.png', 'queued_00004_.png', 'queued_00005_.png']);
    assert.deepEqual(historyFiles(history), files);
    assert.deepEqual((await getJson(`${second.base}/queue`)).body, { queue_running: [], queue_pending: [] });

    // The messages of the last prompt, sent after the restart, are ComfyUI's as before.
    const last = ids.at(-1)!;
    await watcher.finished(last, 30000);
    // progress_state (the frontend's per-node progress) comes between them; the order of the rest is ComfyUI's.
    const sequence = watcher
      .forPrompt(last)
      .filter((m) => m.type !== 'progress_state')
      .map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type));
    assert.equal(sequence[0], 'execution_start');
    assert.deepEqual(sequence.slice(-3), ['executed', 'execution_success', 'executing:null']);
    const executed = watcher.forPrompt(last).find((m) => m.type === 'executed' && m.data.node === '5')!;
    assert.deepEqual(executed.data.output.images, history[last].outputs['5'].images);
    watcher.close();
  });
});
