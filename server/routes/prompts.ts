import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import Type from 'typebox';
import { looksLikeWorkflow, type Engine } from '../../engine/index.ts';
import { parseBody } from '../body.ts';
import { HttpError } from '../http-error.ts';
import type { PromptQueue } from '../queue.ts';

const PromptBody = Type.Object({
  prompt: Type.Record(Type.String(), Type.Unknown()),
  client_id: Type.Optional(Type.String({ maxLength: 128 })),
  prompt_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  extra_data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  front: Type.Optional(Type.Boolean()),
  number: Type.Optional(Type.Number()),
});

const IdsBody = Type.Object({
  clear: Type.Optional(Type.Boolean()),
  delete: Type.Optional(Type.Array(Type.String())),
});

const InterruptBody = Type.Object({ prompt_id: Type.Optional(Type.String()) });

/**
 * A prompt or UI workflow from a request, validated and converted to an API prompt; when invalid,
 * answers 400 with ComfyUI's `{error, node_errors}` (each problem on its node) and returns undefined.
 */
export function checkPrompt(
  engine: Engine,
  prompt: Record<string, unknown>,
  res: Response,
): { prompt: Record<string, unknown>; outputs: string[] } | undefined {
  const validation = engine.validate(prompt);
  if (!validation.ok) {
    res.status(400).json({ error: validation.error, node_errors: validation.nodeErrors });
    return undefined;
  }
  const converted = engine.toPrompt(prompt);
  if (!converted.ok) throw new HttpError(400, 'invalid_prompt', converted.errors.join('; '));
  return { prompt: converted.prompt as Record<string, unknown>, outputs: [...validation.graph.outputs] };
}

/** POST/GET /prompt, /queue, /history, /interrupt: ComfyUI's queue API. */
export function promptRoutes(engine: Engine, queue: PromptQueue): Router {
  const router = Router();

  router.post('/prompt', async (req, res) => {
    const body = parseBody(PromptBody, req.body, 'POST /prompt');
    const checked = checkPrompt(engine, body.prompt, res);
    if (!checked) return;
    const promptId = body.prompt_id ?? randomUUID();
    if (await queue.has(promptId)) throw new HttpError(409, 'duplicate_prompt_id', `prompt_id ${promptId} is already queued or in the history`);
    const extraData = body.extra_data ?? {};
    // ComfyUI's editor sends its workflow in extra_data.extra_pnginfo.workflow; a UI workflow sent as the prompt is its own.
    const pnginfo = extraData.extra_pnginfo as { workflow?: unknown } | undefined;
    const workflow = looksLikeWorkflow(body.prompt) ? body.prompt : pnginfo?.workflow;
    const number = typeof body.number === 'number' ? body.number : await queue.nextNumber(body.front === true);
    // As ComfyUI: the creation time (ms) rides in extra_data, where /api/jobs reads it.
    const stamped = { ...extraData, ...(body.client_id ? { client_id: body.client_id } : {}), create_time: Date.now() };
    await queue.enqueue({
      number,
      promptId,
      prompt: checked.prompt,
      extraData: stamped,
      outputs: checked.outputs,
      clientId: body.client_id,
      workflow,
    });
    res.json({ prompt_id: promptId, number, node_errors: {} });
  });

  router.get('/prompt', async (_req, res) => {
    res.json({ exec_info: { queue_remaining: await queue.remaining } });
  });

  router.get('/queue', async (_req, res) => {
    res.json(await queue.snapshot());
  });

  router.post('/queue', async (req, res) => {
    const body = parseBody(IdsBody, req.body, 'POST /queue');
    if (body.clear) await queue.removePending();
    if (body.delete) await queue.removePending(body.delete);
    res.json({});
  });

  router.get('/history', async (req, res) => {
    const max = wholeNumber(req.query.max_items, 'max_items');
    const offset = wholeNumber(req.query.offset, 'offset');
    res.json(historyPage(await queue.historyEntries(), max, offset));
  });

  router.get('/history/:id', async (req, res) => {
    const entry = await queue.historyEntry(req.params.id);
    res.json(entry ? { [req.params.id]: entry } : {});
  });

  router.post('/history', async (req, res) => {
    const body = parseBody(IdsBody, req.body, 'POST /history');
    if (body.clear) await queue.deleteHistory();
    if (body.delete) await queue.deleteHistory(body.delete);
    res.json({});
  });

  router.post('/interrupt', async (req, res) => {
    const body = parseBody(InterruptBody, req.body, 'POST /interrupt');
    res.json({ interrupted: await queue.interrupt(body.prompt_id) });
  });

  return router;
}

function wholeNumber(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(Number.isInteger(number) && number >= 0)) throw new HttpError(400, 'invalid_query', `${name} must be a whole number`);
  return number;
}

/**
 * ComfyUI's /history paging: entries oldest first; `offset` skips that many, `max_items` caps the
 * count; with max_items alone, the newest max_items.
 */
export function historyPage<T>(entries: Record<string, T>, max?: number, offset?: number): Record<string, T> {
  const all = Object.entries(entries);
  const start = offset ?? (max === undefined ? 0 : Math.max(0, all.length - max));
  return Object.fromEntries(all.slice(start, max === undefined ? undefined : start + max));
}
