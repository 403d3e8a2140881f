import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startChildServer, type ChildServer } from '../fixtures/child-server.ts';
import { countTable, runFuzz } from '../fixtures/fuzz-client.ts';
import type { Route } from '../fixtures/fuzz-requests.ts';
import { listRoutes } from '../fixtures/list-routes.ts';
import { maximalPromptBody, promptWithConcurrentQueue } from '../fixtures/maximal-prompt.ts';
import { WsClient } from './helpers.ts';

// `fewstep serve` as its own process, so a crash or a stall shows as one. Bounded: a fixed seed and
// a fixed count (bench/fuzz.ts runs longer). Nothing here looks at the clock.
const TOKEN = 'fuzz-token';
const SEED = 20_260_412;
const REQUESTS = 3000;
const MAX_JSON_BYTES = 8 * 1024 * 1024;
/** Generous: uploads and 8 MB bodies come and go; a leak of even a little per request would pass it. */
const MAX_RSS_GROWTH = 400 * 1024 * 1024;
const auth = { authorization: `Bearer ${TOKEN}` };

describe('fuzz: hostile requests against a fewstep serve process', () => {
  let server: ChildServer;
  let routes: Route[];
  const rss = async () =>
    ((await (await fetch(`${server.base}/system_stats`, { headers: auth })).json()) as { system: unknown; process_memory: { rss: number } }).process_memory.rss;

  before(async () => {
    routes = await listRoutes();
    server = await startChildServer({ args: ['--allow-host', 'fuzz.example'], env: { FEWSTEP_TOKEN: TOKEN } });
  });
  after(() => server?.stop());

  it('answers a GET /queue sent after a maximal prompt before it answers the prompt', async () => {
    const result = await promptWithConcurrentQueue(server.base, maximalPromptBody(MAX_JSON_BYTES), auth);
    assert.equal(result.promptStatus, 400, result.promptBody.slice(0, 300));
    assert.match(result.promptBody, /"prompt_outputs_failed_validation"/);
    assert.deepEqual(result.order, ['queue', 'prompt'], 'checking, parsing and validating the body let other requests through in between');
    assert.ok(server.alive());
  });

  it(`answers ${REQUESTS} random and mutated requests, upgrades and frames without a 5xx, a stall or a crash`, async () => {
    const rssBefore = await rss();
    const report = await runFuzz({
      target: { port: server.port, token: TOKEN, allowedHost: 'fuzz.example', maxJsonBytes: MAX_JSON_BYTES },
      routes,
      seed: SEED,
      count: REQUESTS,
      concurrency: 4,
      keepGoing: server.alive,
    });
    const summary = `${countTable(report.statuses)}\n${server.stderr().slice(-3000)}`;
    assert.ok(server.alive(), `the server process ended:\n${summary}`);
    assert.deepEqual(report.failures.slice(0, 5), [], summary);
    assert.equal(server.serverErrors(), 0, `the server logged internal errors:\n${summary}`);
    for (const route of routes) assert.ok((report.tried.get(`${route.method} ${route.path}`) ?? 0) > 0, `${route.method} ${route.path} was never tried`);
    for (const label of ['upgrade', 'ws frames', 'random path']) assert.ok((report.tried.get(label) ?? 0) > 0, label);
    assert.ok(report.wsFrames > 0, 'frames were sent on open websockets');
    for (const status of ['200', '400', '401', '403', '404']) assert.ok((report.statuses.get(status) ?? 0) > 0, `no ${status} in:\n${summary}`);
    const growth = (await rss()) - rssBefore;
    assert.ok(growth < MAX_RSS_GROWTH, `RSS grew ${Math.round(growth / 2 ** 20)} MB`);

    // Still a working server: a client connects, watches, and reads the queue.
    const ws = await WsClient.connect(`${server.base.replace('http', 'ws')}/ws?clientId=after&token=${TOKEN}`);
    await ws.waitFor((m) => m.type === 'status');
    ws.close();
    assert.equal((await fetch(`${server.base}/queue`, { headers: auth })).status, 200);
  });
});
