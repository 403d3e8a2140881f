import { existsSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Folders } from '../../engine/index.ts';
import { resolveInside } from '../../engine/files.ts';
import { writeWhole } from './landing.ts';
import { FILES_TTL_S, type RedisKeys } from './redis-store.ts';

/** The input-folder files a prompt reads: LoadImage's `image` (an upload, usually). */
function inputFilesOf(prompt: Record<string, unknown>): string[] {
  const names = new Set<string>();
  for (const node of Object.values(prompt) as Array<{ class_type?: string; inputs?: Record<string, unknown> }>) {
    const image = node?.inputs?.image;
    if (node?.class_type === 'LoadImage' && typeof image === 'string') names.add(image);
  }
  return [...names];
}

/**
 * Uploads live in the API server's input folder; a worker on another machine gets the ones a
 * prompt names with the prompt, through Redis (kept as long as shipped outputs are).
 */
export async function shipInputs(redis: Redis, keys: RedisKeys, folders: Folders, promptId: string, prompt: Record<string, unknown>): Promise<void> {
  const batch = redis.multi();
  let count = 0;
  for (const name of inputFilesOf(prompt)) {
    let file: string;
    try {
      file = resolveInside(folders.input, name);
    } catch {
      continue; // validation already refused a name that leaves the folder
    }
    if (!existsSync(file)) continue; // the worker may have it; if not, LoadImage says so
    batch.hset(keys.inputs(promptId), name, readFileSync(file));
    count++;
  }
  if (count === 0) return;
  batch.expire(keys.inputs(promptId), FILES_TTL_S);
  await batch.exec();
}

/** Writes the inputs shipped with a prompt into the worker's input folder before it runs. */
export async function landInputs(redis: Redis, keys: RedisKeys, folders: Folders, promptId: string): Promise<void> {
  const key = keys.inputs(promptId);
  for (const name of await redis.hkeys(key)) {
    const bytes = await redis.hgetBuffer(key, name);
    if (bytes) writeWhole(resolveInside(folders.input, name), bytes);
  }
}
