/**
 * Hostile clients against a `fewstep serve` process, for long runs: the fuzz requests of the test
 * (test/fixtures/fuzz-requests.ts) at a larger count, a maximal prompt with a concurrent GET
 * /queue, and ten concurrent large uploads. Prints requests by route, responses by status,
 * crashes and 5xx (both must be 0), the server's own event-loop delay (a probe preloaded into it
 * answers over IPC) and its RSS (read from /proc, so a busy server does not delay the reading).
 *
 *   node --import tsx bench/fuzz.ts [--requests 20000] [--seed 1] [--concurrency 8]
 *
 * The server runs as a child process; this file never imports server/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { startChildServer, type ChildServer } from '../test/fixtures/child-server.ts';
import { countTable, runFuzz } from '../test/fixtures/fuzz-client.ts';
import type { Route } from '../test/fixtures/fuzz-requests.ts';
import { maximalPromptBody, promptWithConcurrentQueue } from '../test/fixtures/maximal-prompt.ts';
import { jsonNestsDeeperThan } from '../engine/graph/json-depth.ts';
import { createEngine } from '../engine/index.ts';
import { allNodes } from '../nodes/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    uploads: { type: 'string', default: '10' },
    'upload-mb': { type: 'string', default: '31' },
  },
});
const TOKEN = 'bench-token';
const MAX_JSON_BYTES = 8 * 1024 * 1024;
const auth = { authorization: `Bearer ${TOKEN}` };

interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

/** The server's event-loop delay since the last call (the probe resets after each answer). */
function loopDelay(server: ChildServer): Promise<LoopDelay> {
  return new Promise((resolve) => {
    server.child.once('message', (message) => resolve(message as LoopDelay));
    server.child.send('loop-delay');
  });
}

function rssMb(server: ChildServer): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Samples RSS every 20 ms while `work` runs; returns the peak. */
async function peakRss<T>(server: ChildServer, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peakMb = rssMb(server);
  const timer = setInterval(() => (peakMb = Math.max(peakMb, rssMb(server))), 20);
  try {
    return { result: await work(), peakMb: Math.max(peakMb, rssMb(server)) };
  } finally {
    clearInterval(timer);
  }
}

