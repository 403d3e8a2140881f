import path from 'node:path';
import { Command } from 'commander';
import { ModelStore } from '../engine/onnx/index.ts';
import { createFewstepEngine, createFewstepSetup } from './setup.ts';
import { UsageError } from './cli/load.ts';
import { runCommand } from './cli/run.ts';
import { convertCommand, nodesCommand, validateCommand } from './cli/commands.ts';

/** The `fewstep` command line. Exit codes: 0 success, 1 the run failed, 2 invalid input. */
const program = new Command()
  .name('fewstep')
  .description('Few-step diffusion node graphs: run saved workflows headless, validate and convert them, serve the editor.')
  .showHelpAfterError();

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The models of a one-shot `run`: in one session, no worker threads. Measured (bench/one-shot.ts),
 * a split that starts mid-run never paid off within one run (its start-up takes both cores while
 * sampling goes on), and one started with the model paid off only at large batches; setting
 * FEWSTEP_ORT_WORKERS or FEWSTEP_SPLIT_AFTER_SECONDS brings the split back.
 */
function oneShotStore(env: NodeJS.ProcessEnv = process.env): ModelStore {
  const chosen = Boolean(env.FEWSTEP_ORT_WORKERS?.trim() || env.FEWSTEP_SPLIT_AFTER_SECONDS?.trim());
  return new ModelStore(undefined, chosen ? {} : { workers: 1 });
}

/** Runs a command body, turning user errors into one line and an exit code. */
function action<A extends unknown[]>(body: (...args: A) => number | Promise<number>) {
  return async (...args: A) => {
    try {
      process.exitCode = await body(...args);
    } catch (error) {
      if (error instanceof UsageError) {
        console.error(`fewstep: ${error.message}`);
        process.exitCode = error.exitCode;
      } else throw error;
    }
  };
}

program
  .command('run')
  .description('Run a workflow (UI or API JSON, or a PNG made by fewstep or ComfyUI) and save its images.')
  .argument('<file>', 'workflow .json or .png')
  .option('-o, --out <dir>', 'folder for saved images', 'output')
  .option('-i, --input <dir>', 'folder LoadImage reads from', 'input')
  .option('-s, --set <NODE.INPUT=VALUE>', 'set a widget; NODE is an id, or a type or title only one node has (repeatable)', collect, [])
  .option('--json', 'print one JSON object with outputs and stats', false)
  .action(
    action(async (file: string, options) => {
      const { engine, store } = createFewstepSetup(oneShotStore());
      try {
        return await runCommand(engine, file, options);
      } finally {
        // Ends the model's worker threads: the process exits when the run is done.
        await store.dispose();
      }
    }),
  );

program
  .command('validate')
  .description('Check a workflow and list every problem by node id and input name.')
  .argument('<file>')
  .option('-i, --input <dir>', 'folder LoadImage reads from', 'input')
  .option('--json', 'print the result as JSON', false)
  .action(action((file: string, options) => validateCommand(createFewstepEngine(), file, options)));

program
  .command('nodes')
  .description('List the node types (with --json: ComfyUI /object_info).')
  .option('--json', 'print /object_info JSON', false)
  .action(action((options) => nodesCommand(createFewstepEngine(), options)));

program
  .command('convert')
  .description('Convert a workflow between the UI format and the API prompt format.')
  .argument('<file>')
  .requiredOption('--to <format>', 'prompt or ui')
  .option('-o, --out <file>', 'write to a file instead of stdout')
  .action(action((file: string, options) => convertCommand(createFewstepEngine(), file, options)));

