/**
 * Real processes for the queue's tests and bench/queue.ts: a redis-server of their own on a free
 * port in a temporary folder, and `fewstep serve` / `fewstep worker` spawned as a user runs them,
 * so they can be killed with SIGKILL. Nothing here imports server/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const FEWSTEP_BIN = path.join(REPO_ROOT, 'bin', 'fewstep.mjs');

/** A port nobody listens on now (bind to 0, read it, close): redis-server cannot take `--port 0`. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A child process whose output is kept line by line, to wait for what it prints. */
export class Child {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(
    readonly proc: ChildProcess,
    readonly label: string,
  ) {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(line);
      for (const wake of this.waiters.splice(0)) wake();
      if (process.env.FEWSTEP_TEST_VERBOSE) process.stderr.write(`[${label}] ${chunk}`);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code) => {
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      }),
    );
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The first line matching `pattern` (printed already or later); fails after `ms` or when the process exits. */
  async waitForLine(pattern: RegExp, ms = 30000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      const left = deadline - Date.now();
      if (left <= 0 || !this.alive)
        throw new Error(
          `${this.label}: no line matching ${pattern} ${this.alive ? `within ${ms} ms` : 'before it exited'}; it printed:\n${this.lines.slice(-20).join('\n')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** CPU seconds (user + system, all threads) the process has used so far, from /proc (Linux). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Sends a signal (SIGKILL by default) and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.proc.kill(signal);
    await this.exited;
  }
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  child: Child;
  /** kill -9, then the same port and folder again: what it kept is what its append-only file held. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** redis-server on a free port, with append-only persistence, in its own folder (temporary unless given). */
export async function startRedis(dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-redis-'))): Promise<RedisServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const launch = async () => {
    const child = new Child(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      'redis',
    );
    await child.waitForLine(/Ready to accept connections/, 15000);
    return child;
  };
  const redis: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    child: await launch(),
    async restart() {
      await redis.child.kill('SIGKILL');
      redis.child = await launch();
    },
    stop: () => redis.child.kill('SIGKILL'),
  };
  return redis;
}

/** `node bin/fewstep.mjs ...args` from the repository root. */
export function spawnFewstep(args: string[], options: { env?: Record<string, string>; cwd?: string; label?: string } = {}): Child {
  const child = spawn(process.execPath, [FEWSTEP_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Child(child, options.label ?? args[0]);
}

/** Starts `fewstep serve` on a free port and returns it with its base URL once it listens. */
export async function spawnServer(
  args: string[],
  options: { env?: Record<string, string>; label?: string } = {},
): Promise<{ child: Child; base: string; wsBase: string }> {
  const child = spawnFewstep(['serve', '--port', '0', ...args], { ...options, label: options.label ?? 'serve' });
  const [, base] = await child.waitForLine(/editor and API at (http:\/\/[^\s/]+)/, 60000);
  return { child, base, wsBase: base.replace('http://', 'ws://') };
}
