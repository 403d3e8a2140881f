import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/index.ts', ...args], { cwd: root, encoding: 'utf8' });

test('npm run bench lists every benchmark in bench/, and refuses a name it does not have', () => {
  const listed = bench();
  assert.equal(listed.status, 0, listed.stderr);
  const files = readdirSync(path.join(root, 'bench'))
    .filter((name) => name.endsWith('.ts') && name !== 'index.ts')
    .map((name) => name.slice(0, -3));
  assert.ok(files.length >= 8);
  for (const name of files) assert.match(listed.stdout, new RegExp(`^  ${name} `, 'm'), `${name} is listed`);
  const unknown = bench('nope');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no benchmark "nope"/);
});
