/**
 * The queue's figures, measured on real processes (`fewstep serve`, `fewstep worker`, a
 * redis-server of its own), printed as tables:
 *   overhead    per-prompt cost of the queue: memory vs SQLite vs Redis, trivial graph
 *   kill        200 prompts, 2 workers, one killed mid-run: completed / duplicates / lost
 *   rerun       time from a worker's death to its prompt running elsewhere, per lock setting
 *   throughput  four-step workflow (batch 4), SQLite in-process vs 1 and 2 Redis workers
 *   redis       Redis commands, CPU and bytes per prompt, redis-benchmark, and what 100 workers need
 * `node --import tsx bench/queue.ts [overhead kill rerun throughput redis]` (default: all).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { encodePng } from '../engine/index.ts';
import { imageBatch } from '../engine/image/image-batch.ts';
import { spawnFewstep, spawnServer, startRedis, type Child, type RedisServer } from './lib/processes.ts';
import { history, median, quantile, QueueWatcher, samplePrompt, submit, trivialPrompt } from './lib/queue-client.ts';

type Mode = 'memory' | 'sqlite' | 'redis';
const sections = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['overhead', 'kill', 'rerun', 'throughput', 'redis'];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fewstep-bench-queue-'));
const ORT_ONE = { FEWSTEP_ORT_WORKERS: '1' };

interface Cluster {
  base: string;
  watcher: QueueWatcher;
  output: string;
  server: Child;
  workers: Child[];
  redis?: RedisServer;
  close(): Promise<void>;
}

let clusters = 0;
async function cluster(
  mode: Mode,
  workerCount: number,
  options: { lockMs?: number; stalledMs?: number; serverEnv?: Record<string, string> } = {},
): Promise<Cluster> {
  const root = path.join(scratch, `c${++clusters}`);
  const output = path.join(root, 'output');
  const input = path.join(root, 'input');
  mkdirSync(input, { recursive: true });
  writeFileSync(path.join(input, 'bench.png'), encodePng(imageBatch(1, 1, 8, 8, new Float32Array(64).fill(0.5)), 0));
  const redis = mode === 'redis' ? await startRedis(path.join(root, 'redis')) : undefined;
  const queueArgs = mode === 'memory' ? ['--in-memory'] : mode === 'redis' ? ['--redis', redis!.url] : ['--data', path.join(root, 'data')];
  const { child: server, base, wsBase } = await spawnServer(['--output', output, '--input', input, ...queueArgs], { env: options.serverEnv ?? ORT_ONE });
  const workers = await Promise.all(
    Array.from({ length: mode === 'redis' ? workerCount : 0 }, async (_, index) => {
      const name = `w${index + 1}`;
      const args = ['worker', '--redis', redis!.url, '--output', path.join(root, name), '--input', input, '--name', name];
      if (options.lockMs) args.push('--lock-ms', String(options.lockMs), '--stalled-ms', String(options.stalledMs));
      const worker = spawnFewstep(args, { env: ORT_ONE, label: name });
      await worker.waitForLine(/waiting for prompts/, 60000);
      return worker;
    }),
  );
  const watcher = await QueueWatcher.connect(wsBase);
  return {
    base,
    watcher,
    output,
    server,
    workers,
    redis,
    async close() {
      watcher.close();
      await Promise.all([server, ...workers].map((child) => child.kill()));
      await redis?.stop();
    },
  };
}

/** Posts every prompt, then waits until all have finished; milliseconds from the first post to the last end. */
async function runAll(c: Cluster, prompts: Array<Record<string, unknown>>): Promise<{ ids: string[]; ms: number }> {
  const start = performance.now();
  const ids: string[] = [];
  for (const prompt of prompts) ids.push(await submit(c.base, prompt));
  await c.watcher.until(() => ids.every((id) => c.watcher.finishedAt(id) !== undefined));
  return { ids, ms: Math.max(...ids.map((id) => c.watcher.finishedAt(id)!)) - start };
}

async function oneAtATime(c: Cluster, count: number, prompt: () => Record<string, unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const id = await submit(c.base, prompt());
    await c.watcher.until(() => c.watcher.finishedAt(id) !== undefined);
    times.push(c.watcher.finishedAt(id)! - start);
  }
  return times;
}

