import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { samplePrompt as fourStepPrompt } from '../../../bench/lib/queue-client.ts';
import { getJson } from '../helpers.ts';

/** The four-step workflow as an API prompt, batch 1 (bench/lib/queue-client.ts builds it): a real model run, slowed by more steps when a test needs it mid-run. */
export function samplePrompt(options: { seed: number; steps?: number; prefix?: string }): Record<string, unknown> {
  return fourStepPrompt(options.seed, { batch: 1, steps: options.steps, prefix: options.prefix ?? 'queued' });
}

// README's commands need no Redis: without redis-server the Redis tests say so and skip (.ci/run installs it).
export const redisMissing =
  spawnSync('redis-server', ['--version']).status !== 0 && 'redis-server is not installed (apt-get install redis-server; .ci/run does)';

/** Polls /history until every id has an entry; returns them. */
export async function waitForHistory(base: string, ids: string[], ms = 60000): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const history = (await getJson(`${base}/history`)).body as Record<string, any>;
    if (ids.every((id) => history[id])) return history;
    if (Date.now() > deadline) throw new Error(`history after ${ms} ms has ${ids.filter((id) => history[id]).length} of ${ids.length} prompts`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The PNG files in a folder, sorted (temporary files would show up here too). */
export const folderFiles = (dir: string) => readdirSync(dir).sort();

/** The file names a history's entries name, sorted. */
export function historyFiles(history: Record<string, any>): string[] {
  return Object.values(history)
    .flatMap((entry) => Object.values(entry.outputs as Record<string, { images?: Array<{ filename: string }> }>))
    .flatMap((output) => output.images?.map((image) => image.filename) ?? [])
    .sort();
}
