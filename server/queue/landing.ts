import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Folders } from '../../engine/index.ts';
import { resolveInside } from '../../engine/files.ts';
import type { RedisKeys } from './redis-store.ts';

/** The file a shipped field (`type/subfolder/filename`) lands as, inside this server's folders only. */
function landingPath(folders: Folders, field: string): string | undefined {
  const [type, ...rest] = field.split('/');
  if (type !== 'output' && type !== 'temp') return undefined;
  return resolveInside(folders[type], rest.join('/'));
}

/** Written whole or not at all: a reader never sees half an image, and two servers landing the same file agree. */
export function writeWhole(file: string, bytes: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temporary, bytes);
  renameSync(temporary, file);
}

/** Writes the files a worker shipped for a prompt into this server's output and temp folders. */
export async function landFiles(redis: Redis, keys: RedisKeys, folders: Folders, promptId: string, fields: string[]): Promise<void> {
  if (fields.length === 0) return;
  const contents = await redis.hmgetBuffer(keys.files(promptId), ...fields);
  fields.forEach((field, index) => {
    const file = landingPath(folders, field);
    const bytes = contents[index];
    if (file && bytes) writeWhole(file, bytes);
  });
}

/** At start: files workers shipped while this server was down (kept in Redis for a day), written if missing. */
export async function landStranded(redis: Redis, keys: RedisKeys, folders: Folders): Promise<number> {
  let landed = 0;
  const stream = redis.scanStream({ match: keys.files('*'), count: 200 });
  for await (const batch of stream as AsyncIterable<string[]>) {
    for (const key of batch) {
      for (const field of await redis.hkeys(key)) {
        const file = landingPath(folders, field);
        if (!file || existsSync(file)) continue;
        const bytes = await redis.hgetBuffer(key, field);
        if (bytes) {
          writeWhole(file, bytes);
          landed++;
        }
      }
    }
  }
  return landed;
}

/**
 * The highest `stem_NNNNN_.png` number per folder and stem under the output folder, keyed as
 * FileNumberRequest keys them (`output/<subfolder>/<stem>`): the Redis counters start above them.
 */
export function highestOutputNumbers(outputRoot: string): Map<string, number> {
  const highest = new Map<string, number>();
  const walk = (folder: string, subfolder: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) {
        walk(path.join(folder, entry.name), subfolder ? `${subfolder}/${entry.name}` : entry.name);
        continue;
      }
      const match = /^(.*)_(\d+)_\.png$/.exec(entry.name);
      if (!match) continue;
      const key = ['output', subfolder, match[1]].filter(Boolean).join('/');
      highest.set(key, Math.max(highest.get(key) ?? 0, Number(match[2])));
    }
  };
  walk(outputRoot, '');
  return highest;
}
