import { Redis } from 'ioredis';
import type { FileNumbering } from '../../engine/index.ts';
import type { TrainJob, TrainRequest } from '../train-jobs.ts';
import type { HistoryEntry } from './types.ts';

/** BullMQ's queue name; its keys are `<prefix>:prompts:*`. */
export const PROMPT_QUEUE = 'prompts';
/** BullMQ's queue of training runs (POST /train); its keys are `<prefix>:train:*`. */
export const TRAIN_QUEUE = 'train';

/** How long shipped output files and per-prompt file numbers stay in Redis. */
export const FILES_TTL_S = 24 * 3600;
const NUMBERS_TTL_S = 7 * 24 * 3600;

/** Every key fewstep keeps in Redis besides BullMQ's, under one prefix (default `fewstep`). */
export class RedisKeys {
  readonly history: string;
  readonly historyOrder: string;
  readonly historySeq: string;
  readonly number: string;
  /** Pub/sub: run events from workers to every API server. */
  readonly events: string;
  /** Pub/sub: interrupts from API servers to every worker. */
  readonly control: string;
  readonly fileCounters: string;
  /** Training runs: records by train id, their order, the one running (one at a time per Redis), and pub/sub for messages and interrupts. */
  readonly trainRuns: string;
  readonly trainOrder: string;
  readonly trainCurrent: string;
  readonly trainEvents: string;
  readonly trainControl: string;

  constructor(readonly prefix = 'fewstep') {
    this.history = `${prefix}:history`;
    this.historyOrder = `${prefix}:history:order`;
    this.historySeq = `${prefix}:history:seq`;
    this.number = `${prefix}:number`;
    this.events = `${prefix}:events`;
    this.control = `${prefix}:control`;
    this.fileCounters = `${prefix}:numbering`;
    this.trainRuns = `${prefix}:training:runs`;
    this.trainOrder = `${prefix}:training:order`;
    this.trainCurrent = `${prefix}:training:current`;
    this.trainEvents = `${prefix}:training:events`;
    this.trainControl = `${prefix}:training:control`;
  }

  cancel = (promptId: string) => `${this.prefix}:cancel:${promptId}`;
  files = (promptId: string) => `${this.prefix}:files:${promptId}`;
  inputs = (promptId: string) => `${this.prefix}:inputs:${promptId}`;
  fileNumbers = (promptId: string) => `${this.prefix}:numbering:${promptId}`;
  /** Marks a training run's loss recorded, so that several API servers report it once. */
  trainLost = (trainId: string) => `${this.prefix}:training:lost:${trainId}`;
}

/** A training run's files and uploads live under this id in the keys above (`files`, `inputs`, `cancel`). */
export const trainFilesId = (trainId: string) => `train-${trainId}`;
export const trainJobId = (trainId: string) => `t_${trainId}`;

/** What a training job carries from the API server to a worker. */
export interface TrainJobData {
  job: TrainJob;
  request: TrainRequest;
}

/** Deletes `key` only while it still holds `value` (a run ends; a newer one keeps its mark). */
export async function deleteIfHolds(redis: Redis, key: string, value: string): Promise<void> {
  await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, value);
}

/** BullMQ job ids may not contain ':' nor be integers; prompt ids may. */
export const jobIdOf = (promptId: string) => `p_${promptId.replaceAll('%', '%25').replaceAll(':', '%3A')}`;

/** A connection as BullMQ wants it: commands wait through reconnects instead of failing. */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

type Command = (...args: Array<string | number | Buffer>) => Promise<unknown>;

function luaCommand(redis: Redis, name: string, numberOfKeys: number, lua: string): Command {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  return (...args) => (redis as unknown as Record<string, Command>)[name](...args);
}