interface RedisCounters {
  commands: number;
  cpuMs: number;
  bytes: number;
}
async function redisCounters(redis: RedisServer): Promise<RedisCounters> {
  const client = new Redis(redis.url);
  const info = await client.info();
  client.disconnect();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    commands: field('total_commands_processed'),
    cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
    bytes: field('total_net_input_bytes') + field('total_net_output_bytes'),
  };
}
const perPrompt = (before: RedisCounters, after: RedisCounters, prompts: number): RedisCounters => ({
  commands: (after.commands - before.commands) / prompts,
  cpuMs: (after.cpuMs - before.cpuMs) / prompts,
  bytes: (after.bytes - before.bytes) / prompts,
});
const redisLoad: Record<string, RedisCounters> = {};
/** Prompts/s of one Redis worker on the four-step workflow, from the throughput section. */
let oneWorkerRate = 0;

function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log('');
}
const fixed = (value: number, digits = 1) => value.toFixed(digits);

async function overhead(): Promise<void> {
  const modes = ['memory', 'sqlite', 'redis'] as const;
  const running = await Promise.all(modes.map((mode) => cluster(mode, 1)));
  for (const c of running) await oneAtATime(c, 5, () => trivialPrompt('warm'));
  // Rounds interleave the three queues, so a busy moment of this shared machine hits them alike; medians over rounds.
  const rounds = 5;
  const latency = modes.map(() => [] as number[]);
  const queued = modes.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, c] of running.entries()) {
      latency[index].push(...(await oneAtATime(c, 10, () => trivialPrompt('one'))));
      const before = c.redis && (await redisCounters(c.redis));
      queued[index].push(
        (
          await runAll(
            c,
            Array.from({ length: 40 }, () => trivialPrompt('many')),
          )
        ).ms / 40,
      );
      if (c.redis && before && round === rounds - 1) redisLoad['trivial graph'] = perPrompt(before, await redisCounters(c.redis), 40);
    }
  }
  await Promise.all(running.map((c) => c.close()));
  const memoryMs = median(queued[0]);
  const rows = modes.map((mode, index) => {
    const each = median(queued[index]);
    return [
      mode === 'redis' ? 'Redis (BullMQ, 1 worker)' : mode,
      fixed(median(latency[index])),
      fixed(quantile(latency[index], 0.9)),
      fixed(each, 2),
      fixed(1000 / each, 0),
      `+${fixed(each - memoryMs, 2)}`,
    ];
  });
  console.log(
    `Per-prompt cost of the queue, trivial graph (LoadImage 8x8 -> SaveImage), through HTTP and ws; ${rounds} interleaved rounds of 10 prompts one at a time and 40 queued at once:\n`,
  );
  table(['queue', 'one at a time: median ms', 'p90 ms', 'queued: ms/prompt (median of rounds)', 'prompts/s', 'ms/prompt over memory'], rows);
}

async function kill(): Promise<void> {
  const total = 200;
  const c = await cluster('redis', 2, { lockMs: 5000, stalledMs: 1000 });
  const ids: string[] = [];
  for (let seed = 0; seed < total; seed++) ids.push(await submit(c.base, samplePrompt(seed, { batch: 1, steps: 10, prefix: 'kill' })));
  await c.watcher.until(() => c.watcher.count('execution_success') >= total / 2);
  // The worker whose last line says a prompt started (and not that it finished) is mid-prompt.
  const lastStarted = (worker: Child) => /(\S+) started$/.exec(worker.lines.filter((line) => / (started|finished: \w+)$/.test(line)).at(-1) ?? '')?.[1];
  const victim = c.workers.find((worker) => lastStarted(worker))!;
  const lostPrompt = lastStarted(victim)!;
  const killedAt = performance.now();
  await victim.kill('SIGKILL');
  await c.watcher.until(() => ids.every((id) => c.watcher.finishedAt(id) !== undefined));
  const rerunAt = c.watcher.arrivals.filter((a) => a.type === 'execution_start' && a.promptId === lostPrompt && a.at > killedAt)[0]?.at;
  const entries = await history(c.base);
  const completed = ids.filter((id) => entries[id]?.status.status_str === 'success').length;
  const files = readdirSync(c.output).filter((name) => name.endsWith('.png'));
  const named = new Set(
    Object.values(entries).flatMap((entry) => Object.values(entry.outputs).flatMap((output) => output.images?.map((image) => image.filename) ?? [])),
  );
  const expected = Array.from({ length: total }, (_, i) => `kill_${String(i + 1).padStart(5, '0')}_.png`);
  const runs = c.workers.reduce((sum, worker) => sum + worker.lines.filter((line) => line.endsWith(' started')).length, 0);
  console.log(
    `${total} prompts (four-step, batch 1, 10 steps), 2 workers (lock 5 s, stalled check 1 s), one killed with SIGKILL after ${total / 2} had finished, mid-prompt:\n`,
  );
  table(
    [
      'prompts',
      'completed',
      'duplicates',
      'lost',
      'runs started',
      'files',
      'files named by history',
      'numbered 1..200, no gaps',
      'lost prompt ran elsewhere after (s)',
    ],
    [
      [
        total,
        completed,
        files.filter((name) => !named.has(name)).length,
        total - completed,
        runs,
        files.length,
        [...named].filter((name) => files.includes(name)).length,
        String(files.sort().join() === expected.join()),
        rerunAt ? fixed((rerunAt - killedAt) / 1000, 2) : 'not seen',
      ],
    ],
  );
  await c.close();
}

