import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { Router } from 'express';
import { OutputCache, type Engine, type Folders } from '../engine/index.ts';
import type { ModelStore } from '../engine/onnx/index.ts';
import { comfyReporter } from './comfy-messages.ts';
import { hostAllowed, hostGuard, type HostPolicy } from './host-guard.ts';
import { errorHandler, notFound } from './http-error.ts';
import { jsonBody } from './json-body.ts';
import { memoryQueue, type PromptQueue, type QueueFactory } from './queue.ts';
import { fileRoutes } from './routes/files.ts';
import { frontendRoutes } from './routes/frontend.ts';
import { infoRoutes } from './routes/info.ts';
import { jobRoutes } from './routes/jobs.ts';
import { promptRoutes } from './routes/prompts.ts';
import { requestTarget } from './request-target.ts';
import { trainRoutes } from './routes/train.ts';
import { userRoutes } from './routes/userdata.ts';
import { authorized, originGuard, sameOrigin, tokenGuard } from './security.ts';
import { TrainingJobs, type Trainer } from './train-jobs.ts';
import { UserFiles } from './user-files.ts';
import { WsHub } from './ws-hub.ts';

export interface ServerOptions {
  engine: Engine;
  folders: Folders;
  /** The models the engine loads from; with it, POST /train learns schedules. */
  store?: ModelStore;
  /** Shipped workflows listed at /workflows. */
  workflowsDir?: string;
  /** The built editor (web/dist), or another frontend build (--front-end-root); without it, only the API is served. */
  webDir?: string;
  /** ComfyUI's user folder (settings, saved workflows); default `user/` beside the output folder. */
  userDir?: string;
  /** Access token every request must carry; required when binding beyond loopback. */
  token?: string;
  /** Host names served besides loopback ones (`--allow-host`); see host-guard.ts. */
  allowedHosts?: readonly string[];
  maxJsonBytes?: number;
  maxUploadBytes?: number;
  /** Where prompts and history live (server/queue.ts); default: memory. `fewstep serve` uses SQLite or Redis. */
  queue?: QueueFactory;
  /** Who runs POST /train; default: this process, when `store` is given. `fewstep serve --redis` sends it to workers. */
  training?: TrainerFactory;
}

export type TrainerFactory = (context: { engine: Engine; folders: Folders; hub: WsHub }) => Trainer;

export interface FewstepServer {
  listen(port?: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
  address(): AddressInfo;
  readonly queue: PromptQueue;
  readonly training: Trainer | undefined;
  readonly hub: WsHub;
  readonly http: Server;
}

/** The engine server: ComfyUI's HTTP API (also under /api), the websocket hub, and the editor. */
export function createServer(options: ServerOptions): FewstepServer {
  const { folders, token } = options;
  // Validation (POST /prompt, /workflow/parse, /train) checks the files a workflow names in these folders.
  const engine = options.engine.withFolders(folders);
  const maxJsonBytes = options.maxJsonBytes ?? 8 * 1024 * 1024;
  const maxUploadBytes = options.maxUploadBytes ?? 32 * 1024 * 1024;
  const workflowsDir = options.workflowsDir ?? path.resolve('workflows');

  let queue: PromptQueue;
  const status = () => ({ exec_info: { queue_remaining: queue?.remaining ?? 0 } });
  const features = { supports_preview_metadata: true, max_upload_size: maxUploadBytes };
  const hub = new WsHub(status, features);
  const cache = new OutputCache();
  queue = (options.queue ?? memoryQueue)({ engine, folders, cache, reporter: comfyReporter(hub, status) });

  const api = Router();
  const training = options.training
    ? options.training({ engine, folders, hub })
    : options.store
      ? new TrainingJobs({ engine, store: options.store }, folders, hub)
      : undefined;
  api.use(promptRoutes(engine, queue));
  api.use(trainRoutes(engine, training));
  api.use(fileRoutes(folders, maxUploadBytes));
  api.use(infoRoutes(engine, workflowsDir, maxJsonBytes));
  api.use(jobRoutes(queue));
  api.use(frontendRoutes({ engine, queue, cache, workflowsDir, store: options.store, training, features }));
  // User files are stored byte for byte, so their routes read their own bodies, before the JSON parser.
  const users = userRoutes(new UserFiles(options.userDir ?? path.join(path.dirname(folders.output), 'user')), maxUploadBytes);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const hostPolicy: HostPolicy = { allowedHosts: options.allowedHosts ?? [], boundAddress: () => boundAddress(http) };
  app.use(hostGuard(hostPolicy));
  app.use(tokenGuard(token));
  app.use(originGuard);
  // User data (settings, saved workflows) reads its own bodies, raw files among them.
  app.use('/api', users);
  app.use(users);
  app.use(jsonBody(maxJsonBytes));
  app.use('/api', api);
  app.use(api);
  if (options.webDir && existsSync(options.webDir)) app.use(express.static(options.webDir, { index: 'index.html' }));
  app.use(notFound);
  app.use(errorHandler);

  const http = createHttpServer(app);
  http.on('upgrade', (request, socket, head) => {
    // Node hands the socket over without its error listener: a client resetting it must not end the process.
    socket.on('error', () => socket.destroy());
    try {
      const { pathname } = requestTarget(request.url);
      const allowed = (pathname === '/ws' || pathname === '/api/ws') && hostAllowed(request, hostPolicy) && authorized(request, token) && sameOrigin(request);
      if (!allowed) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      hub.server.handleUpgrade(request, socket, head, (ws) => hub.server.emit('connection', ws, request));
    } catch (error) {
      console.error('fewstep: websocket upgrade failed:', error);
      socket.destroy();
    }
  });

  const address = () => {
    const value = http.address();
    if (!value || typeof value === 'string') throw new Error('the server is not listening');
    return value;
  };

  return {
    queue,
    training,
    hub,
    http,
    address,
    listen: (port = 8188, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve(address());
        });
      }),
    async close() {
      await Promise.all([queue.stop(), training?.stop()]);
      hub.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function boundAddress(http: Server): string | undefined {
  const value = http.address();
  return value && typeof value === 'object' ? value.address : undefined;
}
