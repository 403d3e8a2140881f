import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ModelStore } from '../../engine/onnx/index.ts';
import { checkRedis } from '../queue/redis-check.ts';
import { startWorker } from '../queue/worker.ts';
import { createFewstepSetup } from '../setup.ts';
import { UsageError } from '../usage-error.ts';

export interface WorkerCommandOptions {
  redis: string;
  output: string;
  input: string;
  temp?: string;
  sharedOutput: boolean;
  /** false with --no-training: this worker takes prompts only. */
  training: boolean;
  concurrency: string;
  lockMs: string;
  stalledMs: string;
  models?: string;
  name?: string;
}

const positive = (flag: string, value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${flag} ${value} is not a whole number above 0`);
  return number;
};

/** `fewstep worker --redis URL`: runs prompts from the Redis queue until SIGINT/SIGTERM (then finishes the one in hand). */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const concurrency = positive('--concurrency', options.concurrency);
  const lockMs = positive('--lock-ms', options.lockMs);
  const stalledMs = positive('--stalled-ms', options.stalledMs);
  const problem = await checkRedis(options.redis);
  if (problem) throw new UsageError(problem);
  const output = path.resolve(options.output);
  const folders = { output, input: path.resolve(options.input), temp: path.resolve(options.temp ?? path.join(path.dirname(output), 'temp')) };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  const { engine, store } = createFewstepSetup(options.models ? new ModelStore(path.resolve(options.models)) : undefined);
  const worker = await startWorker({
    engine,
    store: options.training ? store : undefined,
    redisUrl: options.redis,
    folders,
    sharedOutput: options.sharedOutput,
    concurrency,
    lockMs,
    stalledMs,
    name: options.name,
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      console.log(`fewstep worker ${worker.name}: stopping after the prompt in hand; a training run stops keeping what it learned (again to quit now)`);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      void worker.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
