import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Folders } from '../engine/index.ts';
import { createServer, type FewstepServer, type TrainerFactory } from './app.ts';
import { allowedHostName } from './host-guard.ts';
import { memoryQueue, sqliteQueue, type QueueFactory } from './queue.ts';
import { DataFolderError } from './queue/sqlite.ts';
import { isLoopback } from './security.ts';
import { createFewstepSetup } from './setup.ts';
import { EDITOR_DIST, editorIsBuilt, ensureEditorBuilt } from './web-build.ts';

export interface ServeOptions {
  host: string;
  port: number;
  /** Folders for images; default output/, input/, temp/ under the working directory. */
  folders?: Folders;
  token?: string;
  /** Serve the editor (built first when missing); false: the API alone. Default true. */
  editor?: boolean;
  /** Host names to serve besides loopback ones (`--allow-host`, repeatable). */
  allowedHosts?: string[];
  /** The SQLite queue's folder; default data/ beside the output folder. */
  dataDir?: string;
  /** Keep the queue and history in memory only (lost when the server stops). */
  inMemory?: boolean;
  /** Queue prompts on BullMQ in this Redis (`redis://HOST:PORT`) for `fewstep worker`s to run. */
  redis?: string;
  /** Another frontend build to serve instead of fewstep's editor (ComfyUI's --front-end-root). */
  frontEndRoot?: string;
}

export class ServeError extends Error {
  override readonly name = 'ServeError';
}

/** `fewstep serve` / `npm start`: the editor and the API, building the editor first if it is missing. */
export async function startServer(options: ServeOptions): Promise<FewstepServer> {
  const token = options.token ?? (process.env.FEWSTEP_TOKEN || undefined);
  if (!isLoopback(options.host) && !token) {
    throw new ServeError(
      `binding to ${options.host} makes fewstep reachable from other machines; set FEWSTEP_TOKEN to an access token first (or use --host 127.0.0.1)`,
    );
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new ServeError(`--port ${options.port} is not a port number`);
  const root = process.cwd();
  const frontEnd = options.frontEndRoot === undefined ? undefined : path.resolve(options.frontEndRoot);
  if (frontEnd !== undefined && !(existsSync(frontEnd) && statSync(frontEnd).isDirectory() && existsSync(path.join(frontEnd, 'index.html')))) {
    throw new ServeError(
      `--front-end-root ${options.frontEndRoot}: not a folder with an index.html (give the built frontend, e.g. the static/ folder of ComfyUI's frontend package)`,
    );
  }
  const folders = options.folders ?? { output: path.join(root, 'output'), input: path.join(root, 'input'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  const editor = options.editor !== false;
  if (editor && frontEnd === undefined && !editorIsBuilt()) {
    console.log('fewstep: building the editor (web/dist)...');
    await ensureEditorBuilt();
  }
  const queue = await queueFactory(options, folders);
  const { engine, store } = createFewstepSetup();
  const allowedHosts = options.allowedHosts ?? [];
  if (allowedHosts.some((name) => ['', '.'].includes(allowedHostName(name))))
    throw new ServeError('--allow-host needs a host name, such as --allow-host my-box.local');
  let server: FewstepServer;
  try {
    server = createServer({
      engine,
      store,
      folders,
      webDir: editor ? (frontEnd ?? EDITOR_DIST) : undefined,
      token,
      allowedHosts,
      workflowsDir: path.join(root, 'workflows'),
      queue: queue.factory,
      training: queue.training,
      userDir: path.join(root, 'user'),
    });
  } catch (error) {
    if (error instanceof DataFolderError) throw new ServeError(error.message);
    throw error;
  }
  try {
    await server.listen(options.port, options.host);
  } catch (error) {
    await server.close();
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new ServeError(`port ${options.port} is in use; pick another with --port`);
    throw error;
  }
  const { port } = server.address();
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  const served = frontEnd === undefined ? 'editor' : `frontend from ${options.frontEndRoot}`;
  console.log(`fewstep: ${served} and API at http://${shown}:${port}${token ? '/?token=<FEWSTEP_TOKEN>' : ''} (queue: ${queue.description})`);
  const shutdown = () => {
    console.log('fewstep: stopping');
    // The queue and sockets first, then the models (whose worker threads would keep the process alive).
    void server
      .close()
      .then(() => store.dispose())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('fewstep: error while stopping:', error);
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return server;
}

/** Where the queue lives: SQLite in the data folder by default, memory, or BullMQ on Redis. */
async function queueFactory(options: ServeOptions, folders: Folders): Promise<{ factory: QueueFactory; training?: TrainerFactory; description: string }> {
  if (options.redis) {
    const { checkRedis, shownRedisUrl } = await import('./queue/redis-check.ts');
    const problem = await checkRedis(options.redis);
    if (problem) throw new ServeError(problem);
    const [{ redisQueue }, { redisTraining }] = await Promise.all([import('./queue/bullmq.ts'), import('./queue/train-bullmq.ts')]);
    return {
      factory: redisQueue({ url: options.redis }),
      training: redisTraining({ url: options.redis }),
      description: `BullMQ on ${shownRedisUrl(options.redis)}`,
    };
  }
  if (options.inMemory) return { factory: memoryQueue, description: 'in memory' };
  const dataDir = path.resolve(options.dataDir ?? path.join(path.dirname(path.resolve(folders.output)), 'data'));
  return { factory: sqliteQueue(dataDir), description: `SQLite in ${path.relative(process.cwd(), dataDir) || '.'}` };
}
