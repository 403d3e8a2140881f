import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const python = '/usr/bin/python3';
const int8 = path.join(root, 'models', 'fmnist-int8', 'model.json');
// The recipe needs Debian's python3-torch and python3-onnx (models/recipe/README.md); the model's own tests run without them.
const pythonReady = existsSync(python) && spawnSync(python, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;
const skip = !existsSync(int8)
  ? 'models/fmnist-int8 is not in this checkout'
  : !pythonReady
    ? 'python3-torch / python3-onnx are not installed (models/recipe/README.md)'
    : false;

describe('models/recipe/quantize.py --check-only on the committed int8 model', { skip, timeout: 900_000 }, () => {
  it('finds models/fmnist-int8 derived from models/fmnist and within tolerance of its fp32 torch network', () => {
    const run = spawnSync(python, [path.join(root, 'models', 'recipe', 'quantize.py'), '--check-only'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    });
    assert.equal(run.status, 0, `quantize.py --check-only failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /int8 files derive from models\/fmnist: \d+ quantized tensors within half a step/);
    const rel = run.stdout.match(/relative RMS error of v chain ([\d.]+), full ([\d.]+)/);
    assert.ok(rel, run.stdout);
    // quantize.py fails above 0.06; the committed files measure 0.029.
    assert.ok(Number(rel[1]) < 0.06 && Number(rel[2]) < 0.06, `relative RMS error ${rel[1]}, ${rel[2]}`);
    const chainVsFull = run.stdout.match(/chain vs full ([\d.e+-]+)/);
    assert.ok(chainVsFull && Number(chainVsFull[1]) <= 1e-3, run.stdout);
  });
});