program
  .command('train')
  .description(
    'Learn the schedule of a workflow\'s StepScheduler (spacing "learned") against its RewardScorer; writes <name>-learned.json, the reward curve PNG and the trainer state into --out (never over the input).',
  )
  .argument('<file>', 'workflow .json or .png')
  .option('-o, --out <dir>', 'folder for the learned workflow, plot and state', 'output')
  .option('--iterations <n>', 'policy-gradient iterations', Number)
  .option('--group <n>', 'schedules per iteration, on shared seeds (even)', Number)
  .option('--batch <n>', 'images per rollout', Number)
  .option('--held-out <n>', 'images per held-out FD', Number)
  .option('--evaluate-every <n>', 'held-out FD every n iterations', Number)
  .option('--patience <n>', 'stop after n held-out evaluations without improvement (0: never)', Number)
  .option('--learning-rate <x>', 'Adam step size', Number)
  .option('--std <x>', 'exploration noise of the policy', Number)
  .option('--no-learn-guidance', "keep the sampler's cfg instead of learning it per step")
  .option('--learn-eta', 'also learn eta per step (ddim, euler_ancestral)')
  .option('--max-minutes <x>', 'stop after this many minutes', Number)
  .option('--compute-penalty <x>', 'with a SkipGate in learned mode: reward minus x times the fraction of FLOPs used', Number)
  .option('--resume <state.json>', 'continue from a saved trainer state')
  .option('--json', 'print the result as JSON', false)
  .action(
    action(async (file: string, options) => {
      const { trainCommand } = await import('./cli/train.ts');
      const setup = createFewstepSetup();
      try {
        return await trainCommand(file, options, setup);
      } finally {
        await setup.store.dispose();
      }
    }),
  );

program
  .command('serve')
  .description(
    'Serve the editor and the ComfyUI-compatible API (FEWSTEP_TOKEN sets an access token; required beyond loopback). Prompts and history are kept in SQLite in --data, or in Redis with --redis.',
  )
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <port>', 'port to listen on', '8188')
  .option(
    '--allow-host <name>',
    'also answer to this host name (repeatable; a leading dot allows subdomains); only loopback names are served otherwise',
    collect,
    [],
  )
  .option('-o, --output <dir>', 'folder for saved images', 'output')
  .option('-i, --input <dir>', 'folder LoadImage reads from and uploads go to', 'input')
  .option('--data <dir>', 'folder of the queue and history database (default: data/ beside the output folder)')
  .option('--in-memory', 'keep the queue and history in memory only (lost when the server stops)', false)
  .option('--redis <url>', 'queue prompts on BullMQ in this Redis (redis://HOST:PORT); `fewstep worker`s run them')
  .option(
    '--front-end-root <dir>',
    "serve another frontend build instead of fewstep's editor (e.g. ComfyUI's frontend: the static/ folder of the comfyui-frontend-package wheel, or its dist/)",
  )
  .action(
    async (options: {
      host: string;
      port: string;
      frontEndRoot?: string;
      allowHost: string[];
      output: string;
      input: string;
      data?: string;
      inMemory: boolean;
      redis?: string;
    }) => {
      const { startServer, ServeError } = await import('./serve.ts');
      const output = path.resolve(options.output);
      const folders = { output, input: path.resolve(options.input), temp: path.join(path.dirname(output), 'temp') };
      try {
        await startServer({
          host: options.host,
          port: Number(options.port),
          allowedHosts: options.allowHost,
          folders,
          dataDir: options.data,
          inMemory: options.inMemory,
          redis: options.redis,
          frontEndRoot: options.frontEndRoot,
        });
      } catch (error) {
        if (!(error instanceof ServeError)) throw error;
        console.error(`fewstep: ${error.message}`);
        process.exitCode = 2;
      }
    },
  );

program
  .command('worker')
  .description(
    'Run prompts and training runs from a Redis queue that `fewstep serve --redis` fills; start any number, on any machine. Progress, previews and files travel back through Redis.',
  )
  .requiredOption('--redis <url>', 'the Redis the API server uses (redis://HOST:PORT)')
  .option('-o, --output <dir>', "folder for saved images (with --shared-output: the API server's own, at the same path)", 'output')
  .option('-i, --input <dir>', 'folder LoadImage reads from', 'input')
  .option('--shared-output', "the output and temp folders are the API server's (shared storage): files are not sent through Redis", false)
  .option('--concurrency <n>', 'prompts this worker runs at once', '1')
  .option('--no-training', 'take prompts only, no training runs (POST /train); by default a worker also trains, one run at a time')
  .option('--lock-ms <ms>', "lock on a running prompt; a dead worker's prompt moves to another worker after it", '30000')
  .option('--stalled-ms <ms>', 'how often to look for prompts whose worker died', '30000')
  .option('--models <dir>', "folder of models (default: the repository's models/)")
  .option('--name <name>', 'name shown in logs and on the jobs (default: host-pid)')
  .action(action(async (options) => (await import('./cli/worker.ts')).workerCommand(options)));

await program.parseAsync(process.argv);
