import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EDITOR_ROOT = path.join(ROOT, 'web');
export const EDITOR_DIST = path.join(EDITOR_ROOT, 'dist');

/** Builds the editor with Vite into web/dist (vite is a dev dependency, loaded only when needed). */
export async function buildEditor(): Promise<void> {
  const vite = await import('vite');
  await vite.build({ configFile: path.join(EDITOR_ROOT, 'vite.config.ts'), logLevel: 'warn' });
}
