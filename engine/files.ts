import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

export class PathError extends Error {
  override readonly name = 'PathError';
}

/**
 * Resolves `relative` inside `root` and refuses anything that leaves it: `..`, absolute paths,
 * and symlinks pointing out (checked on the real path of the deepest part that exists).
 */
export function resolveInside(root: string, relative: string): string {
  if (relative.includes('\0')) throw new PathError(`"${relative}" contains a NUL byte`);
  if (path.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) throw new PathError(`"${relative}" is absolute; give a path inside the folder`);
  const base = path.resolve(root);
  const target = path.resolve(base, relative);
  if (!isWithin(base, target)) throw new PathError(`"${relative}" leaves its folder`);
  const realBase = existsSync(base) ? realpathSync(base) : base;
  let probe = target;
  while (!existsSync(probe) && probe !== base) probe = path.dirname(probe);
  const realProbe = existsSync(probe) ? realpathSync(probe) : probe;
  if (!isWithin(realBase, realProbe)) throw new PathError(`"${relative}" leaves its folder through a symlink`);
  return target;
}

function isWithin(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
