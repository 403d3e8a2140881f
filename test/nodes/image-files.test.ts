import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { saveImages } from '../../nodes/image-files.ts';
import type { NodeContext } from '../../engine/node.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';

const batch = (count: number) => imageBatch(count, 1, 2, 2);
const context = (dir: string) => ({ folders: { output: dir, temp: dir, input: dir } }) as unknown as NodeContext;
const names = (refs: { filename: string }[]) => refs.map((ref) => ref.filename);

test('saved images count on from the highest number already in the folder, per prefix', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-save-'));
  writeFileSync(path.join(dir, 'shoe_00007_.png'), '');
  writeFileSync(path.join(dir, 'other_00042_.png'), '');
  writeFileSync(path.join(dir, 'shoe_notes.txt'), '');
  assert.deepEqual(names(saveImages(context(dir), batch(2), 'shoe', 'output')), ['shoe_00008_.png', 'shoe_00009_.png']);
  assert.deepEqual(names(saveImages(context(dir), batch(1), 'shoe', 'output')), ['shoe_00010_.png']);
  assert.deepEqual(names(saveImages(context(dir), batch(1), 'new', 'output')), ['new_00001_.png']);
});

test('a number another writer took since the folder was read is skipped, and nothing is overwritten', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-save-'));
  assert.deepEqual(names(saveImages(context(dir), batch(1), 'run', 'output')), ['run_00001_.png']);
  writeFileSync(path.join(dir, 'run_00002_.png'), 'theirs');
  writeFileSync(path.join(dir, 'run_00005_.png'), 'theirs');
  assert.deepEqual(names(saveImages(context(dir), batch(2), 'run', 'output')), ['run_00006_.png', 'run_00007_.png']);
  assert.equal(readdirSync(dir).length, 5);
});

test('subfolders in the prefix are created and numbered on their own', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-save-'));
  const refs = saveImages(context(dir), batch(1), 'sub/deep/img', 'temp');
  assert.deepEqual(refs, [{ filename: 'img_00001_.png', subfolder: 'sub/deep', type: 'temp' }]);
});
