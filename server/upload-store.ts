import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import multer from 'multer';
import { claimName, PathError, resolveInside, type FolderType } from '../engine/files.ts';
import type { Folders } from '../engine/index.ts';
import { HttpError } from './http-error.ts';

/*
 * Uploads go to disk as they arrive (never whole into memory): into a hidden staging file in one
 * of the folders, checked there, then given their real name in one step (a hard link, which also
 * refuses a name taken meanwhile) or deduplicated against the file already under that name.
 */

const FOLDER_TYPES: readonly FolderType[] = ['output', 'input', 'temp'];

const STAGING_PREFIX = '.fewstep-upload-';
const STALE_STAGING_MS = 60 * 60 * 1000;
/** The longest file or folder name most file systems take, in bytes. */
const MAX_NAME_BYTES = 255;
const MAX_SUBFOLDER_BYTES = 1024;

export function folderOf(folders: Folders, type: unknown, fallback: FolderType = 'output'): string {
  const name = type === undefined || type === '' ? fallback : String(type);
  if (!(FOLDER_TYPES as readonly string[]).includes(name)) throw new HttpError(400, 'invalid_type', `type must be one of ${FOLDER_TYPES.join(', ')}`);
  return folders[name as FolderType];
}

/** A path inside one of the folders, checked on the real path; anything leaving it is a 403. */
export function inside(root: string, subfolder: string, filename: string): string {
  if (Buffer.byteLength(subfolder) > MAX_SUBFOLDER_BYTES)
    throw new HttpError(400, 'invalid_subfolder', `the subfolder is ${Buffer.byteLength(subfolder)} bytes; at most ${MAX_SUBFOLDER_BYTES}`);
  for (const part of subfolder.split(/[/\\]/)) {
    if (Buffer.byteLength(part) > MAX_NAME_BYTES)
      throw new HttpError(400, 'invalid_subfolder', `a subfolder name is ${Buffer.byteLength(part)} bytes; at most ${MAX_NAME_BYTES}`);
  }
  try {
    return resolveInside(root, path.join(subfolder, filename));
  } catch (error) {
    if (error instanceof PathError) throw new HttpError(403, 'path_refused', error.message);
    throw error;
  }
}

/** A file name without folders, of at most 255 bytes (UTF-8). */
export function plainName(value: unknown, what: string): string {
  const name = typeof value === 'string' ? value : '';
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name))
    throw new HttpError(400, 'invalid_filename', `${what} must be a plain file name, without folders`);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) throw new HttpError(400, 'invalid_filename', `${what} is ${bytes} bytes long; file names take at most ${MAX_NAME_BYTES}`);
  return name;
}

/**
 * Multer storage that streams each upload into a hidden staging file in the folder the form's
 * `type` names when that field came first (so the final rename stays on one file system), else
 * in the input folder.
 */
export function stagingStorage(folders: Folders): multer.StorageEngine {
  return multer.diskStorage({
    destination: (req, _file, callback) => {
      const type = (req.body as Record<string, unknown> | undefined)?.type;
      const root = (FOLDER_TYPES as readonly unknown[]).includes(type) ? folders[type as FolderType] : folders.input;
      try {
        mkdirSync(root, { recursive: true });
        callback(null, root);
      } catch (error) {
        callback(error as Error, root);
      }
    },
    filename: (_req, _file, callback) => callback(null, `${STAGING_PREFIX}${randomUUID()}.part`),
  });
}

/** Removes staging files a crashed server left behind (older than an hour, so no upload in progress). */
export function removeStaleStaging(folders: Folders): void {
  for (const root of Object.values(folders)) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(STAGING_PREFIX)) continue;
      const file = path.join(root, name);
      try {
        if (Date.now() - statSync(file).mtimeMs > STALE_STAGING_MS) rmSync(file, { force: true });
      } catch {
        // Gone already.
      }
    }
  }
}

/** True when two files hold the same bytes (sizes first, then compared a megabyte at a time). */
function sameContent(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (let position = 0; ; position += ba.length) {
      const na = readSync(fa, ba, 0, ba.length, position);
      const nb = readSync(fb, bb, 0, bb.length, position);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** `name (n).ext`, ComfyUI's name for the n-th file uploaded under a name already taken. */
function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
}

interface StoreRequest {
  root: string;
  subfolder: string;
  name: string;
  overwrite: boolean;
  /** The finished staging file; left in place (the caller removes it). */
  staged: string;
}

/**
 * Gives a staged upload its name, as ComfyUI's server does: with `overwrite` it replaces the file
 * there; otherwise the same name with the same bytes is the same file (the name is returned, nothing
 * written), and different bytes go to `name (1).ext`, `name (2).ext`, ...
 */
export function storeUpload({ root, subfolder, name, overwrite, staged }: StoreRequest): { name: string; duplicate: boolean } {
  let target = inside(root, subfolder, name);
  try {
    mkdirSync(path.dirname(target), { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST')
      throw new HttpError(400, 'invalid_subfolder', `subfolder ${JSON.stringify(subfolder)} runs through a file, not a folder`);
    throw error;
  }
  // Checked again now that the folders exist: a symlinked subfolder must not lead out.
  target = inside(root, subfolder, name);
  if (overwrite) {
    if (existsSync(target) && !statSync(target).isFile())
      throw new HttpError(409, 'not_a_file', `${JSON.stringify(name)} is a folder; it cannot be overwritten by a file`);
    replaceWith(staged, target);
    return { name, duplicate: false };
  }
  for (let n = 0; ; n++) {
    const candidate = numberedName(name, n);
    if (Buffer.byteLength(candidate) > MAX_NAME_BYTES) throw new HttpError(400, 'invalid_filename', `no free name for ${name} within ${MAX_NAME_BYTES} bytes`);
    const file = inside(root, subfolder, candidate);
    if (existsSync(file)) {
      if (statSync(file).isFile() && sameContent(file, staged)) return { name: candidate, duplicate: true };
      continue;
    }
    try {
      claimName(staged, file);
      return { name: candidate, duplicate: false };
    } catch (error) {
      // Taken between the check and the link: look at it again as an existing file.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      n--;
    }
  }
}

/** Puts `from` (a staging file) under `to` in one step, replacing what is there. */
function replaceWith(from: string, to: string): void {
  try {
    renameSync(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  const local = path.join(path.dirname(to), `${STAGING_PREFIX}${randomUUID()}.part`);
  try {
    // A copy next to the target, so the rename is within one folder (and one file system).
    copyFileSync(from, local);
    renameSync(local, to);
  } finally {
    rmSync(local, { force: true });
  }
}