async function rerun(): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  for (const [lockMs, stalledMs] of [
    [2000, 500],
    [5000, 1000],
    [30000, 30000],
  ]) {
    const c = await cluster('redis', 2, { lockMs, stalledMs });
    // One prompt, so the other worker is idle: what is measured is the recovery, not a queue.
    const ids = [await submit(c.base, samplePrompt(0, { batch: 1, steps: 300, prefix: 'rerun' }))];
    await c.watcher.until(() => c.watcher.arrivals.some((a) => a.type === 'progress' && a.promptId === ids[0]));
    const holder = c.workers.find((worker) => worker.lines.some((line) => line.endsWith(`${ids[0]} started`)))!;
    const killedAt = performance.now();
    await holder.kill('SIGKILL');
    await c.watcher.until(() => c.watcher.arrivals.some((a) => a.type === 'execution_start' && a.promptId === ids[0] && a.at > killedAt), 120000);
    const rerunAt = c.watcher.arrivals.find((a) => a.type === 'execution_start' && a.promptId === ids[0] && a.at > killedAt)!.at;
    rows.push([lockMs / 1000, stalledMs / 1000, fixed((rerunAt - killedAt) / 1000, 2), `${(lockMs + stalledMs) / 1000}`]);
    await c.close();
  }
  console.log("Time from a worker's death (SIGKILL mid-prompt) to its prompt starting on the other worker (`--lock-ms`, `--stalled-ms`):\n");
  table(['lock (s)', 'stalled check every (s)', 'death -> running elsewhere (s)', 'bound: lock + check (s)'], rows);
}

