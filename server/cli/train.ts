import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { writeFileReplacing } from '../../engine/files.ts';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatErrors } from '../../engine/index.ts';
import type { Prompt } from '../../engine/graph/prompt.ts';
import {
  resolveTrainSettings,
  rewardCurvePng,
  TrainingError,
  trainWorkflow,
  type TrainerState,
  type TrainOptions,
  type TrainResult,
  type TrainSettings,
  type TrainSetup,
} from '../../engine/training/index.ts';
import { createFewstepSetup } from '../setup.ts';
import { loadWorkflowFile, UsageError } from './load.ts';

/** A path for the learned workflow that is never the input file. */
export function learnedOutputPath(input: string, outDir: string): string {
  const base = path.basename(input).replace(/\.(json|png)$/i, '');
  let candidate = path.join(outDir, `${base}-learned.json`);
  for (let n = 2; path.resolve(candidate) === path.resolve(input); n++) candidate = path.join(outDir, `${base}-learned-${n}.json`);
  return candidate;
}

export interface TrainCommandOptions extends Partial<TrainSettings> {
  out: string;
  resume?: string;
  json?: boolean;
}

/** The engine's training errors as the CLI's: one line, exit code 1 when the graph failed to run, else 2. */
async function asUsageErrors<T>(body: () => Promise<T> | T): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof TrainingError) throw new UsageError(error.message, error.code === 'run_failed' ? 1 : 2);
    throw error;
  }
}

/** `fewstep train FILE`: trains, then writes FILE's name + -learned.json, the reward curve PNG and the trainer state into --out. */
export async function trainCommand(file: string, options: TrainCommandOptions, setup = createFewstepSetup()): Promise<number> {
  const settings = await asUsageErrors(() => resolveTrainSettings(options));
  const source = loadWorkflowFile(file);
  const converted = setup.engine.toPrompt(source.kind === 'workflow' ? source.workflow : source.prompt);
  if (!converted.ok) throw new UsageError(`${file}: ${converted.errors.join('; ')}`);
  const { prompt } = converted;
  const validation = setup.engine.validate(prompt);
  if (!validation.ok) {
    console.error(`${file}: invalid workflow`);
    for (const line of formatErrors(validation.error, validation.nodeErrors)) console.error(line);
    return 2;
  }
  const resume = options.resume ? (JSON.parse(readFileSync(options.resume, 'utf8')) as TrainerState) : undefined;
  if (resume && resume.format !== 'fewstep-pg/1') throw new UsageError(`${options.resume}: not a fewstep trainer state`);

  mkdirSync(options.out, { recursive: true });
  const outFile = learnedOutputPath(file, options.out);
  const stem = outFile.replace(/\.json$/, '');
  const stateFile = `${stem}-state.json`;
  const plotFile = `${stem}-reward.png`;

  const result = await trainWithProgressBar(setup, prompt, settings, {
    folders: { output: path.resolve(options.out), input: path.resolve('input'), temp: path.join(os.tmpdir(), 'fewstep', 'temp') },
    workflow: source.kind === 'workflow' ? source.workflow : undefined,
    resume,
    // Saved after every iteration: an interrupted run resumes with --resume.
    onIteration: (state) => writeFileReplacing(stateFile, JSON.stringify(state)),
  });
  const { state, learned } = result;
  // Temporary name, then rename: an interrupted write never leaves half a file under a real name.
  writeFileReplacing(stateFile, JSON.stringify(state));
  if (existsSync(outFile) && path.resolve(outFile) === path.resolve(file)) throw new Error('refusing to write over the input');
  writeFileReplacing(outFile, `${JSON.stringify(result.workflow, null, 2)}\n`);
  writeFileReplacing(plotFile, rewardCurvePng(state));

  if (options.json) {
    console.log(JSON.stringify({ status: 'trained', file: outFile, plot: plotFile, state: stateFile, learned, history: state.history }, null, 2));
  } else {
    printSummary(result, prompt, settings);
    console.log(`wrote ${outFile}, ${plotFile}, ${stateFile}`);
  }
  return state.stopped === 'aborted' ? 1 : 0;
}

/** Trains with a progress bar on stderr; Ctrl-C stops training and keeps what was learned. */
async function trainWithProgressBar(
  setup: TrainSetup,
  prompt: Prompt,
  settings: TrainSettings,
  options: Omit<TrainOptions, 'signal' | 'onProgress'>,
): Promise<TrainResult> {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' train |{bar}| {value}/{total} it | reward {reward} | held-out FD {fd} | {duration_formatted}',
      hideCursor: true,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(settings.iterations, options.resume?.iteration ?? 0, { reward: '-', fd: '-' });
  let lastFd = '-';
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await asUsageErrors(() =>
      trainWorkflow(setup, prompt, settings, {
        ...options,
        signal: controller.signal,
        onProgress: ({ iteration, reward, heldOutFd }) => {
          if (heldOutFd !== undefined) lastFd = heldOutFd.toFixed(2);
          bar.update(iteration, { reward: reward === null ? '-' : reward.toFixed(3), fd: lastFd });
        },
      }),
    );
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
}

/** The reward curve as a table, why training stopped, what it learned and the held-out FD. */
function printSummary(result: TrainResult, prompt: Prompt, settings: TrainSettings): void {
  const { state, learned } = result;
  console.log('iteration  reward      held-out FD');
  for (const entry of state.history) {
    const reward = entry.reward === null ? '-'.padStart(10) : entry.reward.toFixed(4).padStart(10);
    console.log(`${String(entry.iteration).padStart(9)}  ${reward}  ${entry.heldOut === undefined ? '' : entry.heldOut.toFixed(3)}`);
  }
  console.log(`stopped: ${state.stopped} after ${state.iteration} iterations, ${result.seconds.toFixed(0)} s`);
  const guidance = learned.guidance ? `; guidance ${learned.guidance.join(', ')}` : '';
  console.log(`learned timesteps ${learned.timesteps.join(', ')}${guidance}${learned.eta ? `; eta ${learned.eta.join(', ')}` : ''}`);
  const gates = result.plan.gates;
  if (result.gates && gates) {
    const { blocksRun, blocksTotal } = result.gates;
    console.log(
      `${prompt[gates.id].class_type} (node ${gates.id}): runs ${blocksRun} of ${blocksTotal} block evaluations per image (compute penalty ${settings.computePenalty})`,
    );
  }
  const training = learned.training;
  console.log(
    `held-out ${String(training?.held_out_measure ?? 'FD')} (${settings.heldOut} images): start ${String(training?.held_out_fd_start ?? '-')}, best ${String(training?.held_out_fd_best ?? '-')}`,
  );
}
