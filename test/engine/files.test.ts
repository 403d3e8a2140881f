import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAnnotatedName, PathError, resolveInside, staysInside, writeFileReplacing, writeNewFile } from '../../engine/files.ts';

function folders() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-files-'));
  const inside = path.join(root, 'input');
  mkdirSync(path.join(inside, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'secret.txt'), 'outside');
  writeFileSync(path.join(inside, 'sub', 'a.png'), 'a');
  symlinkSync(path.join(root, 'secret.txt'), path.join(inside, 'to-secret'));
  symlinkSync(path.join(root, 'missing.txt'), path.join(inside, 'dangling'));
  symlinkSync(root, path.join(inside, 'up'));
  symlinkSync(path.join(inside, 'sub'), path.join(inside, 'sub-link'));
  return { root, inside };
}

test('every path that leaves the folder gets one and the same error, whether or not something exists there', () => {
  const { root, inside } = folders();
  const outside = [
    '/etc/passwd', // exists
    '/no/such/file', // does not
    '../secret.txt',
    '../missing.txt',
    'sub/../../secret.txt',
    'to-secret', // a symlink to an existing file outside
    'dangling', // a symlink to nothing outside
    'dangling/deeper.png',
    'up/secret.txt',
    'up/missing.txt',
    'a\0b',
    'C:\\Windows\\win.ini',
    path.join(root, 'secret.txt'),
  ];
  const messages = new Set<string>();
  for (const name of outside) {
    assert.throws(
      () => resolveInside(inside, name, 'input'),
      (error: unknown) => {
        assert.ok(error instanceof PathError, name);
        // The message names the path as given; with it taken out, every one reads the same.
        messages.add(error.message.replace(JSON.stringify(name), '<name>'));
        return true;
      },
    );
  }
  assert.deepEqual([...messages], ['<name> is not inside the input folder']);
});

test('names inside the folder resolve, including ..foo names and symlinks that stay inside', () => {
  const { inside } = folders();
  assert.equal(resolveInside(inside, '..foo.png'), path.join(inside, '..foo.png'));
  assert.equal(resolveInside(inside, 'sub/../..bar'), path.join(inside, '..bar'));
  assert.equal(resolveInside(inside, 'sub-link/a.png'), path.join(inside, 'sub-link', 'a.png'));
  assert.equal(resolveInside(inside, 'new/folder/x.png'), path.join(inside, 'new', 'folder', 'x.png'));
  assert.equal(staysInside('..foo.png'), true);
  assert.equal(staysInside('a/../../b'), false);
  assert.equal(staysInside('/etc/passwd'), false);
});

test('annotated names: name.png [output] names the output folder', () => {
  assert.deepEqual(parseAnnotatedName('shot.png [output]'), { name: 'shot.png', type: 'output' });
  assert.deepEqual(parseAnnotatedName('sub/shot.png [input]'), { name: 'sub/shot.png', type: 'input' });
  assert.deepEqual(parseAnnotatedName('shot.png [temp]'), { name: 'shot.png', type: 'temp' });
  assert.deepEqual(parseAnnotatedName('shot [x].png'), { name: 'shot [x].png' });
  assert.deepEqual(parseAnnotatedName('shot.png[output]'), { name: 'shot.png[output]' });
});

test('writeNewFile: whole files under real names only, and a taken name is never overwritten', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-write-'));
  const file = path.join(dir, 'image.png');
  writeNewFile(file, 'first');
  assert.throws(
    () => writeNewFile(file, 'second'),
    (error: NodeJS.ErrnoException) => error.code === 'EEXIST',
  );
  assert.equal(readFileSync(file, 'utf8'), 'first');
  writeFileReplacing(file, 'third');
  assert.equal(readFileSync(file, 'utf8'), 'third');
  assert.deepEqual(readdirSync(dir), ['image.png'], 'no temporary file is left behind');
});
