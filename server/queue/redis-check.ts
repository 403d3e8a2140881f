import { Redis } from 'ioredis';

/** Whether a Redis answers at `url` (within a few seconds); a line saying what is wrong, or undefined. */
export async function checkRedis(url: string): Promise<string | undefined> {
  if (!/^rediss?:\/\//.test(url)) return `--redis ${url} is not a Redis URL; give redis://HOST:PORT`;
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (error) {
    return `cannot reach Redis at ${url} (${error instanceof Error ? error.message : String(error)}); start it first (redis-server --appendonly yes)`;
  } finally {
    probe.disconnect();
  }
}
