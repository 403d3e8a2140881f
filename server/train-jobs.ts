import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { writeFileReplacing } from '../engine/files.ts';
import path from 'node:path';
import type { Folders } from '../engine/index.ts';
import type { Prompt } from '../engine/graph/prompt.ts';
import {
  planTraining,
  resolveTrainSettings,
  rewardCurvePng,
  TrainingError,
  trainWorkflow,
  type TrainProgress,
  type TrainSettings,
} from '../engine/training/index.ts';
import { HttpError } from './http-error.ts';
import type { FewstepSetup } from './setup.ts';
import type { WsHub } from './ws-hub.ts';

/** Where a training run's files land: `output/train/`, served by /view?type=output&subfolder=train. */
export const TRAIN_SUBFOLDER = 'train';

export interface FileRef {
  filename: string;
  subfolder: string;
  type: 'output';
}

/** One training run, as GET /train lists it. */
export interface TrainJob {
  train_id: string;
  status: 'running' | 'trained' | 'stopped' | 'failed';
  client_id?: string;
  started: number;
  iteration: number;
  iterations: number;
  reward: number | null;
  held_out_fd: number | null;
  settings: TrainSettings;
  /** Why it ended: early stop, iterations done, time limit, interrupted, or the error. */
  stopped?: string | null;
  message?: string;
  seconds?: number;
  files?: { workflow: FileRef; plot: FileRef };
}

export interface TrainRequest {
  prompt: Prompt;
  /** The UI workflow the prompt came from: the learned one is written back into it. */
  workflow?: unknown;
  clientId?: string;
  /** Settings by name, checked by resolveTrainSettings (unknown names refused). */
  settings: Record<string, unknown>;
  /** Stem of the written files. */
  name?: string;
}

/** What serves POST /train: training in this process (TrainingJobs), or on `fewstep worker`s through Redis (server/queue/train-bullmq.ts). */
export interface Trainer {
  /** The run going on now (one at a time), if any. */
  current(): Maybe<TrainJob | undefined>;
  list(): Maybe<TrainJob[]>;
  get(id: string): Maybe<TrainJob | undefined>;
  /** Checks the request (400 naming what is wrong, 409 when busy) and starts the run. */
  start(request: TrainRequest): Maybe<TrainJob>;
  /** Stops the running training (with an id, only that one); it still writes what it learned so far. */
  interrupt(id?: string): Maybe<boolean>;
  /** Resolves when no training runs. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type Maybe<T> = T | Promise<T>;

/** Settings checked and the graph found trainable, or a 400 naming the setting or node. */
export function checkTrainRequest(engine: FewstepSetup['engine'], request: TrainRequest): TrainSettings {
  try {
    const settings = resolveTrainSettings(request.settings, (field) => `settings.${field}`, { strict: true });
    planTraining(engine, request.prompt);
    return settings;
  } catch (error) {
    if (error instanceof TrainingError) throw new HttpError(400, error.code === 'invalid_settings' ? 'invalid_settings' : 'not_trainable', error.message);
    throw error;
  }
}

export const busyError = (job: TrainJob) =>
  new HttpError(
    409,
    'training_busy',
    `training ${job.train_id} is running (iteration ${job.iteration} of ${job.iterations}); stop it with POST /train/interrupt or wait for it`,
  );

/** A new run's record, as GET /train lists it. */
export function newTrainJob(request: TrainRequest, settings: TrainSettings): TrainJob {
  return {
    train_id: randomUUID(),
    status: 'running',
    client_id: request.clientId,
    started: Date.now(),
    iteration: 0,
    iterations: settings.iterations,
    reward: null,
    held_out_fd: null,
    settings,
  };
}

/**
 * Training runs started from the server (POST /train), one at a time: a second request while one
 * runs is refused (409), so two runs never fight for the cores. Progress goes to the submitting
 * client (and watchers) over the websocket as `training_progress` ({train_id, step, iterations,
 * reward, held_out_fd}); the end as `training_done` (with the learned workflow) or `training_error`.
 * The learned workflow and the reward plot are written to output/train/ before `training_done`,
 * so a closed browser loses nothing; an interrupted run still writes the best schedule so far.
 */
export class TrainingJobs implements Trainer {
  private running: { job: TrainJob; abort: AbortController; done: Promise<void> } | undefined;
  private readonly jobs = new Map<string, TrainJob>();

  constructor(
    private readonly setup: FewstepSetup,
    private readonly folders: Folders,
    private readonly hub: WsHub,
    private readonly maxKept = 50,
  ) {}

  current(): TrainJob | undefined {
    return this.running?.job;
  }

