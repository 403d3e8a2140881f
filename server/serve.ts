import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Folders } from '../engine/index.ts';
import { createServer, type FewstepServer } from './app.ts';
import { isLoopback } from './security.ts';
import { createFewstepSetup } from './setup.ts';
import { EDITOR_DIST, editorIsBuilt, ensureEditorBuilt } from './web-build.ts';

export interface ServeOptions {
  host: string;
  port: number;
  /** Folders for images; default output/, input/, temp/ under the working directory. */
  folders?: Folders;
  token?: string;
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
    throw new ServeError(`binding to ${options.host} makes fewstep reachable from other machines; set FEWSTEP_TOKEN to an access token first (or use --host 127.0.0.1)`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new ServeError(`--port ${options.port} is not a port number`);
  const root = process.cwd();
  const frontEnd = options.frontEndRoot === undefined ? undefined : path.resolve(options.frontEndRoot);
  if (frontEnd !== undefined && !(existsSync(frontEnd) && statSync(frontEnd).isDirectory() && existsSync(path.join(frontEnd, 'index.html')))) {
    throw new ServeError(`--front-end-root ${options.frontEndRoot}: not a folder with an index.html (give the built frontend, e.g. the static/ folder of ComfyUI's frontend package)`);
  }
  const folders = options.folders ?? { output: path.join(root, 'output'), input: path.join(root, 'input'), temp: path.join(root, 'temp') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  if (frontEnd === undefined && !editorIsBuilt()) {
    console.log('fewstep: building the editor (web/dist)...');
    await ensureEditorBuilt();
  }
  const { engine, store } = createFewstepSetup();
  const server = createServer({ engine, store, folders, webDir: frontEnd ?? EDITOR_DIST, token, workflowsDir: path.join(root, 'workflows'), userDir: path.join(root, 'user') });
  try {
    await server.listen(options.port, options.host);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new ServeError(`port ${options.port} is in use; pick another with --port`);
    throw error;
  }
  const { port } = server.address();
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  const editor = frontEnd === undefined ? 'editor' : `frontend from ${options.frontEndRoot}`;
  console.log(`fewstep: ${editor} and API at http://${shown}:${port}${token ? '/?token=<FEWSTEP_TOKEN>' : ''}`);
  const shutdown = () => {
    console.log('fewstep: stopping');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return server;
}
