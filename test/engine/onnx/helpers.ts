// Shared test helpers: temporary synthetic models and the committed model's location.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MODELS_ROOT } from '../../../engine/onnx/model-store.ts';
import { writeSyntheticModel } from './fixtures/synthetic-model.ts';

export const COMMITTED_MODEL_DIR = path.join(DEFAULT_MODELS_ROOT, 'fmnist');
/** Tests on the trained model skip (with this reason) only where models/fmnist is not checked out. */
export const committedModelMissing: string | false = existsSync(path.join(COMMITTED_MODEL_DIR, 'model.json')) ? false : 'models/fmnist is not in this checkout';

let template: Promise<string> | undefined;

/** A fresh copy of a small synthetic model (4 blocks) in its own temp folder; written once per process. */
export async function syntheticModelCopy(name = 'synthetic'): Promise<{ dir: string; root: string; cleanup: () => Promise<void> }> {
  template ??= mkdtemp(path.join(os.tmpdir(), 'fewstep-onnx-template-')).then(async (root) => {
    await writeSyntheticModel(path.join(root, 'synthetic'));
    return path.join(root, 'synthetic');
  });
  const root = await mkdtemp(path.join(os.tmpdir(), 'fewstep-onnx-'));
  const dir = path.join(root, name);
  await cp(await template, dir, { recursive: true });
  return { dir, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Rewrites dir/model.json through `edit`. */
export async function editManifest(dir: string, edit: (manifest: any) => void): Promise<void> {
  const file = path.join(dir, 'model.json');
  const manifest = JSON.parse(await readFile(file, 'utf8'));
  edit(manifest);
  await writeFile(file, JSON.stringify(manifest));
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Deterministic inputs for a batch: noisy images in [-1, 1], spread timesteps, all labels incl. null. */
export function sampleInputs(batch: number, pixels = 784) {
  const x = Float32Array.from({ length: batch * pixels }, (_, i) => Math.max(-1, Math.min(1, Math.sin(i * 12.9898) * 1.3)));
  const t = Float32Array.from({ length: batch }, (_, i) => 20 + ((i * 337) % 960));
  const label = Array.from({ length: batch }, (_, i) => i % 11);
  return { x, t, label };
}
