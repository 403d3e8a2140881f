import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { imageBatch } from '../../../engine/image/image-batch.ts';
import type { NodeContext } from '../../../engine/node.ts';
import { saveImagesForPrompt } from '../../../nodes/image-files.ts';
import { historyEntry } from '../../../server/queue/run-prompt.ts';
import { DataFolderError, SqliteStore } from '../../../server/queue/sqlite.ts';
import type { QueueItem } from '../../../server/queue/types.ts';

const tempDir = (name: string) => mkdtempSync(path.join(os.tmpdir(), `fewstep-${name}-`));

function item(store: SqliteStore, promptId: string, front = false): QueueItem {
  return {
    number: store.nextNumber(front),
    promptId,
    prompt: { '1': { class_type: 'X', inputs: {} } },
    extraData: { client_id: 'c' },
    outputs: ['1'],
    clientId: 'c',
  };
}

describe('SQLite queue store', () => {
  it('keeps pending prompts, their order, history and numbering across a reopen', () => {
    const dir = tempDir('sqlite');
    let store = new SqliteStore(dir);
    for (const id of ['a', 'b', 'c']) store.add(item(store, id));
    store.add(item(store, 'front', true));
    assert.deepEqual(
      store.pending().map((i) => i.promptId),
      ['front', 'a', 'b', 'c'],
    );
    const first = store.start()!;
    store.finish(first.promptId, historyEntry(first, {}, true, []));
    store.close();

    store = new SqliteStore(dir);
    assert.deepEqual(
      store.pending().map((i) => i.promptId),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(Object.keys(store.history()), ['front']);
    assert.equal(store.historyEntry('front')!.status.status_str, 'success');
    assert.equal(store.nextNumber(false), 5, 'numbers go on from the highest stored');
    assert.ok(store.has('a') && store.has('front') && !store.has('z'));
    assert.equal(store.removePending(['b']), 1);
    assert.deepEqual(
      store.pending().map((i) => i.promptId),
      ['a', 'c'],
    );
    store.close();
  });

  it('runs a prompt cut short by a kill once more, and records it as failed when it dies again', () => {
    const dir = tempDir('sqlite');
    let store = new SqliteStore(dir);
    store.add(item(store, 'killer'));
    store.add(item(store, 'next'));
    assert.equal(store.start()!.promptId, 'killer');
    store.close(); // as kill -9 leaves it: running, never finished

    store = new SqliteStore(dir);
    assert.deepEqual(store.recovered, { rerun: ['killer'], failed: [] });
    assert.deepEqual(
      store.pending().map((i) => i.promptId),
      ['killer', 'next'],
    );
    assert.equal(store.start()!.promptId, 'killer');
    store.close();

    store = new SqliteStore(dir);
    assert.deepEqual(store.recovered, { rerun: [], failed: ['killer'] });
    const entry = store.historyEntry('killer')!;
    assert.equal(entry.status.status_str, 'error');
    const [type, data] = entry.status.messages[0];
    assert.equal(type, 'execution_error');
    assert.match(String(data.exception_message), /stopped \(killed or crashed\) while this prompt ran, 2 times/);
    assert.deepEqual(
      store.pending().map((i) => i.promptId),
      ['next'],
    );
    store.close();
  });

  it('a shutdown puts the running prompt back without counting it as a crash', () => {
    const dir = tempDir('sqlite');
    let store = new SqliteStore(dir);
    store.add(item(store, 'p'));
    store.start();
    store.requeue('p');
    store.start();
    store.requeue('p');
    store.start();
    store.close();
    store = new SqliteStore(dir);
    assert.deepEqual(store.recovered, { rerun: ['p'], failed: [] });
    store.close();
  });

  it('refuses a second process on the same data folder', () => {
    const dir = tempDir('sqlite');
    const store = new SqliteStore(dir);
    // Same process, second connection: the exclusive lock is per connection, as it is per process.
    assert.throws(
      () => new SqliteStore(dir),
      (error: unknown) => error instanceof DataFolderError && /in use by another fewstep process/.test(error.message),
    );
    store.close();
  });

  it('trims history to its limit, oldest first', () => {
    const store = new SqliteStore(tempDir('sqlite'), 3);
    for (const id of ['h1', 'h2', 'h3', 'h4', 'h5']) store.finish(id, historyEntry(item(store, id), {}, true, []));
    assert.deepEqual(Object.keys(store.history()), ['h3', 'h4', 'h5']);
    assert.deepEqual(Object.keys(store.history(2)), ['h4', 'h5']);
    store.close();
  });
});

describe('saved files numbered per prompt id', () => {
  const context = (output: string, numbering: SqliteStore['fileNumbering'], promptId: string) =>
    ({ folders: { output, temp: output, input: output }, fileNumbering: numbering, promptId, nodeId: '5' }) as unknown as NodeContext;

  it('the same prompt run again writes over its own files: one set, no gaps', async () => {
    const output = tempDir('numbered');
    const dataDir = tempDir('sqlite');
    let store = new SqliteStore(dataDir);
    const names = (refs: { filename: string }[]) => refs.map((ref) => ref.filename);
    assert.deepEqual(names(await saveImagesForPrompt(context(output, store.fileNumbering, 'p1'), imageBatch(2, 1, 2, 2), 'shoe', 'output')), [
      'shoe_00001_.png',
      'shoe_00002_.png',
    ]);
    // The server is killed before p1 is recorded, restarts, and p1 runs again.
    store.close();
    store = new SqliteStore(dataDir);
    assert.deepEqual(names(await saveImagesForPrompt(context(output, store.fileNumbering, 'p1'), imageBatch(2, 1, 2, 2), 'shoe', 'output')), [
      'shoe_00001_.png',
      'shoe_00002_.png',
    ]);
    assert.deepEqual(names(await saveImagesForPrompt(context(output, store.fileNumbering, 'p2'), imageBatch(1, 1, 2, 2), 'shoe', 'output')), [
      'shoe_00003_.png',
    ]);
    assert.deepEqual(readdirSync(output).sort(), ['shoe_00001_.png', 'shoe_00002_.png', 'shoe_00003_.png']);
    store.close();
  });
});
