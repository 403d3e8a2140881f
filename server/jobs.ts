import type { UiOutput } from '../engine/index.ts';
import type { HistoryEntry, QueueTuple } from './queue.ts';

/**
 * ComfyUI's jobs view of the queue and history (comfy_execution/jobs.py), which the frontend's
 * queue panel, progress popup and job history read through GET /api/jobs.
 */
export const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Type aliases, not interfaces: the frontend's types are open objects (zod passthrough), which interfaces do not fit. */
export type JobExecutionError = {
  prompt_id?: string;
  timestamp?: number;
  node_id: string;
  node_type: string;
  executed?: string[];
  exception_message: string;
  exception_type: string;
  traceback: string[];
  current_inputs: unknown;
  current_outputs: unknown;
};

export type JobPreviewOutput = {
  filename?: string;
  subfolder?: string;
  type?: 'input' | 'output' | 'temp';
  nodeId: string;
  mediaType: string;
};

export type JobListItem = {
  id: string;
  status: JobStatus;
  priority: number;
  create_time: number;
  execution_start_time?: number;
  execution_end_time?: number;
  execution_error?: JobExecutionError;
  outputs_count: number;
  previewable_outputs_count: number;
  preview_output?: JobPreviewOutput;
  workflow_id?: string;
};

export type JobDetail = JobListItem & {
  outputs?: Record<string, UiOutput>;
  execution_status?: HistoryEntry['status'];
  /** What was queued: the API prompt and its extra_data (the editor's workflow in extra_pnginfo). */
  workflow: { prompt: Record<string, unknown>; extra_data: Record<string, unknown> };
};

export interface JobsPage {
  jobs: JobListItem[];
  pagination: { offset: number; limit: number; total: number; has_more: boolean };
}

const PREVIEWABLE = new Set(['images', 'video', 'audio', '3d', 'text']);

function metadata(extraData: Record<string, unknown>): { create_time: number; workflow_id?: string } {
  const created = extraData.create_time;
  const workflow = (extraData.extra_pnginfo as { workflow?: { id?: unknown } } | undefined)?.workflow;
  return {
    create_time: typeof created === 'number' ? created : 0,
    ...(typeof workflow?.id === 'string' ? { workflow_id: workflow.id } : {}),
  };
}

/** A pending or running prompt as a job; `detail` adds what was queued. */
export function queuedJob(item: QueueTuple, status: 'pending' | 'in_progress', detail = false): JobListItem | JobDetail {
  const [number, id, prompt, extraData] = item;
  const job: JobListItem = { id, status, priority: number, ...metadata(extraData), outputs_count: 0, previewable_outputs_count: 0 };
  return detail ? { ...job, workflow: { prompt, extra_data: extraData } } : job;
}

/** Counts image items and picks the preview as ComfyUI does: a saved (output) image first, else any other. */
function outputsSummary(outputs: Record<string, UiOutput>): Pick<JobListItem, 'outputs_count' | 'previewable_outputs_count' | 'preview_output'> {
  let count = 0;
  let previewable = 0;
  let saved: JobPreviewOutput | undefined;
  let other: JobPreviewOutput | undefined;
  for (const [nodeId, ui] of Object.entries(outputs)) {
    for (const [mediaType, items] of Object.entries(ui)) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        // Text lines are shown on a node, not counted as outputs (ComfyUI's METADATA_KEYS).
        if (typeof item !== 'object' || item === null) continue;
        count++;
        if (!PREVIEWABLE.has(mediaType)) continue;
        previewable++;
        const preview = { ...(item as object), nodeId, mediaType } as JobPreviewOutput;
        if (preview.type === 'output') saved ??= preview;
        else other ??= preview;
      }
    }
  }
  const preview_output = saved ?? other;
  return { outputs_count: count, previewable_outputs_count: previewable, ...(preview_output ? { preview_output } : {}) };
}

function executionError(data: Record<string, unknown>): JobExecutionError {
  return {
    ...(typeof data.prompt_id === 'string' ? { prompt_id: data.prompt_id } : {}),
    ...(typeof data.timestamp === 'number' ? { timestamp: data.timestamp } : {}),
    node_id: String(data.node_id ?? ''),
    node_type: String(data.node_type ?? ''),
    ...(Array.isArray(data.executed) ? { executed: data.executed.map(String) } : {}),
    exception_message: String(data.exception_message ?? ''),
    exception_type: String(data.exception_type ?? 'Error'),
    traceback: Array.isArray(data.traceback) ? data.traceback.map(String) : [],
    current_inputs: data.current_inputs ?? {},
    current_outputs: data.current_outputs ?? {},
  };
}

/** A finished prompt as a job: completed, failed, or cancelled (interrupted); `detail` adds outputs and what was queued. */
export function historyJob(id: string, entry: HistoryEntry, detail = false): JobListItem | JobDetail {
  const [number, , prompt, extraData] = entry.prompt;
  let start: number | undefined;
  let end: number | undefined;
  let error: JobExecutionError | undefined;
  let interrupted = false;
  for (const [name, data] of entry.status.messages) {
    const timestamp = typeof data.timestamp === 'number' ? data.timestamp : undefined;
    if (name === 'execution_start') start = timestamp;
    if (name === 'execution_success' || name === 'execution_error' || name === 'execution_interrupted') end = timestamp;
    if (name === 'execution_error') error = executionError(data);
    if (name === 'execution_interrupted') interrupted = true;
  }
  const status: JobStatus = entry.status.status_str === 'success' ? 'completed' : interrupted ? 'cancelled' : 'failed';
  const job: JobListItem = {
    id,
    status,
    priority: number,
    ...metadata(extraData),
    ...(start !== undefined ? { execution_start_time: start } : {}),
    ...(end !== undefined ? { execution_end_time: end } : {}),
    ...(error ? { execution_error: error } : {}),
    ...outputsSummary(entry.outputs),
  };
  return detail ? { ...job, outputs: entry.outputs, execution_status: entry.status, workflow: { prompt, extra_data: extraData } } : job;
}

export interface JobQuery {
  statuses: readonly JobStatus[];
  workflowId?: string;
  sortBy: 'created_at' | 'execution_duration';
  sortOrder: 'asc' | 'desc';
  limit?: number;
  offset: number;
}

/** Every job matching the query, sorted and paged as ComfyUI's get_all_jobs does. */
export function listJobs(running: QueueTuple[], pending: QueueTuple[], history: Record<string, HistoryEntry>, query: JobQuery): JobsPage {
  const wanted = new Set(query.statuses);
  let jobs: JobListItem[] = [
    ...(wanted.has('in_progress') ? running.map((item) => queuedJob(item, 'in_progress')) : []),
    ...(wanted.has('pending') ? pending.map((item) => queuedJob(item, 'pending')) : []),
    ...Object.entries(history)
      .map(([id, entry]) => historyJob(id, entry))
      .filter((job) => wanted.has(job.status)),
  ];
  if (query.workflowId) jobs = jobs.filter((job) => job.workflow_id === query.workflowId);
  const key = (job: JobListItem) =>
    query.sortBy === 'execution_duration'
      ? job.execution_start_time && job.execution_end_time
        ? job.execution_end_time - job.execution_start_time
        : 0
      : job.create_time;
  jobs.sort((a, b) => (query.sortOrder === 'asc' ? key(a) - key(b) : key(b) - key(a)));
  const total = jobs.length;
  const page = jobs.slice(query.offset, query.limit === undefined ? undefined : query.offset + query.limit);
  return { jobs: page, pagination: { offset: query.offset, limit: query.limit ?? total, total, has_more: query.offset + page.length < total } };
}
