import { Router } from 'express';
import Type from 'typebox';
import { parseBody } from '../body.ts';
import { HttpError } from '../http-error.ts';
import { historyJob, JOB_STATUSES, listJobs, queuedJob, type JobStatus } from '../jobs.ts';
import type { PromptQueue } from '../queue.ts';

const CancelBody = Type.Object({ job_ids: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000 }) });

function query(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * ComfyUI's jobs API (server.py, comfy_execution/jobs.py): GET /jobs with status filter, sorting
 * and pagination, GET /jobs/{id} with outputs and what was queued, and cancelling by id.
 */
export function jobRoutes(queue: PromptQueue): Router {
  const router = Router();

  router.get('/jobs', async (req, res) => {
    const statusParam = query(req.query.status);
    const statuses = statusParam
      ? statusParam
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean)
      : [...JOB_STATUSES];
    const invalid = statuses.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
    if (invalid.length > 0)
      throw new HttpError(400, 'invalid_query', `Invalid status value(s): ${invalid.join(', ')}. Valid values: ${JOB_STATUSES.join(', ')}`);
    const sortBy = (query(req.query.sort_by) ?? 'created_at').toLowerCase();
    if (sortBy !== 'created_at' && sortBy !== 'execution_duration')
      throw new HttpError(400, 'invalid_query', "sort_by must be 'created_at' or 'execution_duration'");
    const sortOrder = (query(req.query.sort_order) ?? 'desc').toLowerCase();
    if (sortOrder !== 'asc' && sortOrder !== 'desc') throw new HttpError(400, 'invalid_query', "sort_order must be 'asc' or 'desc'");
    const limitParam = query(req.query.limit);
    const limit = limitParam === undefined ? undefined : Number(limitParam);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new HttpError(400, 'invalid_query', 'limit must be a positive integer');
    const offsetParam = query(req.query.offset);
    const offset = offsetParam === undefined ? 0 : Number(offsetParam);
    if (!Number.isInteger(offset)) throw new HttpError(400, 'invalid_query', 'offset must be an integer');
    const { queue_running, queue_pending } = await queue.snapshot();
    const history = await queue.historyEntries();
    res.json(
      listJobs(queue_running, queue_pending, history, {
        statuses: statuses as JobStatus[],
        workflowId: query(req.query.workflow_id),
        sortBy,
        sortOrder,
        limit,
        offset: Math.max(0, offset),
      }),
    );
  });

  router.get('/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const entry = await queue.historyEntry(id);
    if (entry) return void res.json(historyJob(id, entry, true));
    const { queue_running, queue_pending } = await queue.snapshot();
    const running = queue_running.find((item) => item[1] === id);
    if (running) return void res.json(queuedJob(running, 'in_progress', true));
    const pending = queue_pending.find((item) => item[1] === id);
    if (pending) return void res.json(queuedJob(pending, 'pending', true));
    throw new HttpError(404, 'not_found', `no job ${id}`);
  });

  /** Interrupts a running job or removes a pending one; a finished or unknown id is a no-op. */
  const cancel = async (id: string): Promise<boolean> => {
    if (await queue.interrupt(id)) return true;
    return (await queue.removePending([id])) > 0;
  };

  router.post('/jobs/cancel', async (req, res) => {
    const body = parseBody(CancelBody, req.body, 'POST /jobs/cancel');
    let cancelled = false;
    for (const id of body.job_ids) cancelled = (await cancel(id)) || cancelled;
    res.json({ cancelled });
  });

  router.post('/jobs/:id/cancel', async (req, res) => {
    res.json({ cancelled: await cancel(req.params.id) });
  });

  return router;
}
