import { Router } from 'express';
import Type from 'typebox';
import { looksLikeWorkflow, type Engine } from '../../engine/index.ts';
import { parseBody } from '../body.ts';
import { HttpError } from '../http-error.ts';
import type { Trainer } from '../train-jobs.ts';
import { checkPrompt } from './prompts.ts';
import type { Prompt } from '../../engine/graph/prompt.ts';

const TrainBody = Type.Object({
  /** The graph: a UI workflow or an API prompt (as POST /prompt takes it). */
  prompt: Type.Record(Type.String(), Type.Unknown()),
  /** The UI workflow, when `prompt` is an API prompt made from one (as ComfyUI's extra_pnginfo). */
  workflow: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  client_id: Type.Optional(Type.String({ maxLength: 128 })),
  /** Training settings by name (engine/training/settings.ts TrainSettingsSchema); checked, with messages naming settings.<name>, when the run starts. */
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** Stem for the written files (output/train/<name>-learned-<id>.json). */
  name: Type.Optional(Type.String({ maxLength: 120 })),
});

const InterruptBody = Type.Object({ train_id: Type.Optional(Type.String()) });

/**
 * POST /train starts learning a workflow's schedule (one run at a time), GET /train lists runs,
 * GET /train/{id} shows one, POST /train/interrupt stops the running one.
 */
export function trainRoutes(engine: Engine, jobs: Trainer | undefined): Router {
  const router = Router();
  const need = (): Trainer => {
    if (!jobs) throw new HttpError(501, 'training_unavailable', 'this server was started without the model store training needs');
    return jobs;
  };

  router.post('/train', async (req, res) => {
    const trainer = need();
    const body = parseBody(TrainBody, req.body, 'POST /train');
    const checked = checkPrompt(engine, body.prompt, res);
    if (!checked) return;
    const workflow = looksLikeWorkflow(body.prompt) ? body.prompt : body.workflow;
    const job = await trainer.start({ prompt: checked.prompt as Prompt, workflow, clientId: body.client_id, settings: body.settings ?? {}, name: body.name });
    res.json({ train_id: job.train_id, iterations: job.iterations, settings: job.settings });
  });

  router.get('/train', async (_req, res) => {
    res.json({ running: (await jobs?.current()) ?? null, runs: (await jobs?.list()) ?? [] });
  });

  router.get('/train/:id', async (req, res) => {
    const job = await need().get(req.params.id);
    if (!job) throw new HttpError(404, 'not_found', `no training run ${req.params.id}`);
    res.json(job);
  });

  router.post('/train/interrupt', async (req, res) => {
    const body = parseBody(InterruptBody, req.body, 'POST /train/interrupt');
    res.json({ interrupted: await need().interrupt(body.train_id) });
  });

  return router;
}
