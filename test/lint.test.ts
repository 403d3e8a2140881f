import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

// `npm run lint` as part of `npm test`: Biome (format and lint rules, biome.json) and knip
// (unused files, exports and dependencies, knip.json) both pass on the whole tree.
const root = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

for (const [name, args] of [
  ['biome', ['check', '.']],
  ['knip', []],
] as const) {
  test(`${name} ${args.join(' ')} finds nothing`, () => {
    const run = spawnSync(bin(name), args, { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 0, `${name} found problems (run npm run lint):\n${run.stdout}\n${run.stderr}`.slice(0, 8000));
  });
}
