#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's built-in runner (through tsx), streams its report,
// and ends with the plain summary line CI reads: `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const filters = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'fixtures' ? [] : findTests(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = findTests(path.join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
// Build the editor once, before any test file runs: test files run concurrently, and a build
// started inside one of them could replace web/dist while another has a page open on it.
const build = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--input-type=module', '-e', "await (await import('./server/web-build.ts')).ensureEditorBuilt()"],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let passed = 0;
let failed = 0;
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on('close', (code) => {
  passed = Number(/^# pass (\d+)/m.exec(tail)?.[1] ?? 0);
  failed = Number(/^# fail (\d+)/m.exec(tail)?.[1] ?? 0);
  const cancelled = Number(/^# cancelled (\d+)/m.exec(tail)?.[1] ?? 0);
  failed += cancelled;
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
