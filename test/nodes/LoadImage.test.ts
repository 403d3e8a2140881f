import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEngine } from '../../engine/index.ts';
import { encodePng } from '../../engine/image/png.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';
import { allNodes } from '../../nodes/index.ts';
import { bombPng, gradientJpeg, tinyWebp } from '../fixtures/images.ts';

const engine = createEngine({ nodes: allNodes });

function workspace() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-loadimage-'));
  const folders = { input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  mkdirSync(path.join(folders.input, 'sub'));
  writeFileSync(path.join(folders.input, 'grey.png'), encodePng(imageBatch(1, 1, 3, 4, new Float32Array(12).fill(0.5))));
  writeFileSync(path.join(folders.input, 'sub', 'nested.png'), encodePng(imageBatch(1, 1, 2, 2)));
  writeFileSync(path.join(folders.input, 'photo.jpg'), gradientJpeg(12, 6));
  writeFileSync(path.join(folders.input, 'anim.webp'), tinyWebp);
  writeFileSync(path.join(folders.output, 'made_00001_.png'), encodePng(imageBatch(1, 3, 5, 5)));
  writeFileSync(path.join(root, 'secret.png'), encodePng(imageBatch(1, 1, 2, 2)));
  symlinkSync(path.join(root, 'secret.png'), path.join(folders.input, 'link-out.png'));
  symlinkSync(path.join(root, 'gone.png'), path.join(folders.input, 'dangling.png'));
  return { root, folders };
}

const prompt = (image: string) => ({
  '1': { class_type: 'LoadImage', inputs: { image } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'copy' } },
});

async function loaded(image: string, folders: ReturnType<typeof workspace>['folders']) {
  const result = await engine.run(prompt(image), { folders });
  assert.equal(result.status, 'success', JSON.stringify(result));
  return result;
}

test('LoadImage reads PNG and JPEG (sniffed, not by name), files in subfolders and ComfyUI-annotated names', async () => {
  const { folders } = workspace();
  await loaded('grey.png', folders);
  await loaded('photo.jpg', folders);
  await loaded('sub/nested.png', folders);
  await loaded('made_00001_.png [output]', folders);
  await loaded('grey.png [input]', folders);
  // A JPEG under a .png name is still a JPEG.
  writeFileSync(path.join(folders.input, 'really-a-jpeg.png'), gradientJpeg(4, 4));
  await loaded('really-a-jpeg.png', folders);
});

test('a missing image is an error naming the file relative to the input folder, never the machine path', async () => {
  const { root, folders } = workspace();
  const result = await engine.run(prompt('nope.png'), { folders });
  assert.notEqual(result.status, 'success');
  const text = JSON.stringify(result);
  assert.match(text, /\\"nope\.png\\" does not exist in the input folder/);
  assert.ok(!text.includes(root), `the error shows ${root}`);
  // Validation with the folders says so before anything runs (the server and the CLI validate this way).
  const validation = engine.withFolders(folders).validate(prompt('sub/none.png'));
  assert.equal(validation.ok, false);
  assert.match(JSON.stringify(validation), /\\"sub\/none\.png\\" does not exist in the input folder/);
});

test('every image name leaving its folder gets the same validation error, existing or not', () => {
  const { root, folders } = workspace();
  const bound = engine.withFolders(folders);
  const names = [
    '../secret.png',
    '../no-such.png',
    path.join(root, 'secret.png'),
    '/etc/passwd',
    '/no/such',
    'link-out.png',
    'dangling.png',
    'sub/../../secret.png',
    '../secret.png [output]',
  ];
  const messages = new Set<string>();
  for (const name of names) {
    const result = bound.validate(prompt(name));
    assert.equal(result.ok, false, name);
    if (result.ok) continue;
    const details = result.nodeErrors['1'].errors.map((e) => e.details).join('; ');
    messages.add(details.replace(/"[^"]*"/, '<name>').replace(/the (input|output) folder/, 'the <folder> folder'));
    assert.ok(!details.includes(root) || name.startsWith(root), details);
  }
  assert.deepEqual([...messages], ['image: <name> is not inside the <folder> folder']);
  // Without folders (validation that does not know them) the lexical part still holds.
  assert.equal(engine.validate(prompt('../secret.png')).ok, false);
  assert.equal(engine.validate(prompt('/etc/passwd')).ok, false);
  assert.equal(engine.validate(prompt('..name.png')).ok, true);
});

test('a decompression bomb in the input folder is refused at validation, naming the limit; WebP is a clear error', async () => {
  const { folders } = workspace();
  writeFileSync(path.join(folders.input, 'bomb.png'), bombPng(5000, 5000));
  const bound = engine.withFolders(folders);
  const bomb = bound.validate(prompt('bomb.png'));
  assert.equal(bomb.ok, false);
  assert.match(JSON.stringify(bomb), /bomb\.png\\" is 5000 x 5000 pixels \(25\.0 Mpixel\); fewstep reads images of at most 16,777,216 pixels/);
  const run = await engine.run(prompt('bomb.png'), { folders });
  assert.notEqual(run.status, 'success');
  assert.match(JSON.stringify(run), /at most 16,777,216 pixels/);
  const webp = bound.validate(prompt('anim.webp'));
  assert.equal(webp.ok, false);
  assert.match(JSON.stringify(webp), /anim\.webp\\" is a WebP image; LoadImage reads PNG and JPEG/);
});

test("/object_info shows LoadImage's image as a combo of the input folder's images with image_upload", () => {
  const { folders } = workspace();
  const [choices, options] = engine.withFolders(folders).objectInfo().LoadImage.input.required.image as [string[], Record<string, unknown>];
  // Plain image files directly in input/, as ComfyUI lists them; symlinks and folders are not offered.
  assert.deepEqual(choices, ['anim.webp', 'grey.png', 'photo.jpg']);
  assert.equal(options.image_upload, true);
  writeFileSync(path.join(folders.input, 'new.png'), encodePng(imageBatch(1, 1, 2, 2)));
  const [again] = engine.withFolders(folders).objectInfo().LoadImage.input.required.image as [string[], Record<string, unknown>];
  assert.ok(again.includes('new.png'), 'listed when asked, not when the engine was made');
});