/** A real PNG of about `megabytes` MB: RGB noise, stored without compression. */
function largePng(megabytes: number): Buffer {
  const width = 1024;
  const height = Math.floor((megabytes * 1024 * 1024) / (width * 3 + 1));
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let state = 1;
  for (let i = 0; i < raw.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    raw[i] = i % (width * 3 + 1) === 0 ? 0 : state >>> 24;
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 0 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const table = (rows: Array<[string, string]>) => ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');

/** CPU time of each synchronous step a maximal prompt costs the server (best of 3, so warm), measured here in-process. */
function maximalPromptSteps(body: Buffer): Array<[string, string]> {
  const engine = createEngine({ nodes: allNodes });
  const cpuMs = (work: () => unknown) => {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  const best = { depth: Infinity, parse: Infinity, validate: Infinity };
  for (let run = 0; run < 3; run++) {
    let value: { prompt: unknown } = { prompt: {} };
    best.depth = Math.min(
      best.depth,
      cpuMs(() => jsonNestsDeeperThan(body)),
    );
    best.parse = Math.min(
      best.parse,
      cpuMs(() => (value = JSON.parse(body.toString('utf8')))),
    );
    best.validate = Math.min(
      best.validate,
      cpuMs(() => engine.validate(value.prompt)),
    );
  }
  return [
    ['  steps, CPU ms: depth check on the bytes', best.depth.toFixed(0)],
    ['  steps, CPU ms: JSON.parse (one native call)', best.parse.toFixed(0)],
    ['  steps, CPU ms: validate 10,000 nodes', best.validate.toFixed(0)],
  ];
}

// The routes, from the express routers, listed by a child process (this file does not import server/).
const routes = JSON.parse(
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/list-routes.ts')], { cwd: root, encoding: 'utf8' }),
) as Route[];
const server = await startChildServer({
  args: ['--allow-host', 'fuzz.example'],
  env: { FEWSTEP_TOKEN: TOKEN },
  nodeArgs: ['--import', path.join(root, 'bench/lib/loop-delay-probe.mjs')],
  ipc: true,
});
const rows: Array<[string, string]> = [];
try {
  const idleMb = rssMb(server);
  rows.push(['server RSS at start (MB)', idleMb.toFixed(0)]);

  // 1. The maximal prompt: a body at the JSON limit, and a GET /queue sent right after its last byte.
  const body = maximalPromptBody(MAX_JSON_BYTES);
  for (let round = 1; round <= 3; round++) {
    await loopDelay(server);
    const maximal = await promptWithConcurrentQueue(server.base, body, auth);
    const delay = await loopDelay(server);
    rows.push([
      `maximal prompt ${round} (${(body.length / 2 ** 20).toFixed(2)} MB, 10,000 nodes): answered (ms, status)`,
      `${maximal.promptMs.toFixed(0)}, ${maximal.promptStatus}`,
    ]);
    rows.push([`  concurrent GET /queue answered (ms), order`, `${maximal.queueMs.toFixed(0)}, ${maximal.order.join(' before ')}`]);
    rows.push([`  server event-loop delay max / p99 (ms)`, `${delay.maxMs.toFixed(0)} / ${delay.p99Ms.toFixed(0)}`]);
  }
  rows.push(...maximalPromptSteps(body));

  // 2. Ten concurrent large uploads.
  const png = largePng(Number(values['upload-mb']));
  const before = rssMb(server);
  await loopDelay(server);
  const started = performance.now();
  const { result: statuses, peakMb } = await peakRss(server, () =>
    Promise.all(
      Array.from({ length: Number(values.uploads) }, async (_, i) => {
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), `large-${i}.png`);
        const response = await fetch(`${server.base}/upload/image`, { method: 'POST', body: form, headers: auth });
        await response.arrayBuffer();
        return response.status;
      }),
    ),
  );
  const uploadDelay = await loopDelay(server);
  rows.push([`${values.uploads} concurrent uploads of ${(png.length / 2 ** 20).toFixed(1)} MB: statuses`, [...new Set(statuses)].join(', ')]);
  rows.push(['  time (s)', ((performance.now() - started) / 1000).toFixed(1)]);
  rows.push(['  server RSS before / peak during (MB)', `${before.toFixed(0)} / ${peakMb.toFixed(0)} (+${(peakMb - before).toFixed(0)})`]);
  rows.push(['  server event-loop delay max (ms)', uploadDelay.maxMs.toFixed(0)]);

  // 3. The fuzz run.
  await loopDelay(server);
  const fuzzStart = performance.now();
  const report = await peakRss(server, () =>
    runFuzz({
      target: { port: server.port, token: TOKEN, allowedHost: 'fuzz.example', maxJsonBytes: MAX_JSON_BYTES },
      routes,
      seed: Number(values.seed),
      count: Number(values.requests),
      concurrency: Number(values.concurrency),
      keepGoing: server.alive,
    }),
  );
  const fuzzDelay = await (server.alive() ? loopDelay(server) : Promise.resolve({ maxMs: NaN, p99Ms: NaN, meanMs: NaN }));
  const tried = [...report.result.tried.values()].reduce((a, b) => a + b, 0);
  const fiveHundreds = [...report.result.statuses].filter(([status]) => status.startsWith('5')).reduce((n, [, count]) => n + count, 0);
  rows.push([`fuzz requests (seed ${values.seed}, concurrency ${values.concurrency})`, String(tried)]);
  rows.push(['  time (s)', ((performance.now() - fuzzStart) / 1000).toFixed(1)]);
  rows.push(['  websocket frames sent on open sockets', String(report.result.wsFrames)]);
  rows.push(['  crashes (must be 0)', server.alive() ? '0' : '1']);
  rows.push(['  5xx answered / logged by the server (must be 0)', `${fiveHundreds} / ${server.serverErrors()}`]);
  rows.push(['  timeouts (must be 0)', String(report.result.statuses.get('timeout') ?? 0)]);
  rows.push(['  server event-loop delay max / p99 (ms)', `${fuzzDelay.maxMs.toFixed(0)} / ${fuzzDelay.p99Ms.toFixed(0)}`]);
  rows.push(['  server RSS peak during (MB)', report.peakMb.toFixed(0)]);
  if (server.alive()) rows.push(['server RSS at end (MB)', rssMb(server).toFixed(0)]);

  console.log(`\nRequests tried, by route:\n${countTable(report.result.tried)}`);
  console.log(
    `\nResponses, by status (closed: the server ended the connection without an answer, as for an unparsable request):\n${countTable(report.result.statuses)}`,
  );
  for (const failure of report.result.failures.slice(0, 10))
    console.log(`FAILED ${failure.status} ${failure.label}: ${JSON.stringify(failure.request.slice(0, 200))}`);
  console.log(`\n${table(rows)}`);
} finally {
  await server.stop();
}
