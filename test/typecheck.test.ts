import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** tsc in strict mode over the engine, nodes, server, benches and tests, and over the editor. */
for (const project of ['.', 'web']) {
  test(`typescript: ${project === '.' ? 'engine, nodes, server, bench, test' : 'web editor'} type-check cleanly`, async () => {
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, [tsc, '--noEmit', '-p', project], { cwd: root }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
    });
    assert.equal(output.trim(), '', output);
  });
}
