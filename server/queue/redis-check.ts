import { Redis } from 'ioredis';

/** The URL as logs may show it: without a password. */
export const shownRedisUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/** Whether a Redis answers at `url` (within a few seconds); a line saying what is wrong, or undefined. */
export async function checkRedis(url: string): Promise<string | undefined> {
  if (!/^rediss?:\/\//.test(url)) return `--redis ${shownRedisUrl(url)} is not a Redis URL; give redis://HOST:PORT`;
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  probe.on('error', (error: Error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (error) {
    const reason = (cause ?? error) as Error & { code?: string };
    return `cannot reach Redis at ${shownRedisUrl(url)} (${reason.code ?? reason.message}); start it first (redis-server --appendonly yes)`;
  } finally {
    probe.disconnect();
  }
}
