import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EDITOR_ROOT = path.join(ROOT, 'web');
export const EDITOR_DIST = path.join(EDITOR_ROOT, 'dist');
const LOCK = path.join(EDITOR_ROOT, '.build.lock');
const STALE_LOCK_MS = 120_000;

/** Builds the editor with Vite into web/dist (vite is a dev dependency, loaded only when needed). */
export async function buildEditor(): Promise<void> {
  const vite = await import('vite');
  await vite.build({ configFile: path.join(EDITOR_ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when web/dist exists and is newer than every file under web/. */
export function editorIsBuilt(): boolean {
  const index = path.join(EDITOR_DIST, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= newestSource(EDITOR_ROOT);
}

/**
 * Builds the editor when web/dist is missing or older than its sources. A lock file keeps
 * concurrent callers (parallel test files, two servers starting) from emptying each other's dist.
 */
export async function ensureEditorBuilt(): Promise<void> {
  for (;;) {
    if (!existsSync(LOCK) && editorIsBuilt()) return;
    let lock: number | undefined;
    try {
      lock = openSync(LOCK, 'wx');
    } catch {
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    try {
      if (!editorIsBuilt()) await buildEditor();
      return;
    } finally {
      closeSync(lock);
      rmSync(LOCK, { force: true });
    }
  }
}
