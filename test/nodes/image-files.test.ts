import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { decodePng } from '../../engine/image/png.ts';
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

test('a process killed while saving never leaves a partial PNG under a real name', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-save-crash-'));
  const root = path.resolve(import.meta.dirname, '../..');
  // Noise compresses badly: each PNG is ~12 MB, so its write takes long enough to be caught in the middle.
  const script = `
    const { saveImages } = await import('./nodes/image-files.ts');
    const { imageBatch } = await import('./engine/image/image-batch.ts');
    const batch = imageBatch(1, 3, 2048, 2048);
    for (let i = 0; i < batch.data.length; i++) batch.data[i] = Math.random();
    const ctx = { folders: { output: ${JSON.stringify(dir)}, temp: ${JSON.stringify(dir)}, input: ${JSON.stringify(dir)} } };
    for (;;) saveImages(ctx, batch, 'big', 'output');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Killed the moment a file shows up under a real name: with a direct write, that is mid-write.
  const deadline = Date.now() + 200_000;
  while (!readdirSync(dir).some((name) => /^big_\d{5}_\.png$/.test(name)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  child.kill('SIGKILL');
  await exited;
  const saved = readdirSync(dir).filter((name) => /^big_\d{5}_\.png$/.test(name));
  assert.ok(saved.length > 0, 'a file was saved before the kill');
  for (const name of saved) {
    const { image } = decodePng(readFileSync(path.join(dir, name)), name);
    assert.deepEqual([image.width, image.height], [2048, 2048], `${name} is whole`);
  }
});
