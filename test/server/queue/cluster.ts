import { readdirSync } from 'node:fs';
import { getJson } from '../helpers.ts';

/** The four-step workflow as an API prompt, batch 1: a real model run, slowed by more steps when a test needs it mid-run. */
export function samplePrompt(options: { seed: number; steps?: number; prefix?: string }): Record<string, unknown> {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
    '3': { class_type: 'StepScheduler', inputs: { steps: options.steps ?? 4, spacing: 'trailing', rho: 7, timesteps: '', model: ['1', 0] } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { seed: options.seed, batch_size: 1, cfg: 1.5, sampler: 'dpmpp_2m', eta: 0, model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0] },
    },
    '5': { class_type: 'SaveImage', inputs: { filename_prefix: options.prefix ?? 'queued', images: ['4', 0] } },
  };
}

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