  list(): TrainJob[] {
    return [...this.jobs.values()];
  }

  get(id: string): TrainJob | undefined {
    return this.jobs.get(id);
  }

  start(request: TrainRequest): TrainJob {
    const settings = checkTrainRequest(this.setup.engine, request);
    if (this.running) throw busyError(this.running.job);
    const job = newTrainJob(request, settings);
    this.jobs.set(job.train_id, job);
    while (this.jobs.size > this.maxKept) this.jobs.delete(this.jobs.keys().next().value!);
    const abort = new AbortController();
    const send: TrainSend = (type, data) => this.hub.send(job.client_id, type, { train_id: job.train_id, ...data });
    const done = runTraining(this.setup, this.folders, job, request, abort.signal, send).finally(() => (this.running = undefined));
    this.running = { job, abort, done };
    return job;
  }

  interrupt(id?: string): boolean {
    if (!this.running || (id && this.running.job.train_id !== id)) return false;
    this.running.abort.abort();
    return true;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running.done;
  }

  async stop(): Promise<void> {
    this.interrupt();
    await this.idle();
  }
}

/** Sends one training message (its train_id added by the caller) to the run's client. */
export type TrainSend = (type: string, data: Record<string, unknown>) => void;

/**
 * One training run, start to end, updating `job` before each message it sends: `training_start`,
 * `training_progress` per iteration, then `training_done` (files written first) or `training_error`.
 * Never throws: an error is the run's `training_error`.
 */
export async function runTraining(
  setup: FewstepSetup,
  folders: Folders,
  job: TrainJob,
  request: TrainRequest,
  signal: AbortSignal,
  send: TrainSend,
): Promise<void> {
  send('training_start', { iterations: job.iterations, settings: job.settings });
  try {
    const result = await trainWorkflow(setup, request.prompt, job.settings, {
      folders,
      workflow: request.workflow,
      signal,
      onProgress: (progress: TrainProgress) => {
        job.iteration = progress.iteration;
        job.reward = progress.reward;
        if (progress.heldOutFd !== undefined) job.held_out_fd = progress.heldOutFd;
        send('training_progress', {
          step: progress.iteration,
          iterations: progress.iterations,
          reward: progress.reward,
          held_out_fd: progress.heldOutFd ?? null,
        });
      },
    });
    const files = writeTrainFiles(folders, job, request.name, result.workflow, rewardCurvePng(result.state));
    job.status = result.state.stopped === 'aborted' ? 'stopped' : 'trained';
    job.stopped = result.state.stopped;
    job.seconds = Number(result.seconds.toFixed(1));
    job.files = files;
    send('training_done', {
      status: job.status,
      stopped: job.stopped,
      iterations: result.state.iteration,
      seconds: job.seconds,
      held_out_fd_start: result.learned.training?.held_out_fd_start ?? null,
      held_out_fd_best: result.learned.training?.held_out_fd_best ?? null,
      learned: result.learned,
      // The learned widget values by node id, so an editor can update its graph in place.
      widgets: result.widgets,
      workflow: result.workflow,
      files,
    });
  } catch (error) {
    job.message = error instanceof Error ? error.message : String(error);
    if (signal.aborted) {
      // Stopped inside a rollout, before the trainer could hand back its state.
      job.status = 'stopped';
      job.stopped = 'aborted';
      send('training_done', { status: job.status, stopped: job.stopped, iterations: job.iteration, files: null });
      return;
    }
    job.status = 'failed';
    if (!(error instanceof TrainingError)) console.error('fewstep: training failed:', error);
    send('training_error', { message: job.message });
  }
}

function writeTrainFiles(folders: Folders, job: TrainJob, name: string | undefined, workflow: unknown, plot: Buffer): { workflow: FileRef; plot: FileRef } {
  const dir = path.join(folders.output, TRAIN_SUBFOLDER);
  mkdirSync(dir, { recursive: true });
  const stem = `${
    (name ?? 'workflow')
      .replace(/[^\w.-]+/g, '_')
      .replace(/\.json$/i, '')
      .slice(0, 60) || 'workflow'
  }-learned-${job.train_id.slice(0, 8)}`;
  // Temporary names, then renames: a crash never leaves half a file under a real name.
  writeFileReplacing(path.join(dir, `${stem}.json`), `${JSON.stringify(workflow, null, 2)}\n`);
  writeFileReplacing(path.join(dir, `${stem}-reward.png`), plot);
  const ref = (filename: string): FileRef => ({ filename, subfolder: TRAIN_SUBFOLDER, type: 'output' });
  return { workflow: ref(`${stem}.json`), plot: ref(`${stem}-reward.png`) };
}
