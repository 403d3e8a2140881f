import { randomBytes } from 'node:crypto';
import { copyFileSync, linkSync, lstatSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A path that does not stay inside its folder. The message is the same for every such path
 * (absolute, `..`, a symlink out, a NUL byte): it must not tell whether something exists there.
 */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly given: string,
    folder = 'its',
  ) {
    super(`${quoteName(given)} is not inside ${folder === 'its' ? 'its' : `the ${folder}`} folder`);
  }
}

/** A name as error messages show it: quoted, control characters escaped, long ones cut. */
export function quoteName(name: string): string {
  const text = JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name);
  return text;
}

/**
 * Resolves `relative` inside `root` and refuses anything that leaves it: `..`, absolute paths,
 * and symlinks pointing out (checked on the real path of the deepest part that exists; a
 * dangling symlink counts as leaving). Nothing outside the folder is opened or stat'ed.
 * `folder` names the folder in the error ("input", "models").
 */
export function resolveInside(root: string, relative: string, folder?: string): string {
  if (typeof relative !== 'string' || relative.includes('\0') || path.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) {
    throw new PathError(String(relative), folder);
  }
  const base = path.resolve(root);
  const target = path.resolve(base, relative);
  if (!isWithin(base, target)) throw new PathError(relative, folder);
  const realBase = realOrSelf(base);
  // The deepest part that exists, as an entry (lstat: a dangling symlink exists as an entry).
  let probe = target;
  while (probe !== base && !entryExists(probe)) probe = path.dirname(probe);
  let realProbe: string;
  try {
    realProbe = probe === base ? realBase : realpathSync(probe);
  } catch {
    throw new PathError(relative, folder);
  }
  if (!isWithin(realBase, realProbe)) throw new PathError(relative, folder);
  return target;
}

/**
 * The lexical half of resolveInside, for when the folder is not known yet (validation without
 * folders): false for absolute paths, NUL bytes and `..` that climbs out.
 */
export function staysInside(relative: string): boolean {
  if (relative.includes('\0') || path.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) return false;
  const base = path.resolve('/fewstep-folder');
  return isWithin(base, path.resolve(base, relative));
}

/** True when `target` is `base` or below it (a name like `..foo` inside it counts as below). */
export function isWithin(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function entryExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function realOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

export type FolderType = 'input' | 'output' | 'temp';

/**
 * ComfyUI's annotated file names: `name.png [output]` names a file of the output folder
 * (also `[input]`, `[temp]`); without the suffix the name belongs to the default folder.
 */
export function parseAnnotatedName(name: string): { name: string; type?: FolderType } {
  const match = /^(.*) \[(input|output|temp)\]$/.exec(name);
  return match ? { name: match[1], type: match[2] as FolderType } : { name };
}

/** A hidden name beside `file` (short whatever the file's name is: names are limited to 255 bytes). */
const temporaryName = (file: string) => path.join(path.dirname(file), `.fewstep-write-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);

/**
 * Writes a new file atomically: the bytes go to a temporary name in the same folder, then are
 * linked under the real name, which fails with EEXIST when the name is taken (as `wx` would).
 * A crash leaves at most a hidden temporary file, never a half-written file under a real name.
 */
export function writeNewFile(file: string, bytes: Uint8Array | string): void {
  const temporary = temporaryName(file);
  writeFileSync(temporary, bytes, { flag: 'wx' });
  try {
    claimName(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Writes a file atomically, replacing whatever is under its name (temporary name, then rename). */
export function writeFileReplacing(file: string, bytes: Uint8Array | string): void {
  const temporary = temporaryName(file);
  try {
    writeFileSync(temporary, bytes, { flag: 'wx' });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Gives the finished file `from` the name `to`, failing with EEXIST if `to` exists; `from` is
 * left in place (the caller removes it). A hard link is atomic and exclusive; where links are not
 * possible (another file system, or one without them) the bytes are copied exclusively.
 */
export function claimName(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw error;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // No link here: copy next to the target first (so the rename below is atomic), then move it in place.
    const local = temporaryName(to);
    try {
      copyFileSync(from, local);
      linkOrFail(local, to);
    } finally {
      rmSync(local, { force: true });
    }
  }
}

function linkOrFail(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
    // A file system without hard links at all: the best left is a rename after a check.
    if (entryExists(to)) throw Object.assign(new Error(`${path.basename(to)} exists`), { code: 'EEXIST' });
    renameSync(from, to);
  }
}
