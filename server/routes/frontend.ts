import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import Type from 'typebox';
import type { Engine, OutputCache } from '../../engine/index.ts';
import type { ModelStore } from '../../engine/onnx/index.ts';
import { parseBody } from '../body.ts';
import { HttpError } from '../http-error.ts';
import type { PromptQueue } from '../queue.ts';
import type { Trainer } from '../train-jobs.ts';
import { listWorkflows, type ShippedWorkflow } from './info.ts';

/** fewstep's shipped workflows, as ComfyUI's frontend lists templates (a custom node pack's and the core index). */
const TEMPLATE_MODULE = 'fewstep';
/** The model folder fewstep reports: its models are folders of ONNX segments, not single files. */
const MODEL_FOLDER = 'fewstep';

const FreeBody = Type.Object({ unload_models: Type.Optional(Type.Boolean()), free_memory: Type.Optional(Type.Boolean()) });

export interface FrontendRouteOptions {
  engine: Engine;
  queue: PromptQueue;
  cache: OutputCache;
  workflowsDir: string;
  store?: ModelStore;
  training?: Trainer;
  features: Record<string, unknown>;
}

/** GET /experiment/models: model folders, as ComfyUI lists them. */
export interface ModelFolderJson {
  name: string;
  folders: string[];
}

/** GET /experiment/models/{folder}: the models in a folder. */
export interface ModelFileJson {
  name: string;
  pathIndex: number;
}

/** A template entry (the frontend's TemplateInfo) for a shipped workflow. */
export interface TemplateEntry {
  name: string;
  title: string;
  description: string;
  mediaType: string;
  mediaSubtype: string;
  sourceModule: string;
}

export interface TemplateIndexEntry {
  moduleName: string;
  title: string;
  type: string;
  category: string;
  templates: TemplateEntry[];
}

function describe(dir: string, workflow: ShippedWorkflow): string {
  try {
    const json = JSON.parse(readFileSync(path.join(dir, workflow.file), 'utf8')) as { nodes?: Array<{ type?: unknown }> };
    const types = [...new Set((json.nodes ?? []).map((node) => String(node.type)))];
    return `fewstep workflow: ${types.join(', ')}`;
  } catch {
    return 'fewstep workflow';
  }
}

export function templateIndex(dir: string): TemplateIndexEntry[] {
  const templates = listWorkflows(dir).map((workflow) => ({
    name: workflow.name,
    title: workflow.title === workflow.name ? workflow.name.replaceAll('-', ' ') : workflow.title,
    description: describe(dir, workflow),
    mediaType: 'image',
    mediaSubtype: 'png',
    sourceModule: TEMPLATE_MODULE,
  }));
  return templates.length === 0 ? [] : [{ moduleName: 'default', title: 'fewstep', type: 'image', category: 'fewstep', templates }];
}

/**
 * The routes ComfyUI's frontend asks for besides the queue: templates (fewstep's workflows/),
 * i18n, global subgraphs, model folders, features and /free. Where fewstep has nothing to offer
 * the answer is an empty value of the expected shape, never a 404 the frontend trips on.
 */
export function frontendRoutes(options: FrontendRouteOptions): Router {
  const { engine, queue, cache, workflowsDir, store, training } = options;
  const router = Router();
  const workflowFile = (name: string) => {
    const stem = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
    const entry = listWorkflows(workflowsDir).find((w) => w.name === stem);
    if (!entry) throw new HttpError(404, 'not_found', `no template "${stem}"`);
    return path.join(workflowsDir, entry.file);
  };

  router.get('/workflow_templates', (_req, res) => {
    const names = listWorkflows(workflowsDir).map((w) => w.name);
    res.json((names.length > 0 ? { [TEMPLATE_MODULE]: names } : {}) satisfies Record<string, string[]>);
  });
  router.get(`/workflow_templates/${TEMPLATE_MODULE}/:name`, (req, res) => {
    res.type('application/json').send(readFileSync(workflowFile(req.params.name)));
  });
  router.get('/templates/index.json', (_req, res) => {
    res.json(templateIndex(workflowsDir));
  });
  router.get('/templates/:name', (req, res) => {
    if (!req.params.name.endsWith('.json')) throw new HttpError(404, 'not_found', `no template file ${req.params.name}`);
    res.type('application/json').send(readFileSync(workflowFile(req.params.name)));
  });

  router.get('/i18n', (_req, res) => void res.json({}));
  router.get('/global_subgraphs', (_req, res) => void res.json({}));
  router.get('/global_subgraphs/:id', (req) => {
    throw new HttpError(404, 'not_found', `no global subgraph ${req.params.id}`);
  });

  router.get('/features', (_req, res) => void res.json(options.features));

  // Model folders: one, whose "files" are the models LoadModel offers.
  router.get('/models', (_req, res) => void res.json([MODEL_FOLDER]));
  router.get('/models/:folder', (req, res) => {
    if (req.params.folder !== MODEL_FOLDER) throw new HttpError(404, 'not_found', `no model folder ${req.params.folder}`);
    res.json(engine.models.list());
  });
  router.get('/experiment/models', (_req, res) => void res.json([{ name: MODEL_FOLDER, folders: ['models'] }] satisfies ModelFolderJson[]));
  router.get('/experiment/models/:folder', (req, res) => {
    if (req.params.folder !== MODEL_FOLDER) throw new HttpError(404, 'not_found', `no model folder ${req.params.folder}`);
    res.json(engine.models.list().map((name): ModelFileJson => ({ name, pathIndex: 0 })));
  });

  // ComfyUI applies these between prompts; fewstep drops its cached node outputs at once (a
  // running prompt keeps its own) and unloads models only when nothing is queued or training.
  router.post('/free', async (req, res) => {
    const body = parseBody(FreeBody, req.body, 'POST /free');
    let unloaded = false;
    if (body.free_memory || body.unload_models) cache.clear();
    if (body.unload_models && store && (await queue.remaining) === 0 && !(await training?.current())) {
      await store.dispose();
      unloaded = true;
    }
    res.json({ cache_cleared: Boolean(body.free_memory || body.unload_models), models_unloaded: unloaded });
  });

  return router;
}