async function throughput(): Promise<void> {
  const count = 12;
  const rounds = 3;
  const load = os.loadavg()[0];
  const setups: Array<[string, Mode, number, Record<string, string>]> = [
    ['serve, SQLite, in-process, FEWSTEP_ORT_WORKERS=1', 'sqlite', 0, ORT_ONE],
    ['serve, SQLite, in-process, batch split over 2 threads (default)', 'sqlite', 0, {}],
    ['serve --redis, 1 worker', 'redis', 1, ORT_ONE],
    ['serve --redis, 2 workers', 'redis', 2, ORT_ONE],
  ];
  const running: Cluster[] = [];
  for (const [, mode, workers, serverEnv] of setups) running.push(await cluster(mode, workers, { serverEnv }));
  let seed = 1000;
  for (const c of running)
    await runAll(
      c,
      Array.from({ length: 4 }, () => samplePrompt(seed++)),
    ); // the model loaded in every process
  // Rounds interleave the setups, so a busy moment of this shared machine hits them alike; medians over rounds.
  // CPU time per prompt (server, workers, Redis) gives what the setups would do on two idle cores.
  const rates = setups.map(() => [] as number[]);
  const cpu = setups.map(() => ({ server: 0, workers: 0, redis: 0, prompts: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [index, c] of running.entries()) {
      const before = c.redis && (await redisCounters(c.redis));
      const cpuBefore = [c.server.cpuSeconds(), c.workers.reduce((sum, w) => sum + w.cpuSeconds(), 0)];
      const { ms } = await runAll(
        c,
        Array.from({ length: count }, () => samplePrompt(seed++)),
      );
      cpu[index].server += c.server.cpuSeconds() - cpuBefore[0];
      cpu[index].workers += c.workers.reduce((sum, w) => sum + w.cpuSeconds(), 0) - cpuBefore[1];
      cpu[index].prompts += count;
      if (c.redis && before) {
        const load = perPrompt(before, await redisCounters(c.redis), count);
        cpu[index].redis += (load.cpuMs * count) / 1000;
        if (setups[index][2] === 2) redisLoad['four-step, batch 4'] = load;
      }
      rates[index].push((count * 1000) / ms);
    }
  }
  await Promise.all(running.map((c) => c.close()));
  oneWorkerRate = median(rates[2]);
  const rows = setups.map(([label, , workers], index) => {
    const per = (seconds: number) => (1000 * seconds) / cpu[index].prompts;
    const total = per(cpu[index].server + cpu[index].workers + cpu[index].redis);
    // A prompt's model work runs on one thread of one process (FEWSTEP_ORT_WORKERS=1), or on both cores (the split);
    // n workers run n prompts at once; nothing runs faster than two cores carry the whole CPU cost.
    const modelMs = workers > 0 ? per(cpu[index].workers) : per(cpu[index].server);
    const parallel = workers > 0 ? workers : label.includes('split') ? 2 : 1;
    const bound = Math.min((parallel * 1000) / modelMs, 2000 / total);
    return [
      label,
      fixed(median(rates[index]), 2),
      rates[index].map((rate) => fixed(rate, 2)).join(', '),
      fixed(per(cpu[index].server), 0),
      fixed(per(cpu[index].workers), 0),
      fixed(per(cpu[index].redis), 1),
      fixed(bound, 2),
    ];
  });
  console.log(
    `Throughput, four-step workflow as shipped (batch 4, 4 steps, distinct seeds), ${rounds} interleaved rounds of ${count} prompts queued at once, ${os.cpus().length} cores, load average at the start: ${fixed(load, 1)}:\n`,
  );
  table(['setup', 'prompts/s (median)', 'rounds (prompts/s)', 'CPU ms/prompt: server', 'workers', 'Redis', 'prompts/s on 2 idle cores (CPU bound)'], rows);
}

async function redisCapacity(): Promise<void> {
  if (!redisLoad['four-step, batch 4']) await throughput();
  if (!redisLoad['trivial graph']) await overhead();
  const redis = await startRedis(path.join(scratch, 'redis-benchmark'));
  const output = execFileSync('redis-benchmark', ['-p', String(redis.port), '-q', '-n', '200000', '-c', '50', '-t', 'set,get,incr,lpush,rpop,hset,zadd,xadd'], {
    encoding: 'utf8',
  });
  await redis.stop();
  const rates = [...output.matchAll(/^(\w+)[^:]*: ([\d.]+) requests per second/gm)].map((match) => [match[1], Number(match[2])] as const);
  console.log('redis-benchmark (50 clients, 200,000 requests each, no pipelining), this machine:\n');
  table(
    ['command', 'requests/s'],
    rates.map(([name, rate]) => [name, fixed(rate, 0)]),
  );
  const opsPerSecond = median(rates.map(([, rate]) => rate));
  console.log('Redis per prompt (INFO deltas over the measured runs):\n');
  table(
    ['graph', 'commands', 'Redis CPU (ms)', 'bytes in+out (KB)', 'ceiling by commands (prompts/s)', 'ceiling by CPU (prompts/s)'],
    Object.entries(redisLoad).map(([graph, load]) => [
      graph,
      fixed(load.commands, 1),
      fixed(load.cpuMs, 3),
      fixed(load.bytes / 1024, 1),
      fixed(opsPerSecond / load.commands, 0),
      fixed(1000 / load.cpuMs, 0),
    ]),
  );
  console.log(`(ceiling by commands: the median redis-benchmark rate above, ${fixed(opsPerSecond, 0)}/s, over commands per prompt)\n`);
  const load = redisLoad['four-step, batch 4'];
  const demand = 100 * oneWorkerRate;
  console.log(`100 workers, each at the rate one worker ran the four-step workflow here (${fixed(oneWorkerRate, 2)} prompts/s), on one Redis:\n`);
  table(
    ['prompts/s', 'Redis commands/s', 'share of redis-benchmark rate', 'Redis CPU (core share)', 'MB/s through Redis (in+out)'],
    [
      [
        fixed(demand, 0),
        fixed(demand * load.commands, 0),
        `${fixed((100 * demand * load.commands) / opsPerSecond, 0)}%`,
        `${fixed((demand * load.cpuMs) / 10, 0)}%`,
        fixed((demand * load.bytes) / 1024 / 1024, 1),
      ],
    ],
  );
}

try {
  for (const section of sections) {
    if (section === 'overhead') await overhead();
    else if (section === 'kill') await kill();
    else if (section === 'rerun') await rerun();
    else if (section === 'throughput') await throughput();
    else if (section === 'redis') await redisCapacity();
    else throw new Error(`unknown section ${section}; sections: overhead kill rerun throughput redis`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
