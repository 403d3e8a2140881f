import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '../../engine/index.ts';
import type { ModelStore } from '../../engine/onnx/index.ts';
import { createServer, type FewstepServer } from '../../server/app.ts';
import { createFewstepSetup } from '../../server/setup.ts';

export type ApiPrompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface SdkServer {
  server: FewstepServer;
  engine: Engine;
  store: ModelStore;
  base: string;
  host: string;
  root: string;
  folders: { input: string; output: string; temp: string };
  /** workflows/four-step.json as an API prompt (as a client would send it), with the seed, batch and steps given. */
  fourStep(options?: { seed?: number; batch?: number; steps?: number }): ApiPrompt;
  close(): Promise<void>;
}

export const haveModel = createFewstepSetup().engine.models.list().includes('fmnist');

/**
 * fewstep as an SDK meets it: the real server with every shipped node and the shipped model, on
 * an ephemeral port with its own folders. The first prompt is cold (the model loads), later ones warm.
 */
export async function startSdkServer(): Promise<SdkServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-sdk-'));
  const folders = { input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  const { engine, store } = createFewstepSetup();
  const server = createServer({ engine, store, folders, workflowsDir: path.resolve(import.meta.dirname, '../../workflows') });
  const { port } = await server.listen(0, '127.0.0.1');
  const workflow = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../workflows/four-step.json'), 'utf8'));
  const converted = engine.toPrompt(workflow);
  if (!converted.ok) throw new Error(converted.errors.join('; '));
  const base = converted.prompt as ApiPrompt;
  return {
    server,
    engine,
    store,
    base: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    root,
    folders,
    fourStep({ seed = 0, batch = 2, steps = 4 } = {}) {
      const prompt = structuredClone(base);
      prompt['3'].inputs.steps = steps;
      prompt['4'].inputs.seed = seed;
      prompt['4'].inputs.batch_size = batch;
      return prompt;
    },
    async close() {
      await server.close();
      await store.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The images SaveImage (node 5 of four-step) wrote for a prompt, from the history. */
export async function savedImages(base: string, promptId: string): Promise<Array<{ filename: string; subfolder: string; type: string }>> {
  const history = (await (await fetch(`${base}/history/${promptId}`)).json()) as Record<
    string,
    { outputs: Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }> }
  >;
  return history[promptId].outputs['5'].images;
}
