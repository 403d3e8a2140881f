import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatErrors } from '../../engine/index.ts';
import { syncWidgetValues } from '../../engine/graph/sync-widgets.ts';
import type { TrainerState } from '../../engine/rl/index.ts';
import { createFewstepSetup } from '../setup.ts';
import { resolveTrainSettings, rewardCurvePng, trainPrompt, type Prompt, type TrainResult, type TrainSettings } from '../training.ts';
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

/** `fewstep train FILE`: trains, then writes FILE's name + -learned.json, the reward curve PNG and the trainer state into --out. */
export async function trainCommand(file: string, options: TrainCommandOptions, setup = createFewstepSetup()): Promise<number> {
  const settings = resolveTrainSettings(options);
  const source = loadWorkflowFile(file);
  const converted = setup.engine.toPrompt(source.kind === 'workflow' ? source.workflow : source.prompt);
  if (!converted.ok) throw new UsageError(`${file}: ${converted.errors.join('; ')}`);
  const prompt = converted.prompt as Prompt;
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

  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: ' train |{bar}| {value}/{total} it | reward {reward} | held-out FD {fd} | {duration_formatted}', hideCursor: true, barsize: 24 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(settings.iterations, resume?.iteration ?? 0, { reward: '-', fd: '-' });
  let lastFd = '-';
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let result: TrainResult;
  try {
    result = await trainPrompt(setup, prompt, settings, {
      resume,
      signal: controller.signal,
      onProgress: ({ iteration, reward, heldOutFd }) => {
        if (heldOutFd !== undefined) lastFd = heldOutFd.toFixed(2);
        bar.update(iteration, { reward: reward === null ? '-' : reward.toFixed(3), fd: lastFd });
      },
      // Saved after every iteration: an interrupted run resumes with --resume.
      onIteration: (state) => writeFileSync(stateFile, JSON.stringify(state)),
    });
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
  const { state, learned } = result;
  writeFileSync(stateFile, JSON.stringify(state));
  const workflow = source.kind === 'workflow' ? syncWidgetValues(setup.engine.registry, source.workflow, result.prompt) : result.prompt;
  if (existsSync(outFile) && path.resolve(outFile) === path.resolve(file)) throw new Error('refusing to write over the input');
  writeFileSync(outFile, `${JSON.stringify(workflow, null, 2)}\n`);
  writeFileSync(plotFile, rewardCurvePng(state));

  if (options.json) {
    console.log(JSON.stringify({ status: 'trained', file: outFile, plot: plotFile, state: stateFile, learned, history: state.history }, null, 2));
  } else {
    console.log('iteration  reward      held-out FD');
    for (const entry of state.history) console.log(`${String(entry.iteration).padStart(9)}  ${entry.reward === null ? '-'.padStart(10) : entry.reward.toFixed(4).padStart(10)}  ${entry.heldOut === undefined ? '' : entry.heldOut.toFixed(3)}`);
    console.log(`stopped: ${state.stopped} after ${state.iteration} iterations, ${result.seconds.toFixed(0)} s`);
    console.log(`learned timesteps ${learned.timesteps.join(', ')}${learned.guidance ? `; guidance ${learned.guidance.join(', ')}` : ''}${learned.eta ? `; eta ${learned.eta.join(', ')}` : ''}`);
    if (result.skipGate) console.log(`SkipGate (node ${result.plan.skipGateId}): runs ${result.skipGate.blocksRun} of ${result.skipGate.blocksTotal} block evaluations per image (compute penalty ${settings.computePenalty})`);
    console.log(`held-out ${String(learned.training?.held_out_measure ?? 'FD')} (${settings.heldOut} images): start ${String(learned.training?.held_out_fd_start ?? '-')}, best ${String(learned.training?.held_out_fd_best ?? '-')}`);
    console.log(`wrote ${outFile}, ${plotFile}, ${stateFile}`);
  }
  return state.stopped === 'aborted' ? 1 : 0;
}
