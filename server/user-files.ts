import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PathError, resolveInside } from '../engine/files.ts';
import { HttpError } from './http-error.ts';

/** The one user of a single-user server, as ComfyUI names it (user/default/...). */
export const DEFAULT_USER = 'default';
const SETTINGS_FILE = 'comfy.settings.json';

/** A file in the user folder as ComfyUI's frontend lists it (`full_info=true`): times in ms. */
export interface UserFileInfo {
  path: string;
  size: number;
  modified: number;
  created: number;
}

/** An entry of GET /v2/userdata: files and folders, paths from the user's folder; times in seconds, as ComfyUI. */
export interface UserEntry {
  name: string;
  path: string;
  type: 'file' | 'directory';
  size?: number;
  modified?: number;
}

export interface ListOptions {
  recurse: boolean;
  fullInfo: boolean;
  split: boolean;
}

/**
 * ComfyUI's user folder (app/user_manager.py): settings and the frontend's files (saved
 * workflows, templates, css) under `<user>/default/`. Every path is checked on its real path and
 * refused (403) when it leaves the folder; every write goes to a temporary file first and is
 * renamed into place, so a crash never leaves half a file.
 */
export class UserFiles {
  readonly home: string;

  constructor(readonly root: string) {
    this.home = path.join(root, DEFAULT_USER);
  }

  /** A path inside the user's folder; `relative` as the route got it (ComfyUI also undoes a second URL encoding). */
  resolve(relative: string): string {
    let name = relative;
    if (name.includes('%')) {
      try {
        name = decodeURIComponent(name);
      } catch {
        // Not an encoding: a name with a literal % is fine.
      }
    }
    if (!name) throw new HttpError(400, 'invalid_path', 'give a file name');
    try {
      return resolveInside(this.home, name);
    } catch (error) {
      if (error instanceof PathError) throw new HttpError(403, 'path_refused', error.message);
      throw error;
    }
  }

  /** The user-relative name of a path, with forward slashes. */
  relative(file: string): string {
    return path.relative(this.home, file).split(path.sep).join('/');
  }

  info(file: string, relativeTo = this.home): UserFileInfo {
    const stats = statSync(file);
    return {
      path: path.relative(relativeTo, file).split(path.sep).join('/'),
      size: stats.size,
      modified: Math.trunc(stats.mtimeMs),
      created: Math.trunc(stats.birthtimeMs || stats.ctimeMs),
    };
  }

  list(dir: string, options: ListOptions): Array<string | string[] | UserFileInfo> {
    const base = this.resolve(dir);
    if (!existsSync(base) || !statSync(base).isDirectory()) throw new HttpError(404, 'not_found', `no folder ${dir}`);
    const files: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (entry.isFile()) files.push(full);
        else if (entry.isDirectory() && options.recurse) walk(full);
      }
    };
    walk(base);
    files.sort();
    return files.map((file) => {
      if (options.fullInfo) return this.info(file, base);
      const rel = path.relative(base, file).split(path.sep).join('/');
      return options.split ? [rel, ...rel.split('/')] : rel;
    });
  }

  /** Everything under a folder (the user's folder when `dir` is empty), folders first, then by name. */
  entries(dir: string): UserEntry[] {
    const base = dir ? this.resolve(dir) : this.home;
    if (!existsSync(base)) {
      if (!dir) return [];
      throw new HttpError(404, 'not_found', `no folder ${dir}`);
    }
    if (!statSync(base).isDirectory()) throw new HttpError(400, 'not_a_folder', `${dir} is not a folder`);
    const entries: UserEntry[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (entry.isDirectory()) {
          entries.push({ name: entry.name, path: this.relative(full), type: 'directory' });
          walk(full);
        } else if (entry.isFile()) {
          const stats = statSync(full);
          entries.push({ name: entry.name, path: this.relative(full), type: 'file', size: stats.size, modified: stats.mtimeMs / 1000 });
        }
      }
    };
    walk(base);
    return entries.sort((a, b) => Number(a.type !== 'directory') - Number(b.type !== 'directory') || a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }

  existing(relative: string): string {
    const file = this.resolve(relative);
    if (!existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, 'not_found', `no file ${relative}`);
    return file;
  }

  write(relative: string, bytes: Uint8Array, overwrite: boolean): string {
    let file = this.resolve(relative);
    if (!overwrite && existsSync(file)) throw new HttpError(409, 'file_exists', `${relative} already exists`);
    if (existsSync(file) && !statSync(file).isFile()) throw new HttpError(409, 'not_a_file', `${relative} is a folder`);
    return fsStep(relative, () => {
      mkdirSync(path.dirname(file), { recursive: true });
      // Re-check after creating folders: a symlinked folder must not lead out.
      file = this.resolve(relative);
      writeAtomically(file, bytes);
      return file;
    });
  }

  remove(relative: string): void {
    rmSync(this.existing(relative));
  }

  move(source: string, dest: string, overwrite: boolean): string {
    const from = this.existing(source);
    let to = this.resolve(dest);
    if (!overwrite && existsSync(to)) throw new HttpError(409, 'file_exists', `${dest} already exists`);
    if (existsSync(to) && !statSync(to).isFile()) throw new HttpError(409, 'not_a_file', `${dest} is a folder`);
    return fsStep(dest, () => {
      mkdirSync(path.dirname(to), { recursive: true });
      to = this.resolve(dest);
      renameSync(from, to);
      return to;
    });
  }

  /** The settings (a broken or missing file reads as none, as ComfyUI does). */
  settings(): Record<string, unknown> {
    try {
      const value = JSON.parse(readFileSync(path.join(this.home, SETTINGS_FILE), 'utf8'));
      return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
    } catch {
      return {};
    }
  }

  saveSettings(settings: Record<string, unknown>): void {
    mkdirSync(this.home, { recursive: true });
    writeAtomically(path.join(this.home, SETTINGS_FILE), Buffer.from(JSON.stringify(settings, null, 4)));
  }

  /** True once the user's folder exists (ComfyUI's `migrated`). */
  get migrated(): boolean {
    return existsSync(this.home);
  }
}

/** A file operation whose failures a client caused (a file where a folder must be) become a 409 naming its path. */
function fsStep<T>(relative: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR')
      throw new HttpError(409, 'path_conflict', `${relative}: a part of the path is a file, not a folder`);
    if (code === 'ENAMETOOLONG') throw new HttpError(400, 'invalid_path', `${relative}: the name is too long`);
    throw error;
  }
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, bytes, { flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