// First writer wins (a prompt rerun after its worker died records nothing twice); oldest trimmed.
const WRITE_HISTORY = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #old, 2 do redis.call('HDEL', KEYS[1], old[i]) end
end
return 1`;

// Same prompt and node: the numbers it had. Otherwise the next ones above the counter and the floor.
const RESERVE_NUMBERS = `
local earlier = redis.call('HGET', KEYS[2], ARGV[1])
if earlier and ARGV[5] ~= '1' then
  local first, count = string.match(earlier, '(%d+),(%d+)')
  if tonumber(count) == tonumber(ARGV[3]) then return {tonumber(first), 1} end
end
local highest = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if tonumber(ARGV[4]) > highest then highest = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[2], highest + tonumber(ARGV[3]))
redis.call('HSET', KEYS[2], ARGV[1], (highest + 1) .. ',' .. ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {highest + 1, 0}`;

// The server seeds counters from the files already in its output folder.
const RAISE_COUNTER = `
local highest = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > highest then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

/** History in Redis: a hash of entries and a sorted set of their order, shared by every API server and worker. */
export class RedisHistory {
  private readonly writeScript: Command;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly maxHistory = 10000,
  ) {
    this.writeScript = luaCommand(redis, 'fewstepWriteHistory', 3, WRITE_HISTORY);
  }

  /** Records an entry unless the prompt already has one; true when this call wrote it. */
  async write(promptId: string, entry: HistoryEntry): Promise<boolean> {
    const { history, historyOrder, historySeq } = this.keys;
    return (await this.writeScript(history, historyOrder, historySeq, promptId, JSON.stringify(entry), this.maxHistory)) === 1;
  }

  async has(promptId: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.history, promptId)) === 1;
  }

  async get(promptId: string): Promise<HistoryEntry | undefined> {
    const raw = await this.redis.hget(this.keys.history, promptId);
    return raw ? (JSON.parse(raw) as HistoryEntry) : undefined;
  }

  /** Oldest first, as ComfyUI's /history lists them; the last `maxItems` when given. */
  async entries(maxItems?: number): Promise<Record<string, HistoryEntry>> {
    if (maxItems === 0) return {};
    const ids = await this.redis.zrange(this.keys.historyOrder, maxItems === undefined ? 0 : -maxItems, -1);
    if (ids.length === 0) return {};
    const raws = await this.redis.hmget(this.keys.history, ...ids);
    return Object.fromEntries(ids.flatMap((id, index) => (raws[index] ? [[id, JSON.parse(raws[index]!) as HistoryEntry]] : [])));
  }

  async delete(ids?: string[]): Promise<void> {
    if (!ids) {
      await this.redis.del(this.keys.history, this.keys.historyOrder);
      return;
    }
    if (ids.length === 0) return;
    await this.redis
      .multi()
      .hdel(this.keys.history, ...ids)
      .zrem(this.keys.historyOrder, ...ids)
      .exec();
  }
}

/** File numbers per prompt id kept in Redis: every worker and API server numbers the same output folder from one counter. */
export function redisFileNumbering(redis: Redis, keys: RedisKeys): FileNumbering {
  const reserve = luaCommand(redis, 'fewstepReserveNumbers', 2, RESERVE_NUMBERS);
  return {
    async reserve(request) {
      const field = `${request.nodeId}\0${request.key}`;
      const [first, reused] = (await reserve(
        keys.fileCounters,
        keys.fileNumbers(request.promptId),
        field,
        request.key,
        request.count,
        request.floor,
        request.replace ? '1' : '0',
        NUMBERS_TTL_S,
      )) as [number, number];
      return { first, reused: reused === 1 };
    },
  };
}

/** Raises the file counters to the highest numbers found in a folder (`key` as FileNumberRequest names it). */
export async function raiseFileCounters(redis: Redis, keys: RedisKeys, highest: Map<string, number>): Promise<void> {
  const raise = luaCommand(redis, 'fewstepRaiseCounter', 1, RAISE_COUNTER);
  await Promise.all([...highest].map(([key, number]) => raise(keys.fileCounters, key, number)));
}
