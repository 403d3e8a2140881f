import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express, { Router } from 'express';
import { nodeCountError, readWorkflowSource, type Engine } from '../../engine/index.ts';
import { HttpError } from '../http-error.ts';

const VERSION = '0.1.0';
const ORT_VERSION = '1.30.0';

/** /object_info, /system_stats, /workflows (the shipped graphs) and /workflow/parse. */
export function infoRoutes(engine: Engine, workflowsDir: string, maxBodyBytes: number): Router {
  const router = Router();

  // Read at each request: LoadImage's choices are the input folder's images as they are now.
  router.get('/object_info', (_req, res) => {
    res.json(engine.objectInfo());
  });

  router.get('/object_info/:type', (req, res) => {
    const all = engine.objectInfo();
    const entry = Object.hasOwn(all, req.params.type) ? all[req.params.type] : undefined;
    res.json(entry ? { [req.params.type]: entry } : {});
  });

  router.get('/system_stats', async (_req, res) => {
    res.json(await systemStats(engine));
  });

  // ComfyUI's editor asks for these; fewstep has none.
  router.get('/embeddings', (_req, res) => void res.json([]));
  router.get('/extensions', (_req, res) => void res.json([]));

  router.get('/workflows', (_req, res) => {
    res.json(listWorkflows(workflowsDir));
  });

  router.get('/workflows/:name', (req, res) => {
    const entry = listWorkflows(workflowsDir).find((w) => w.name === req.params.name || w.file === req.params.name);
    if (!entry) throw new HttpError(404, 'not_found', `no shipped workflow "${req.params.name}"`);
    res.type('application/json').send(readFileSync(path.join(workflowsDir, entry.file)));
  });

  // A file dropped on the editor (JSON or PNG): returned as a UI workflow the canvas can load.
  router.post('/workflow/parse', express.raw({ type: () => true, limit: maxBodyBytes }), (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const name = typeof req.query.name === 'string' ? req.query.name : 'file';
    const source = readWorkflowSource(bytes, name);
    if (!source.ok) throw new HttpError(400, 'not_a_workflow', source.message);
    if (source.kind === 'workflow') {
      const uiNodes = (source.workflow as { nodes?: unknown }).nodes;
      const tooMany = nodeCountError(Array.isArray(uiNodes) ? uiNodes.length : 0, 'workflow');
      if (tooMany) throw new HttpError(400, 'not_a_workflow', `${name}: ${tooMany.details}`);
      res.json({ kind: 'workflow', workflow: source.workflow, prompt: source.prompt ?? null });
      return;
    }
    const validation = engine.validate(source.prompt);
    if (!validation.ok && Object.keys(validation.nodeErrors).length === 0 && validation.error.type === 'invalid_prompt') {
      throw new HttpError(400, 'not_a_workflow', `${name}: ${validation.error.message}${validation.error.details ? `: ${validation.error.details}` : ''}`);
    }
    try {
      res.json({ kind: 'prompt', workflow: engine.toWorkflow(source.prompt), prompt: source.prompt });
    } catch (error) {
      throw new HttpError(400, 'not_a_workflow', `${name}: ${(error as Error).message}`);
    }
  });

  return router;
}

export interface ShippedWorkflow {
  name: string;
  file: string;
  title: string;
}

export function listWorkflows(dir: string): ShippedWorkflow[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.json'.length);
      let title = name;
      try {
        const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { extra?: { title?: unknown } };
        if (typeof json.extra?.title === 'string') title = json.extra.title;
      } catch {
        // A broken file is still listed; loading it reports the problem.
      }
      return { name, file, title };
    });
}

/** The ONNX execution providers this build has; loaded lazily so the server starts without touching onnxruntime. */
async function executionProviders(): Promise<unknown> {
  try {
    const onnx = await import('../../engine/onnx/index.ts');
    const setting = onnx.providerSettingFromEnv();
    return { setting, preferred: onnx.preferredProvider(setting), cuda: onnx.cudaAvailability() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** GET /system_stats, as ComfyUI reports it (system, devices), plus what fewstep runs on. */
export interface SystemStatsJson {
  system: {
    os: string;
    ram_total: number;
    ram_free: number;
    comfyui_version: string;
    python_version: string;
    pytorch_version: string;
    embedded_python: boolean;
    argv: string[];
    fewstep_version: string;
    node_version: string;
  };
  devices: Array<{ name: string; type: string; index: number; vram_total: number; vram_free: number; torch_vram_total: number; torch_vram_free: number }>;
  execution_providers: unknown;
  models: string[];
  /** The server process's memory (process.memoryUsage()): rss, heap, external, array buffers. */
  process_memory: NodeJS.MemoryUsage;
}

async function systemStats(engine: Engine): Promise<SystemStatsJson> {
  return {
    system: {
      os: process.platform,
      ram_total: os.totalmem(),
      ram_free: os.freemem(),
      // A version string (semver, with fewstep named in it) where ComfyUI puts its own.
      comfyui_version: `${VERSION}-fewstep`,
      python_version: `Node.js ${process.version} (fewstep runs no Python)`,
      pytorch_version: `onnxruntime-node ${ORT_VERSION}`,
      embedded_python: false,
      argv: ['fewstep', ...process.argv.slice(2)],
      fewstep_version: VERSION,
      node_version: process.version,
    },
    // The CPU, as ComfyUI lists a device; VRAM figures are 0 (onnxruntime does not report them).
    devices: [{ name: os.cpus()[0]?.model ?? 'cpu', type: 'cpu', index: 0, vram_total: 0, vram_free: 0, torch_vram_total: 0, torch_vram_free: 0 }],
    execution_providers: await executionProviders(),
    models: engine.models.list(),
    process_memory: process.memoryUsage(),
  };
}
